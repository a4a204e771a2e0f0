package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/invitekit/invitekit/internal/sqlcore"
)

// dialect is SQLite's: IDs are 16-byte BLOBs and times INTEGER Unix
// microseconds (UTC), so both compare in SQL exactly as the domain packages
// compare them; booleans are 0 and 1. A write transaction holds the whole
// file's write lock, so selects need no row lock.
var dialect = sqlcore.Dialect{
	ID:   func(id uuid.UUID) any { return id[:] },
	Time: func(t time.Time) any { return t.UnixMicro() },
	Bool: func(b bool) any {
		if b {
			return 1
		}
		return 0
	},
	TimeDest: func(p *time.Time) sql.Scanner { return microTime{p} },
	Contains: func(column, arg string) string {
		// instr matches literally: '%' and '_' are not wildcards.
		return "instr(" + column + ", " + arg + ") > 0"
	},
	Filtered: func(column string) string { return "+" + column },
	Trigrams: &sqlcore.TrigramIndex{
		Match: func(arg string) string {
			return "id IN (SELECT r.id FROM guest_invitation_emails e JOIN guest_invitation_email_rows r ON r.n = e.rowid" +
				" WHERE guest_invitation_emails MATCH " + arg + ")"
		},
		// One FTS5 string: the trigram tokenizer finds it as a substring.
		Query: func(text string) string { return `"` + strings.ReplaceAll(text, `"`, `""`) + `"` },
		Probe: `WITH host (n) AS (SELECT coalesce(sum(n), 0) FROM guest_invitation_counts WHERE host_organization_id = $2)
			SELECT (SELECT count(*) FROM (SELECT 1 FROM guest_invitation_emails WHERE guest_invitation_emails MATCH $1
				LIMIT (SELECT min(n, $3) FROM host))), (SELECT n FROM host)`,
	},
	Positional: true,
}

// microTime scans INTEGER Unix microseconds.
type microTime struct{ p *time.Time }

func (m microTime) Scan(src any) error {
	var n sql.NullInt64
	if err := n.Scan(src); err != nil {
		return err
	}
	*m.p = time.UnixMicro(n.Int64).UTC()
	return nil
}

// driver runs the core's statements: reads on the read pool, writes on the
// write pool, write transactions on one connection of it, begun IMMEDIATE.
type driver struct {
	read, write *pool
}

func (d *driver) Reader() sqlcore.Querier { return d.read }
func (d *driver) Writer() sqlcore.Querier { return d.write }

func (d *driver) WriteTx(ctx context.Context, f func(context.Context, sqlcore.Querier) error) error {
	return immediateTx(ctx, d.write.db, func(conn *sql.Conn) error {
		return f(context.WithValue(ctx, txKey{}, conn), connQuerier{conn})
	})
}

type txKey struct{}

// Tx returns the connection of the store's write transaction that ctx runs
// in, and true, inside an accept hook (invitation.AcceptHook,
// guest.AcceptHook): statements run on it commit or roll back with the
// accept. The transaction is the store's: run statements on the connection
// (ExecContext, QueryContext, QueryRowContext), never BEGIN, COMMIT or
// ROLLBACK, and do not keep it after the hook returns. Outside a hook it
// returns nil and false.
func Tx(ctx context.Context) (*sql.Conn, bool) {
	conn, ok := ctx.Value(txKey{}).(*sql.Conn)
	return conn, ok
}

// Unique reports whether err is SQLite's unique or primary-key constraint
// error. The driver enables extended result codes, which tell the two from
// other constraint errors.
func (d *driver) Unique(err error) bool {
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

// Retryable is false: writers queue for the write lock as the busy timeout
// allows, and nothing is retried behind their back.
func (d *driver) Retryable(error) bool { return false }

// Lost is false: there is no connection to lose, only a file.
func (d *driver) Lost(error) bool { return false }

// Unavailable reports whether err is SQLITE_BUSY or SQLITE_LOCKED (with any
// extended code): another process held the file's lock past the busy
// timeout, which already bounded the wait.
func (d *driver) Unavailable(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff { // the primary result code
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}

// pool runs statements on a *sql.DB through prepared statements: SQLite
// compiles a statement in about as long as it takes to run a simple one.
// The first maxCached statement texts stay prepared; the lists, built per
// filter and order, have more shapes than that.
type pool struct {
	db     *sql.DB
	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	closed bool
}

const maxCached = 128

func newPool(db *sql.DB) *pool { return &pool{db: db, stmts: make(map[string]*sql.Stmt)} }

// stmt returns the prepared statement of query, or nil when the cache is
// full or closed. Preparing takes a connection of the pool, which is the
// only one for :memory:: never call it while a transaction holds one.
func (p *pool) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	p.mu.Lock()
	stmt, ok := p.stmts[query]
	full := p.closed || len(p.stmts) >= maxCached
	p.mu.Unlock()
	if ok || full {
		return stmt, nil
	}
	// Prepare without the lock, which would make every call wait for a
	// connection when one does.
	stmt, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if prev, ok := p.stmts[query]; ok || p.closed {
		// Another call cached it first, or the store closed meanwhile.
		return prev, stmt.Close()
	}
	p.stmts[query] = stmt
	return stmt, nil
}

func (p *pool) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	stmt, err := p.stmt(ctx, query)
	if err != nil {
		return 0, err
	}
	var res sql.Result
	if stmt != nil {
		res, err = stmt.ExecContext(ctx, args...)
	} else {
		res, err = p.db.ExecContext(ctx, query, args...)
	}
	return rowsAffected(res, err)
}

func (p *pool) Query(ctx context.Context, query string, args ...any) (sqlcore.Rows, error) {
	stmt, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	var rows *sql.Rows
	if stmt != nil {
		rows, err = stmt.QueryContext(ctx, args...)
	} else {
		rows, err = p.db.QueryContext(ctx, query, args...)
	}
	return sqlRows{rows}, err
}

func (p *pool) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	var err error
	for _, stmt := range p.stmts {
		err = errors.Join(err, stmt.Close())
	}
	p.stmts = nil
	return err
}

// connQuerier runs statements on the connection of a write transaction.
// They are not prepared: database/sql rebinds a pool's statement to a
// *sql.Tx only, and the transaction runs on a *sql.Conn (see immediateTx).
type connQuerier struct{ conn *sql.Conn }

func (c connQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return rowsAffected(c.conn.ExecContext(ctx, query, args...))
}

func (c connQuerier) Query(ctx context.Context, query string, args ...any) (sqlcore.Rows, error) {
	rows, err := c.conn.QueryContext(ctx, query, args...)
	return sqlRows{rows}, err
}

func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// sqlRows is *sql.Rows with the Close of sqlcore.Rows; Err reports what
// Close would.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

// Batch runs stmts in one transaction through the write pool's prepared
// statements. It may begin the transaction DEFERRED, whatever the DSN says:
// a transaction that writes before it reads takes the write lock at its
// first statement, waiting out the busy timeout like an IMMEDIATE one, and
// every batch is writes only.
func (d *driver) Batch(ctx context.Context, stmts ...sqlcore.Stmt) error {
	prepared := make([]*sql.Stmt, len(stmts))
	for i, st := range stmts {
		// Prepared before the transaction takes the pool's connection,
		// which for :memory: is its only one.
		var err error
		if prepared[i], err = d.write.stmt(ctx, st.Query); err != nil {
			return err
		}
	}
	tx, err := d.write.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for i, st := range stmts {
		if prepared[i] != nil {
			_, err = tx.StmtContext(ctx, prepared[i]).ExecContext(ctx, st.Args...)
		} else {
			_, err = tx.ExecContext(ctx, st.Query, st.Args...)
		}
		if err != nil {
			return errors.Join(err, tx.Rollback())
		}
	}
	return tx.Commit()
}
