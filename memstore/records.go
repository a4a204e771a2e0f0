package memstore

// The operations both kinds of invitations share, written once over a
// record descriptor, as the SQL stores share theirs.

import (
	"container/heap"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/store"
)

// record describes a kind of invitation to the generic operations.
type record[T any] struct {
	// key returns the record's tenant, ID and email.
	key func(*T) (tenant, id uuid.UUID, email string)
	// created is the record's place in its tenant's index.
	created func(*T) time.Time
	// open is the domain's Open; expiry when an open record stops being
	// open.
	open   func(r *T, now time.Time) bool
	expiry func(*T) time.Time
	// expiring returns when the record expires and true while a sweep
	// has that expiry to record (pending or sent, and not
	// ExpiryRecorded); recorded points at ExpiryRecorded.
	expiring func(*T) (time.Time, bool)
	recorded func(*T) *bool
	// ended returns when the record ended and true once it has: final,
	// or expired with its expiry recorded.
	ended func(*T) (time.Time, bool)
	// createdType is the type of the event of a create, which the
	// creates-per-hour limit counts.
	createdType event.Type
	// clone copies a record so that no caller shares memory with the
	// store.
	clone func(T) T
	// setKey gives next the identity of cur: an update never changes it.
	setKey func(next, cur *T)
}

func (t *table[T]) indexKey(r *T) key {
	_, id, _ := t.rec.key(r)
	return key{t.rec.created(r), id}
}

// get returns the stored record of tenant with id; call it with the lock
// held.
func (t *table[T]) get(tenant, id uuid.UUID) (*T, error) {
	rec, ok := t.byID[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	if owner, _, _ := t.rec.key(rec); owner != tenant {
		return nil, store.ErrNotFound
	}
	return rec, nil
}

// anyOpenOf reports whether another record of r's tenant and email than r
// is open at now.
func (t *table[T]) anyOpenOf(r *T, now time.Time) bool {
	tenant, id, email := t.rec.key(r)
	return t.anyOpen(email, id, func(o *T) bool {
		owner, _, _ := t.rec.key(o)
		return owner == tenant && t.rec.open(o, now)
	})
}

// add stores a copy of r, created at now, and appends ev; call it with the
// write lock held.
func (t *table[T]) add(r T, now time.Time, ev event.Event, evs *events) error {
	tenant, id, email := t.rec.key(&r)
	if _, ok := t.byID[id]; ok {
		return store.ErrAlreadyExists
	}
	rec := new(T)
	*rec = t.rec.clone(r)
	if t.rec.open(rec, now) && t.anyOpenOf(rec, now) {
		return store.ErrAlreadyExists
	}
	t.insert(tenant, t.indexKey(rec), email, rec)
	t.written(rec, now)
	if ev.Type == t.rec.createdType {
		t.created(ev)
	}
	evs.add(ev)
	return nil
}

// written keeps the indexes of the limits and the sweep up to date with
// rec, just written at now; call it with the write lock held.
func (t *table[T]) written(rec *T, now time.Time) {
	t.claim(rec, now)
	_, id, _ := t.rec.key(rec)
	if at, ok := t.rec.expiring(rec); ok {
		heap.Push(&t.expiring, due{at, id})
	}
	if at, ok := t.rec.ended(rec); ok {
		heap.Push(&t.ended, due{at, id})
	}
}

// created counts the create ev recorded for the creates-per-hour limit,
// forgetting the creates of its tenant more than an hour older.
func (t *table[T]) created(ev event.Event) {
	times := t.creates[ev.OrganizationID]
	i := 0
	for i < len(times) && !times[i].After(ev.OccurredAt.Add(-time.Hour)) {
		i++
	}
	t.creates[ev.OrganizationID] = append(slices.Delete(times, 0, i), ev.OccurredAt)
}

// claim keeps, for the limits, which records of a tenant were open when
// last written: the open ones are among them.
func (t *table[T]) claim(rec *T, now time.Time) {
	tenant, id, _ := t.rec.key(rec)
	claims := t.claims[tenant]
	if !t.rec.open(rec, now) {
		delete(claims, id)
		return
	}
	if claims == nil {
		claims = make(map[uuid.UUID]*T)
		t.claims[tenant] = claims
	}
	claims[id] = rec
}

// usage counts what limits bound of tenant at now, as the SQL stores do:
// no more than each limit. It forgets the claims and creates it finds
// stale; call it with the write lock held.
func (t *table[T]) usage(tenant uuid.UUID, now time.Time, limits store.Limits) store.Usage {
	var u store.Usage
	if limits.MaxOpen > 0 {
		for id, rec := range t.claims[tenant] {
			if !t.rec.open(rec, now) {
				delete(t.claims[tenant], id)
				continue
			}
			// The soonest of all, as the SQL stores read it first from
			// their index by expiry.
			if exp := t.rec.expiry(rec); u.SoonestExpiry.IsZero() || exp.Before(u.SoonestExpiry) {
				u.SoonestExpiry = exp
			}
			u.Open = min(u.Open+1, limits.MaxOpen)
		}
	}
	if limits.CreatesPerHour > 0 {
		since := now.Add(-time.Hour)
		// Creates arrive nearly in time order, so the old ones are a
		// prefix, except for callers whose clocks disagree: each is
		// looked at.
		times := slices.DeleteFunc(t.creates[tenant], func(at time.Time) bool { return !at.After(since) })
		t.creates[tenant] = times
		slices.SortFunc(times, time.Time.Compare)
		if n := len(times); n > 0 {
			counted := times[max(n-limits.CreatesPerHour, 0):]
			u.Creates, u.OldestCreate = len(counted), counted[0]
		}
	}
	return u
}

// createOne stores r and appends ev, without limits.
func createOne[T any](ctx context.Context, s *Store, t *table[T], r T, now time.Time, ev event.Event) error {
	return s.write(ctx, func() error { return t.add(r, now, ev, &s.events) })
}

var errBatch = errors.New("memstore: a batch must hold records of one tenant, with one event each")

// createMany stores rs, all of one tenant, each with its event, under
// limits, as one change (see invitation.Store.CreateInvitations).
func createMany[T any](ctx context.Context, s *Store, t *table[T], rs []T, now time.Time, evs []event.Event, limits store.Limits) ([]error, error) {
	if len(rs) != len(evs) {
		return nil, errBatch
	}
	var errs []error
	err := s.write(ctx, func() error {
		if len(rs) == 0 {
			return nil
		}
		tenant, _, _ := t.rec.key(&rs[0])
		for i := range rs {
			if other, _, _ := t.rec.key(&rs[i]); other != tenant {
				return errBatch
			}
		}
		quota := store.NewQuota(limits, now, t.usage(tenant, now, limits))
		errs = make([]error, len(rs))
		for i := range rs {
			var openUntil time.Time
			if t.rec.open(&rs[i], now) {
				openUntil = t.rec.expiry(&rs[i])
			}
			if errs[i] = quota.Create(openUntil); errs[i] != nil {
				continue
			}
			if errs[i] = t.add(rs[i], now, evs[i], &s.events); errs[i] != nil {
				quota.Undo()
			}
		}
		return nil
	})
	return errs, err
}

// update runs fn on a copy of the record of tenant with id and stores the
// result with its event, under limits when it opens the record again (see
// invitation.Store.UpdateInvitation).
func updateRecord[T any](ctx context.Context, s *Store, t *table[T], tenant, id uuid.UUID, now time.Time, limits store.Limits, fn func(context.Context, *T) (event.Event, error)) (T, error) {
	var out T
	err := s.write(ctx, func() error {
		rec, err := t.get(tenant, id)
		if err != nil {
			return err
		}
		next := t.rec.clone(*rec)
		ev, err := fn(ctx, &next)
		if err != nil {
			return err
		}
		if ev.ID == uuid.Nil {
			out = t.rec.clone(*rec)
			return nil
		}
		t.rec.setKey(&next, rec)
		opens := t.rec.open(&next, now)
		// The limit before the email, as creates and the SQL stores check.
		if opens && !t.rec.open(rec, now) && limits.MaxOpen > 0 {
			limits := store.Limits{MaxOpen: limits.MaxOpen}
			if err := store.NewQuota(limits, now, t.usage(tenant, now, limits)).Open(t.rec.expiry(&next)); err != nil {
				return err
			}
		}
		if opens && t.anyOpenOf(&next, now) {
			return store.ErrAlreadyExists
		}
		*rec = next
		t.written(rec, now)
		s.events.add(ev)
		out = t.rec.clone(*rec)
		return nil
	})
	return out, err
}

// remove deletes the record of tenant with id and appends the event
// deleted returns for it.
func remove[T any](ctx context.Context, s *Store, t *table[T], tenant, id uuid.UUID, deleted func(T) (event.Event, error)) error {
	return s.write(ctx, func() error {
		rec, err := t.get(tenant, id)
		if err != nil {
			return err
		}
		ev, err := deleted(t.rec.clone(*rec))
		if err != nil {
			return err
		}
		t.drop(rec)
		s.events.add(ev)
		return nil
	})
}

// drop removes rec from every index; call it with the write lock held.
func (t *table[T]) drop(rec *T) {
	tenant, id, email := t.rec.key(rec)
	t.remove(tenant, t.indexKey(rec), email)
	delete(t.claims[tenant], id)
	if len(t.claims[tenant]) == 0 {
		delete(t.claims, tenant)
	}
}

// find returns a copy of the record with id in any tenant.
func find[T any](ctx context.Context, s *Store, t *table[T], id uuid.UUID) (T, error) {
	var out T
	err := s.read(ctx, func() error {
		rec, ok := t.byID[id]
		if !ok {
			return store.ErrNotFound
		}
		out = t.rec.clone(*rec)
		return nil
	})
	return out, err
}

// get returns a copy of the record of tenant with id.
func get[T any](ctx context.Context, s *Store, t *table[T], tenant, id uuid.UUID) (T, error) {
	var out T
	err := s.read(ctx, func() error {
		rec, err := t.get(tenant, id)
		if err == nil {
			out = t.rec.clone(*rec)
		}
		return err
	})
	return out, err
}

// expire records the expiries of up to limit records at now, soonest
// first, with the events expired returns (see
// invitation.Store.ExpireInvitations).
func expire[T any](ctx context.Context, s *Store, t *table[T], now time.Time, limit int, expired func(T) (event.Event, error)) (int, error) {
	n := 0
	err := s.write(ctx, func() error {
		due := t.pop(&t.expiring, now, limit, true, t.rec.expiring)
		evs := make([]event.Event, len(due))
		for i, rec := range due {
			next := t.rec.clone(*rec)
			*t.rec.recorded(&next) = true
			ev, err := expired(next)
			if err != nil {
				t.unpop(&t.expiring, due, t.rec.expiring) // nothing changed
				return err
			}
			evs[i] = ev
		}
		for i, rec := range due {
			*t.rec.recorded(rec) = true
			t.written(rec, now)
			s.events.add(evs[i])
		}
		n = len(due)
		return nil
	})
	return n, err
}

// purge deletes up to limit records that ended before before.
func purge[T any](ctx context.Context, s *Store, t *table[T], before time.Time, limit int) (int, error) {
	n := 0
	err := s.write(ctx, func() error {
		gone := t.pop(&t.ended, before, limit, false, t.rec.ended)
		for _, rec := range gone {
			t.drop(rec)
		}
		n = len(gone)
		return nil
	})
	return n, err
}

// pop takes from h, soonest first, up to limit records whose time (as at
// says it now) is before until, or at it when inclusive. Entries that no
// longer say what the record says (it changed or went since) are dropped.
func (t *table[T]) pop(h *dueHeap, until time.Time, limit int, inclusive bool, at func(*T) (time.Time, bool)) []*T {
	var out []*T
	for h.Len() > 0 && len(out) < limit {
		next := (*h)[0]
		if next.at.After(until) || !inclusive && next.at.Equal(until) {
			break
		}
		heap.Pop(h)
		rec, ok := t.byID[next.id]
		if !ok {
			continue
		}
		// A record written twice without a change of time has two
		// entries, which pop one after the other.
		if now, ok := at(rec); ok && now.Equal(next.at) && (len(out) == 0 || out[len(out)-1] != rec) {
			out = append(out, rec)
		}
	}
	return out
}

// unpop puts back what pop took.
func (t *table[T]) unpop(h *dueHeap, recs []*T, at func(*T) (time.Time, bool)) {
	for _, rec := range recs {
		when, _ := at(rec)
		_, id, _ := t.rec.key(rec)
		heap.Push(h, due{when, id})
	}
}

// due is a record's place in a dueHeap.
type due struct {
	at time.Time
	id uuid.UUID
}

// dueHeap is a min-heap of records by a time of theirs: when they expire,
// or when they ended. Entries are pushed on each write and checked when
// popped, so a record changed since its entry was pushed is passed over.
type dueHeap []due

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if c := h[i].at.Compare(h[j].at); c != 0 {
		return c < 0
	}
	return store.CompareIDs(h[i].id, h[j].id) < 0
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(due)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
