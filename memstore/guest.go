package memstore

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/store"
)

func cloneGuest(inv guest.Invitation) guest.Invitation {
	inv.Nonce = slices.Clone(inv.Nonce)
	inv.AcceptedAt = cloneTime(inv.AcceptedAt)
	inv.ArchivedAt = cloneTime(inv.ArchivedAt)
	if inv.ParentOrganizationID != nil {
		id := *inv.ParentOrganizationID
		inv.ParentOrganizationID = &id
	}
	if inv.ParentOrganizationName != nil {
		name := *inv.ParentOrganizationName
		inv.ParentOrganizationName = &name
	}
	return inv
}

func guestKey(inv *guest.Invitation) key { return key{inv.CreatedAt, inv.ID} }

// openGuestIn returns whether a guest invitation is an open one of host at
// now.
func openGuestIn(host uuid.UUID, now time.Time) func(*guest.Invitation) bool {
	return func(inv *guest.Invitation) bool { return inv.HostOrganizationID == host && inv.Open(now) }
}

// CreateGuestInvitation implements guest.Store.
func (s *Store) CreateGuestInvitation(ctx context.Context, inv guest.Invitation, now time.Time, ev event.Event) error {
	return s.write(ctx, func() error {
		if _, ok := s.guests.byID[inv.ID]; ok {
			return store.ErrAlreadyExists
		}
		c := cloneGuest(inv)
		rec := &c
		if rec.Open(now) && s.guests.anyOpen(rec.Email, rec.ID, openGuestIn(rec.HostOrganizationID, now)) {
			return store.ErrAlreadyExists
		}
		s.guests.insert(rec.HostOrganizationID, guestKey(rec), rec.Email, rec)
		s.events.add(ev)
		return nil
	})
}

// getGuest returns the stored record of hostID with id; call it with the
// lock held.
func (s *Store) getGuest(hostID, id uuid.UUID) (*guest.Invitation, error) {
	rec, ok := s.guests.byID[id]
	if !ok || rec.HostOrganizationID != hostID {
		return nil, store.ErrNotFound
	}
	return rec, nil
}

// GetGuestInvitation implements guest.Store.
func (s *Store) GetGuestInvitation(ctx context.Context, hostID, id uuid.UUID) (guest.Invitation, error) {
	var out guest.Invitation
	err := s.read(ctx, func() error {
		rec, err := s.getGuest(hostID, id)
		if err == nil {
			out = cloneGuest(*rec)
		}
		return err
	})
	return out, err
}

// FindGuestInvitation implements guest.Store.
func (s *Store) FindGuestInvitation(ctx context.Context, id uuid.UUID) (guest.Invitation, error) {
	var out guest.Invitation
	err := s.read(ctx, func() error {
		rec, ok := s.guests.byID[id]
		if !ok {
			return store.ErrNotFound
		}
		out = cloneGuest(*rec)
		return nil
	})
	return out, err
}

// UpdateGuestInvitation implements guest.Store.
func (s *Store) UpdateGuestInvitation(ctx context.Context, hostID, id uuid.UUID, now time.Time, update func(context.Context, *guest.Invitation) (event.Event, error)) (guest.Invitation, error) {
	var out guest.Invitation
	err := s.write(ctx, func() error {
		rec, err := s.getGuest(hostID, id)
		if err != nil {
			return err
		}
		next := cloneGuest(*rec)
		ev, err := update(ctx, &next)
		if err != nil {
			return err
		}
		if ev.ID == uuid.Nil {
			out = cloneGuest(*rec)
			return nil
		}
		// The record's identity and index keys never change.
		next.ID, next.HostOrganizationID, next.Email, next.CreatedAt = rec.ID, rec.HostOrganizationID, rec.Email, rec.CreatedAt
		if next.Open(now) && s.guests.anyOpen(next.Email, next.ID, openGuestIn(next.HostOrganizationID, now)) {
			return store.ErrAlreadyExists
		}
		*rec = next
		s.events.add(ev)
		out = cloneGuest(*rec)
		return nil
	})
	return out, err
}

// DeleteGuestInvitation implements guest.Store.
func (s *Store) DeleteGuestInvitation(ctx context.Context, hostID, id uuid.UUID, deleted func(guest.Invitation) (event.Event, error)) error {
	return s.write(ctx, func() error {
		rec, err := s.getGuest(hostID, id)
		if err != nil {
			return err
		}
		ev, err := deleted(cloneGuest(*rec))
		if err != nil {
			return err
		}
		s.guests.remove(rec.HostOrganizationID, guestKey(rec), rec.Email)
		s.events.add(ev)
		return nil
	})
}

// ListGuestInvitations implements guest.Store.
func (s *Store) ListGuestInvitations(ctx context.Context, q guest.ListQuery) ([]guest.Invitation, int, error) {
	var (
		out   []guest.Invitation
		total int
	)
	err := s.read(ctx, func() error {
		idx := s.guests.byOrg[q.HostOrganizationID]
		q.Offset = max(q.Offset, 0) // the Service never sends one below 0; direct callers may
		if unfiltered(q) {
			// The index is already in this order: cut the page out of it.
			total = len(idx)
			out = make([]guest.Invitation, 0, max(min(q.Limit, total-q.Offset), 0))
			for i := q.Offset; i < total && len(out) < q.Limit; i++ {
				j := i
				if q.Order == store.Desc {
					j = total - 1 - i
				}
				out = append(out, cloneGuest(*idx[j].rec))
			}
			return nil
		}
		var match []*guest.Invitation
		for _, e := range idx {
			if rec := e.rec; q.Matches(*rec) {
				match = append(match, rec)
			}
		}
		slices.SortFunc(match, func(a, b *guest.Invitation) int { return q.Compare(*a, *b) })
		total = len(match)
		for i := q.Offset; i < total && len(out) < q.Limit; i++ {
			out = append(out, cloneGuest(*match[i]))
		}
		return nil
	})
	return out, total, err
}

// unfiltered reports whether q lists every invitation of the host in
// created_at order, the order of the host's index.
func unfiltered(q guest.ListQuery) bool {
	return q.OrderBy == guest.OrderByCreatedAt && len(q.Statuses) == 0 && q.EmailContains == "" &&
		q.Expired == nil && q.Archived == nil
}
