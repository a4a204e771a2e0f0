package memstore

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/store"
)

type gi = guest.Invitation

// guestRecord describes guest invitations to the generic operations.
var guestRecord = record[gi]{
	key:     func(r *gi) (uuid.UUID, uuid.UUID, string) { return r.HostOrganizationID, r.ID, r.Email },
	created: func(r *gi) time.Time { return r.CreatedAt },
	open:    func(r *gi, now time.Time) bool { return r.Open(now) },
	expiry:  func(r *gi) time.Time { return r.ExpiredAt },
	expiring: func(r *gi) (time.Time, bool) {
		return r.ExpiredAt, r.Status == guest.StatusSent && !r.ExpiryRecorded
	},
	recorded: func(r *gi) *bool { return &r.ExpiryRecorded },
	ended: func(r *gi) (time.Time, bool) {
		if r.AcceptedAt != nil {
			return *r.AcceptedAt, true
		}
		return r.ExpiredAt, r.Status == guest.StatusSent && r.ExpiryRecorded
	},
	createdType: event.GuestInvitationCreated,
	clone:       cloneGuest,
	setKey: func(next, cur *gi) {
		next.ID, next.HostOrganizationID, next.Email, next.CreatedAt = cur.ID, cur.HostOrganizationID, cur.Email, cur.CreatedAt
	},
}

func cloneGuest(inv guest.Invitation) guest.Invitation {
	inv.Nonce = slices.Clone(inv.Nonce)
	inv.AcceptedAt = cloneTime(inv.AcceptedAt)
	inv.ArchivedAt = cloneTime(inv.ArchivedAt)
	inv.Metadata = slices.Clone(inv.Metadata)
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

// CreateGuestInvitation implements guest.Store.
func (s *Store) CreateGuestInvitation(ctx context.Context, inv guest.Invitation, now time.Time, ev event.Event) error {
	return createOne(ctx, s, &s.guests, inv, now, ev)
}

// CreateGuestInvitations implements guest.Store.
func (s *Store) CreateGuestInvitations(ctx context.Context, invs []guest.Invitation, now time.Time, evs []event.Event, limits store.Limits) ([]error, error) {
	return createMany(ctx, s, &s.guests, invs, now, evs, limits)
}

// GetGuestInvitation implements guest.Store.
func (s *Store) GetGuestInvitation(ctx context.Context, hostID, id uuid.UUID) (guest.Invitation, error) {
	return get(ctx, s, &s.guests, hostID, id)
}

// FindGuestInvitation implements guest.Store.
func (s *Store) FindGuestInvitation(ctx context.Context, id uuid.UUID) (guest.Invitation, error) {
	return find(ctx, s, &s.guests, id)
}

// UpdateGuestInvitation implements guest.Store.
func (s *Store) UpdateGuestInvitation(ctx context.Context, hostID, id uuid.UUID, now time.Time, limits store.Limits, update func(context.Context, *guest.Invitation) (event.Event, error)) (guest.Invitation, error) {
	return updateRecord(ctx, s, &s.guests, hostID, id, now, limits, update)
}

// DeleteGuestInvitation implements guest.Store.
func (s *Store) DeleteGuestInvitation(ctx context.Context, hostID, id uuid.UUID, deleted func(guest.Invitation) (event.Event, error)) error {
	return remove(ctx, s, &s.guests, hostID, id, deleted)
}

// ExpireGuestInvitations implements guest.Store.
func (s *Store) ExpireGuestInvitations(ctx context.Context, now time.Time, limit int, expired func(guest.Invitation) (event.Event, error)) (int, error) {
	return expire(ctx, s, &s.guests, now, limit, expired)
}

// PurgeGuestInvitations implements guest.Store.
func (s *Store) PurgeGuestInvitations(ctx context.Context, before time.Time, limit int) (int, error) {
	return purge(ctx, s, &s.guests, before, limit)
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
			// The index is already in this order, ascending: cut the
			// page out of it, finding q.After by binary search.
			total = len(idx)
			lo, hi := 0, total // the entries after q.After
			if q.After != nil {
				after := *q.After
				if q.Order == store.Desc {
					hi = sort.Search(total, func(i int) bool { return q.Compare(*idx[i].rec, after) <= 0 })
				} else {
					lo = sort.Search(total, func(i int) bool { return q.Compare(*idx[i].rec, after) > 0 })
				}
			}
			n := hi - lo
			out = make([]guest.Invitation, 0, max(min(q.Limit, n-q.Offset), 0))
			for i := q.Offset; i < n && len(out) < q.Limit; i++ {
				j := lo + i
				if q.Order == store.Desc {
					j = hi - 1 - i
				}
				out = append(out, cloneGuest(*idx[j].rec))
			}
			return nil
		}
		// The total counts the filters, not the keyset position.
		filters := q
		filters.After = nil
		var match []*guest.Invitation
		for _, e := range idx {
			if rec := e.rec; filters.Matches(*rec) {
				match = append(match, rec)
			}
		}
		slices.SortFunc(match, func(a, b *guest.Invitation) int { return q.Compare(*a, *b) })
		total = len(match)
		if q.After != nil {
			after := *q.After
			match = match[sort.Search(total, func(i int) bool { return q.Compare(*match[i], after) > 0 }):]
		}
		for i := q.Offset; i < len(match) && len(out) < q.Limit; i++ {
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
