package sqlcore

// The event log and its outbox: events are appended in the transaction of
// their change, and the relay claims, settles and retries them here.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/outbox"
	"github.com/invitekit/invitekit/store"
)

type dv = outbox.Delivery

// eventColumns is the row descriptor of events with their delivery record.
var eventColumns = []column[dv]{
	col("id", func(r *dv) *uuid.UUID { return &r.Event.ID }, encID, destID),
	col("type", func(r *dv) *event.Type { return &r.Event.Type }, encText, destText),
	col("organization_id", func(r *dv) *uuid.UUID { return &r.Event.OrganizationID }, encID, destID),
	col("invitation_id", func(r *dv) *uuid.UUID { return &r.Event.InvitationID }, encID, destID),
	nullCol("actor_id", func(r *dv) **string { return &r.Event.ActorID }, encText, destNullText),
	timeCol("occurred_at", func(r *dv) *time.Time { return &r.Event.OccurredAt }),
	col("data", func(r *dv) *json.RawMessage { return &r.Event.Data }, encJSON, destJSON),
	col("state", func(r *dv) *outbox.State { return &r.State }, encText, destText),
	col("attempts", func(r *dv) *int { return &r.Attempts }, asIs, addr),
	col("acked", func(r *dv) *[]string { return &r.Acked }, encList, destList),
	col("last_error", func(r *dv) *string { return &r.LastError }, encText, destText),
	timeCol("next_attempt_at", func(r *dv) *time.Time { return &r.NextAttemptAt }),
}

// encJSON and destJSON store JSON as text, byte for byte: every store
// returns an event's data exactly as it was given.
func encJSON(_ *Dialect, b json.RawMessage) any { return string(b) }

func destJSON(_ *Dialect, p *json.RawMessage) any { return jsonDest{p} }

type jsonDest struct{ p *json.RawMessage }

func (j jsonDest) Scan(src any) error {
	var s string
	if err := (textDest{&s}).Scan(src); err != nil {
		return err
	}
	*j.p = json.RawMessage(s)
	return nil
}

// encNullJSON and destNullJSON store JSON that may be absent (nil) as
// nullable text, byte for byte.
func encNullJSON(_ *Dialect, b json.RawMessage) any {
	if b == nil {
		return nil
	}
	return string(b)
}

func destNullJSON(_ *Dialect, p *json.RawMessage) any { return nullJSONDest{p} }

type nullJSONDest struct{ p *json.RawMessage }

func (j nullJSONDest) Scan(src any) error {
	if src == nil {
		*j.p = nil
		return nil
	}
	return jsonDest(j).Scan(src)
}

// encList and destList store a list of subscriber names, which never
// contain a comma (outbox.New checks), as one comma-separated text.
func encList(_ *Dialect, l []string) any { return strings.Join(l, ",") }

func destList(_ *Dialect, p *[]string) any { return listDest{p} }

type listDest struct{ p *[]string }

func (l listDest) Scan(src any) error {
	var s string
	if err := (textDest{&s}).Scan(src); err != nil {
		return err
	}
	*l.p = nil
	if s != "" {
		*l.p = strings.Split(s, ",")
	}
	return nil
}

// eventTable holds the statements of the events table.
type eventTable struct {
	c                                    *Core
	name, cols, selectFrom               string
	insert, claim, settle, exists, retry string
}

func newEventTable(c *Core, name string) eventTable {
	names := make([]string, len(eventColumns))
	for i, col := range eventColumns {
		names[i] = col.name
	}
	cols := strings.Join(names, ", ")
	t := eventTable{c: c, name: name, cols: cols, selectFrom: "SELECT " + cols + " FROM " + name}
	t.insert = "INSERT INTO " + name + " (" + cols + ") VALUES (" + c.d.placeholders(0, len(eventColumns)) + ")"
	// An event is due when no older event of its invitation is pending:
	// each invitation's events go out one at a time, in order.
	t.claim = "UPDATE " + name + " SET lease_owner = $1, lease_until = $2 WHERE seq IN (" +
		"SELECT e.seq FROM " + name + " e WHERE e.state = 'pending' AND e.next_attempt_at <= $3" +
		" AND (e.lease_until IS NULL OR e.lease_until <= $3)" +
		" AND NOT EXISTS (SELECT 1 FROM " + name + " p WHERE p.invitation_id = e.invitation_id AND p.state = 'pending' AND p.seq < e.seq)" +
		" ORDER BY e.seq LIMIT $4" + c.d.SkipLocked + ") RETURNING seq, " + cols
	t.settle = "UPDATE " + name + " SET state = $3, acked = $4, last_error = $5, next_attempt_at = COALESCE($6, next_attempt_at)," +
		" attempts = $7, lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2 AND state = 'pending'"
	t.exists = "SELECT count(*) FROM " + name + " WHERE id = $1"
	t.retry = "UPDATE " + name + " SET state = 'pending', attempts = 0, next_attempt_at = $2, lease_owner = NULL, lease_until = NULL" +
		" WHERE id = $1 AND state = 'dead'"
	return t
}

// maxEventRows is the most events one INSERT appends: 12 arguments each
// stay well under SQLite's 32766 and PostgreSQL's 65535.
const maxEventRows = 50

// insertStmts returns the statements that append evs, pending and due at
// once: one INSERT of up to maxEventRows rows per chunk.
func (t *eventTable) insertStmts(evs []event.Event) []Stmt {
	var out []Stmt
	for len(evs) > 0 {
		n := min(len(evs), maxEventRows)
		if n == 1 {
			out = append(out, t.insertStmt(evs[0]))
			evs = evs[1:]
			continue
		}
		var b strings.Builder
		b.WriteString("INSERT INTO " + t.name + " (" + t.cols + ") VALUES ")
		a := make([]any, 0, n*len(eventColumns))
		for i, ev := range evs[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(" + t.c.d.placeholders(len(a), len(a)+len(eventColumns)) + ")")
			a = append(a, t.insertStmt(ev).Args...)
		}
		out = append(out, Stmt{b.String(), a})
		evs = evs[n:]
	}
	return out
}

// insertAfter returns the event insert with its placeholders numbered
// after the first n, to follow another statement's in one.
func (t *eventTable) insertAfter(n int) string {
	return "INSERT INTO " + t.name + " (" + t.cols + ") VALUES (" + t.c.d.placeholders(n, n+len(eventColumns)) + ")"
}

// insertStmt returns the statement that appends ev, pending and due at
// once.
func (t *eventTable) insertStmt(ev event.Event) Stmt {
	r := dv{Event: ev, State: outbox.StatePending, NextAttemptAt: ev.OccurredAt}
	a := make([]any, len(eventColumns))
	for i, col := range eventColumns {
		a[i] = col.arg(t.c.d, &r)
	}
	return Stmt{t.insert, a}
}

func (t *eventTable) scan(rows Rows, extra ...any) (dv, error) {
	var r dv
	dest := make([]any, 0, len(eventColumns)+len(extra))
	dest = append(dest, extra...)
	for _, col := range eventColumns {
		dest = append(dest, col.dest(t.c.d, &r))
	}
	if err := rows.Scan(dest...); err != nil {
		return r, err
	}
	if t.c.d.DirectScan {
		for _, col := range eventColumns {
			if col.utc != nil {
				col.utc(&r)
			}
		}
	}
	return r, nil
}

// query returns the deliveries query selects; with seq, the first column
// is the event's sequence number and they come back in its order.
func (t *eventTable) query(ctx context.Context, q Querier, limit int, seq bool, query string, args ...any) ([]dv, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []dv
	var seqs []int64
	for rows.Next() {
		if out == nil {
			out = make([]dv, 0, min(limit, 128))
		}
		var n int64
		var extra []any
		if seq {
			extra = []any{&n}
		}
		r, err := t.scan(rows, extra...)
		if err != nil {
			return nil, err
		}
		out, seqs = append(out, r), append(seqs, n)
	}
	if seq {
		sort.Sort(bySeq{out, seqs})
	}
	return out, rows.Err()
}

type bySeq struct {
	d []dv
	s []int64
}

func (b bySeq) Len() int           { return len(b.d) }
func (b bySeq) Less(i, j int) bool { return b.s[i] < b.s[j] }
func (b bySeq) Swap(i, j int) {
	b.d[i], b.d[j] = b.d[j], b.d[i]
	b.s[i], b.s[j] = b.s[j], b.s[i]
}

// writeEvents runs f in a write transaction and appends the event it
// returns, unless that has a zero ID. Listeners in this process wake once
// the event has committed.
func (c *Core) writeEvents(ctx context.Context, f func(ctx context.Context, q Querier) (event.Event, error)) error {
	return c.writeEventList(ctx, func(ctx context.Context, q Querier) ([]event.Event, error) {
		ev, err := f(ctx, q)
		if err != nil || ev.ID == uuid.Nil {
			return nil, err
		}
		return []event.Event{ev}, nil
	})
}

// writeEventList runs f in a write transaction and appends the events it
// returns, in order. Listeners in this process wake once they have
// committed.
//
// When the driver reports a commit whose outcome the database settled but
// the connection did not tell (CheckableCommitError), the first event's ID
// tells: found, the transaction committed and the call succeeds; not
// found, it rolled back and runs again.
func (c *Core) writeEventList(ctx context.Context, f func(ctx context.Context, q Querier) ([]event.Event, error)) error {
	var wrote uuid.UUID
	err := c.drv.WriteTx(ctx, func(ctx context.Context, q Querier) error {
		wrote = uuid.Nil // each attempt afresh
		evs, err := f(ctx, q)
		if err != nil || len(evs) == 0 {
			return err
		}
		for _, st := range c.events.insertStmts(evs) {
			if _, err := q.Exec(ctx, st.Query, st.Args...); err != nil {
				return err
			}
		}
		wrote = evs[0].ID
		return nil
	})
	var checkable *CheckableCommitError
	if errors.As(err, &checkable) && wrote != uuid.Nil {
		// Not cut short by ctx, as the COMMIT it settles is not: a caller
		// whose deadline passed meanwhile is told that its change was
		// applied, rather than that it failed while it was applied.
		lookupCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lostCommitLookupTimeout)
		found, cerr := c.eventExists(lookupCtx, wrote)
		cancel()
		switch {
		case cerr != nil:
			// Still unknown: the call fails with both errors.
			err = fmt.Errorf("%w (looking for its event: %w)", err, cerr)
		case found:
			err = nil
		default:
			return &again{err}
		}
	}
	if err == nil && wrote != uuid.Nil {
		c.committed()
	}
	return err
}

// lostCommitLookupTimeout bounds writeEvents' look for the event of a
// commit whose outcome the database settled.
const lostCommitLookupTimeout = 5 * time.Second

// eventExists reports whether the event with id is stored, as a read: it
// runs again, after a backoff, on a connection that turns out lost too, as
// the pool's other connections may have gone with the one that failed.
func (c *Core) eventExists(ctx context.Context, id uuid.UUID) (bool, error) {
	found, err := readEvents(ctx, c, "look for the event of a lost commit", func() (n int, err error) {
		return n, scanOne(ctx, c.drv.Reader(), c.events.exists, []any{c.d.ID(id)}, &n)
	})
	return found > 0, err
}

// Notifier is a Driver that tells other processes when events have
// committed (PostgreSQL's NOTIFY). The core calls Notify after each such
// commit; it must not block.
type Notifier interface {
	Notify()
}

// committed wakes the listeners of this process and, through the driver,
// those of others.
func (c *Core) committed() {
	c.listeners.wake()
	if n, ok := c.drv.(Notifier); ok {
		n.Notify()
	}
}

// batch runs stmts, the last of which appends an event, in one
// transaction, and wakes the listeners.
func (c *Core) batch(ctx context.Context, stmts ...Stmt) error {
	var err error
	if b, ok := c.drv.(Batcher); ok {
		err = b.Batch(ctx, stmts...)
	} else {
		err = c.drv.WriteTx(ctx, func(ctx context.Context, q Querier) error {
			for _, st := range stmts {
				if _, err := q.Exec(ctx, st.Query, st.Args...); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err == nil {
		c.committed()
	}
	return err
}

// events runs f, which may write, as the event operation op, with the
// core's retries and error translation.
func events[R any](ctx context.Context, c *Core, op string, f func() (R, error)) (R, error) {
	return attempt(ctx, c.run, op, f)
}

// readEvents is events for f that only reads.
func readEvents[R any](ctx context.Context, c *Core, op string, f func() (R, error)) (R, error) {
	return attempt(ctx, c.read, op, f)
}

// ListEvents implements event.Store.
func (c *Core) ListEvents(ctx context.Context, q event.ListQuery) ([]event.Event, error) {
	var a args
	var b strings.Builder
	t := &c.events
	b.WriteString(t.selectFrom + " WHERE organization_id = " + a.add(c.d.ID(q.OrganizationID)))
	if len(q.Types) > 0 {
		b.WriteString(" AND " + in(&a, "type", q.Types))
	}
	if q.After != nil {
		b.WriteString(" AND (occurred_at, id) < (" + a.add(c.d.Time(q.After.CreatedAt)) + ", " + a.add(c.d.ID(q.After.ID)) + ")")
	}
	b.WriteString(" ORDER BY occurred_at DESC, id DESC LIMIT " + a.add(max(q.Limit, 0)))
	ds, err := readEvents(ctx, c, "list events", func() ([]dv, error) {
		return t.query(ctx, c.drv.Reader(), q.Limit, false, b.String(), a...)
	})
	if err != nil || ds == nil {
		return nil, err
	}
	out := make([]event.Event, len(ds))
	for i, d := range ds {
		out[i] = d.Event
	}
	return out, nil
}

// ClaimEvents implements outbox.Store.
func (c *Core) ClaimEvents(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]outbox.Delivery, error) {
	return events(ctx, c, "claim events", func() (out []dv, err error) {
		err = c.drv.WriteTx(ctx, func(ctx context.Context, q Querier) error {
			out, err = c.events.query(ctx, q, limit, true, c.events.claim,
				owner, c.d.Time(now.Add(lease)), c.d.Time(now), max(limit, 0))
			return err
		})
		return out, err
	})
}

// SettleEvent implements outbox.Store.
func (c *Core) SettleEvent(ctx context.Context, owner string, o outbox.Outcome) error {
	var next any
	if o.State == outbox.StatePending {
		next = c.d.Time(o.NextAttemptAt)
	}
	_, err := events(ctx, c, "settle event", func() (int, error) {
		n, err := c.drv.Writer().Exec(ctx, c.events.settle,
			c.d.ID(o.EventID), owner, string(o.State), strings.Join(o.Acked, ","), o.Error, next, o.Attempts)
		if err != nil || n > 0 {
			return 0, err
		}
		var found int
		if err := scanOne(ctx, c.drv.Reader(), c.events.exists, []any{c.d.ID(o.EventID)}, &found); err != nil {
			return 0, err
		}
		if found == 0 {
			return 0, store.ErrNotFound
		}
		return 0, outbox.ErrLeaseLost
	})
	return err
}

// ListDeadEvents implements outbox.Store.
func (c *Core) ListDeadEvents(ctx context.Context, after *store.Cursor, limit int) ([]outbox.Delivery, error) {
	var a args
	query := c.events.selectFrom + " WHERE state = 'dead'"
	if after != nil {
		query += " AND (occurred_at, id) > (" + a.add(c.d.Time(after.CreatedAt)) + ", " + a.add(c.d.ID(after.ID)) + ")"
	}
	query += " ORDER BY occurred_at, id LIMIT " + a.add(max(limit, 0))
	return readEvents(ctx, c, "list dead events", func() ([]dv, error) {
		return c.events.query(ctx, c.drv.Reader(), limit, false, query, a...)
	})
}

// RetryEvent implements outbox.Store.
func (c *Core) RetryEvent(ctx context.Context, id uuid.UUID, now time.Time) error {
	_, err := events(ctx, c, "retry event", func() (int, error) {
		n, err := c.drv.Writer().Exec(ctx, c.events.retry, c.d.ID(id), c.d.Time(now))
		if err == nil && n == 0 {
			err = store.ErrNotFound
		}
		return 0, err
	})
	if err == nil {
		c.committed()
	}
	return err
}

// ListenEvents implements outbox.Listener for the commits of this process.
func (c *Core) ListenEvents(ctx context.Context) (<-chan struct{}, error) {
	if err := Check(ctx, c, "listen for events"); err != nil {
		return nil, err
	}
	return c.listeners.add(ctx), nil
}

// listeners are the channels of ListenEvents in this process.
type listeners struct {
	mu    sync.Mutex
	chans map[chan struct{}]struct{}
}

// add returns a channel that wake signals until ctx ends.
func (l *listeners) add(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	l.mu.Lock()
	if l.chans == nil {
		l.chans = make(map[chan struct{}]struct{})
	}
	l.chans[ch] = struct{}{}
	l.mu.Unlock()
	context.AfterFunc(ctx, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.chans, ch)
	})
	return ch
}

func (l *listeners) wake() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ch := range l.chans {
		select {
		case ch <- struct{}{}:
		default: // a wake-up is already waiting
		}
	}
}
