package storetest

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/store"
)

// seedGuests creates a host's invitations that differ in every field a list
// filters or sorts on, with ties in some, and returns the host and them.
func (h *harness) seedGuests() (uuid.UUID, []guest.Invitation) {
	host := newOrg()
	emails := []string{
		"b_x@example.com", "bax@example.com", "b%x@example.com", "carol@example.com", "Z@example.com",
		"alice@example.com", "dave@example.net", "erin@example.org", "frank@example.com", "bob@example.com",
	}
	var all []guest.Invitation
	for i, email := range emails {
		if i%2 == 0 {
			h.clock.Advance(time.Second) // pairs share created_at
		}
		inv := h.newGuest(host, email)
		inv.ExpiredAt = inv.CreatedAt.Add(time.Duration(10-i%4) * time.Hour)
		inv.LastInvitationSentAt = inv.CreatedAt.Add(time.Duration(i%3) * time.Minute)
		inv.UpdatedAt = inv.LastInvitationSentAt
		switch i % 5 {
		case 1:
			inv.Status, inv.AcceptedAt = guest.StatusAcceptedByGuest, ptr(inv.CreatedAt.Add(time.Duration(i)*time.Minute))
		case 2:
			inv.Status, inv.AcceptedAt = guest.StatusAcceptedBySystem, ptr(inv.CreatedAt.Add(time.Minute))
		}
		if i%3 == 0 {
			inv.Archived, inv.ArchivedAt = true, ptr(inv.CreatedAt.Add(time.Duration(i%2)*time.Minute))
		}
		all = append(all, h.createGuest(inv))
	}
	// One more, long expired.
	old := h.newGuest(host, "old@example.com")
	old.ExpiredAt = old.CreatedAt.Add(-time.Hour)
	all = append(all, h.createGuest(old))
	h.createGuest(h.newGuest(newOrg(), "alice@example.com")) // another host's
	h.clock.Advance(9 * time.Hour)                           // some are now expired, some not
	return host, all
}

func (h *harness) listGuests(q guest.ListQuery) ([]guest.Invitation, int) {
	h.t.Helper()
	items, total, err := h.gstore.ListGuestInvitations(h.ctx, q)
	require.NoError(h.t, err)
	return items, total
}

// expect filters and sorts all as the contract says q must.
func expect(q guest.ListQuery, all []guest.Invitation) []guest.Invitation {
	var out []guest.Invitation
	for _, inv := range all {
		if q.Matches(inv) {
			out = append(out, inv)
		}
	}
	slices.SortStableFunc(out, q.Compare)
	return out
}

var guestOrders = []guest.OrderBy{
	guest.OrderByEmail, guest.OrderByFirstInvitationSentAt, guest.OrderByLastInvitationSentAt,
	guest.OrderByExpiredAt, guest.OrderByAcceptedAt, guest.OrderByArchivedAt, guest.OrderByCreatedAt,
	guest.OrderByUpdatedAt,
}

var guestListTests = []test{
	{"GuestListAnyLimit", func(t *testing.T, h *harness) {
		g := h.createGuest(h.newGuest(newOrg(), "limit@example.com"))
		got, total := h.listGuests(guest.ListQuery{
			HostOrganizationID: g.HostOrganizationID, Now: h.clock.Now(), OrderBy: guest.OrderByCreatedAt, Order: store.Desc, Limit: math.MaxInt,
		})
		sameList(t, []guest.Invitation{g}, got)
		assert.Equal(t, 1, total)
	}},
	{"GuestListOrders", func(t *testing.T, h *harness) {
		host, all := h.seedGuests()
		for _, by := range guestOrders {
			for _, dir := range []store.Direction{store.Asc, store.Desc} {
				q := guest.ListQuery{HostOrganizationID: host, Now: h.clock.Now(), OrderBy: by, Order: dir, Limit: 100}
				items, total := h.listGuests(q)
				assert.Equal(t, len(all), total, "%s %s", by, dir)
				sameList(t, expect(q, all), items, "%s %s", by, dir)
			}
		}
	}},
	{"GuestListNullsLast", func(t *testing.T, h *harness) {
		host, _ := h.seedGuests()
		for _, dir := range []store.Direction{store.Asc, store.Desc} {
			items, _ := h.listGuests(guest.ListQuery{
				HostOrganizationID: host, Now: h.clock.Now(), OrderBy: guest.OrderByAcceptedAt, Order: dir, Limit: 100,
			})
			firstNull := slices.IndexFunc(items, func(g guest.Invitation) bool { return g.AcceptedAt == nil })
			require.Positive(t, firstNull)
			for i, g := range items {
				assert.Equal(t, i >= firstNull, g.AcceptedAt == nil, "%s: item %d", dir, i)
			}
			for i := 1; i < firstNull; i++ {
				c := items[i-1].AcceptedAt.Compare(*items[i].AcceptedAt)
				if dir == store.Asc {
					assert.LessOrEqual(t, c, 0)
				} else {
					assert.GreaterOrEqual(t, c, 0)
				}
			}
		}
	}},
	{"GuestListEmailOrderIsBytewise", func(t *testing.T, h *harness) {
		host, _ := h.seedGuests()
		items, _ := h.listGuests(guest.ListQuery{
			HostOrganizationID: host, Now: h.clock.Now(), OrderBy: guest.OrderByEmail, Order: store.Asc, Limit: 3,
		})
		// Bytewise, as Go compares strings: 'Z' < 'a' and '%' < 'Z'.
		var emails []string
		for _, g := range items {
			emails = append(emails, g.Email)
		}
		assert.Equal(t, []string{"Z@example.com", "alice@example.com", "b%x@example.com"}, emails)
	}},
	{"GuestListFilters", func(t *testing.T, h *harness) {
		host, all := h.seedGuests()
		yes, no := true, false
		cases := []struct {
			name string
			q    guest.ListQuery
			min  int // the seed must make each case meaningful
		}{
			{"sent", guest.ListQuery{Statuses: []guest.Status{guest.StatusSent}}, 2},
			{"accepted", guest.ListQuery{Statuses: []guest.Status{guest.StatusAcceptedByGuest, guest.StatusAcceptedBySystem}}, 2},
			{"email literal underscore", guest.ListQuery{EmailContains: "b_x"}, 1},
			{"email literal percent", guest.ListQuery{EmailContains: "b%x"}, 1},
			{"email substring", guest.ListQuery{EmailContains: "example.com"}, 5},
			{"email nothing", guest.ListQuery{EmailContains: "nobody"}, 0},
			{"expired", guest.ListQuery{Expired: &yes}, 1},
			{"not expired", guest.ListQuery{Expired: &no}, 1},
			{"archived", guest.ListQuery{Archived: &yes}, 1},
			{"not archived", guest.ListQuery{Archived: &no}, 1},
			{"combined", guest.ListQuery{Statuses: []guest.Status{guest.StatusSent}, Archived: &no, Expired: &no, EmailContains: "e"}, 1},
		}
		for _, c := range cases {
			q := c.q
			q.HostOrganizationID, q.Now, q.OrderBy, q.Order, q.Limit = host, h.clock.Now(), guest.OrderByEmail, store.Asc, 100
			want := expect(q, all)
			require.GreaterOrEqual(t, len(want), c.min, c.name)
			items, total := h.listGuests(q)
			sameList(t, want, items, c.name)
			assert.Equal(t, len(want), total, c.name)
		}
		// The literal match really is literal: "b_x" does not find "bax".
		items, _ := h.listGuests(guest.ListQuery{
			HostOrganizationID: host, Now: h.clock.Now(), EmailContains: "b_x",
			OrderBy: guest.OrderByEmail, Order: store.Asc, Limit: 100,
		})
		require.Len(t, items, 1)
		assert.Equal(t, "b_x@example.com", items[0].Email)
	}},
	{"GuestListPages", func(t *testing.T, h *harness) {
		host, all := h.seedGuests()
		for _, by := range []guest.OrderBy{guest.OrderByCreatedAt, guest.OrderByArchivedAt} {
			q := guest.ListQuery{HostOrganizationID: host, Now: h.clock.Now(), OrderBy: by, Order: store.Desc, Limit: 4}
			want := expect(q, all)
			var got []guest.Invitation
			for q.Offset = 0; q.Offset < len(all)+4; q.Offset += q.Limit {
				items, total := h.listGuests(q)
				assert.Equal(t, len(all), total, "total does not depend on the page")
				got = append(got, items...)
			}
			assert.Equal(t, want, got, "pages of %s cover every invitation once", by)
		}
		q := guest.ListQuery{HostOrganizationID: host, Now: h.clock.Now(), OrderBy: guest.OrderByCreatedAt, Order: store.Asc, Limit: 100, Offset: 1000}
		items, total := h.listGuests(q)
		assert.Empty(t, items)
		assert.Equal(t, len(all), total)
	}},
}
