package memstore

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
)

type inv = invitation.Invitation

// invitationRecord describes organization invitations to the generic
// operations.
var invitationRecord = record[inv]{
	key:     func(r *inv) (uuid.UUID, uuid.UUID, string) { return r.OrganizationID, r.ID, r.Email },
	created: func(r *inv) time.Time { return r.CreatedAt },
	open:    func(r *inv, now time.Time) bool { return r.Open(now) },
	expiry:  func(r *inv) time.Time { return r.ExpireAt },
	expiring: func(r *inv) (time.Time, bool) {
		return r.ExpireAt, r.Status == invitation.StatusPending && !r.ExpiryRecorded
	},
	recorded: func(r *inv) *bool { return &r.ExpiryRecorded },
	ended: func(r *inv) (time.Time, bool) {
		switch {
		case r.AcceptedAt != nil:
			return *r.AcceptedAt, true
		case r.RevokedAt != nil:
			return *r.RevokedAt, true
		}
		return r.ExpireAt, r.Status == invitation.StatusPending && r.ExpiryRecorded
	},
	createdType: event.InvitationCreated,
	clone:       cloneInvitation,
	setKey: func(next, cur *inv) {
		next.ID, next.OrganizationID, next.Email, next.CreatedAt = cur.ID, cur.OrganizationID, cur.Email, cur.CreatedAt
	},
}

func cloneInvitation(inv invitation.Invitation) invitation.Invitation {
	inv.Nonce = slices.Clone(inv.Nonce)
	inv.AssignedRoles = slices.Clone(inv.AssignedRoles)
	inv.AcceptedAt = cloneTime(inv.AcceptedAt)
	inv.RevokedAt = cloneTime(inv.RevokedAt)
	inv.Metadata = slices.Clone(inv.Metadata)
	return inv
}

// CreateInvitation implements invitation.Store.
func (s *Store) CreateInvitation(ctx context.Context, inv invitation.Invitation, now time.Time, ev event.Event) error {
	return createOne(ctx, s, &s.orgs, inv, now, ev)
}

// CreateInvitations implements invitation.Store.
func (s *Store) CreateInvitations(ctx context.Context, invs []invitation.Invitation, now time.Time, evs []event.Event, limits store.Limits) ([]error, error) {
	return createMany(ctx, s, &s.orgs, invs, now, evs, limits)
}

// GetInvitation implements invitation.Store.
func (s *Store) GetInvitation(ctx context.Context, orgID, id uuid.UUID) (invitation.Invitation, error) {
	return get(ctx, s, &s.orgs, orgID, id)
}

// FindInvitation implements invitation.Store.
func (s *Store) FindInvitation(ctx context.Context, id uuid.UUID) (invitation.Invitation, error) {
	return find(ctx, s, &s.orgs, id)
}

// UpdateInvitation implements invitation.Store.
func (s *Store) UpdateInvitation(ctx context.Context, orgID, id uuid.UUID, now time.Time, limits store.Limits, update func(context.Context, *invitation.Invitation) (event.Event, error)) (invitation.Invitation, error) {
	return updateRecord(ctx, s, &s.orgs, orgID, id, now, limits, update)
}

// DeleteInvitation implements invitation.Store.
func (s *Store) DeleteInvitation(ctx context.Context, orgID, id uuid.UUID, deleted func(invitation.Invitation) (event.Event, error)) error {
	return remove(ctx, s, &s.orgs, orgID, id, deleted)
}

// ExpireInvitations implements invitation.Store.
func (s *Store) ExpireInvitations(ctx context.Context, now time.Time, limit int, expired func(invitation.Invitation) (event.Event, error)) (int, error) {
	return expire(ctx, s, &s.orgs, now, limit, expired)
}

// PurgeInvitations implements invitation.Store.
func (s *Store) PurgeInvitations(ctx context.Context, before time.Time, limit int) (int, error) {
	return purge(ctx, s, &s.orgs, before, limit)
}

// ListInvitations implements invitation.Store.
func (s *Store) ListInvitations(ctx context.Context, q invitation.ListQuery) ([]invitation.Invitation, error) {
	var out []invitation.Invitation
	err := s.read(ctx, func() error {
		idx := s.orgs.byOrg[q.OrganizationID]
		end := len(idx)
		if q.After != nil {
			// Everything before the cursor's position is older than it.
			end, _ = slices.BinarySearchFunc(idx, key{q.After.CreatedAt, q.After.ID}, compareEntry[invitation.Invitation])
		}
		out = make([]invitation.Invitation, 0, min(q.Limit, end))
		for i := end - 1; i >= 0 && len(out) < q.Limit; i-- {
			if rec := idx[i].rec; q.Matches(*rec) {
				out = append(out, cloneInvitation(*rec))
			}
		}
		return nil
	})
	return out, err
}

// ListInvitationsForEmail implements invitation.Store.
func (s *Store) ListInvitationsForEmail(ctx context.Context, email string, now time.Time, limit int) ([]invitation.Invitation, error) {
	var out []invitation.Invitation
	err := s.read(ctx, func() error {
		for _, id := range s.orgs.byEmail[email] {
			if rec := s.orgs.byID[id]; rec.Open(now) {
				out = append(out, cloneInvitation(*rec))
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b invitation.Invitation) int {
		return compareKeys(key{b.CreatedAt, b.ID}, key{a.CreatedAt, a.ID})
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, err
}
