package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
)

// statements are the store's fixed queries, prepared once: SQLite compiles a
// statement in about as long as it takes to run a simple one. The writes
// that run on their own are prepared on the write pool. Those inside a
// write transaction are not: it runs on a *sql.Conn (see writeTx), and
// database/sql rebinds a pool's statement only to a *sql.Tx.
type statements struct {
	all []*sql.Stmt

	// cache holds the list queries, which are built per filter
	// combination, prepared on the read pool on first use.
	mu     sync.Mutex
	read   *sql.DB
	cache  map[string]*sql.Stmt
	closed bool

	insertInvitation, deleteInvitation, getInvitation, findInvitation, invitationsForEmail *sql.Stmt
	insertGuest, deleteGuest, getGuest, findGuest                                          *sql.Stmt
}

// maxCached bounds the list queries kept prepared. The organization list
// has 16 shapes; the guest list has more, and the first 128 shapes used
// stay prepared.
const maxCached = 128

func (st *statements) prepare(ctx context.Context, write, read *sql.DB) error {
	st.read = read
	st.cache = make(map[string]*sql.Stmt)
	for _, p := range []struct {
		dst   **sql.Stmt
		db    *sql.DB
		query string
	}{
		{&st.insertInvitation, write, insertInvitationSQL},
		{&st.deleteInvitation, write, deleteInvitationSQL},
		{&st.getInvitation, read, getInvitationSQL},
		{&st.findInvitation, read, findInvitationSQL},
		{&st.invitationsForEmail, read, invitationsForEmailSQL},
		{&st.insertGuest, write, insertGuestSQL},
		{&st.deleteGuest, write, deleteGuestSQL},
		{&st.getGuest, read, getGuestSQL},
		{&st.findGuest, read, findGuestSQL},
	} {
		stmt, err := p.db.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", p.query, err)
		}
		*p.dst = stmt
		st.all = append(st.all, stmt)
	}
	return nil
}

// query runs query on the read pool through its cached prepared statement
// while the cache has room.
func (st *statements) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	stmt, err := st.cached(ctx, query)
	switch {
	case err != nil:
		return nil, err
	case stmt == nil:
		return st.read.QueryContext(ctx, query, args...)
	}
	return stmt.QueryContext(ctx, args...)
}

// queryTx runs query in tx, through stmt when it is not nil.
func queryTx(ctx context.Context, tx *sql.Tx, stmt *sql.Stmt, query string, args ...any) (*sql.Rows, error) {
	if stmt == nil {
		return tx.QueryContext(ctx, query, args...)
	}
	return tx.StmtContext(ctx, stmt).QueryContext(ctx, args...)
}

// cached returns the prepared statement of query, or nil when the cache is
// full or closed. Preparing takes a connection of the read pool, which is
// the only one for :memory:: never call it inside a read transaction.
func (st *statements) cached(ctx context.Context, query string) (*sql.Stmt, error) {
	st.mu.Lock()
	stmt, ok := st.cache[query]
	full := st.closed || len(st.cache) >= maxCached
	st.mu.Unlock()
	if ok || full {
		return stmt, nil
	}
	// Prepare without the lock, which would make every list wait for a
	// connection when one does.
	stmt, err := st.read.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if prev, ok := st.cache[query]; ok || st.closed {
		// Another call cached it first, or the store closed meanwhile.
		return prev, stmt.Close()
	}
	st.cache[query] = stmt
	return stmt, nil
}

func (st *statements) close() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.closed = true
	var err error
	for _, stmt := range st.all {
		err = errors.Join(err, stmt.Close())
	}
	for _, stmt := range st.cache {
		err = errors.Join(err, stmt.Close())
	}
	st.all, st.cache = nil, nil
	return err
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// collect scans every row of rows and closes it; it returns nil for no
// rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// claim runs write, which stores a record that claims its (organization,
// email) slot when open is true. When the slot's unique index refuses it,
// the holder may be a record that has expired since it was written: release
// runs, in the same transaction, to free the slots of such records, and
// write is retried once. A slot still held afterwards is held by an
// invitation open at now, and the unique violation is the answer.
func claim(open bool, write func() error, release func() (int64, error)) error {
	err := write()
	if err == nil || !open || !isUniqueViolation(err) {
		return err
	}
	n, rerr := release()
	if rerr != nil {
		return rerr
	}
	if n == 0 {
		return err
	}
	return write()
}

// Every ID is a 16-byte BLOB and every time an INTEGER of Unix microseconds
// (UTC): both compare in SQL exactly as the domain packages compare them.

func idArg(id uuid.UUID) []byte { return id[:] }

func nullIDArg(id *uuid.UUID) any {
	if id == nil {
		return nil
	}
	return id[:]
}

func timeArg(t time.Time) int64 { return t.UnixMicro() }

func nullTimeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func boolArg(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func toTime(micros int64) time.Time { return time.UnixMicro(micros).UTC() }

func toNullTime(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := toTime(n.Int64)
	return &t
}

// roundTime returns t as the store gives it back: microseconds, UTC.
func roundTime(t time.Time) time.Time { return toTime(t.UnixMicro()) }

func roundNullTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	r := roundTime(*t)
	return &r
}

// nullID scans a nullable UUID.
type nullID struct{ id *uuid.UUID }

func (n *nullID) Scan(src any) error {
	if src == nil {
		n.id = nil
		return nil
	}
	var id uuid.UUID
	if err := id.Scan(src); err != nil {
		return err
	}
	n.id = &id
	return nil
}
