// Package sqlcore is the one implementation of invitation.Store and
// guest.Store over SQL that sqlitestore and postgresstore share, as dex's
// storage/sql serves each of its databases with one crud.go and a flavor.
//
// The core owns the query text, the row mapping and the rules: every record
// type is one row descriptor (its columns, the arguments of a row and the
// scan targets, from which insert, select and update statements and their
// $N placeholders are generated), the list builders have one sort-column
// table, and "at most one open invitation per tenant and email" is one claim
// algorithm. Query text uses $N placeholders, which PostgreSQL and
// modernc.org/sqlite both bind, and SQL both databases speak.
//
// What differs between databases is small and lives in two values a store
// passes in: a Dialect (how IDs, times and booleans are encoded and scanned,
// row locking, substring search) and a Driver (how statements run:
// connection pools, write transactions, which errors are unique violations
// or safe to retry).
package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/internal/migrate"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
)

// Querier runs statements: a connection pool, or one transaction.
type Querier interface {
	// Exec runs a statement that returns no rows and reports how many
	// rows it changed.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// Query runs a statement that returns rows.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
}

// Rows is the result of Query; pgx.Rows is one as it is.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Driver runs the core's statements on one database.
type Driver interface {
	// Reader runs reads that need no transaction.
	Reader() Querier
	// Writer runs single statements that commit on their own.
	Writer() Querier
	// WriteTx runs f in a write transaction and commits it when f returns
	// nil. Two WriteTx that lock one row (see Dialect.ForUpdate) never
	// interleave on it. f gets a context derived from ctx that carries the
	// transaction in the store's own terms (for its Tx function), so that
	// an application hook f calls can write in it.
	WriteTx(ctx context.Context, f func(ctx context.Context, q Querier) error) error
	// Unique reports whether err is a unique or primary-key violation.
	Unique(err error) bool
	// Retryable reports whether an operation that failed with err can run
	// again without applying anything twice: the database aborted it
	// (serialization failure, deadlock), nothing reached the server, or
	// the connection of a WriteTx failed before its commit was sent. An
	// error of a commit whose outcome is unknown is never retryable.
	Retryable(err error) bool
	// Lost reports whether err says the connection failed (could not be
	// made, was reset, or the server terminated it), so that a read that
	// failed with it can run again on another connection.
	Lost(err error) bool
	// Unavailable reports whether err says the database is busy or
	// unreachable: the connection was refused or lost, a wait for a lock,
	// a statement or a connection ran out its bound, or the database
	// stayed locked past its busy timeout. The core returns such errors
	// wrapped in store.ErrUnavailable.
	Unavailable(err error) bool
}

// CheckableCommitError is what a Driver's WriteTx returns, wrapping the
// error of the commit, when the connection was lost after COMMIT was sent
// but the database settled the transaction's outcome before it ended the
// connection, so that a read on another connection sees whether it
// committed. (PostgreSQL: the server terminated the session, 57P01, which
// waits for a commit under way to finish; or the store made sure the
// transaction's server process has exited.) Where the core knows a row the
// transaction wrote (its event), it looks; elsewhere the error stands, and
// as the outcome is unknown it must not be Retryable.
type CheckableCommitError struct{ Err error }

func (e *CheckableCommitError) Error() string { return e.Err.Error() }
func (e *CheckableCommitError) Unwrap() error { return e.Err }

// Stmt is one statement of a Batch.
type Stmt struct {
	Query string
	Args  []any
}

// Batcher is a Driver that runs statements in one transaction faster than
// a WriteTx would (SQLite: through prepared statements). Without it, the
// core runs a batch as a WriteTx.
type Batcher interface {
	Batch(ctx context.Context, stmts ...Stmt) error
}

// Dialect is how values look in one database.
type Dialect struct {
	// ID, Time and Bool encode arguments.
	ID   func(uuid.UUID) any
	Time func(time.Time) any
	Bool func(bool) any
	// TimeDest returns the scan target of a time column that stores into
	// p, in UTC.
	TimeDest func(p *time.Time) sql.Scanner
	// DirectScan says the driver scans records' columns into *time.Time,
	// **time.Time (NULL as nil) and *[16]byte (a UUID) targets itself,
	// faster than through sql.Scanner wrappers, each of which costs an
	// allocation a column (pgx); the core then makes the times UTC.
	DirectScan bool
	// ForUpdate ends a select that locks its row for the rest of the write
	// transaction; empty where the transaction locks the whole database.
	ForUpdate string
	// LockWait ends a select that locks its row for the rest of the write
	// transaction and waits for it, for a row that many transactions
	// take in turn (a join link's uses): the database's queue of waiters
	// serves them in order, where ForUpdate's retries would contend.
	// Empty where the transaction locks the whole database.
	LockWait string
	// Contains returns the condition "column contains arg literally": no
	// pattern characters.
	Contains func(column, arg string) string
	// Filtered returns column as a condition spells it so that the
	// planner does not serve the condition from an index on the column
	// (SQLite's unary +), where the list's order index serves it better
	// than its planner, which has no statistics, guesses; column itself
	// where the planner costs the choice.
	Filtered func(column string) string
	// Trigrams, where set, is the trigram index of guest emails that an
	// email search reads (see TrigramIndex).
	Trigrams *TrigramIndex
	// SkipLocked ends a select of rows to claim so that concurrent claims
	// pass over each other's rows; empty where write transactions run one
	// at a time.
	SkipLocked string
	// InsertWith says the database runs an INSERT inside WITH
	// (PostgreSQL), so that a record and its event are inserted by one
	// statement; elsewhere they are a batch (see Batcher).
	InsertWith bool
	// Positional says the driver binds ? placeholders faster than $N:
	// modernc.org/sqlite finds the argument of each $N by its name, a
	// scan of the statement's arguments per placeholder. The core then
	// writes ? in the statements whose arguments come once each, in
	// order (inserts), where a statement may bind over a thousand.
	Positional bool
	// LockTenant is the statement that takes, for the rest of a write
	// transaction, the lock whose 64-bit key is $1: the writes that
	// limits bind take their tenant's, so they count and write one at a
	// time. Empty where write transactions run one at a time anyway.
	LockTenant string
}

// Core implements invitation.Store and guest.Store on a Driver. Stores
// embed it (and assert that they implement both). It is safe for
// concurrent use.
type Core struct {
	name   string
	drv    Driver
	d      *Dialect
	closed atomic.Bool

	invitations table[invitation.Invitation]
	guests      table[guest.Invitation]
	// guestCounts is the table of the guest list's counters.
	guestCounts string
	links       linkTables
	events      eventTable
	listeners   listeners

	retries   int
	retryBase time.Duration
}

// New returns a core that runs on drv and names itself name (the store
// package) in errors. prefix qualifies table names (a quoted schema and a
// dot, or empty).
func New(name string, drv Driver, d Dialect, prefix string) *Core {
	c := &Core{name: name, drv: drv, d: &d, retries: 5, retryBase: 2 * time.Millisecond}
	c.events = newEventTable(c, prefix+"events") // first: the tables' statements use it
	c.invitations = newTable(c, "invitation", prefix+"invitations", invitationRecord)
	c.guests = newTable(c, "guest invitation", prefix+"guest_invitations", guestRecord)
	c.guestCounts = prefix + "guest_invitation_counts"
	c.links = newLinkTables(c, prefix)
	return c
}

// SetRetry sets how often an operation that failed with a retryable error
// runs in all, and the first backoff; for tests. (Functions, not methods, so
// that a store embedding the core promotes the store methods only.)
func SetRetry(c *Core, n int, base time.Duration) { c.retries, c.retryBase = n, max(base, 1) }

// MarkClosed makes every later call fail with store.ErrClosed, and reports
// whether the core was open: the store closes its connections only then.
func MarkClosed(c *Core) bool { return !c.closed.Swap(true) }

// run calls f, an operation that may write, until it succeeds, fails for
// good, or has failed with a retryable error c.retries times, and returns
// its translated error.
func (c *Core) run(ctx context.Context, op string, f func() error) error {
	return c.retry(ctx, op, c.drv.Retryable, f)
}

// read is run for an operation that only reads: it also runs again when
// the connection was lost, as reading twice changes nothing.
func (c *Core) read(ctx context.Context, op string, f func() error) error {
	return c.retry(ctx, op, func(err error) bool { return c.drv.Retryable(err) || c.drv.Lost(err) }, f)
}

// retry calls f until it succeeds, fails with an error retryable does not
// accept, or has failed c.retries times, waiting between attempts no longer
// than ctx allows, and returns its translated error.
func (c *Core) retry(ctx context.Context, op string, retryable func(error) bool, f func() error) error {
	if c.closed.Load() {
		return fmt.Errorf("%s: %s: %w", c.name, op, store.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %s: %w", c.name, op, err)
	}
	for attempt := 1; ; attempt++ {
		err := f()
		var a *again
		if err == nil || attempt >= c.retries || !retryable(err) && !errors.As(err, &a) {
			return c.translate(ctx, op, err)
		}
		// Jittered exponential backoff, so transactions that deadlocked
		// on each other do not meet again at once.
		d := c.retryBase << (attempt - 1)
		d += rand.N(d)
		select {
		case <-ctx.Done():
			return c.translate(ctx, op, errors.Join(err, ctx.Err()))
		case <-time.After(d):
		}
	}
}

// attempt runs f, which returns a result, through run (Core.run or
// Core.read) as the operation op.
func attempt[R any](ctx context.Context, run func(context.Context, string, func() error) error, op string, f func() (R, error)) (out R, err error) {
	err = run(ctx, op, func() (err error) {
		out, err = f()
		return err
	})
	return out, err
}

// again marks an error after which the operation runs again although the
// driver would not retry it, because the operation checks on its next
// attempt whether the failed one took effect.
type again struct{ err error }

func (e *again) Error() string { return e.err.Error() }
func (e *again) Unwrap() error { return e.err }

// callerError carries an error of an updater through the transaction, which
// neither retries nor translates it.
type callerError struct{ err error }

func (e *callerError) Error() string { return e.err.Error() }

// translate is the one place errors become what a store returns: the
// updater's own error unchanged (wrapped in store.ErrUnavailable too when
// the driver says the database failed under it), a unique violation store.ErrAlreadyExists,
// a failure after Close store.ErrClosed, and anything else wrapped with the
// operation; when ctx has ended, the result wraps ctx's error too, which
// drivers report in their own words; otherwise a busy or unreachable
// database's error is wrapped in store.ErrUnavailable.
func (c *Core) translate(ctx context.Context, op string, err error) error {
	var ce *callerError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce) && c.drv.Unavailable(err):
		// The updater failed because the database did (the driver saw
		// its transaction's connection gone): the caller's error, and
		// ErrUnavailable, as for any lost connection.
		return fmt.Errorf("%s: %s: %w: %w", c.name, op, store.ErrUnavailable, ce.err)
	case errors.As(err, &ce):
		return ce.err
	case c.drv.Unique(err):
		return fmt.Errorf("%s: %s: %w", c.name, op, store.ErrAlreadyExists)
	case c.closed.Load():
		// Close ran while the call was under way and took its
		// connection or statement away.
		return fmt.Errorf("%s: %s: %w: %w", c.name, op, store.ErrClosed, err)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%s: %s: %w: %w", c.name, op, cerr, err)
	}
	if c.drv.Unavailable(err) {
		return fmt.Errorf("%s: %s: %w: %w", c.name, op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %s: %w", c.name, op, err)
}

// scanOne scans the first row of query into dest; no row leaves dest as it
// is.
func scanOne(ctx context.Context, q Querier, query string, args []any, dest ...any) error {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
	}
	return rows.Err()
}

// args collects the arguments of a statement and names their placeholders.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// in returns the condition "column is one of vals" (vals not empty), its
// values added to a.
func in[S ~string](a *args, column string, vals []S) string {
	p := make([]string, len(vals))
	for i, v := range vals {
		p[i] = a.add(string(v))
	}
	return column + " IN (" + strings.Join(p, ", ") + ")"
}

// Migrate applies, in order, each migration of ms the database lacks, one
// transaction per migration, and records it in table (version, name,
// applied_at). tx runs f in a transaction that holds the store's migration
// lock from its start and in which table exists: stores that start together
// then apply each version exactly once, and a migration that fails leaves no
// trace, while those before it stay applied. A database at a version newer
// than ms is refused with *store.SchemaTooNewError.
func Migrate(ctx context.Context, d Dialect, ms []migrate.Migration, table string, tx func(f func(Querier) error) error) error {
	for done := false; !done; {
		err := tx(func(q Querier) error {
			var current int
			if err := scanOne(ctx, q, "SELECT COALESCE(MAX(version), 0) FROM "+table, nil, &current); err != nil {
				return err
			}
			latest := migrate.Latest(ms)
			if current > latest {
				return &store.SchemaTooNewError{Database: current, Supported: latest}
			}
			if done = current == latest; done {
				return nil
			}
			m := ms[current]
			if _, err := q.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("apply %s: %w", m.Name, err)
			}
			_, err := q.Exec(ctx, "INSERT INTO "+table+" (version, name, applied_at) VALUES ($1, $2, $3)",
				m.Version, m.Name, d.Time(time.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("schema migration: %w", err)
		}
	}
	return nil
}

// Check fails as every call of c does when c is closed or ctx has ended,
// for the operations a store runs itself.
func Check(ctx context.Context, c *Core, op string) error {
	return c.run(ctx, op, func() error { return nil })
}
