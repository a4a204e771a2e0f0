// Package sqlitestore is the durable embedded store for both kinds of
// invitations: one SQLite file, through the pure-Go driver modernc.org/sqlite,
// so it builds with CGO_ENABLED=0. It implements invitation.Store and
// guest.Store and passes the same conformance suite as every other store.
//
// Open configures everything: write-ahead logging, a busy timeout, foreign
// keys, and a single writer. Writes go through a pool of one connection whose
// transactions begin IMMEDIATE, so they queue in Go instead of failing with
// SQLITE_BUSY; reads go through a separate pool and never wait for writes.
// By default the schema is created and upgraded by numbered, embedded
// migrations when the store opens. A migration that renames columns
// (version 2 does) needs every process of the older release stopped first;
// see the README's "Upgrading".
//
// # Running the migrations yourself
//
// Teams that migrate with their own tool apply Migrations, the same files,
// annotated for goose (github.com/pressly/goose/v3), and open the store
// with WithSchemaCheck: it then changes nothing in the schema, and fails
// with an error wrapping *store.SchemaTooOldError unless the database is at
// exactly this build's latest version. With goose:
//
//	p, err := goose.NewProvider(goose.DialectSQLite3, db, sqlitestore.Migrations())
//	...
//	_, err = p.Up(ctx)
//	...
//	s, err := sqlitestore.New(ctx, db, sqlitestore.WithSchemaCheck())
//
// The migrations need nothing done outside their SQL: each runs in one
// transaction, with foreign keys on or off (none refers to a table a
// migration rebuilds). They are up only: goose down would forget a version
// without undoing it. The check reads the versions goose recorded in its
// table (goose_db_version, or the one WithGooseTable names: give invitekit
// a table of its own when the file holds your application's migrations
// too) and those the store recorded in its own, so a file the store
// migrated itself passes as well.
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
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/internal/migrate"
	"github.com/invitekit/invitekit/internal/sqlcore"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/link"
	"github.com/invitekit/invitekit/outbox"
	"github.com/invitekit/invitekit/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the store's schema migrations: the files
// NNNN_description.sql at its root, which Open and New apply unless
// WithSchemaCheck is given. Each is annotated for goose
// (github.com/pressly/goose/v3), so goose.NewProvider(goose.DialectSQLite3,
// db, sqlitestore.Migrations()) applies them as they are; any tool that
// runs each file's SQL in order, once, in a transaction, does too. Record
// the versions in goose's table or in a table of the same shape, which
// WithSchemaCheck reads.
func Migrations() fs.FS {
	// fs.Sub fails only for an invalid directory name, which this is not.
	sub, _ := fs.Sub(migrationFiles, "migrations")
	return sub
}

// migrationsTable records the applied schema versions, one row each.
const migrationsTable = "invitekit_schema_migrations"

// Store keeps invitations in a SQLite database. It is safe for concurrent
// use, also by several processes sharing one file. It implements
// invitation.Store and guest.Store through the SQL core it embeds, the same
// code as postgresstore's.
type Store struct {
	*sqlcore.Core
	// drv.write runs every write transaction; Open limits it to one
	// connection. drv.read runs reads; it is drv.write itself for :memory:
	// and for New.
	drv driver
	// owned is whether Close closes the databases: not for New.
	owned bool
}

var (
	_ invitation.Store = (*Store)(nil)
	_ guest.Store      = (*Store)(nil)
	_ link.Store       = (*Store)(nil)
	_ event.Store      = (*Store)(nil)
	_ outbox.Store     = (*Store)(nil)
	_ outbox.Listener  = (*Store)(nil)
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
	// schemaCheck: check the schema's version instead of migrating.
	schemaCheck bool
	gooseTable  string
}

// WithSchemaCheck makes Open and New apply no migration and change nothing
// in the schema: they check that the database is at exactly the latest
// version of Migrations, which the application's own migration tool
// applied (goose, say), and fail otherwise, with an error wrapping
// *store.SchemaTooOldError when migrations are missing (Open also when the
// file does not exist, which it then does not create, wrapping
// fs.ErrNotExist too) and *store.SchemaTooNewError when the database is
// newer than this build. The version is read from goose's table (see
// WithGooseTable) and from the store's own, so a database the store
// migrated itself passes too.
//
// Open and New without WithSchemaCheck read only the store's own table: a
// database goose migrated must always be opened with WithSchemaCheck.
func WithSchemaCheck() Option {
	return func(c *config) { c.schemaCheck = true }
}

// WithGooseTable names the table goose records invitekit's migrations in,
// as given to goose.WithTableName; "goose_db_version", goose's default,
// when not given. Only WithSchemaCheck reads it. Give invitekit's
// migrations a table of their own when your application keeps its own
// migrations with goose in the same file: goose numbers versions per table.
func WithGooseTable(name string) Option {
	return func(c *config) { c.gooseTable = name }
}

// WithSynchronous sets the synchronous mode of every connection;
// SynchronousNormal when not given.
func WithSynchronous(s Synchronous) Option {
	return func(c *config) { c.synchronous = s }
}

// WithBusyTimeout sets how long a write waits for another process that holds
// the file's write lock before failing with an error that wraps
// store.ErrUnavailable and SQLITE_BUSY; 5 seconds when not given. Keep it
// shorter than the deadlines of the calls that write. Writers of one Store
// never wait on each other this way: they queue for its single write
// connection.
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
	if c.gooseTable == "" {
		return errors.New("sqlitestore: goose table name is empty")
	}
	return nil
}

func newConfig(opts []Option) (config, error) {
	c := config{synchronous: SynchronousNormal, busyTimeout: 5 * time.Second, gooseTable: sqlcore.GooseTable}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c, c.check()
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
// A new file is created with mode 0600, and so are its -wal and -shm files,
// which SQLite creates with the database file's mode; an existing file keeps
// its mode. Open fails with an error wrapping fs.ErrNotExist, and naming
// the directory, when the file's directory does not exist, and with one
// wrapping ErrReadOnly, naming the file or directory, when the store cannot
// write the database: it checks by taking the write lock, rather than fail
// every write later. It fails with an error wrapping
// *store.SchemaTooNewError when the database was migrated by a newer
// invitekit than this one. With WithSchemaCheck it applies no migration
// and fails unless the database is at the latest version (see there).
// Close the store when done.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if c.schemaCheck && path != ":memory:" {
		// Not created: a file that does not exist has no schema.
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("sqlitestore: open %s: %w: %w", path, fs.ErrNotExist,
				&store.SchemaTooOldError{Database: 0, Wanted: latestVersion()})
		}
	}
	if path != ":memory:" {
		if err := prepareFile(path); err != nil {
			return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
		}
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
	s, err := newStore(ctx, write, read, true, c)
	if err != nil {
		write.Close()
		if read != write {
			read.Close()
		}
		if code := sqliteCode(err); code == sqlite3.SQLITE_READONLY || code == sqlite3.SQLITE_CANTOPEN {
			err = explainReadOnly(path, err)
		}
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	return s, nil
}

// New returns a store on db, which the caller opened with the driver
// "sqlite" of modernc.org/sqlite (importing this package registers it) and
// keeps owning: Close does not close it. It applies the schema migrations
// the database lacks, like Open, or only checks the schema's version with
// WithSchemaCheck, and fails with an error wrapping ErrReadOnly when it
// cannot write the database. Of the options, New takes WithSchemaCheck and
// WithGooseTable; the others configure the connections Open makes, and
// have no effect here.
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
func New(ctx context.Context, db *sql.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlitestore: New: db is nil")
	}
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	s, err := newStore(ctx, db, db, false, c)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: new: %w", err)
	}
	return s, nil
}

func newStore(ctx context.Context, write, read *sql.DB, owned bool, c config) (*Store, error) {
	ms, err := migrate.Load(Migrations(), ".")
	if err != nil {
		return nil, err
	}
	if c.schemaCheck {
		err = checkSchema(ctx, write, migrate.Latest(ms), c.gooseTable)
	} else {
		err = applyMigrations(ctx, write, ms)
	}
	if err == nil {
		err = checkWritable(ctx, write)
	}
	if sqliteCode(err) == sqlite3.SQLITE_READONLY {
		return nil, fmt.Errorf("%w: %w", ErrReadOnly, err)
	}
	if err != nil {
		return nil, err
	}
	s := &Store{owned: owned}
	s.drv.write = newPool(write)
	s.drv.read = s.drv.write
	if read != write {
		s.drv.read = newPool(read)
	}
	s.Core = sqlcore.New("sqlitestore", &s.drv, dialect, "")
	return s, nil
}

// Close releases the store's statements and, when Open opened them, its
// connections. Later calls fail with store.ErrClosed.
func (s *Store) Close() error {
	if !sqlcore.MarkClosed(s.Core) {
		return nil
	}
	err := s.drv.write.close()
	if s.drv.read != s.drv.write {
		err = errors.Join(err, s.drv.read.close())
	}
	if !s.owned {
		return err
	}
	if s.drv.read != s.drv.write {
		err = errors.Join(err, s.drv.read.db.Close())
	}
	return errors.Join(err, s.drv.write.db.Close())
}

// applyMigrations applies, in order, each migration the database lacks, one
// IMMEDIATE transaction per migration, which holds the file's write lock
// from its start: two processes opening one new file cannot both apply a
// version.
func applyMigrations(ctx context.Context, db *sql.DB, ms []migrate.Migration) error {
	return sqlcore.Migrate(ctx, dialect, ms, migrationsTable, func(f func(sqlcore.Querier) error) error {
		return immediateTx(ctx, db, func(conn *sql.Conn) error {
			if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+migrationsTable+` (
				version    INTEGER PRIMARY KEY,
				name       TEXT    NOT NULL,
				applied_at INTEGER NOT NULL
			)`); err != nil {
				return err
			}
			return f(connQuerier{conn})
		})
	})
}

// latestVersion returns the latest version of Migrations, 0 if they do not
// load (Open then fails as it loads them).
func latestVersion() int {
	ms, _ := migrate.Load(Migrations(), ".")
	return migrate.Latest(ms)
}

// checkSchema checks, reading only, that db is at version latest in the
// store's migrations table or goose's table gooseTable (see
// sqlcore.CheckSchema).
func checkSchema(ctx context.Context, db *sql.DB, latest int, gooseTable string) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	const exists = `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1)`
	return sqlcore.CheckSchema(ctx, connQuerier{conn}, latest,
		sqlcore.VersionTable{Name: migrationsTable, Exists: exists, Args: []any{migrationsTable}},
		sqlcore.VersionTable{Name: quoteIdent(gooseTable), Exists: exists, Args: []any{gooseTable}, Goose: true})
}

// quoteIdent quotes name as an SQL identifier.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
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
	defer func() {
		// A panic in f (an application's accept hook runs in it) must not
		// hand the connection back inside the transaction, holding the
		// file's write lock.
		if p := recover(); p != nil {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			panic(p)
		}
	}()
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
