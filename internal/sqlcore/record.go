package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/store"
)

// column maps one column to a field of a record of type T.
type column[T any] struct {
	name string
	// fixed columns are written once, by the insert: an update never
	// changes a record's identity (ID, tenant, email, creation time).
	fixed bool
	// arg returns the field as a statement argument; dest returns the scan
	// target that stores into the field.
	arg  func(d *Dialect, r *T) any
	dest func(d *Dialect, r *T) any
	// utc, set for time columns, makes the field UTC after a scan that
	// the driver made itself (Dialect.DirectScan), in its own location.
	utc func(r *T)
}

func (c column[T]) immutable() column[T] {
	c.fixed = true
	return c
}

// col maps the field f returns, encoded by enc and scanned through dest.
func col[T, V any](name string, f func(*T) *V, enc func(*Dialect, V) any, dest func(*Dialect, *V) any) column[T] {
	return column[T]{name: name,
		arg:  func(d *Dialect, r *T) any { return enc(d, *f(r)) },
		dest: func(d *Dialect, r *T) any { return dest(d, f(r)) }}
}

// nullCol maps a nullable field: nil is NULL. dest must return an
// sql.Scanner.
func nullCol[T, V any](name string, f func(*T) **V, enc func(*Dialect, V) any, dest func(*Dialect, *V) any) column[T] {
	return column[T]{name: name,
		arg: func(d *Dialect, r *T) any {
			if p := *f(r); p != nil {
				return enc(d, *p)
			}
			return nil
		},
		dest: func(d *Dialect, r *T) any {
			return nullable[V]{f(r), func(p *V) sql.Scanner { return dest(d, p).(sql.Scanner) }}
		}}
}

// timeCol maps a time field.
func timeCol[T any](name string, f func(*T) *time.Time) column[T] {
	c := col(name, f, encTime, destTime)
	c.utc = func(r *T) { p := f(r); *p = p.UTC() }
	return c
}

// nullTimeCol maps a nullable time field: nil is NULL.
func nullTimeCol[T any](name string, f func(*T) **time.Time) column[T] {
	c := nullCol(name, f, encTime, destTime)
	wrapped := c.dest
	c.dest = func(d *Dialect, r *T) any {
		if d.DirectScan {
			return f(r) // the driver sets nil, or a new time
		}
		return wrapped(d, r)
	}
	c.utc = func(r *T) {
		if p := *f(r); p != nil {
			*p = p.UTC()
		}
	}
	return c
}

// The encoders and scan targets of column types, for col and nullCol.
func asIs[V any](_ *Dialect, v V) any        { return v }
func addr[V any](_ *Dialect, p *V) any       { return p }
func encID(d *Dialect, id uuid.UUID) any     { return d.ID(id) }
func encTime(d *Dialect, t time.Time) any    { return d.Time(t) }
func encBool(d *Dialect, b bool) any         { return d.Bool(b) }
func encText[S ~string](_ *Dialect, s S) any { return string(s) }

func destTime(d *Dialect, p *time.Time) any {
	if d.DirectScan {
		return p
	}
	return d.TimeDest(p)
}

// destID scans a UUID: as the [16]byte it is where the driver scans that
// itself, since uuid.UUID's sql.Scanner parses text.
func destID(d *Dialect, p *uuid.UUID) any {
	if d.DirectScan {
		return (*[16]byte)(p)
	}
	return p
}

// destText scans text into a field of a string type, as the plain string
// it is underneath, which drivers scan without a wrapper.
func destText[S ~string](_ *Dialect, p *S) any {
	return (*string)(unsafe.Pointer(p))
}

func destNullText(_ *Dialect, p *string) any { return textDest{p} }

// record describes how a record type is stored: its row descriptor, its
// part in the one-open-invitation rule, and its life (expiry, limits).
type record[T any] struct {
	// tenant is the column of the organization that owns the record.
	tenant  string
	columns []column[T]
	// key returns the record's tenant, ID and email.
	key func(*T) (tenant, id uuid.UUID, email string)
	// open is the domain's Open: whether the record claims its tenant and
	// email at now.
	open func(r *T, now time.Time) bool
	// openSQL is open in SQL, with now as the placeholder now.
	openSQL func(now string) string
	// expiry returns until when the record is open, and expiryColumn is
	// that time's column.
	expiry       func(*T) time.Time
	expiryColumn string
	// expirableSQL is the condition of the records whose expiry at now a
	// sweep has still to record: the domain's expired, and not
	// ExpiryRecorded.
	expirableSQL func(now string) string
	// endedSQL is the condition of the records that ended before the
	// placeholder before, final or expired with the expiry recorded: what
	// a purge deletes. Its COALESCE is the expression of the index that
	// serves it (see the migrations).
	endedSQL func(before string) string
	// created is the type of the event of a create, which the
	// creates-per-hour limit counts.
	created event.Type
	// loaded, when set, completes a record after its row is scanned, from
	// more than one column (see invitationRecord).
	loaded func(*T)
}

// table is a record type's table and its statements, generated once from
// the descriptor.
type table[T any] struct {
	c    *Core
	d    *Dialect
	rec  record[T]
	kind string // in operation names: "invitation", "guest invitation"

	name, cols, selectFrom                           string
	insert, get, find, lock, update, delete, release string
	// insertWithEvent inserts a record and its event in one statement,
	// where the dialect allows (Dialect.InsertWith).
	insertWithEvent string
	// The statements of limits and sweeps; see lifecycle.go.
	insertSkip, countUsage, expire, purge string
}

func newTable[T any](c *Core, kind, name string, rec record[T]) table[T] {
	d := c.d
	names := make([]string, len(rec.columns))
	var set []string
	for i, c := range rec.columns {
		names[i] = c.name
		if !c.fixed {
			set = append(set, fmt.Sprintf("%s = $%d", c.name, len(set)+3))
		}
	}
	cols := strings.Join(names, ", ")
	t := table[T]{c: c, d: d, rec: rec, kind: kind, name: name, cols: cols, selectFrom: "SELECT " + cols + " FROM " + name}
	insertCols, n := cols, len(rec.columns)
	if t.claims() {
		insertCols, n = cols+", open_claim", n+1
		set = append(set, fmt.Sprintf("open_claim = $%d", len(set)+3))
	}
	t.insert = "INSERT INTO " + name + " (" + insertCols + ") VALUES (" + d.placeholders(0, n) + ")"
	if d.InsertWith {
		t.insertWithEvent = "WITH r AS (" + t.insert + ") " + c.events.insertAfter(n)
	}
	t.get = t.selectFrom + " WHERE " + rec.tenant + " = $1 AND id = $2"
	t.find = t.selectFrom + " WHERE id = $1"
	t.lock = t.get + d.ForUpdate
	t.update = fmt.Sprintf("UPDATE %s SET %s WHERE %s = $1 AND id = $2 RETURNING %s",
		name, strings.Join(set, ", "), rec.tenant, cols)
	t.delete = "DELETE FROM " + name + " WHERE " + rec.tenant + " = $1 AND id = $2 RETURNING " + cols
	if !t.claims() {
		return t
	}
	// The claim of a record of the tenant and email that is no longer
	// open at $4. The unique index on open claims allows one per tenant
	// and email; see the migrations.
	t.release = "UPDATE " + name + " SET open_claim = FALSE WHERE " + rec.tenant +
		" = $1 AND email = $2 AND open_claim AND id <> $3 AND NOT (" + rec.openSQL("$4") + ")"
	t.lifecycle(d)
	return t
}

// claims reports whether the table's records claim their tenant and
// email while open (invitations), in the open_claim column; a table
// whose descriptor has no open (links, redemptions) has neither the
// column nor the statements of claims, limits and sweeps.
func (t *table[T]) claims() bool { return t.rec.open != nil }

// placeholders returns the placeholders of the arguments after the first
// from, up to n of them, in a statement that binds each once, in order:
// "$from+1, ..., $n", or as many ? where the dialect is Positional.
func (d *Dialect) placeholders(from, n int) string {
	var b strings.Builder
	for i := from + 1; i <= n; i++ {
		if i > from+1 {
			b.WriteString(", ")
		}
		if d.Positional {
			b.WriteByte('?')
			continue
		}
		b.WriteString("$" + strconv.Itoa(i))
	}
	return b.String()
}

// dests returns the scan targets of a row into *r, then extra: made once
// for the rows of a query, which scanInto reuses.
func (t *table[T]) dests(r *T, extra []any) []any {
	dest := make([]any, 0, len(t.rec.columns)+len(extra))
	for _, c := range t.rec.columns {
		dest = append(dest, c.dest(t.d, r))
	}
	return append(dest, extra...)
}

// scanInto scans the current row into *r through dest, targets of *r from
// dests.
func (t *table[T]) scanInto(rows Rows, r *T, dest []any) error {
	var zero T
	*r = zero // a driver may reuse what a target already holds
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	if t.d.DirectScan {
		for _, c := range t.rec.columns {
			if c.utc != nil {
				c.utc(r)
			}
		}
	}
	if t.rec.loaded != nil {
		t.rec.loaded(r)
	}
	return nil
}

// one returns the first row of query, or store.ErrNotFound.
func (t *table[T]) one(ctx context.Context, q Querier, query string, args ...any) (T, error) {
	rs, err := t.all(ctx, q, 1, query, args)
	if err == nil && len(rs) == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		var zero T
		return zero, err
	}
	return rs[0], nil
}

// all returns every row of query, nil for none.
func (t *table[T]) all(ctx context.Context, q Querier, limit int, query string, args []any, extra ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	var r T
	var dest []any
	for rows.Next() {
		if out == nil {
			// A direct caller may ask for any limit: reserve a page.
			out = make([]T, 0, min(limit, 128))
			dest = t.dests(&r, extra)
		}
		if err := t.scanInto(rows, &r, dest); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// args appends to a the columns of r, the fixed ones only when all is set,
// then whether r claims its email.
func (t *table[T]) args(a []any, r *T, all, open bool) []any {
	for _, c := range t.rec.columns {
		if all || !c.fixed {
			a = append(a, c.arg(t.d, r))
		}
	}
	if !t.claims() {
		return a
	}
	return append(a, t.d.Bool(open))
}

func (t *table[T]) ids(tenant, id uuid.UUID) []any { return []any{t.d.ID(tenant), t.d.ID(id)} }

func (t *table[T]) releaseArgs(r *T, now time.Time) []any {
	tenant, id, email := t.rec.key(r)
	return []any{t.d.ID(tenant), email, t.d.ID(id), t.d.Time(now)}
}

// do runs f, which may write, as the operation op of the table's kind,
// with the core's retries and error translation.
func do[T, R any](ctx context.Context, t *table[T], op string, f func() (R, error)) (R, error) {
	return attempt(ctx, t.c.run, op+" "+t.kind, f)
}

// doRead is do for f that only reads.
func doRead[T, R any](ctx context.Context, t *table[T], op string, f func() (R, error)) (R, error) {
	return attempt(ctx, t.c.read, op+" "+t.kind, f)
}

func (t *table[T]) getRecord(ctx context.Context, tenant, id uuid.UUID) (T, error) {
	return doRead(ctx, t, "get", func() (T, error) { return t.one(ctx, t.c.drv.Reader(), t.get, t.ids(tenant, id)...) })
}

func (t *table[T]) findRecord(ctx context.Context, id uuid.UUID) (T, error) {
	return doRead(ctx, t, "find", func() (T, error) { return t.one(ctx, t.c.drv.Reader(), t.find, t.d.ID(id)) })
}

// list returns the rows of query, nil for none; each row scans extra too.
func (t *table[T]) list(ctx context.Context, op string, limit int, query string, a []any, extra ...any) ([]T, error) {
	return doRead(ctx, t, op, func() ([]T, error) { return t.all(ctx, t.c.drv.Reader(), limit, query, a, extra...) })
}

// deleteRecord removes the record of tenant with id and appends the event
// deleted returns for it, in one transaction.
func (t *table[T]) deleteRecord(ctx context.Context, tenant, id uuid.UUID, deleted func(T) (event.Event, error)) error {
	_, err := do(ctx, t, "delete", func() (int, error) {
		return 0, t.c.writeEvents(ctx, func(ctx context.Context, q Querier) (event.Event, error) {
			gone, err := t.one(ctx, q, t.delete, t.ids(tenant, id)...)
			if err != nil {
				return event.Event{}, err
			}
			ev, err := deleted(gone)
			if err != nil {
				return event.Event{}, &callerError{err}
			}
			return ev, nil
		})
	})
	return err
}

// createRecord inserts r. This is the claim algorithm, the same for every
// SQL store: a record open at now claims its tenant and email in a unique
// index. When the index refuses the claim, its holder may be a record that
// was open when written and has closed since (expired, mostly); the claims
// of such records are released and the insert is tried again, in one
// transaction. A claim still held then belongs to a record open at now: the
// violation is the answer, as memstore gives it. Without a stale claim in
// the way, a create is one INSERT, the statement a bare driver call sends.
//
// A create whose statement lost its connection after it was sent may have
// committed. It runs again: the unique indexes make the second insert wait
// for the first to end, so when that insert conflicts, the record's ID
// (new for this call) tells whether the first committed, and the create
// succeeds if it did.
func (t *table[T]) createRecord(ctx context.Context, r T, now time.Time, ev event.Event) error {
	open := t.claims() && t.rec.open(&r, now)
	a := t.args(make([]any, 0, len(t.rec.columns)+1), &r, true, open)
	insertEvent := t.c.events.insertStmt(ev)
	_, id, _ := t.rec.key(&r)
	lost := false // an earlier attempt may have committed
	_, err := do(ctx, t, "create", func() (int, error) {
		err := t.insertBoth(ctx, Stmt{t.insert, a}, insertEvent)
		if lost && t.c.drv.Unique(err) {
			switch _, ferr := t.one(ctx, t.c.drv.Reader(), t.find, t.d.ID(id)); {
			case ferr == nil:
				t.c.committed()
				return 0, nil // the earlier attempt's
			case t.c.drv.Lost(ferr):
				// Still unknown: look again on the next attempt.
				return 0, &again{ferr}
			case !errors.Is(ferr, store.ErrNotFound):
				return 0, ferr
			}
		}
		if err != nil && t.c.drv.Lost(err) && !t.c.drv.Retryable(err) {
			lost = true
			return 0, &again{err}
		}
		if err == nil || !open || !t.c.drv.Unique(err) {
			return 0, err
		}
		return 0, t.c.writeEvents(ctx, func(ctx context.Context, q Querier) (event.Event, error) {
			if _, err := q.Exec(ctx, t.release, t.releaseArgs(&r, now)...); err != nil {
				return event.Event{}, err
			}
			_, err := q.Exec(ctx, t.insert, a...)
			return ev, err
		})
	})
	return err
}

// insertBoth runs the insert of a record and that of its event as one
// statement where the dialect allows, else as a batch, and wakes the
// listeners.
func (t *table[T]) insertBoth(ctx context.Context, record, event Stmt) error {
	if t.insertWithEvent == "" {
		return t.c.batch(ctx, record, event)
	}
	args := make([]any, 0, len(record.Args)+len(event.Args))
	_, err := t.c.drv.Writer().Exec(ctx, t.insertWithEvent, append(append(args, record.Args...), event.Args...)...)
	if err == nil {
		t.c.committed()
	}
	return err
}

// updateRecord runs fn on the record of tenant with id in a write
// transaction that locks it, and stores the result. When the result is
// open, stale claims of its email are released first (see createRecord), so
// that the update's own claim collides only with a record open at now. fn
// may run again, on a fresh copy, when the transaction is retried after a
// deadlock.
func (t *table[T]) updateRecord(ctx context.Context, tenant, id uuid.UUID, now time.Time, limits store.Limits, fn func(context.Context, *T) (event.Event, error)) (T, error) {
	return do(ctx, t, "update", func() (out T, err error) {
		err = t.c.writeEvents(ctx, func(ctx context.Context, q Querier) (event.Event, error) {
			if limits.MaxOpen > 0 {
				// The tenant's lock before the row's, the order of
				// creates, which take it before releasing claims.
				if err := t.lockTenant(ctx, q, tenant); err != nil {
					return event.Event{}, err
				}
			}
			cur, err := t.one(ctx, q, t.lock, t.ids(tenant, id)...)
			if err != nil {
				return event.Event{}, err
			}
			next := cur
			ev, err := fn(ctx, &next)
			if err != nil {
				return event.Event{}, &callerError{err}
			}
			if out = cur; ev.ID == uuid.Nil {
				return ev, nil // no change
			}
			if err := t.reopenQuota(ctx, q, tenant, &cur, &next, now, limits); err != nil {
				return event.Event{}, err
			}
			open := t.claims() && t.rec.open(&next, now)
			if open {
				if _, err := q.Exec(ctx, t.release, t.releaseArgs(&cur, now)...); err != nil {
					return event.Event{}, err
				}
			}
			out, err = t.one(ctx, q, t.update, t.args(t.ids(tenant, id), &next, false, open)...)
			return ev, err
		})
		return out, err
	})
}

// nullable scans a nullable column into *p: nil for NULL, else a new value
// scanned by dest.
type nullable[V any] struct {
	p    **V
	dest func(*V) sql.Scanner
}

func (n nullable[V]) Scan(src any) error {
	if src == nil {
		*n.p = nil
		return nil
	}
	v := new(V)
	if err := n.dest(v).Scan(src); err != nil {
		return err
	}
	*n.p = v
	return nil
}

// textDest scans text, as a string or bytes, into a string: the scan
// target of a nullable text column (see nullCol).
type textDest struct{ p *string }

func (t textDest) Scan(src any) error {
	switch v := src.(type) {
	case string:
		*t.p = string(v)
	case []byte:
		*t.p = string(v)
	default:
		return fmt.Errorf("sqlcore: cannot scan %T into text", src)
	}
	return nil
}
