// Package postgresstore stores both kinds of invitations in PostgreSQL, for
// deployments where several application instances share one database. It
// implements invitation.Store and guest.Store on github.com/jackc/pgx/v5 and
// passes the same conformance suite (storetest) as memstore.
//
// Open connects with its own pool; New uses a *pgxpool.Pool the caller
// already has. Both create the tables on first use: the schema migrations
// are embedded, and every instance that starts applies the missing ones under
// a PostgreSQL advisory lock, so instances started together apply each
// migration exactly once. A database migrated by a newer invitekit is
// refused with an error wrapping *store.SchemaTooNewError.
//
// The tables live in the schema "invitekit" unless WithSchema names another;
// the store creates the schema when it is missing. Give invitekit a schema of
// its own: it owns the tables invitations, guest_invitations and
// schema_migrations in it.
//
// Concurrency across instances: every status change runs in a transaction
// that locks the row (SELECT ... FOR UPDATE), so two accepts of one
// invitation never both win; at most one open invitation per organization
// and email is enforced by a partial unique index, so two creates never both
// win either. Serialization failures and deadlocks are retried a few times
// inside the store (so an update function may run more than once, each time
// on a fresh copy). A connection that dies during a write returns an error
// and the server rolls the transaction back; only a connection lost while
// the commit itself is under way leaves the outcome unknown, as with any
// database. Broken connections are dropped from the pool, so the next call
// takes a working one.
//
// Keep the clocks of all instances synchronised (NTP). Whether an earlier
// invitation still blocks a new one for its email is decided at the now the
// caller passes, not by the database's clock: an instance whose clock runs
// ahead by more than an invitation's remaining life sees it expired, and
// can open a second invitation for the email while the first is still
// acceptable.
package postgresstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
)

// DefaultSchema is the schema the tables live in unless WithSchema names
// another.
const DefaultSchema = "invitekit"

// Store keeps invitations in PostgreSQL. It is safe for concurrent use, also
// by several processes on one database. The zero value is not usable; call
// Open or New.
type Store struct {
	pool      *pgxpool.Pool
	ownsPool  bool
	closed    atomic.Bool
	schema    string
	q         queries
	retries   int
	retryBase time.Duration
}

var (
	_ invitation.Store = (*Store)(nil)
	_ guest.Store      = (*Store)(nil)
)

// Option configures Open and New. A nil Option is ignored.
type Option func(*config)

type config struct {
	schema string
}

// WithSchema puts the tables in schema name instead of DefaultSchema. The
// name is used as is (it is quoted, so it is case-sensitive); the schema is
// created when it does not exist.
func WithSchema(name string) Option {
	return func(c *config) { c.schema = name }
}

// maxIdentifierLen is PostgreSQL's default NAMEDATALEN minus one: longer
// names are silently truncated, which would put two stores in one schema.
const maxIdentifierLen = 63

func newConfig(opts []Option) (config, error) {
	c := config{schema: DefaultSchema}
	for _, o := range opts {
		// Skipped, as sqlitestore does, so that callers may build option
		// lists conditionally.
		if o != nil {
			o(&c)
		}
	}
	if c.schema == "" || len(c.schema) > maxIdentifierLen {
		return c, fmt.Errorf("postgresstore: schema name %q must be 1 to %d bytes", c.schema, maxIdentifierLen)
	}
	return c, nil
}

// Open connects to the database at url (a PostgreSQL URL or keyword/value
// string, with pgxpool's pool_* settings if wanted), brings the schema up to
// date and returns a Store that owns the connection pool: Close closes it.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	poolCfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgresstore: open: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("postgresstore: open: %w", err)
	}
	s, err := newStore(ctx, pool, cfg)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownsPool = true
	return s, nil
}

// New brings the schema up to date on pool and returns a Store that uses
// it. The pool stays the caller's: Close does not close it.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if pool == nil {
		return nil, errors.New("postgresstore: new: pool is nil")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return newStore(ctx, pool, cfg)
}

func newStore(ctx context.Context, pool *pgxpool.Pool, cfg config) (*Store, error) {
	s := &Store{
		pool:      pool,
		schema:    cfg.schema,
		q:         newQueries(pgx.Identifier{cfg.schema}.Sanitize()),
		retries:   5,
		retryBase: 2 * time.Millisecond,
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Close marks the store closed and, when Open created the pool, closes it.
// It is safe to call more than once.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.ownsPool {
		s.pool.Close()
	}
	return nil
}

// check returns the error a call should fail with before touching the
// database: store.ErrClosed or the context's error.
func (s *Store) check(ctx context.Context, op string) error {
	if s.closed.Load() {
		return fmt.Errorf("postgresstore: %s: %w", op, store.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgresstore: %s: %w", op, err)
	}
	return nil
}

// SQLSTATE codes the store reacts to.
const (
	codeUniqueViolation      = "23505"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// Names of the partial unique indexes that hold the open claims; see
// migrations/0001_init.sql.
const (
	invitationsOpenKey = "invitations_open_key"
	guestsOpenKey      = "guest_invitations_open_key"
)

// claimTaken reports whether err is a unique violation of an open claim,
// not of the primary key.
func claimTaken(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == codeUniqueViolation &&
		(pgErr.ConstraintName == invitationsOpenKey || pgErr.ConstraintName == guestsOpenKey)
}

// callerError carries an error of the caller's update function through the
// transaction helpers, which must neither retry nor translate it.
type callerError struct{ err error }

func (e *callerError) Error() string { return e.err.Error() }
func (e *callerError) Unwrap() error { return e.err }

// translate turns a driver error into the error the store returns: the
// store sentinel where one applies, wrapped with the operation name; the
// caller's own error unchanged.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	var ce *callerError
	if errors.As(err, &ce) {
		return ce.err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgresstore: %s: %w", op, store.ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == codeUniqueViolation {
		return fmt.Errorf("postgresstore: %s: %w", op, store.ErrAlreadyExists)
	}
	return fmt.Errorf("postgresstore: %s: %w", op, err)
}

// retryable reports whether running the same operation again may succeed
// and cannot apply it twice: the server aborted the transaction because of
// a serialization failure or deadlock, or nothing reached the server.
func retryable(err error) bool {
	var ce *callerError
	if errors.As(err, &ce) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == codeSerializationFailure || pgErr.Code == codeDeadlockDetected
	}
	return pgconn.SafeToRetry(err)
}

// run calls f until it succeeds, fails for good, or has failed with a
// retryable error s.retries times, and returns its translated error.
func (s *Store) run(ctx context.Context, op string, f func() error) error {
	if err := s.check(ctx, op); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || attempt >= s.retries || !retryable(err) {
			return translate(op, err)
		}
		// Jittered exponential backoff, so transactions that deadlocked
		// on each other do not meet again at once.
		d := s.retryBase << (attempt - 1)
		d += rand.N(d)
		select {
		case <-ctx.Done():
			return translate(op, errors.Join(err, ctx.Err()))
		case <-time.After(d):
		}
	}
}

// inTx sends b, which must begin a transaction (pgx.Batch.BeginTx) and
// then lock what the operation reads, so BEGIN and the read share one round
// trip; readFirst reads the results after BEGIN's. Then f runs in the same
// transaction, which is committed. Any error rolls it back.
func (s *Store) inTx(ctx context.Context, b *pgx.Batch, readFirst func(pgx.BatchResults) error, f func(pgx.Tx) error) error {
	br := s.pool.SendBatch(ctx, b)
	tx := br.Tx()
	// Rollback after Commit is a no-op; on the error paths it ends the
	// transaction and releases the connection.
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := br.Exec(); err != nil { // BEGIN
		_ = br.Close()
		return err
	}
	err := readFirst(br)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// utc returns t in UTC: pgx returns times in the local zone, and callers
// compare times including their location.
func utc(t time.Time) time.Time { return t.UTC() }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
