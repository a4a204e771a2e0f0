// Package sqlitestore is the durable embedded store for both kinds of
// invitations: one SQLite file, through the pure-Go driver modernc.org/sqlite,
// so it builds with CGO_ENABLED=0. It implements invitation.Store and
// guest.Store and passes the same conformance suite as every other store.
//
// Open configures everything: write-ahead logging, a busy timeout, foreign
// keys, and a single writer. Writes go through a pool of one connection whose
// transactions begin IMMEDIATE, so they queue in Go instead of failing with
// SQLITE_BUSY; reads go through a separate pool and never wait for writes.
// The schema is created and upgraded by numbered, embedded migrations when
// the store opens.
//
// Keep the clocks of all processes that share a file synchronised (NTP).
// Whether an earlier invitation still blocks a new one for its email is
// decided at the now the caller passes: a process whose clock runs ahead by
// more than an invitation's remaining life sees it expired, and can open a
// second invitation for the email while the first is still acceptable.
//
// # What survives what
//
// Every write that returned without error has been committed to the
// write-ahead log. A crash of the application (a panic, kill -9, an OOM kill)
// loses nothing that was acknowledged, and the file is never corrupted. With
// the default synchronous=NORMAL, a power loss or operating-system crash may
// lose the last acknowledged transactions (those committed since the log was
// last synced to disk, which happens at every checkpoint), but still never
// corrupts the file. WithSynchronous(SynchronousFull) syncs
// the log on every commit, so acknowledged writes survive power loss too, at
// the cost of one fsync per write.
package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/internal/migrate"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationsTable records the applied schema versions, one row each.
const migrationsTable = "invitekit_schema_migrations"

// Store keeps invitations in a SQLite database. It is safe for concurrent
// use, also by several processes sharing one file.
type Store struct {
	// write runs every write transaction. Open limits it to one connection.
	write *sql.DB
	// read runs reads; it is write itself for :memory: and for New.
	read *sql.DB
	// owned is whether Close closes the databases: not for New.
	owned  bool
	closed atomic.Bool
	stmts  statements
}

var (
	_ invitation.Store = (*Store)(nil)
	_ guest.Store      = (*Store)(nil)
)

// Synchronous is an SQLite synchronous setting: how often commits wait for
// the disk. See the package documentation for what each one survives.
type Synchronous string

// Synchronous settings.
const (
	// SynchronousNormal is the default: in WAL mode, commits do not wait
	// for the disk; the log is synced at checkpoints. An application crash
	// loses nothing acknowledged; a power loss may lose the last
	// transactions but never corrupts the file.
	SynchronousNormal Synchronous = "NORMAL"
	// SynchronousFull syncs the log on every commit, so every acknowledged
	// write also survives a power loss.
	SynchronousFull Synchronous = "FULL"
)

// Option configures Open. A nil Option is ignored.
type Option func(*config)

type config struct {
	synchronous Synchronous
	busyTimeout time.Duration
}

// WithSynchronous sets the synchronous mode of every connection;
// SynchronousNormal when not given.
func WithSynchronous(s Synchronous) Option {
	return func(c *config) { c.synchronous = s }
}

// WithBusyTimeout sets how long a write waits for another process that holds
// the file's write lock before failing with SQLITE_BUSY; 5 seconds when not
// given. Writers of one Store never wait on each other this way: they queue
// for its single write connection.
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) { c.busyTimeout = d }
}

func (c config) check() error {
	if c.synchronous != SynchronousNormal && c.synchronous != SynchronousFull {
		return fmt.Errorf("sqlitestore: synchronous %q is neither %s nor %s", c.synchronous, SynchronousNormal, SynchronousFull)
	}
	if c.busyTimeout < 0 {
		return fmt.Errorf("sqlitestore: busy timeout %v is negative", c.busyTimeout)
	}
	return nil
}

// dsn returns the driver DSN of path. Per-connection settings belong in the
// DSN, not in one Exec, so that every connection a pool opens gets them.
func (c config) dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", c.busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous("+string(c.synchronous)+")")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + escapePath(path) + "?" + q.Encode()
}

// escapePath escapes what an SQLite URI filename would read as syntax.
func escapePath(path string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

// Open opens the SQLite database file at path, creating it if needed,
// applies the schema migrations this build has and the database lacks, and
// returns the store. Path ":memory:" opens a new private in-memory database
// (one per call) for tests.
//
// It fails with an error wrapping *store.SchemaTooNewError when the database was
// migrated by a newer invitekit than this one. Close the store when done.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	c := config{synchronous: SynchronousNormal, busyTimeout: 5 * time.Second}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	write, err := sql.Open("sqlite", c.dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	// One write connection: writers of this store queue for it instead of
	// contending for the file's lock. For :memory: it is also the only
	// connection, as every connection to ":memory:" is a database of its
	// own; it must never be closed while the store is open.
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	read := write
	if path != ":memory:" {
		read, err = sql.Open("sqlite", c.dsn(path, true))
		if err != nil {
			write.Close()
			return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
		}
		n := max(4, runtime.GOMAXPROCS(0))
		read.SetMaxOpenConns(n)
		read.SetMaxIdleConns(n)
	}
	s, err := newStore(ctx, write, read, true)
	if err != nil {
		write.Close()
		if read != write {
			read.Close()
		}
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	return s, nil
}

// New returns a store on db, which the caller opened with the driver
// "sqlite" of modernc.org/sqlite (importing this package registers it) and
// keeps owning: Close does not close it. It applies the schema migrations
// the database lacks, like Open.
//
// Configure db as Open does, in its DSN so that every pooled connection
// gets it:
//
//	file:invitekit.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)
//
// The busy timeout is what makes a write wait for another connection's
// write lock instead of failing with SQLITE_BUSY; WAL lets reads proceed
// during a write. The store begins every write transaction with BEGIN
// IMMEDIATE itself, whatever the DSN's _txlock says, so any number of
// connections, stores and processes may write to one file. A ":memory:"
// database needs db.SetMaxOpenConns(1), or each connection sees a database
// of its own.
func New(ctx context.Context, db *sql.DB) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlitestore: New: db is nil")
	}
	s, err := newStore(ctx, db, db, false)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: new: %w", err)
	}
	return s, nil
}

func newStore(ctx context.Context, write, read *sql.DB, owned bool) (*Store, error) {
	ms, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	if err := applyMigrations(ctx, write, ms); err != nil {
		return nil, err
	}
	s := &Store{write: write, read: read, owned: owned}
	if err := s.stmts.prepare(ctx, write, read); err != nil {
		s.stmts.close()
		return nil, err
	}
	return s, nil
}

// Close releases the store's statements and, when Open opened them, its
// connections. Later calls fail with store.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	err := s.stmts.close()
	if !s.owned {
		return err
	}
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return errors.Join(err, s.write.Close())
}

// applyMigrations applies, in order, each migration the database lacks, one
// transaction per migration.
func applyMigrations(ctx context.Context, db *sql.DB, ms []migrate.Migration) error {
	for {
		done, err := applyNext(ctx, db, ms)
		if err != nil || done {
			return err
		}
	}
}

// applyNext applies the first migration the database lacks, and reports
// whether there was none. It reads the version and applies the migration in
// one IMMEDIATE transaction, which holds the file's write lock from its
// start: two processes opening one new file cannot both apply a version.
func applyNext(ctx context.Context, db *sql.DB, ms []migrate.Migration) (done bool, err error) {
	err = immediateTx(ctx, db, func(conn *sql.Conn) error {
		if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+migrationsTable+` (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at INTEGER NOT NULL
		)`); err != nil {
			return err
		}
		var current int
		if err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+migrationsTable).Scan(&current); err != nil {
			return err
		}
		latest := migrate.Latest(ms)
		if current > latest {
			return &store.SchemaTooNewError{Database: current, Supported: latest}
		}
		if current == latest {
			done = true
			return nil
		}
		m := ms[current]
		if _, err := conn.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("apply %s: %w", m.Name, err)
		}
		_, err := conn.ExecContext(ctx, `INSERT INTO `+migrationsTable+` (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, time.Now().UnixMicro())
		return err
	})
	if err != nil {
		return false, fmt.Errorf("schema migration: %w", err)
	}
	return done, nil
}

// immediateTx runs f in a transaction begun with BEGIN IMMEDIATE on one
// connection of db, whatever the DSN's _txlock says, so that it works on a
// database New was given too.
func immediateTx(ctx context.Context, db *sql.DB, f func(*sql.Conn) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	err = f(conn)
	if err == nil {
		_, err = conn.ExecContext(ctx, "COMMIT")
	}
	if err == nil {
		return nil
	}
	// The connection goes back to the pool: it must not stay inside the
	// transaction, even when ctx is what failed. The rollback fails when
	// SQLite has already rolled back (an interrupted statement does), and
	// the connection is fine then; it is not discarded, as for :memory:
	// that would discard the database.
	if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// writeTx runs f in a write transaction on one connection of the write
// pool, and commits when f returns nil. The transaction begins IMMEDIATE
// whatever the DSN says, New's included: it holds the file's write lock
// from its first statement, waiting for it as the busy timeout allows, so
// a transaction that reads before it writes never has to upgrade its lock,
// which SQLite refuses with SQLITE_BUSY without waiting when another
// connection wrote in between.
func (s *Store) writeTx(ctx context.Context, f func(*sql.Conn) error) error {
	return immediateTx(ctx, s.write, f)
}

// readTx runs f in a read transaction: one snapshot for several queries.
func (s *Store) readTx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // A read-only transaction has nothing to lose.
	return f(tx)
}

// check returns store.ErrClosed after Close and ctx's error when it is done, so
// that neither reaches the driver.
func (s *Store) check(ctx context.Context, op string) error {
	if s.closed.Load() {
		return fmt.Errorf("sqlitestore: %s: %w", op, store.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	return nil
}

// translate is the one place driver errors become store errors: no rows is
// store.ErrNotFound, a unique or primary-key violation store.ErrAlreadyExists,
// and anything else is wrapped with the operation's name. When ctx has ended,
// the result also wraps ctx's error, which the driver reports as an
// interruption.
func translate(ctx context.Context, op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlitestore: %s: %w", op, store.ErrNotFound)
	case isUniqueViolation(err):
		return fmt.Errorf("sqlitestore: %s: %w", op, store.ErrAlreadyExists)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("sqlitestore: %s: %w: %w", op, cerr, err)
	}
	return fmt.Errorf("sqlitestore: %s: %w", op, err)
}

// isUniqueViolation reports whether err is SQLite's unique or primary-key
// constraint error. The driver enables extended result codes, which tell the
// two from other constraint errors.
func isUniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true
	}
	return false
}
