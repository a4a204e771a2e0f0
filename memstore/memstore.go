// Package memstore is an in-memory store for both kinds of invitations. It
// implements invitation.Store and guest.Store, passes the same conformance
// suite as the durable stores, and is the store to use in unit tests of code
// built on invitekit.
//
// Lookups by ID cost O(1). Each organization's invitations are also kept in
// a slice sorted by (CreatedAt, ID), so a keyset page of the organization
// list costs O(log n + page size) whatever the organization holds; guest
// lists in the default created_at order cost the same, other orders and
// filters a scan of the host's invitations. Deleting costs O(n) for the
// organization, a memmove of its index. A create under limits counts the
// organization's open invitations and its creates of the last hour; a
// sweep finds what has expired, or ended, in heaps ordered by time, at
// O(log n) an invitation.
//
// Nothing is written to disk: everything is gone when the process exits.
package memstore

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/outbox"
	"github.com/invitekit/invitekit/store"
)

// Store keeps invitations in memory. It is safe for concurrent use. The
// zero value is not usable; call New.
type Store struct {
	mu     sync.RWMutex
	closed bool
	orgs   table[invitation.Invitation]
	guests table[guest.Invitation]
	links  links
	events events
}

var (
	_ invitation.Store = (*Store)(nil)
	_ guest.Store      = (*Store)(nil)
	_ event.Store      = (*Store)(nil)
	_ outbox.Store     = (*Store)(nil)
	_ outbox.Listener  = (*Store)(nil)
)

// New returns an empty Store.
func New() *Store {
	return &Store{
		orgs:   newTable(invitationRecord),
		guests: newTable(guestRecord),
		links:  newLinks(),
		events: newEvents(),
	}
}

// Close releases the Store's memory. Every later call fails with store.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.orgs = newTable(invitationRecord)
	s.guests = newTable(guestRecord)
	s.links = newLinks()
	s.events.close()
	return nil
}

// read runs f under the read lock, after checking ctx and Close.
func (s *Store) read(ctx context.Context, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return store.ErrClosed
	}
	return f()
}

// write runs f under the write lock, after checking ctx and Close.
func (s *Store) write(ctx context.Context, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	return f()
}

// key is the position of a record in its organization's sorted index.
type key struct {
	createdAt time.Time
	id        uuid.UUID
}

func compareKeys(a, b key) int {
	if c := a.createdAt.Compare(b.createdAt); c != 0 {
		return c
	}
	return store.CompareIDs(a.id, b.id)
}

// entry is a record's place in its organization's index, with the record
// itself, so a page reads records without a map lookup each.
type entry[T any] struct {
	key
	rec *T
}

func compareEntry[T any](e entry[T], k key) int { return compareKeys(e.key, k) }

// table holds one kind of record with the indexes both kinds need.
type table[T any] struct {
	rec   record[T]
	byID  map[uuid.UUID]*T
	byOrg map[uuid.UUID][]entry[T] // sorted ascending by key
	// byEmail indexes records by email across organizations: for the
	// uniqueness rule (filtered by organization) and the invitations
	// addressed to one email.
	byEmail map[string][]uuid.UUID
	// claims holds, per organization, the records that were open when
	// last written, among which its open ones are counted for its limits;
	// creates the times of its creates within the last hour or so.
	claims  map[uuid.UUID]map[uuid.UUID]*T
	creates map[uuid.UUID][]time.Time
	// expiring and ended order records for the sweep: by the expiry it
	// has to record, and by when they ended.
	expiring, ended dueHeap
}

func newTable[T any](rec record[T]) table[T] {
	return table[T]{
		rec:     rec,
		byID:    make(map[uuid.UUID]*T),
		byOrg:   make(map[uuid.UUID][]entry[T]),
		byEmail: make(map[string][]uuid.UUID),
		claims:  make(map[uuid.UUID]map[uuid.UUID]*T),
		creates: make(map[uuid.UUID][]time.Time),
	}
}

func (t *table[T]) insert(org uuid.UUID, k key, email string, rec *T) {
	t.byID[k.id] = rec
	idx := t.byOrg[org]
	// Records mostly arrive in time order, so this is nearly always an
	// append.
	i, _ := slices.BinarySearchFunc(idx, k, compareEntry[T])
	t.byOrg[org] = slices.Insert(idx, i, entry[T]{k, rec})
	t.byEmail[email] = append(t.byEmail[email], k.id)
}

func (t *table[T]) remove(org uuid.UUID, k key, email string) {
	delete(t.byID, k.id)
	idx := t.byOrg[org]
	if i, ok := slices.BinarySearchFunc(idx, k, compareEntry[T]); ok {
		idx = slices.Delete(idx, i, i+1)
	}
	if len(idx) == 0 {
		delete(t.byOrg, org)
	} else {
		t.byOrg[org] = idx
	}
	ids := slices.DeleteFunc(t.byEmail[email], func(id uuid.UUID) bool { return id == k.id })
	if len(ids) == 0 {
		delete(t.byEmail, email)
	} else {
		t.byEmail[email] = ids
	}
}

// anyOpen reports whether a record for email other than except is open
// in the sense of open, which also checks the organization.
func (t *table[T]) anyOpen(email string, except uuid.UUID, open func(*T) bool) bool {
	for _, id := range t.byEmail[email] {
		if id != except && open(t.byID[id]) {
			return true
		}
	}
	return false
}

// cloneTime copies a nullable time so callers never share it with the store.
func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}
