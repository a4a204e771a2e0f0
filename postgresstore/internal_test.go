package postgresstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
)

func pgError(code string) error {
	return fmt.Errorf("exec: %w", &pgconn.PgError{Code: code, Message: "m"})
}

// TestDriverClassifiesErrors checks the SQLSTATEs the core's retry loop and
// error translation rely on.
func TestDriverClassifiesErrors(t *testing.T) {
	t.Parallel()
	var d driver
	for _, tc := range []struct {
		name              string
		err               error
		unique, retryable bool
	}{
		{"unique violation", pgError(codeUniqueViolation), true, false},
		{"deadlock", pgError(codeDeadlockDetected), false, true},
		{"serialization failure", pgError(codeSerializationFailure), false, true},
		{"undefined table", pgError("42P01"), false, false},
		{"context", context.Canceled, false, false},
		{"other", errors.New("connection reset"), false, false},
	} {
		assert.Equal(t, tc.unique, d.Unique(tc.err), "%s: unique", tc.name)
		assert.Equal(t, tc.retryable, d.Retryable(tc.err), "%s: retryable", tc.name)
	}
}

// TestDriverClassifiesFailures checks what the core's retry loop and
// translation to store.ErrUnavailable get from the driver: lost
// connections, bounded waits that ran out, and where in a transaction a
// connection was lost.
func TestDriverClassifiesFailures(t *testing.T) {
	t.Parallel()
	// A port nothing listens on any more: the connection is refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	conn, err := pgconn.Connect(context.Background(), "postgres://nobody@"+addr+"/none?connect_timeout=5")
	if err == nil {
		conn.Close(context.Background())
		t.Fatal("connected to a closed port")
	}
	refusedTLS := refusedTLSError(t)
	var d driver
	reset := fmt.Errorf("read: %w", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET})
	for _, tc := range []struct {
		name                              string
		err                               error
		lost, unavailable, retryable      bool
		abortedRetryable, commitRetryable bool
	}{
		{"terminated (pg_terminate_backend)", pgError(codeAdminShutdown), true, true, false, true, false},
		{"crash shutdown", pgError(codeCrashShutdown), true, true, false, true, false},
		{"cannot connect now", pgError(codeCannotConnectNow), true, true, false, true, false},
		{"connection failure", pgError("08006"), true, true, false, true, false},
		{"refused", err, true, true, true, true, false},
		{"TLS refused: configuration, not availability", refusedTLS, false, false, false, false, false},
		{"reset", reset, true, true, false, true, false},
		{"unexpected EOF", fmt.Errorf("receive message: %w", io.ErrUnexpectedEOF), true, true, false, true, false},
		{"lock timeout", pgError(codeLockNotAvailable), false, true, false, false, false},
		{"statement timeout", pgError(codeQueryCanceled), false, true, false, false, false},
		{"too many connections", pgError(codeTooManyConnections), false, true, false, false, false},
		{"no connection for a transaction", errNoTxSlot, false, true, false, false, false},
		{"deadlock", pgError(codeDeadlockDetected), false, true, true, true, false},
		{"unique violation", pgError(codeUniqueViolation), false, false, false, false, false},
		{"context", context.DeadlineExceeded, false, false, false, false, false},
		{"other", errors.New("connection reset"), false, false, false, false, false},
	} {
		assert.Equal(t, tc.lost, d.Lost(tc.err), "%s: lost", tc.name)
		assert.Equal(t, tc.unavailable, d.Unavailable(tc.err), "%s: unavailable", tc.name)
		assert.Equal(t, tc.retryable, d.Retryable(tc.err), "%s: retryable as a statement of its own", tc.name)
		assert.Equal(t, tc.abortedRetryable, d.Retryable(fmt.Errorf("op: %w", &abortedError{tc.err})),
			"%s: retryable before COMMIT", tc.name)
		assert.Equal(t, tc.commitRetryable, d.Retryable(&commitUnknownError{tc.err}),
			"%s: retryable during COMMIT", tc.name)
		assert.Equal(t, tc.unavailable, d.Unavailable(&commitUnknownError{tc.err}), "%s: unavailable during COMMIT", tc.name)
	}
}

func TestBoundsFollowTheDeadline(t *testing.T) {
	t.Parallel()
	d := driver{lockTimeout: 5 * time.Second}
	assert.Equal(t, "; SET LOCAL lock_timeout = 5000", d.bounds(context.Background(), d.lockTimeout))

	soon, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	got := d.bounds(soon, d.lockTimeout)
	assert.Regexp(t, `^; SET LOCAL lock_timeout = \d{3,4}; SET LOCAL statement_timeout = \d{3,4}$`, got,
		"a deadline sooner than the bound bounds both")

	d = driver{lockTimeout: 2 * time.Second, statementTimeout: 3 * time.Second}
	assert.Equal(t, "; SET LOCAL lock_timeout = 2000; SET LOCAL statement_timeout = 3000", d.bounds(context.Background(), d.lockTimeout))
	assert.Empty(t, driver{}.bounds(context.Background(), 0), "no bound, no deadline")
	assert.Equal(t, "; SET LOCAL lock_timeout = 1; SET LOCAL statement_timeout = 1",
		driver{}.bounds(deadlineIn(t, 100*time.Microsecond), 0), "never 0, which is no bound")
	assert.Equal(t, "; SET LOCAL lock_timeout = 1; SET LOCAL statement_timeout = 1",
		d.bounds(deadlineIn(t, -time.Second), d.lockTimeout), "a deadline just passed still bounds both")
	assert.Equal(t, "; SET LOCAL lock_timeout = 2", driver{}.bounds(context.Background(), 1500*time.Microsecond),
		"rounded up, never below the bound asked for")
}

// refusedTLSError returns the error of a connection with sslmode=require to
// a server that does not offer TLS: a *pgconn.ConnectError that no retry
// changes.
func refusedTLSError(t *testing.T) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			// The SSLRequest is 8 bytes; 'N' declines it.
			_, _ = io.ReadFull(c, make([]byte, 8))
			_, _ = c.Write([]byte{'N'})
			c.Close()
		}
	}()
	conn, err := pgconn.Connect(context.Background(), "postgres://nobody@"+ln.Addr().String()+"/none?sslmode=require&connect_timeout=5")
	if err == nil {
		conn.Close(context.Background())
		t.Fatal("connected without TLS")
	}
	var connectErr *pgconn.ConnectError
	if !errors.As(err, &connectErr) {
		t.Fatalf("not a connect error: %v", err)
	}
	return err
}

// deadlineIn returns a context whose deadline is d away.
func deadlineIn(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(d))
	t.Cleanup(cancel)
	return ctx
}
