package memstore

import (
	"context"
	"errors"
	"slices"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/link"
	"github.com/invitekit/invitekit/store"
)

var _ link.Store = (*Store)(nil)

// errBadRedemption reports a redeem function that broke its contract.
var errBadRedemption = errors.New("memstore: redeem returned a redemption of another link or email, or took more uses than the link has")

func compareRedemption(r link.Redemption, k key) int { return compareKeys(key{r.RedeemedAt, r.ID}, k) }

// links holds join links and their redemptions.
type links struct {
	byID  map[uuid.UUID]*link.Link
	byOrg map[uuid.UUID][]entry[link.Link] // sorted ascending by (CreatedAt, ID)
	// redemptions of each link, sorted ascending by (RedeemedAt, ID), and
	// the emails that redeemed it.
	redemptions map[uuid.UUID][]link.Redemption
	redeemed    map[uuid.UUID]map[string]bool
}

func newLinks() links {
	return links{
		byID:        make(map[uuid.UUID]*link.Link),
		byOrg:       make(map[uuid.UUID][]entry[link.Link]),
		redemptions: make(map[uuid.UUID][]link.Redemption),
		redeemed:    make(map[uuid.UUID]map[string]bool),
	}
}

func cloneLink(l link.Link) link.Link {
	l.AssignedRoles = slices.Clone(l.AssignedRoles)
	l.AllowedDomains = slices.Clone(l.AllowedDomains)
	l.Nonce = slices.Clone(l.Nonce)
	l.RevokedAt = cloneTime(l.RevokedAt)
	return l
}

func cloneRedemption(r link.Redemption) link.Redemption {
	r.AssignedRoles = slices.Clone(r.AssignedRoles)
	return r
}

// get returns the stored link of org with id; call it with the lock held.
func (ls *links) get(org, id uuid.UUID) (*link.Link, error) {
	l, ok := ls.byID[id]
	if !ok || l.OrganizationID != org {
		return nil, store.ErrNotFound
	}
	return l, nil
}

// CreateLink implements link.Store.
func (s *Store) CreateLink(ctx context.Context, l link.Link, ev event.Event) error {
	return s.write(ctx, func() error {
		if _, ok := s.links.byID[l.ID]; ok {
			return store.ErrAlreadyExists
		}
		rec := new(link.Link)
		*rec = cloneLink(l)
		s.links.byID[l.ID] = rec
		k := key{l.CreatedAt, l.ID}
		idx := s.links.byOrg[l.OrganizationID]
		i, _ := slices.BinarySearchFunc(idx, k, compareEntry[link.Link])
		s.links.byOrg[l.OrganizationID] = slices.Insert(idx, i, entry[link.Link]{k, rec})
		s.events.add(ev)
		return nil
	})
}

// GetLink implements link.Store.
func (s *Store) GetLink(ctx context.Context, orgID, id uuid.UUID) (link.Link, error) {
	var out link.Link
	err := s.read(ctx, func() error {
		l, err := s.links.get(orgID, id)
		if err == nil {
			out = cloneLink(*l)
		}
		return err
	})
	return out, err
}

// FindLink implements link.Store.
func (s *Store) FindLink(ctx context.Context, id uuid.UUID) (link.Link, error) {
	var out link.Link
	err := s.read(ctx, func() error {
		l, ok := s.links.byID[id]
		if !ok {
			return store.ErrNotFound
		}
		out = cloneLink(*l)
		return nil
	})
	return out, err
}

// ListLinks implements link.Store: a binary search for the cursor, then a
// walk back through the organization's index.
func (s *Store) ListLinks(ctx context.Context, q link.ListQuery) ([]link.Link, error) {
	var out []link.Link
	err := s.read(ctx, func() error {
		idx := s.links.byOrg[q.OrganizationID]
		end := len(idx)
		if q.After != nil {
			end, _ = slices.BinarySearchFunc(idx, key{q.After.CreatedAt, q.After.ID}, compareEntry[link.Link])
		}
		for i := end - 1; i >= 0 && len(out) < q.Limit; i-- {
			out = append(out, cloneLink(*idx[i].rec))
		}
		return nil
	})
	return out, err
}

// UpdateLink implements link.Store.
func (s *Store) UpdateLink(ctx context.Context, orgID, id uuid.UUID, update func(context.Context, *link.Link) (event.Event, error)) (link.Link, error) {
	var out link.Link
	err := s.write(ctx, func() error {
		l, err := s.links.get(orgID, id)
		if err != nil {
			return err
		}
		next := cloneLink(*l)
		ev, err := update(ctx, &next)
		if err != nil {
			return err
		}
		if ev.ID != uuid.Nil {
			l.Uses, l.RevokedAt = next.Uses, cloneTime(next.RevokedAt)
			s.events.add(ev)
		}
		out = cloneLink(*l)
		return nil
	})
	return out, err
}

// RedeemLink implements link.Store. The store's lock makes redemptions
// one at a time.
func (s *Store) RedeemLink(ctx context.Context, id uuid.UUID, email string, redeem func(context.Context, *link.Link, bool) (link.Redemption, event.Event, error)) (link.Link, link.Redemption, error) {
	var out link.Link
	var red link.Redemption
	err := s.write(ctx, func() error {
		l, ok := s.links.byID[id]
		if !ok {
			return store.ErrNotFound
		}
		next := cloneLink(*l)
		r, ev, err := redeem(ctx, &next, s.links.redeemed[id][email])
		if err != nil {
			return err
		}
		if next.Uses > next.MaxUses || r.LinkID != id || r.Email != email {
			return errBadRedemption
		}
		l.Uses = next.Uses
		rs := s.links.redemptions[id]
		i, _ := slices.BinarySearchFunc(rs, key{r.RedeemedAt, r.ID}, compareRedemption)
		s.links.redemptions[id] = slices.Insert(rs, i, cloneRedemption(r))
		if s.links.redeemed[id] == nil {
			s.links.redeemed[id] = make(map[string]bool)
		}
		s.links.redeemed[id][email] = true
		s.events.add(ev)
		out, red = cloneLink(*l), cloneRedemption(r)
		return nil
	})
	return out, red, err
}

// ListRedemptions implements link.Store.
func (s *Store) ListRedemptions(ctx context.Context, q link.RedemptionQuery) ([]link.Redemption, error) {
	var out []link.Redemption
	err := s.read(ctx, func() error {
		if l, ok := s.links.byID[q.LinkID]; !ok || l.OrganizationID != q.OrganizationID {
			return nil
		}
		rs := s.links.redemptions[q.LinkID]
		end := len(rs)
		if q.After != nil {
			end, _ = slices.BinarySearchFunc(rs, key{q.After.CreatedAt, q.After.ID}, compareRedemption)
		}
		for i := end - 1; i >= 0 && len(out) < q.Limit; i-- {
			out = append(out, cloneRedemption(rs[i]))
		}
		return nil
	})
	return out, err
}
