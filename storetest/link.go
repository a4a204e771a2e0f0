package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/link"
	"github.com/invitekit/invitekit/store"
)

// LinkStore is a link.Store under test, with the invitation.Store of the
// invitation service that gives links their roles and domain policy.
type LinkStore interface {
	invitation.Store
	link.Store
	Close() error
}

// RunLinkStore runs every conformance test of link.Store, as
// RunInvitationStore does for invitation.Store.
func RunLinkStore(t *testing.T, newStore func(t *testing.T) LinkStore) {
	t.Helper()
	run(t, [][]test{linkTests}, func(t *testing.T) *harness {
		s := newStore(t)
		require.NotNil(t, s, "newStore returned nil")
		h := newHarness(t, s, nil, s.Close)
		h.lstore = s
		h.links = h.linkService(s, s, nil)
		return h
	})
}

// linkService returns a link service on ls whose invitation service runs
// on is, with the harness's clock and key; policy, when set, is the
// organizations' domain policy.
func (h *harness) linkService(is invitation.Store, ls link.Store, policy func(context.Context, uuid.UUID) ([]string, error)) *link.Service {
	return newLinkService(h.t, h.clock, is, ls, policy)
}

func newLinkService(t *testing.T, clock *Clock, is invitation.Store, ls link.Store, policy func(context.Context, uuid.UUID) ([]string, error)) *link.Service {
	t.Helper()
	invs, err := invitation.NewService(invitation.Config{Store: is, Keys: [][]byte{key}, Clock: clock.Now, AllowedDomains: policy})
	require.NoError(t, err)
	links, err := link.NewService(link.Config{Store: ls, Invitations: invs, Keys: [][]byte{key}, Clock: clock.Now})
	require.NoError(t, err)
	return links
}

// newLink creates a link of a new organization.
func (h *harness) newLink(p link.CreateParams) link.Link {
	h.t.Helper()
	if p.OrganizationID == uuid.Nil {
		p.OrganizationID = newOrg()
	}
	if p.Role == "" && p.AssignedRoleIDs == nil {
		p.Role = invitation.RoleDeveloper
	}
	if p.MaxUses == 0 {
		p.MaxUses = 10
	}
	l, err := h.links.Create(h.ctx, p)
	require.NoError(h.t, err)
	return l
}

// LinkRedeemRace creates, through the first of stores, a link with
// maxUses uses, and has n people with distinct emails redeem it at once,
// spread over services on every store (instances of one application), as
// the contract requires: exactly maxUses succeed, the others fail with
// link.ErrExhausted, and the link's Uses and redemptions say the same. A
// store's own tests call it with several instances of the store on one
// database.
func LinkRedeemRace(t *testing.T, n, maxUses int, stores ...LinkStore) {
	t.Helper()
	clock := NewClock(start)
	svcs := make([]*link.Service, len(stores))
	for i, s := range stores {
		svcs[i] = newLinkService(t, clock, s, s, nil)
	}
	ctx := context.Background()
	l, err := svcs[0].Create(ctx, link.CreateParams{OrganizationID: newOrg(), Role: invitation.RoleDeveloper, MaxUses: maxUses})
	require.NoError(t, err)
	tok := svcs[0].Token(l)
	errs := Race(n, func(i int) error {
		_, err := svcs[i%len(svcs)].Redeem(ctx, tok, fmt.Sprintf("person%d@example.com", i))
		return err
	})
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
			continue
		}
		assert.ErrorIs(t, err, link.ErrExhausted)
	}
	assert.Equal(t, maxUses, wins, "successful redemptions of %d racing for %d uses", n, maxUses)
	got, err := svcs[len(svcs)-1].Get(ctx, l.OrganizationID, l.ID)
	require.NoError(t, err)
	assert.Equal(t, maxUses, got.Uses)
	assert.Equal(t, link.StatusExhausted, got.EffectiveStatus(clock.Now()))
	emails := map[string]bool{}
	for cursor := ""; ; {
		p, err := svcs[0].ListRedemptions(ctx, l.OrganizationID, l.ID, link.ListOptions{Cursor: cursor, Limit: 7})
		require.NoError(t, err)
		for _, r := range p.Redemptions {
			assert.False(t, emails[r.Email], "%s listed twice", r.Email)
			emails[r.Email] = true
		}
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	assert.Len(t, emails, maxUses)
}

var linkTests = []test{
	{"LinkRoundTrip", func(t *testing.T, h *harness) {
		exp := h.clock.Now().Add(48*time.Hour + 123*time.Microsecond)
		l := h.newLink(link.CreateParams{AssignedRoleIDs: []uuid.UUID{invitation.AdminRoleID, invitation.DeveloperRoleID},
			MaxUses: 7, ExpireAt: exp, AllowedDomains: []string{" Example.COM", "example.org", "example.com"}})
		assert.Equal(t, invitation.RoleAdmin, l.Role)
		assert.Equal(t, []string{"example.com", "example.org"}, l.AllowedDomains)
		assert.Equal(t, exp, l.ExpireAt)
		got, err := h.lstore.GetLink(h.ctx, l.OrganizationID, l.ID)
		require.NoError(t, err)
		assert.Equal(t, l, got)
		found, err := h.lstore.FindLink(h.ctx, l.ID)
		require.NoError(t, err)
		assert.Equal(t, l, found)
		assert.Equal(t, link.StatusActive, got.EffectiveStatus(h.clock.Now()))

		plain := h.newLink(link.CreateParams{Role: invitation.RoleDeveloper, MaxUses: 1})
		got, err = h.lstore.GetLink(h.ctx, plain.OrganizationID, plain.ID)
		require.NoError(t, err)
		assert.Equal(t, plain, got, "no allowed domains, default expiry")
		assert.Nil(t, got.AllowedDomains)
		assert.Equal(t, h.clock.Now().Add(link.DefaultTTL), got.ExpireAt)
	}},
	{"LinkTenantIsolation", func(t *testing.T, h *harness) {
		l := h.newLink(link.CreateParams{})
		other := newOrg()
		_, err := h.lstore.GetLink(h.ctx, other, l.ID)
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = h.links.Revoke(h.ctx, other, l.ID)
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = h.links.ListRedemptions(h.ctx, other, l.ID, link.ListOptions{})
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = h.links.Redeem(h.ctx, h.links.Token(l), "a@example.com")
		require.NoError(t, err)
		rs, err := h.lstore.ListRedemptions(h.ctx, link.RedemptionQuery{OrganizationID: other, LinkID: l.ID, Limit: 10})
		require.NoError(t, err)
		assert.Empty(t, rs, "another organization sees no redemption of the link")
		page, err := h.links.List(h.ctx, other, link.ListOptions{})
		require.NoError(t, err)
		assert.Empty(t, page.Links)
		_, err = h.lstore.GetLink(h.ctx, l.OrganizationID, uuid.New())
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = h.lstore.FindLink(h.ctx, uuid.New())
		assert.ErrorIs(t, err, store.ErrNotFound)
	}},
	{"LinkListNewestFirst", func(t *testing.T, h *harness) {
		org := newOrg()
		var want []link.Link
		for i := range 12 {
			if i%3 == 0 {
				h.clock.Advance(time.Second) // ties on CreatedAt in between
			}
			want = append(want, h.newLink(link.CreateParams{OrganizationID: org}))
		}
		h.newLink(link.CreateParams{}) // another organization's
		slices.SortFunc(want, func(a, b link.Link) int {
			if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
				return c
			}
			return store.CompareIDs(b.ID, a.ID)
		})
		var got []link.Link
		for cursor := ""; ; {
			p, err := h.links.List(h.ctx, org, link.ListOptions{Cursor: cursor, Limit: 5})
			require.NoError(t, err)
			got = append(got, p.Links...)
			if cursor = p.Next; cursor == "" {
				break
			}
		}
		assert.Equal(t, want, got)
		_, err := h.links.List(h.ctx, org, link.ListOptions{Cursor: "nope"})
		var verr *store.ValidationError
		assert.ErrorAs(t, err, &verr)
	}},
	{"LinkRedeem", func(t *testing.T, h *harness) {
		l := h.newLink(link.CreateParams{AssignedRoleIDs: []uuid.UUID{invitation.DeveloperRoleID}, MaxUses: 2})
		tok := h.links.Token(l)
		h.clock.Advance(time.Minute)
		r, err := h.links.Redeem(h.ctx, tok, " Ada@Example.com ")
		require.NoError(t, err)
		assert.Equal(t, link.Redemption{ID: r.ID, LinkID: l.ID, OrganizationID: l.OrganizationID, Email: "ada@example.com",
			Role: invitation.RoleDeveloper, AssignedRoles: l.AssignedRoles, RedeemedAt: h.clock.Now()}, r)
		_, err = h.links.Redeem(h.ctx, tok, "ada@example.com")
		assert.ErrorIs(t, err, link.ErrAlreadyRedeemed, "one redemption per email")
		assert.ErrorIs(t, err, store.ErrAlreadyExists)
		h.clock.Advance(time.Minute)
		r2, err := h.links.Redeem(h.ctx, tok, "bob@example.com")
		require.NoError(t, err)
		_, err = h.links.Redeem(h.ctx, tok, "carol@example.com")
		assert.ErrorIs(t, err, link.ErrExhausted)
		assert.ErrorIs(t, err, store.ErrConflict)
		got, err := h.links.Get(h.ctx, l.OrganizationID, l.ID)
		require.NoError(t, err)
		assert.Equal(t, 2, got.Uses)
		assert.Equal(t, link.StatusExhausted, got.EffectiveStatus(h.clock.Now()))
		p, err := h.links.ListRedemptions(h.ctx, l.OrganizationID, l.ID, link.ListOptions{})
		require.NoError(t, err)
		assert.Equal(t, []link.Redemption{r2, r}, p.Redemptions, "newest first, exact round trip")
	}},
	{"LinkRedemptionsPage", func(t *testing.T, h *harness) {
		l := h.newLink(link.CreateParams{MaxUses: 11})
		var want []link.Redemption
		for i := range 11 {
			if i%4 == 0 {
				h.clock.Advance(time.Millisecond)
			}
			r, err := h.links.Redeem(h.ctx, h.links.Token(l), fmt.Sprintf("p%d@example.com", i))
			require.NoError(t, err)
			want = append(want, r)
		}
		slices.SortFunc(want, func(a, b link.Redemption) int {
			if c := b.RedeemedAt.Compare(a.RedeemedAt); c != 0 {
				return c
			}
			return store.CompareIDs(b.ID, a.ID)
		})
		var got []link.Redemption
		for cursor := ""; ; {
			p, err := h.links.ListRedemptions(h.ctx, l.OrganizationID, l.ID, link.ListOptions{Cursor: cursor, Limit: 3})
			require.NoError(t, err)
			got = append(got, p.Redemptions...)
			if cursor = p.Next; cursor == "" {
				break
			}
		}
		assert.Equal(t, want, got)
	}},
	{"LinkExpired", func(t *testing.T, h *harness) {
		l := h.newLink(link.CreateParams{ExpireAt: h.clock.Now().Add(time.Hour)})
		h.clock.Advance(time.Hour)
		_, err := h.links.Redeem(h.ctx, h.links.Token(l), "late@example.com")
		assert.ErrorIs(t, err, link.ErrExpired)
		assert.ErrorIs(t, err, store.ErrExpired)
		got, err := h.links.Get(h.ctx, l.OrganizationID, l.ID)
		require.NoError(t, err)
		assert.Zero(t, got.Uses)
		assert.Equal(t, link.StatusExpired, got.EffectiveStatus(h.clock.Now()))
	}},
	{"LinkRevoked", func(t *testing.T, h *harness) {
		l := h.newLink(link.CreateParams{})
		_, err := h.links.Redeem(h.ctx, h.links.Token(l), "early@example.com")
		require.NoError(t, err)
		h.clock.Advance(time.Second)
		got, err := h.links.Revoke(h.ctx, l.OrganizationID, l.ID)
		require.NoError(t, err)
		require.NotNil(t, got.RevokedAt)
		assert.Equal(t, h.clock.Now(), *got.RevokedAt)
		assert.Equal(t, link.StatusRevoked, got.EffectiveStatus(h.clock.Now()))
		stored, err := h.lstore.GetLink(h.ctx, l.OrganizationID, l.ID)
		require.NoError(t, err)
		assert.Equal(t, got, stored)
		assert.Equal(t, 1, stored.Uses, "a revoke keeps the uses")
		_, err = h.links.Revoke(h.ctx, l.OrganizationID, l.ID)
		assert.ErrorIs(t, err, link.ErrRevoked)
		_, err = h.links.Redeem(h.ctx, h.links.Token(l), "late@example.com")
		assert.ErrorIs(t, err, link.ErrRevoked)
		assert.ErrorIs(t, err, store.ErrConflict)
	}},
	{"LinkAllowedDomains", func(t *testing.T, h *harness) {
		l := h.newLink(link.CreateParams{AllowedDomains: []string{"example.com"}})
		tok := h.links.Token(l)
		for _, addr := range []string{"x@example.org", "x@sub.example.com", "x@example.com.evil.org"} {
			_, err := h.links.Redeem(h.ctx, tok, addr)
			assert.ErrorIs(t, err, link.ErrDomainNotAllowed, addr)
		}
		_, err := h.links.Redeem(h.ctx, tok, "X@EXAMPLE.COM")
		require.NoError(t, err)
		got, err := h.links.Get(h.ctx, l.OrganizationID, l.ID)
		require.NoError(t, err)
		assert.Equal(t, 1, got.Uses, "refused redemptions take no use")
	}},
	{"LinkDomainPolicy", func(t *testing.T, h *harness) {
		org := newOrg()
		policy := func(_ context.Context, o uuid.UUID) ([]string, error) {
			if o == org {
				return []string{"Acme.example"}, nil
			}
			return nil, nil
		}
		links := h.linkService(h.istore, h.lstore, policy)
		_, err := links.Create(h.ctx, link.CreateParams{OrganizationID: org, Role: "developer", MaxUses: 5,
			AllowedDomains: []string{"acme.example", "other.example"}})
		var verr *store.ValidationError
		require.ErrorAs(t, err, &verr)
		assert.Equal(t, []store.FieldError{{Field: "AllowedDomains[1]", Message: "is outside the organization's domain policy"}}, verr.Fields)
		l, err := links.Create(h.ctx, link.CreateParams{OrganizationID: org, Role: "developer", MaxUses: 5})
		require.NoError(t, err)
		_, err = links.Redeem(h.ctx, links.Token(l), "x@other.example")
		assert.ErrorIs(t, err, link.ErrDomainNotAllowed)
		_, err = links.Redeem(h.ctx, links.Token(l), "x@acme.example")
		assert.NoError(t, err)

		// The same policy binds the organization's email invitations.
		invs, err := invitation.NewService(invitation.Config{Store: h.istore, Keys: [][]byte{key}, Clock: h.clock.Now, AllowedDomains: policy})
		require.NoError(t, err)
		_, err = invs.Create(h.ctx, invitation.CreateParams{OrganizationID: org, Email: "x@other.example", Role: "developer"})
		require.ErrorAs(t, err, &verr)
		assert.Equal(t, invitation.FieldEmail, verr.Fields[0].Field)
		_, err = invs.Create(h.ctx, invitation.CreateParams{OrganizationID: org, Email: "x@acme.example", Role: "developer"})
		assert.NoError(t, err)
		_, err = invs.Create(h.ctx, invitation.CreateParams{OrganizationID: newOrg(), Email: "x@other.example", Role: "developer"})
		assert.NoError(t, err, "another organization has no policy")
	}},
	{"LinkTokens", func(t *testing.T, h *harness) {
		l := h.newLink(link.CreateParams{})
		inv, err := h.orgs.Create(h.ctx, invitation.CreateParams{OrganizationID: l.OrganizationID, Email: "a@example.com", Role: "admin"})
		require.NoError(t, err)
		tok := h.links.Token(l)
		for name, bad := range map[string]string{
			"invitation's": h.orgs.Token(inv),
			"garbage":      "not-a-token",
			"tampered":     tok[:len(tok)-2] + "AA",
			"empty":        "",
		} {
			_, err := h.links.Redeem(h.ctx, bad, "a@example.com")
			assert.ErrorIs(t, err, store.ErrInvalidToken, name)
			_, err = h.links.Inspect(h.ctx, bad)
			assert.ErrorIs(t, err, store.ErrInvalidToken, name)
		}
		_, err = h.orgs.Accept(h.ctx, tok, "a@example.com")
		assert.ErrorIs(t, err, store.ErrInvalidToken, "a link token accepts no invitation")
		got, err := h.links.Inspect(h.ctx, tok)
		require.NoError(t, err)
		assert.Equal(t, l, got)
		assert.Equal(t, tok, h.links.Token(got), "the token is the same on every read")
	}},
	{"LinkRedeemHookFails", func(t *testing.T, h *harness) {
		l := h.newLink(link.CreateParams{MaxUses: 1})
		tok := h.links.Token(l)
		refused := errors.New("no membership")
		var seen link.Redemption
		_, err := h.links.Redeem(h.ctx, tok, "a@example.com", func(_ context.Context, got link.Link, r link.Redemption) error {
			seen = r
			assert.Equal(t, 1, got.Uses, "the hook sees the use taken")
			return refused
		})
		assert.ErrorIs(t, err, refused)
		assert.Equal(t, "a@example.com", seen.Email)
		got, err := h.links.Get(h.ctx, l.OrganizationID, l.ID)
		require.NoError(t, err)
		assert.Zero(t, got.Uses, "nothing is recorded")
		p, err := h.links.ListRedemptions(h.ctx, l.OrganizationID, l.ID, link.ListOptions{})
		require.NoError(t, err)
		assert.Empty(t, p.Redemptions)
		r, err := h.links.Redeem(h.ctx, tok, "a@example.com")
		require.NoError(t, err, "the same email redeems once the hook lets it")
		assert.Equal(t, "a@example.com", r.Email)
	}},
	{"LinkConcurrentRedemptions", func(t *testing.T, h *harness) {
		LinkRedeemRace(t, 200, 50, h.lstore.(LinkStore))
	}},
	{"LinkConcurrentRedemptionsOneEmail", func(t *testing.T, h *harness) {
		l := h.newLink(link.CreateParams{MaxUses: 100})
		tok := h.links.Token(l)
		errs := race(func(int) error {
			_, err := h.links.Redeem(h.ctx, tok, "same@example.com")
			return err
		})
		OneWinner(t, errs, link.ErrAlreadyRedeemed)
		got, err := h.links.Get(h.ctx, l.OrganizationID, l.ID)
		require.NoError(t, err)
		assert.Equal(t, 1, got.Uses)
	}},
	{"LinkCreateRefuses", func(t *testing.T, h *harness) {
		now, org := h.clock.Now(), newOrg()
		for name, tc := range map[string]struct {
			p     link.CreateParams
			field string
		}{
			"no organization": {link.CreateParams{Role: "admin", MaxUses: 1}, link.FieldOrganizationID},
			"no uses":         {link.CreateParams{OrganizationID: org, Role: "admin"}, link.FieldMaxUses},
			"too many uses":   {link.CreateParams{OrganizationID: org, Role: "admin", MaxUses: link.MaxUsesLimit + 1}, link.FieldMaxUses},
			"past expiry":     {link.CreateParams{OrganizationID: org, Role: "admin", MaxUses: 1, ExpireAt: now}, link.FieldExpireAt},
			"far expiry":      {link.CreateParams{OrganizationID: org, Role: "admin", MaxUses: 1, ExpireAt: now.Add(link.MaxTTL + time.Second)}, link.FieldExpireAt},
			"bad domain":      {link.CreateParams{OrganizationID: org, Role: "admin", MaxUses: 1, AllowedDomains: []string{"a@b.example"}}, "AllowedDomains[0]"},
			"no role":         {link.CreateParams{OrganizationID: org, MaxUses: 1}, link.FieldRole},
			"unknown role ID": {link.CreateParams{OrganizationID: org, MaxUses: 1, AssignedRoleIDs: []uuid.UUID{uuid.New()}}, "AssignedRoleIDs[0]"},
		} {
			_, err := h.links.Create(h.ctx, tc.p)
			var verr *store.ValidationError
			if assert.ErrorAs(t, err, &verr, name) {
				assert.Equal(t, tc.field, verr.Fields[0].Field, name)
			}
		}
		got, err := h.lstore.ListLinks(h.ctx, link.ListQuery{OrganizationID: org, Limit: 10})
		require.NoError(t, err)
		assert.Empty(t, got, "a refused create stores nothing")
		h.newLink(link.CreateParams{OrganizationID: org})
		got, err = h.lstore.ListLinks(h.ctx, link.ListQuery{OrganizationID: org, Limit: 10})
		require.NoError(t, err)
		assert.Len(t, got, 1, "the organization's one valid create")
	}},
}

// linkEventTests check the events of links, in the event suite.
var linkEventTests = []test{
	{"LinkEvents", func(t *testing.T, h *harness) {
		links := h.linkService(h.istore, h.events.(link.Store), nil)
		ctx := event.WithActor(h.ctx, "admin-1")
		l, err := links.Create(ctx, link.CreateParams{OrganizationID: newOrg(), Role: "developer", MaxUses: 3})
		require.NoError(t, err)
		tok := links.Token(l)
		_, err = links.Redeem(h.ctx, tok, "refused@example.com", func(context.Context, link.Link, link.Redemption) error {
			return errors.New("refused")
		})
		require.Error(t, err)
		h.clock.Advance(time.Second)
		r, err := links.Redeem(h.ctx, tok, "joiner@example.com")
		require.NoError(t, err)
		h.clock.Advance(time.Second)
		_, err = links.Revoke(ctx, l.OrganizationID, l.ID)
		require.NoError(t, err)
		evs := h.eventsOf(l.OrganizationID)
		require.Equal(t, []event.Type{event.InviteLinkRevoked, event.InviteLinkRedeemed, event.InviteLinkCreated}, eventTypes(evs))
		for _, ev := range evs {
			assert.Equal(t, l.ID, ev.InvitationID)
			assert.NotContains(t, string(ev.Data), tok, "events never carry the token")
		}
		assert.Equal(t, "admin-1", *evs[2].ActorID)
		assert.Nil(t, evs[1].ActorID)
		assert.JSONEq(t, string(mustJSON(t, link.NewRedemptionView(r))), string(evs[1].Data))
		assert.Equal(t, r.RedeemedAt, evs[1].OccurredAt)
	}},
}
