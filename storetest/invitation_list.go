package storetest

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
)

// newestFirst is the documented order of the organization list.
func newestFirst(a, b invitation.Invitation) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return store.CompareIDs(b.ID, a.ID)
}

// seedInvitations creates n invitations of org, three per clock tick so
// that creation times tie and the ID must break them, and returns them in
// list order.
func (h *harness) seedInvitations(org uuid.UUID, n int) []invitation.Invitation {
	var all []invitation.Invitation
	for i := range n {
		if i%3 == 0 {
			h.clock.Advance(time.Millisecond)
		}
		all = append(all, h.createInvitation(h.newInvitation(org, fmt.Sprintf("user%02d@example.com", i))))
	}
	slices.SortFunc(all, newestFirst)
	return all
}

// pageAll follows List's cursors to the end, failing on a page that
// repeats an invitation.
func (h *harness) pageAll(org uuid.UUID, opts invitation.ListOptions, between func()) []invitation.Invitation {
	h.t.Helper()
	var got []invitation.Invitation
	seen := map[uuid.UUID]bool{}
	for pages := 0; ; pages++ {
		require.Less(h.t, pages, 1000, "the list never ends")
		page, err := h.orgs.List(h.ctx, org, opts)
		require.NoError(h.t, err)
		require.LessOrEqual(h.t, len(page.Invitations), opts.Limit)
		for _, inv := range page.Invitations {
			require.False(h.t, seen[inv.ID], "invitation %s listed twice", inv.ID)
			seen[inv.ID] = true
		}
		got = append(got, page.Invitations...)
		if page.Next == "" {
			return got
		}
		require.Len(h.t, page.Invitations, opts.Limit, "only the last page may be short")
		opts.Cursor = page.Next
		if between != nil {
			between()
		}
	}
}

var invitationListTests = []test{
	{"InvitationListAnyLimit", func(t *testing.T, h *harness) {
		// The services bound page sizes; a store called directly must not
		// trust a limit to size anything.
		inv := h.createInvitation(h.newInvitation(newOrg(), "limit@example.com"))
		now := h.clock.Now()
		got, err := h.istore.ListInvitations(h.ctx, invitation.ListQuery{OrganizationID: inv.OrganizationID, Now: now, Limit: math.MaxInt})
		require.NoError(t, err)
		sameList(t, []invitation.Invitation{inv}, got)
		got, err = h.istore.ListInvitationsForEmail(h.ctx, inv.Email, now, math.MaxInt)
		require.NoError(t, err)
		sameList(t, []invitation.Invitation{inv}, got)
	}},
	{"InvitationListOrderAndPages", func(t *testing.T, h *harness) {
		org := newOrg()
		want := h.seedInvitations(org, 31)
		h.seedInvitations(newOrg(), 5) // another tenant's, interleaved in time

		first, err := h.istore.ListInvitations(h.ctx, invitation.ListQuery{OrganizationID: org, Now: h.clock.Now(), Limit: 100})
		require.NoError(t, err)
		assert.Equal(t, want, first, "newest first, ties broken by ID")

		for _, limit := range []int{1, 7, 31, 50} {
			got := h.pageAll(org, invitation.ListOptions{Limit: limit}, nil)
			assert.Equal(t, want, got, "pages of %d", limit)
		}
	}},
	{"InvitationListCursorIsStable", func(t *testing.T, h *harness) {
		org := newOrg()
		want := h.seedInvitations(org, 20)
		deleted := want[15]
		once := false
		got := h.pageAll(org, invitation.ListOptions{Limit: 6}, func() {
			if once {
				return
			}
			once = true
			// Records created or deleted between two pages neither shift
			// nor repeat the ones after the cursor.
			h.clock.Advance(time.Second)
			h.createInvitation(h.newInvitation(org, "newcomer@example.com"))
			require.NoError(t, h.deleteInv(h.ctx, org, deleted.ID))
		})
		want = slices.DeleteFunc(want, func(i invitation.Invitation) bool { return i.ID == deleted.ID })
		assert.Equal(t, want, got)
	}},
	{"InvitationListFilters", func(t *testing.T, h *harness) {
		org := newOrg()
		mk := func(email string, change func(*invitation.Invitation)) invitation.Invitation {
			h.clock.Advance(time.Second)
			inv := h.newInvitation(org, email)
			if change != nil {
				change(&inv)
			}
			return h.createInvitation(inv)
		}
		pending := mk("pending@example.com", nil)
		expired := mk("expired@example.com", func(i *invitation.Invitation) { i.ExpireAt = i.CreatedAt.Add(2 * time.Second) })
		accepted := mk("accepted@example.com", func(i *invitation.Invitation) {
			i.Status, i.AcceptedAt = invitation.StatusAccepted, ptr(i.CreatedAt)
		})
		revoked := mk("revoked@example.com", func(i *invitation.Invitation) {
			i.Status, i.RevokedAt = invitation.StatusRevoked, ptr(i.CreatedAt)
		})
		pending2 := mk("pending2@example.com", nil)
		now := h.clock.Now()
		require.True(t, !now.Before(expired.ExpireAt), "the expired one is expired at now")

		cases := []struct {
			status invitation.Status
			email  string
			want   []invitation.Invitation
		}{
			{"", "", []invitation.Invitation{pending2, revoked, accepted, expired, pending}},
			{invitation.StatusPending, "", []invitation.Invitation{pending2, pending}},
			{invitation.StatusExpired, "", []invitation.Invitation{expired}},
			{invitation.StatusAccepted, "", []invitation.Invitation{accepted}},
			{invitation.StatusRevoked, "", []invitation.Invitation{revoked}},
			{"", "pending@example.com", []invitation.Invitation{pending}},
			{invitation.StatusExpired, "pending@example.com", nil},
			{"", "nobody@example.com", nil},
		}
		for _, c := range cases {
			got, err := h.istore.ListInvitations(h.ctx, invitation.ListQuery{
				OrganizationID: org, Status: c.status, Email: c.email, Now: now, Limit: 10,
			})
			require.NoError(t, err)
			sameList(t, c.want, got, "status %q email %q", c.status, c.email)
		}
		// Filters and cursors combine.
		got := h.pageAll(org, invitation.ListOptions{Status: invitation.StatusPending, Limit: 1}, nil)
		assert.Equal(t, []invitation.Invitation{pending2, pending}, got)
	}},
}
