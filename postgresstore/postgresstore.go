// Package postgresstore stores both kinds of invitations in PostgreSQL, for
// deployments where several application instances share one database. It
// implements invitation.Store and guest.Store on github.com/jackc/pgx/v5 and
// passes the same conformance suite (storetest) as memstore.
//
// Open connects with its own pool; New uses a *pgxpool.Pool the caller
// already has. By default both create the tables on first use: the schema
// migrations are embedded, and every instance that starts applies the
// missing ones, each in its own transaction under a PostgreSQL advisory
// lock, so instances started together apply each migration exactly once
// and a failed one leaves no trace. A database migrated by a newer
// invitekit is refused with an error wrapping *store.SchemaTooNewError. A
// migration that renames columns (version 2 does) needs every instance of
// the older release stopped first; see the README's "Upgrading".
//
// The tables live in the schema "invitekit" unless WithSchema names another;
// the store creates the schema when it is missing. Give invitekit a schema of
// its own: it owns the tables invitations, guest_invitations and
// schema_migrations in it (and the others its migrations create).
//
// # Running the migrations yourself
//
// Teams that migrate with their own tool apply Migrations, the same files,
// annotated for goose (github.com/pressly/goose/v3), and open the store
// with WithSchemaCheck: it then creates and changes nothing, and fails with
// an error wrapping *store.SchemaTooOldError unless the schema is at
// exactly this build's latest version. The files name their tables
// unqualified, so they must run with the store's schema first on the
// search path: create the schema, and connect the migration tool with
// search_path set to it (for pgx, the connection string parameter
// search_path=invitekit). goose then keeps its table goose_db_version in
// that schema too, apart from any goose table of your application's own,
// and WithSchemaCheck reads it there:
//
//	CREATE SCHEMA IF NOT EXISTS invitekit;
//
//	db, err := sql.Open("pgx", "postgres://app@db/app?search_path=invitekit") // github.com/jackc/pgx/v5/stdlib
//	...
//	p, err := goose.NewProvider(goose.DialectPostgres, db, postgresstore.Migrations())
//	...
//	_, err = p.Up(ctx)
//	...
//	s, err := postgresstore.Open(ctx, "postgres://app@db/app", postgresstore.WithSchemaCheck())
//
// Each migration runs in one transaction and needs nothing else the store's
// own runner does: that runner only takes an advisory lock (goose's
// lock.NewPostgresSessionLocker does the same for instances that migrate
// at once), creates the schema and its table, and sets the search path.
// The migrations are up only: goose down would forget a version without
// undoing it.
//
// The statements, and the schema's names and constraints, are those of the
// SQL core sqlitestore runs too. Concurrency across instances: every status
// change runs in a transaction that locks the row (SELECT ... FOR UPDATE),
// so two accepts of one invitation never both win; at most one open
// invitation per organization and email is enforced by a partial unique
// index, so two creates never both win either. Writes under limits
// (store.Limits) take a transaction-scoped advisory lock per organization
// before they count, so the limits hold across instances too; a sweep
// claims the rows it records with FOR UPDATE SKIP LOCKED, so sweeps on
// many instances share the work. Serialization failures and
// deadlocks are retried a few times
// inside the store (so an update function may run more than once, each time
// on a fresh copy).
//
// Failures: a database that is busy or unreachable within the caller's
// deadline (a refused, reset or terminated connection, a lock wait past
// WithLockTimeout) fails with an error wrapping store.ErrUnavailable and
// the pgx error. Reads, and write transactions whose connection died before
// COMMIT was sent, run again on another connection (the server rolled the
// transaction back), also when an accept hook's own statement on the
// transaction saw the connection die, so the hook runs again; so does a
// create whose statement was lost, which then recognises its own record
// by ID if the lost attempt had committed. A connection lost while COMMIT
// is under way (terminated, reset, cut off, timed out) is settled: from
// another connection the store makes sure the transaction's server process
// has ended, terminating it if need be (PostgreSQL lets a commit under way
// finish first), and then looks for the transaction's event: found, the
// call succeeds; not found, the transaction rolled back and runs again.
// The outcome stays unknown only when that cannot be done within the
// commit timeout (5 s): the server is unreachable, the store's role may
// not terminate the process (its own connections' role may; another needs
// pg_signal_backend), or a connection pooler such as PgBouncer between
// store and server hides which process it is; and for an outbox claim,
// which records no event (its lease runs out anyway). Such a call fails
// with store.ErrUnavailable and is not retried. A context that ends before
// COMMIT rolls the transaction back; neither COMMIT nor settling it is cut
// short by it.
// Broken connections are dropped from the pool, so the next call takes a
// working one.
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
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/internal/migrate"
	"github.com/invitekit/invitekit/internal/sqlcore"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/link"
	"github.com/invitekit/invitekit/outbox"
)

// DefaultSchema is the schema the tables live in unless WithSchema names
// another.
const DefaultSchema = "invitekit"

// Store keeps invitations in PostgreSQL. It is safe for concurrent use, also
// by several processes on one database. It implements invitation.Store and
// guest.Store through the SQL core it embeds. The zero value is not usable;
// call Open or New.
type Store struct {
	*sqlcore.Core
	pool     *pgxpool.Pool
	ownsPool bool
	schema   string
	notifier *notifier
}

var (
	_ invitation.Store = (*Store)(nil)
	_ guest.Store      = (*Store)(nil)
	_ link.Store       = (*Store)(nil)
	_ event.Store      = (*Store)(nil)
	_ outbox.Store     = (*Store)(nil)
	_ outbox.Listener  = (*Store)(nil)
)

// Option configures Open and New. A nil Option is ignored.
type Option func(*config)

type config struct {
	schema           string
	lockTimeout      time.Duration
	statementTimeout time.Duration
	// schemaCheck: check the schema's version instead of migrating.
	schemaCheck bool
	gooseTable  string
}

// WithSchemaCheck makes Open and New apply no migration and create or
// change nothing (not even the schema): they check that the store's schema
// is at exactly the latest version of Migrations, which the application's
// own migration tool applied (goose, say), and fail otherwise, with an
// error wrapping *store.SchemaTooOldError when migrations are missing (the
// schema does not exist, say) and *store.SchemaTooNewError when the schema
// is newer than this build. The version is read from goose's table in the
// store's schema (see WithGooseTable) and from the store's own
// schema_migrations, so a schema the store migrated itself passes too.
//
// Open and New without WithSchemaCheck read only the store's own table: a
// schema goose migrated must always be opened with WithSchemaCheck.
func WithSchemaCheck() Option {
	return func(c *config) { c.schemaCheck = true }
}

// WithGooseTable names the table, in the store's schema, that goose
// records invitekit's migrations in, as given to goose.WithTableName;
// "goose_db_version", goose's default, when not given. Only WithSchemaCheck
// reads it.
func WithGooseTable(name string) Option {
	return func(c *config) { c.gooseTable = name }
}

// DefaultLockTimeout is how long a write waits for a row lock another
// transaction holds unless WithLockTimeout says otherwise.
const DefaultLockTimeout = 5 * time.Second

// WithLockTimeout bounds how long a write transaction waits for a lock
// (a row another transaction has locked, for example a session that ran
// SELECT ... FOR UPDATE and went idle): past it the call fails with
// store.ErrUnavailable. A write that finds its row locked rolls back and
// tries again after a short pause, so it waits without keeping a
// connection: however long a lock is held, the pool stays free for every
// other request. The bound is DefaultLockTimeout when not given; 0 leaves
// lock waits bounded by the context's deadline only. Either way a context
// deadline that comes sooner bounds the wait, enforced by the server too
// for the locks a statement does wait for (PostgreSQL's lock_timeout, set
// for each transaction: a unique index entry another transaction is
// inserting, say). Waiting for one of the connections write transactions
// may use (all of the pool's but one, so that reads and creates always
// find one) counts against the bound. COMMIT is not bounded by it (nor by
// the context), and neither is settling a COMMIT whose connection was
// lost (see the package documentation): each takes at most 5 s, past which
// the call fails with store.ErrUnavailable, its outcome unknown.
func WithLockTimeout(d time.Duration) Option {
	return func(c *config) { c.lockTimeout = d }
}

// WithStatementTimeout bounds how long each statement of a write
// transaction may run, past which the call fails with
// store.ErrUnavailable. It is off (0) when not given: a context deadline
// bounds the statements anyway, enforced by the server too (PostgreSQL's
// statement_timeout, set for each transaction).
func WithStatementTimeout(d time.Duration) Option {
	return func(c *config) { c.statementTimeout = d }
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
	c := config{schema: DefaultSchema, lockTimeout: DefaultLockTimeout, gooseTable: sqlcore.GooseTable}
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
	if c.gooseTable == "" || len(c.gooseTable) > maxIdentifierLen {
		return c, fmt.Errorf("postgresstore: goose table name %q must be 1 to %d bytes", c.gooseTable, maxIdentifierLen)
	}
	if c.lockTimeout < 0 || c.statementTimeout < 0 {
		return c, fmt.Errorf("postgresstore: lock timeout %v and statement timeout %v must not be negative", c.lockTimeout, c.statementTimeout)
	}
	return c, nil
}

// Open connects to the database at url (a PostgreSQL URL or keyword/value
// string, with pgxpool's pool_* settings if wanted), brings the schema up to
// date (or, with WithSchemaCheck, checks that it is) and returns a Store
// that owns the connection pool: Close closes it.
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

// New brings the schema up to date on pool (or, with WithSchemaCheck,
// checks that it is) and returns a Store that uses it. The pool stays the
// caller's: Close does not close it.
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
	s := &Store{pool: pool, schema: cfg.schema, notifier: &notifier{pool: pool, payload: cfg.schema}}
	s.Core = sqlcore.New("postgresstore", newDriver(pool, s.notifier, cfg), dialect, pgx.Identifier{cfg.schema}.Sanitize()+".")
	if cfg.schemaCheck {
		if err := s.checkSchema(ctx, cfg.gooseTable); err != nil {
			return nil, err
		}
		return s, nil
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Close marks the store closed and, when Open created the pool, closes it.
// It is safe to call more than once.
func (s *Store) Close() error {
	if sqlcore.MarkClosed(s.Core) {
		s.notifier.close()
		if s.ownsPool {
			s.pool.Close()
		}
	}
	return nil
}

// dialect is PostgreSQL's: uuid, timestamptz and boolean columns take the
// Go values as they are; pgx returns times in the local zone, which scans
// turn into UTC, since callers compare times including their location.
var dialect = sqlcore.Dialect{
	// pgtype.UUID, which pgx encodes as it is: uuid.UUID would go
	// through its Value method, a string, and a parse.
	ID:       func(id uuid.UUID) any { return pgtype.UUID{Bytes: id, Valid: true} },
	Time:     func(t time.Time) any { return t },
	Bool:     func(b bool) any { return b },
	TimeDest: func(p *time.Time) sql.Scanner { return utcTime{p} },
	// pgx scans times and UUIDs into their own types through its binary
	// codecs; through sql.Scanner, a time is boxed and a UUID parsed
	// from text, column by column.
	DirectScan: true,
	// NOWAIT: a transaction never waits on a connection for a row lock
	// (WriteTx waits without one, see lockWait), so a lock held for long
	// elsewhere cannot take the pool.
	ForUpdate:  " FOR UPDATE NOWAIT",
	SkipLocked: " FOR UPDATE SKIP LOCKED",
	// A link's redemptions queue for its row: each holds it for a few
	// statements, and PostgreSQL hands it on in order, bounded by the
	// transaction's lock_timeout.
	LockWait:   " FOR UPDATE",
	InsertWith: true,
	// A one-key advisory lock: the two-key form the migrations take is
	// another key space.
	LockTenant: "SELECT pg_advisory_xact_lock($1)",
	Filtered:   func(column string) string { return column },
	Contains: func(column, arg string) string {
		// LIKE, which the trigram index of the migrations serves, with
		// its wildcards and escape character escaped: it matches
		// literally.
		return column + ` LIKE '%' || replace(replace(replace(` + arg + `, '\', '\\'), '%', '\%'), '_', '\_') || '%'`
	},
}

type utcTime struct{ p *time.Time }

func (u utcTime) Scan(src any) error {
	t, ok := src.(time.Time)
	if !ok {
		return fmt.Errorf("postgresstore: cannot scan %T into a time", src)
	}
	*u.p = t.UTC()
	return nil
}

// SQLSTATE codes the store reacts to.
const (
	codeUniqueViolation      = "23505"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeLockNotAvailable     = "55P03" // lock_timeout ran out
	codeQueryCanceled        = "57014" // statement_timeout ran out, or a cancel request
	codeAdminShutdown        = "57P01" // pg_terminate_backend, or a fast shutdown
	codeCrashShutdown        = "57P02"
	codeCannotConnectNow     = "57P03" // starting up or shutting down
	codeTooManyConnections   = "53300"
	classConnection          = "08" // connection exception
)

// driver runs the core's statements on a pgx pool.
type driver struct {
	pool *pgxpool.Pool
	*notifier
	// lockTimeout and statementTimeout bound the waits of a write
	// transaction; 0 is no bound but the context's.
	lockTimeout, statementTimeout time.Duration
	// txSlots holds a token per write transaction under way: they are
	// limited to one connection fewer than the pool has, so that reads
	// and single-statement writes (creates) always find a connection
	// even while transactions wait for a lock someone holds. Nil for a
	// pool of one connection.
	txSlots chan struct{}
}

// newDriver returns the driver of pool.
func newDriver(pool *pgxpool.Pool, n *notifier, cfg config) driver {
	d := driver{pool: pool, notifier: n, lockTimeout: cfg.lockTimeout, statementTimeout: cfg.statementTimeout}
	if m := pool.Config().MaxConns; m > 1 {
		d.txSlots = make(chan struct{}, m-1)
	}
	return d
}

func (d driver) Reader() sqlcore.Querier { return querier{d.pool} }
func (d driver) Writer() sqlcore.Querier { return querier{d.pool} }

// WriteTx runs f in a transaction whose lock and statement waits are
// bounded (see WithLockTimeout), and commits it. It tells the core's retry
// loop which failures are safe to run again: one that lost the connection
// before COMMIT was sent (the transaction cannot have committed; the
// server rolls it back) is wrapped in abortedError; one that lost it while
// COMMIT was under way is wrapped in commitUnknownError, never retried
// blindly. The core may look for the transaction's event to learn the
// outcome (sqlcore.CheckableCommitError) once the transaction has ended
// for good: when the server itself ended the session (57P01), it finished
// the commit first; after any other loss (a reset, a network cut, a
// timeout, a crashed server) the server process may still be committing,
// or not have read the COMMIT yet, so WriteTx first makes sure it has
// exited (settle), which its transaction cannot outlive. When that cannot
// be made sure of, "not found" would be a guess: the error stays a plain
// commitUnknownError, and the caller gets store.ErrUnavailable and the
// documented uncertainty.
//
// A row lock held elsewhere fails the transaction at once (FOR UPDATE
// NOWAIT); WriteTx then rolls back, giving its connection back, and tries
// again after a short wait, until the lock timeout is spent: waiting for a
// lock without holding a connection keeps the pool for everyone else.
func (d driver) WriteTx(ctx context.Context, f func(context.Context, sqlcore.Querier) error) error {
	start := time.Now()
	for wait := lockWaitMin; ; wait = min(2*wait, lockWaitMax) {
		lockTimeout := d.lockTimeout
		if lockTimeout > 0 {
			lockTimeout -= time.Since(start)
			if lockTimeout <= 0 {
				return &abortedError{errLockWait}
			}
		}
		err := d.writeTx(ctx, f, lockTimeout)
		if !lockNotAvailable(err) {
			return err
		}
		sleep := wait/2 + rand.N(wait/2+1) // jittered, so waiters spread out
		if lockTimeout > 0 && sleep >= lockTimeout {
			return err
		}
		select {
		case <-ctx.Done():
			return &abortedError{errors.Join(err, ctx.Err())}
		case <-time.After(sleep):
		}
	}
}

// The first and the longest wait between two attempts of a write
// transaction that found its row locked.
const (
	lockWaitMin = time.Millisecond
	lockWaitMax = 50 * time.Millisecond
)

// errLockWait is the error of a write transaction whose row stayed locked
// for the lock timeout.
var errLockWait = fmt.Errorf("postgresstore: the row stayed locked for the lock timeout: %w",
	&pgconn.PgError{Code: codeLockNotAvailable, Message: "lock not available"})

// lockNotAvailable reports whether err is a row lock that another
// transaction holds (FOR UPDATE NOWAIT) or a lock wait that ran out its
// lock_timeout: the transaction was rolled back, and may run again.
func lockNotAvailable(err error) bool {
	var aborted *abortedError
	var pgErr *pgconn.PgError
	return errors.As(err, &aborted) && errors.As(aborted.err, &pgErr) && pgErr.Code == codeLockNotAvailable
}

// writeTx is one attempt of WriteTx with lockTimeout left (0: no bound).
func (d driver) writeTx(ctx context.Context, f func(context.Context, sqlcore.Querier) error, lockTimeout time.Duration) error {
	if d.txSlots != nil {
		// Waiting for a slot is waiting for other transactions, so it
		// spends the lock timeout.
		start := time.Now()
		var expired <-chan time.Time
		if lockTimeout > 0 {
			timer := time.NewTimer(lockTimeout)
			defer timer.Stop()
			expired = timer.C
		}
		select {
		case d.txSlots <- struct{}{}:
			defer func() { <-d.txSlots }()
		case <-expired:
			return &abortedError{errNoTxSlot}
		case <-ctx.Done():
			return &abortedError{ctx.Err()}
		}
		if lockTimeout > 0 {
			lockTimeout = max(lockTimeout-time.Since(start), time.Millisecond)
		}
	}
	// The bounds go with BEGIN in one simple-protocol message: no extra
	// round trip.
	tx, err := d.pool.BeginTx(ctx, pgx.TxOptions{BeginQuery: "BEGIN" + d.bounds(ctx, lockTimeout)})
	if err != nil {
		// Nothing was begun, let alone committed.
		return &abortedError{err}
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit
	// Which server process runs the transaction, known before COMMIT, so
	// that a COMMIT whose answer is lost can be settled (see settle).
	be, err := backendOf(ctx, tx)
	if err != nil {
		return abortedIn(tx, err)
	}
	if err := f(context.WithValue(ctx, txKey{}, tx), querier{tx}); err != nil {
		return abortedIn(tx, err)
	}
	if err := ctx.Err(); err != nil {
		// The caller has given up: roll back rather than commit a change
		// it will be told failed.
		return &abortedError{err}
	}
	if tx.Conn().IsClosed() {
		// f swallowed a failure that took the connection: COMMIT cannot
		// be sent, and the server rolls the transaction back.
		return &abortedError{errTxConnGone}
	}
	// COMMIT does not end with ctx: cut short, its outcome would be
	// unknown, while it takes little time and the caller is still there
	// to be told.
	commitCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	if err := tx.Commit(commitCtx); err != nil {
		var pgErr *pgconn.PgError
		switch {
		// Not "conn closed", although pgx calls it safe to retry: the
		// connection was open when COMMIT was sent (see above), and pgx
		// reports a connection lost while it waits for the answer that
		// way too (pgx v5.12: MultiResultReader.NextResult closes the
		// connection on a read error and then fails to lock it).
		case pgconn.SafeToRetry(err) && !errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, pgx.ErrTxCommitRollback),
			errors.As(err, &pgErr) && !lost(pgErr):
			// COMMIT was not sent, or the server answered it by rolling
			// back (a deferred constraint, a serialization failure).
			return err
		}
		if errors.As(err, &pgErr) && pgErr.Code == codeAdminShutdown {
			// pg_terminate_backend or a fast shutdown: the server
			// holds the termination off while a commit is under way,
			// so it ended the transaction first, and another
			// connection can see how.
			return &sqlcore.CheckableCommitError{Err: &commitUnknownError{err}}
		}
		// Any other loss (a reset, a network cut, a timeout): the server
		// process may still be committing, or about to read the COMMIT.
		// Once it has exited, its transaction has ended one way or the
		// other, and another connection sees which. Not cut short by
		// ctx either, for the same reason as COMMIT.
		settleCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
		defer cancel()
		if serr := d.settle(settleCtx, be); serr != nil {
			// %v: the settling's own error must not decide how the
			// commit's is classified.
			return &commitUnknownError{fmt.Errorf("%w (its server process could not be made sure to have ended: %v)", err, serr)}
		}
		return &sqlcore.CheckableCommitError{Err: &commitUnknownError{err}}
	}
	return nil
}

// backend identifies the server process of a connection: its process ID
// and, since an ID is reused once a process has exited, its start time.
type backend struct {
	pid   int32
	start time.Time // zero: unknown, the transaction cannot be settled
}

// backendKey is where a connection's backend is kept, in the connection's
// CustomData.
const backendKey = "github.com/invitekit/invitekit/postgresstore.backend"

// backendOf returns the backend of tx's connection. It asks the server
// once per connection (one round trip, inside the connection's first write
// transaction) and keeps the answer with the connection: backend_start
// comes with no message PostgreSQL sends on its own, and a pool the caller
// passes to New has no hook in which to ask at connect time. When the
// server's process ID is not the one the connection was given at startup
// (a connection pooler such as PgBouncer in between makes that one up),
// the backend is left unknown: terminating that process could end other
// clients' sessions.
func backendOf(ctx context.Context, tx pgx.Tx) (backend, error) {
	pc := tx.Conn().PgConn()
	if b, ok := pc.CustomData()[backendKey].(backend); ok {
		return b, nil
	}
	var pid int32
	var start *time.Time
	err := tx.QueryRow(ctx, `SELECT pg_backend_pid(),
		(SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())`).Scan(&pid, &start)
	if err != nil {
		return backend{}, err
	}
	b := backend{pid: pid}
	if start != nil && uint32(pid) == pc.PID() {
		b.start = *start
	}
	pc.CustomData()[backendKey] = b
	return b, nil
}

// settle makes sure that the server process b, whose connection was lost
// while its COMMIT was under way, has exited, terminating it
// (pg_terminate_backend) if needed, from another of the pool's
// connections. PostgreSQL holds a termination off while a commit is under
// way (interrupts are held from the commit record until the transaction
// has ended) and rolls back an open transaction before the process leaves
// pg_stat_activity; so once b is gone its transaction has committed or
// rolled back for good, and a read sees which. A process that has not read
// the COMMIT yet dies with its transaction rolled back.
//
// It fails when that cannot be made sure of within ctx: the server is
// unreachable, the role may not terminate b (pg_terminate_backend needs
// the same role or pg_signal_backend), or b is unknown (see backendOf).
func (d driver) settle(ctx context.Context, b backend) error {
	if b.start.IsZero() {
		return errBackendUnknown
	}
	for wait := settleWaitMin; ; wait = min(2*wait, settleWaitMax) {
		var start *time.Time
		var signalled *bool
		// The CASE: a process that took b's ID after b exited is never
		// signalled.
		err := d.pool.QueryRow(ctx, `SELECT backend_start,
			CASE WHEN backend_start = $2 THEN pg_terminate_backend(pid) END
			FROM pg_stat_activity WHERE pid = $1`, b.pid, b.start).Scan(&start, &signalled)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return nil // gone
		case err == nil && start == nil:
			return errBackendHidden
		case err == nil && !start.Equal(b.start):
			return nil // gone, and its ID taken by another process
		case err != nil && !lost(err):
			return err // not allowed to terminate it, say
		}
		// Still there (terminating), or the connection used to look was
		// lost too: look again.
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// The first and the longest wait between two looks of settle.
const (
	settleWaitMin = time.Millisecond
	settleWaitMax = 50 * time.Millisecond
)

var (
	errBackendUnknown = errors.New("postgresstore: the transaction's server process is not known (a connection pooler in between?)")
	errBackendHidden  = errors.New("postgresstore: the transaction's server process is not visible to this role in pg_stat_activity")
)

// commitTimeout bounds a COMMIT, which the caller's context does not (see
// WriteTx): long enough for a synchronous standby to answer.
const commitTimeout = 5 * time.Second

// errNoTxSlot is the error of a write transaction that found no free slot
// (see driver.txSlots) within the lock timeout.
var errNoTxSlot = errors.New("postgresstore: every connection for write transactions stayed busy for the lock timeout")

// abortedIn returns err, a failure of tx before its COMMIT was sent, as an
// abortedError. When err reports the failure in its own words (an accept
// hook's statement on the transaction, say) but the connection is gone,
// and the transaction with it, errTxConnGone joins it: as retryable as any
// loss before COMMIT.
func abortedIn(tx pgx.Tx, err error) error {
	if tx.Conn().IsClosed() && !lost(err) {
		err = errors.Join(err, errTxConnGone)
	}
	return &abortedError{err}
}

// errTxConnGone joins the error of a write transaction whose connection
// was gone when it failed.
var errTxConnGone = fmt.Errorf("postgresstore: the transaction's connection is gone: %w", pgconn.ErrConnClosed)

// bounds returns the SET LOCAL statements that bound the lock and statement
// waits of a transaction begun now by lockTimeout, the driver's statement
// timeout and ctx's deadline, whichever is sooner, each prefixed by "; ".
func (d driver) bounds(ctx context.Context, lockTimeout time.Duration) string {
	bound := func(setting string, d time.Duration) string {
		if deadline, ok := ctx.Deadline(); ok {
			if left := time.Until(deadline); d == 0 || left < d {
				// At least 1 ms even when the deadline has just passed
				// (ctx may not say so yet): 0 would switch the bound
				// off, and a transaction begun now would wait unbounded.
				d = max(left, time.Millisecond)
			}
		}
		if d == 0 {
			return "" // no bound and no deadline
		}
		// Whole milliseconds, rounded up: PostgreSQL's unit, and 0 is off.
		return "; SET LOCAL " + setting + " = " + strconv.FormatInt(int64((d+time.Millisecond-1)/time.Millisecond), 10)
	}
	return bound("lock_timeout", lockTimeout) + bound("statement_timeout", d.statementTimeout)
}

// abortedError is a failure of a write transaction before its COMMIT was
// sent: the transaction did not commit.
type abortedError struct{ err error }

func (e *abortedError) Error() string { return e.err.Error() }
func (e *abortedError) Unwrap() error { return e.err }

// commitUnknownError is a failure of a write transaction's COMMIT that
// leaves its outcome unknown: the connection failed after COMMIT was sent.
type commitUnknownError struct{ err error }

func (e *commitUnknownError) Error() string {
	return "commit outcome unknown: " + e.err.Error()
}
func (e *commitUnknownError) Unwrap() error { return e.err }

type txKey struct{}

// Tx returns the store's transaction that ctx runs in, and true, inside an
// accept hook (invitation.AcceptHook, guest.AcceptHook): statements run on
// it commit or roll back with the accept. The transaction is the store's:
// do not commit or roll it back, and do not keep it after the hook returns.
// Outside a hook it returns nil and false.
func Tx(ctx context.Context) (pgx.Tx, bool) {
	tx, ok := ctx.Value(txKey{}).(pgx.Tx)
	return tx, ok
}

func (driver) Unique(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == codeUniqueViolation
}

// Retryable: the server aborted the transaction because of a serialization
// failure or deadlock, nothing reached the server (a connection could not
// even be made), or the connection of a write transaction failed before its
// COMMIT was sent. Never a commit whose
// outcome is unknown, and never a statement that commits on its own (an
// insert through the pool) that lost its connection after it was sent:
// both may have been applied.
func (driver) Retryable(err error) bool {
	var unknown *commitUnknownError
	if errors.As(err, &unknown) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == codeSerializationFailure || pgErr.Code == codeDeadlockDetected) {
		return true
	}
	var aborted *abortedError
	var connectErr *pgconn.ConnectError
	return pgconn.SafeToRetry(err) || errors.As(err, &aborted) && lost(aborted.err) ||
		errors.As(err, &connectErr) && lost(err) // no connection, so nothing was sent
}

func (driver) Lost(err error) bool { return lost(err) }

// lost reports whether err says the connection failed: the server
// terminated it (57P01 to 57P03, class 08), the network or pgx closed it,
// or it could not be made for one of those reasons or within
// connect_timeout. A connection refused for a reason that lasts (a
// password, TLS the server does not offer, a certificate that does not
// verify) is not lost: reported as unavailable, it would be retried and
// answered 503 for ever instead of showing up as the error it is.
func lost(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case codeAdminShutdown, codeCrashShutdown, codeCannotConnectNow:
			return true
		}
		return strings.HasPrefix(pgErr.Code, classConnection)
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) && errors.Is(err, context.DeadlineExceeded) {
		// connect_timeout ran out (the caller's own deadline is told
		// apart by the core, which reports it first).
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// The caller's context ended (context.DeadlineExceeded is a
		// net.Error too): pgx closed the connection for it, and the core
		// reports the context's end.
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, pgconn.ErrConnClosed)
}

// Unavailable: the connection failed, a lock or statement wait ran out its
// bound (lock_timeout, statement_timeout), the server has no connection to
// spare, contention outlasted the retries, pgx timed out, or the write
// transactions under way kept every connection they may use for the lock
// timeout.
func (driver) Unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case codeLockNotAvailable, codeQueryCanceled, codeTooManyConnections,
			codeSerializationFailure, codeDeadlockDetected:
			return true
		}
	}
	return lost(err) || pgconn.Timeout(err) || errors.Is(err, errNoTxSlot)
}

// querier is a pool or a transaction.
type querier struct {
	q interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	}
}

func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := q.q.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

func (q querier) Query(ctx context.Context, query string, args ...any) (sqlcore.Rows, error) {
	return q.q.Query(ctx, query, args...)
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the store's schema migrations: the files
// NNNN_description.sql at its root, which Open and New apply unless
// WithSchemaCheck is given. Each is annotated for goose
// (github.com/pressly/goose/v3), so goose.NewProvider(goose.DialectPostgres,
// db, postgresstore.Migrations()) applies them as they are; any tool that
// runs each file's SQL in order, once, in a transaction, does too. The
// files name their objects unqualified: run them with the store's schema
// first on the search path (see the package documentation).
func Migrations() fs.FS {
	// fs.Sub fails only for an invalid directory name, which this is not.
	sub, _ := fs.Sub(migrationFiles, "migrations")
	return sub
}

// lockClass is the first key of the advisory lock migrations run under
// ("ikit" in ASCII); the second is a hash of the schema name, so stores in
// different schemas migrate independently.
const lockClass = 0x696b6974

// migrate creates the schema if needed and applies the migrations the
// database lacks, each in a transaction under an advisory lock: instances
// that start together wait for the first one and then find nothing to do.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrate.Load(Migrations(), ".")
	if err != nil {
		return fmt.Errorf("postgresstore: migrate: %w", err)
	}
	table := pgx.Identifier{s.schema, "schema_migrations"}.Sanitize()
	err = sqlcore.Migrate(ctx, dialect, ms, table, func(f func(sqlcore.Querier) error) error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if err := s.prepareMigration(ctx, tx); err != nil {
				return err
			}
			return f(querier{tx})
		})
	})
	if err != nil {
		return fmt.Errorf("postgresstore: migrate schema %q: %w", s.schema, err)
	}
	return nil
}

// checkSchema checks, reading only, that the store's schema is at the
// latest version in its schema_migrations table or goose's table
// gooseTable there (see sqlcore.CheckSchema).
func (s *Store) checkSchema(ctx context.Context, gooseTable string) error {
	ms, err := migrate.Load(Migrations(), ".")
	if err != nil {
		return fmt.Errorf("postgresstore: check schema: %w", err)
	}
	// to_regclass is NULL for a table, or a schema, that does not exist.
	const exists = "SELECT to_regclass($1) IS NOT NULL"
	own := pgx.Identifier{s.schema, "schema_migrations"}.Sanitize()
	goose := pgx.Identifier{s.schema, gooseTable}.Sanitize()
	err = sqlcore.CheckSchema(ctx, querier{s.pool}, migrate.Latest(ms),
		sqlcore.VersionTable{Name: own, Exists: exists, Args: []any{own}},
		sqlcore.VersionTable{Name: goose, Exists: exists, Args: []any{goose}, Goose: true})
	if err != nil {
		return fmt.Errorf("postgresstore: schema %q: %w", s.schema, err)
	}
	return nil
}

// prepareMigration takes the migration lock and makes sure the schema and
// the migrations table exist; the migration files name their objects
// unqualified, for the schema on the search path.
func (s *Store) prepareMigration(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", lockClass, s.schema); err != nil {
		return err
	}
	schema := pgx.Identifier{s.schema}.Sanitize()
	// Look before creating: CREATE ... IF NOT EXISTS needs the CREATE
	// privilege even when there is nothing to create, and an application
	// may run with a role that only uses tables an owner made.
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", s.schema).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			return err
		}
	}
	table := pgx.Identifier{s.schema, "schema_migrations"}.Sanitize()
	if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := tx.Exec(ctx, `CREATE TABLE `+table+` (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return err
		}
	}
	// SET LOCAL lasts until the transaction ends.
	_, err := tx.Exec(ctx, "SET LOCAL search_path TO "+schema)
	return err
}
