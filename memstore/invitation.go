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

func cloneInvitation(inv invitation.Invitation) invitation.Invitation {
	inv.Nonce = slices.Clone(inv.Nonce)
	inv.AssignedRoles = slices.Clone(inv.AssignedRoles)
	inv.AcceptedAt = cloneTime(inv.AcceptedAt)
	inv.RevokedAt = cloneTime(inv.RevokedAt)
	return inv
}

func invKey(inv *invitation.Invitation) key { return key{inv.CreatedAt, inv.ID} }

// openIn returns whether an invitation is an open one of org at now.
func openIn(org uuid.UUID, now time.Time) func(*invitation.Invitation) bool {
	return func(inv *invitation.Invitation) bool { return inv.OrganizationID == org && inv.Open(now) }
}

// CreateInvitation implements invitation.Store.
func (s *Store) CreateInvitation(ctx context.Context, inv invitation.Invitation, now time.Time, ev event.Event) error {
	return s.write(ctx, func() error {
		if _, ok := s.orgs.byID[inv.ID]; ok {
			return store.ErrAlreadyExists
		}
		c := cloneInvitation(inv)
		rec := &c
		if rec.Open(now) && s.orgs.anyOpen(rec.Email, rec.ID, openIn(rec.OrganizationID, now)) {
			return store.ErrAlreadyExists
		}
		s.orgs.insert(rec.OrganizationID, invKey(rec), rec.Email, rec)
		s.events.add(ev)
		return nil
	})
}

// getInvitation returns the stored record of orgID with id; call it with
// the lock held.
func (s *Store) getInvitation(orgID, id uuid.UUID) (*invitation.Invitation, error) {
	rec, ok := s.orgs.byID[id]
	if !ok || rec.OrganizationID != orgID {
		return nil, store.ErrNotFound
	}
	return rec, nil
}

// GetInvitation implements invitation.Store.
func (s *Store) GetInvitation(ctx context.Context, orgID, id uuid.UUID) (invitation.Invitation, error) {
	var out invitation.Invitation
	err := s.read(ctx, func() error {
		rec, err := s.getInvitation(orgID, id)
		if err == nil {
			out = cloneInvitation(*rec)
		}
		return err
	})
	return out, err
}

// FindInvitation implements invitation.Store.
func (s *Store) FindInvitation(ctx context.Context, id uuid.UUID) (invitation.Invitation, error) {
	var out invitation.Invitation
	err := s.read(ctx, func() error {
		rec, ok := s.orgs.byID[id]
		if !ok {
			return store.ErrNotFound
		}
		out = cloneInvitation(*rec)
		return nil
	})
	return out, err
}

// UpdateInvitation implements invitation.Store.
func (s *Store) UpdateInvitation(ctx context.Context, orgID, id uuid.UUID, now time.Time, update func(context.Context, *invitation.Invitation) (event.Event, error)) (invitation.Invitation, error) {
	var out invitation.Invitation
	err := s.write(ctx, func() error {
		rec, err := s.getInvitation(orgID, id)
		if err != nil {
			return err
		}
		next := cloneInvitation(*rec)
		ev, err := update(ctx, &next)
		if err != nil {
			return err
		}
		if ev.ID == uuid.Nil {
			out = cloneInvitation(*rec)
			return nil
		}
		// The record's identity and index keys never change.
		next.ID, next.OrganizationID, next.Email, next.CreatedAt = rec.ID, rec.OrganizationID, rec.Email, rec.CreatedAt
		if next.Open(now) && s.orgs.anyOpen(next.Email, next.ID, openIn(next.OrganizationID, now)) {
			return store.ErrAlreadyExists
		}
		*rec = next
		s.events.add(ev)
		out = cloneInvitation(*rec)
		return nil
	})
	return out, err
}

// DeleteInvitation implements invitation.Store.
func (s *Store) DeleteInvitation(ctx context.Context, orgID, id uuid.UUID, deleted func(invitation.Invitation) (event.Event, error)) error {
	return s.write(ctx, func() error {
		rec, err := s.getInvitation(orgID, id)
		if err != nil {
			return err
		}
		ev, err := deleted(cloneInvitation(*rec))
		if err != nil {
			return err
		}
		s.orgs.remove(rec.OrganizationID, invKey(rec), rec.Email)
		s.events.add(ev)
		return nil
	})
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
