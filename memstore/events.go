package memstore

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/outbox"
	"github.com/invitekit/invitekit/store"
)

// eventRec is an event with its delivery record.
type eventRec struct {
	d          outbox.Delivery
	leaseOwner string
	leaseUntil time.Time
}

// events is the event log: events in the order their changes committed,
// which is the order of each invitation's events.
type events struct {
	log   []*eventRec
	byID  map[uuid.UUID]*eventRec
	byOrg map[uuid.UUID][]*eventRec
	// settled is how many events at the start of log are delivered or
	// dead: claims start after them.
	settled   int
	listeners map[chan struct{}]struct{}
}

func newEvents() events {
	return events{
		byID:      make(map[uuid.UUID]*eventRec),
		byOrg:     make(map[uuid.UUID][]*eventRec),
		listeners: make(map[chan struct{}]struct{}),
	}
}

// add appends ev, pending and due at once, and wakes the listeners; call it
// with the write lock held, as the last step of the change ev records.
func (e *events) add(ev event.Event) {
	ev.Data = slices.Clone(ev.Data)
	r := &eventRec{d: outbox.Delivery{Event: ev, State: outbox.StatePending, NextAttemptAt: ev.OccurredAt}}
	e.log = append(e.log, r)
	e.byID[ev.ID] = r
	e.byOrg[ev.OrganizationID] = append(e.byOrg[ev.OrganizationID], r)
	e.wake()
}

// wake signals every listener; call it with the write lock held.
func (e *events) wake() {
	for ch := range e.listeners {
		select {
		case ch <- struct{}{}:
		default: // a wake-up is already waiting
		}
	}
}

func (e *events) close() { *e = newEvents() }

func cloneDelivery(d outbox.Delivery) outbox.Delivery {
	d.Event.Data = slices.Clone(d.Event.Data)
	if d.Event.ActorID != nil {
		a := *d.Event.ActorID
		d.Event.ActorID = &a
	}
	d.Acked = slices.Clone(d.Acked)
	return d
}

// ListEvents implements event.Store.
func (s *Store) ListEvents(ctx context.Context, q event.ListQuery) ([]event.Event, error) {
	var out []event.Event
	err := s.read(ctx, func() error {
		for _, r := range s.events.byOrg[q.OrganizationID] {
			if q.Matches(r.d.Event) {
				out = append(out, cloneDelivery(r.d).Event)
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b event.Event) int {
		return compareKeys(key{b.OccurredAt, b.ID}, key{a.OccurredAt, a.ID})
	})
	if len(out) > max(q.Limit, 0) {
		out = out[:max(q.Limit, 0)]
	}
	return out, err
}

// ClaimEvents implements outbox.Store.
func (s *Store) ClaimEvents(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]outbox.Delivery, error) {
	var out []outbox.Delivery
	err := s.write(ctx, func() error {
		e := &s.events
		for e.settled < len(e.log) && e.log[e.settled].d.State != outbox.StatePending {
			e.settled++
		}
		// An invitation with a pending event waits for it: its later
		// events are not due.
		blocked := make(map[uuid.UUID]bool)
		for _, r := range e.log[e.settled:] {
			if len(out) >= limit {
				break
			}
			if r.d.State != outbox.StatePending {
				continue
			}
			inv := r.d.Event.InvitationID
			if blocked[inv] {
				continue
			}
			blocked[inv] = true
			if r.d.NextAttemptAt.After(now) || (r.leaseOwner != "" && r.leaseUntil.After(now)) {
				continue
			}
			r.leaseOwner, r.leaseUntil = owner, now.Add(lease)
			out = append(out, cloneDelivery(r.d))
		}
		return nil
	})
	return out, err
}

// SettleEvent implements outbox.Store.
func (s *Store) SettleEvent(ctx context.Context, owner string, o outbox.Outcome) error {
	return s.write(ctx, func() error {
		r, ok := s.events.byID[o.EventID]
		switch {
		case !ok:
			return store.ErrNotFound
		case r.leaseOwner != owner || r.d.State != outbox.StatePending:
			return outbox.ErrLeaseLost
		}
		r.leaseOwner, r.leaseUntil = "", time.Time{}
		r.d.State, r.d.Acked, r.d.LastError, r.d.Attempts = o.State, slices.Clone(o.Acked), o.Error, o.Attempts
		if o.State == outbox.StatePending {
			r.d.NextAttemptAt = o.NextAttemptAt
		}
		return nil
	})
}

// ListDeadEvents implements outbox.Store.
func (s *Store) ListDeadEvents(ctx context.Context, after *store.Cursor, limit int) ([]outbox.Delivery, error) {
	var out []outbox.Delivery
	err := s.read(ctx, func() error {
		for _, r := range s.events.log {
			ev := r.d.Event
			if r.d.State == outbox.StateDead && (after == nil || compareKeys(key{ev.OccurredAt, ev.ID}, key{after.CreatedAt, after.ID}) > 0) {
				out = append(out, cloneDelivery(r.d))
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b outbox.Delivery) int {
		return compareKeys(key{a.Event.OccurredAt, a.Event.ID}, key{b.Event.OccurredAt, b.Event.ID})
	})
	if len(out) > max(limit, 0) {
		out = out[:max(limit, 0)]
	}
	return out, err
}

// RetryEvent implements outbox.Store.
func (s *Store) RetryEvent(ctx context.Context, id uuid.UUID, now time.Time) error {
	return s.write(ctx, func() error {
		r, ok := s.events.byID[id]
		if !ok || r.d.State != outbox.StateDead {
			return store.ErrNotFound
		}
		r.d.State, r.d.Attempts, r.d.NextAttemptAt = outbox.StatePending, 0, now
		// It may sit before the settled prefix.
		s.events.settled = 0
		s.events.wake()
		return nil
	})
}

// ListenEvents implements outbox.Listener: the channel receives when a
// change with its event commits in this store.
func (s *Store) ListenEvents(ctx context.Context) (<-chan struct{}, error) {
	ch := make(chan struct{}, 1)
	err := s.write(ctx, func() error {
		s.events.listeners[ch] = struct{}{}
		return nil
	})
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.events.listeners, ch)
	})
	return ch, nil
}
