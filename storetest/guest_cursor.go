package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/store"
)

// cursorPage is the page size of the cursor walks: small, so every list
// takes several pages and page boundaries fall inside runs of ties.
const cursorPage = 3

// seedCursorGuests creates 20 invitations of a new host whose every sort
// field ties with others' (emails in pairs, creation times in threes, the
// other times in runs), with nulls among accepted_at and archived_at and
// every status, and returns the host and them. Some are expired at the
// clock's time on return, some not.
func (h *harness) seedCursorGuests() (uuid.UUID, []guest.Invitation) {
	host := newOrg()
	base := h.clock.Now()
	var all []guest.Invitation
	for i := range 20 {
		if i%3 == 0 {
			h.clock.Advance(time.Second) // threes share created_at
		}
		// Invitations i and i+10 share an email; the first of each pair
		// is never open, as the uniqueness rule wants.
		inv := h.newGuest(host, fmt.Sprintf("g%d@example.com", i%10))
		inv.FirstInvitationSentAt = inv.CreatedAt.Add(-time.Duration(i%2) * time.Minute)
		inv.LastInvitationSentAt = inv.CreatedAt.Add(time.Duration(i%3) * time.Minute)
		inv.UpdatedAt = inv.LastInvitationSentAt
		inv.ExpiredAt = inv.CreatedAt.Add(time.Duration(1+i%4) * time.Hour)
		accept := func(by guest.Status) {
			inv.Status, inv.AcceptedAt = by, ptr(base.Add(time.Duration(i%2)*time.Minute))
		}
		archive := func() { inv.Archived, inv.ArchivedAt = true, ptr(base.Add(time.Duration(i%2)*time.Hour)) }
		switch {
		case i < 10 && i%3 == 0:
			accept(guest.StatusAcceptedByGuest)
		case i < 10 && i%3 == 1:
			archive()
		case i < 10:
			inv.ExpiredAt = inv.CreatedAt.Add(-time.Hour) // expired when created
			if i == 5 {
				archive()
			}
		case i%4 == 1:
			accept(guest.StatusAcceptedBySystem)
		case i%4 == 2:
			archive()
		}
		all = append(all, h.createGuest(inv))
	}
	h.createGuest(h.newGuest(newOrg(), "g1@example.com")) // another host's
	// Those that expire 1 or 2 hours after their creation are expired now;
	// those that expire 3 or 4 hours after it are not.
	h.clock.Advance(150 * time.Minute)
	return host, all
}

// walkGuests follows List's cursors from opts to the end, as a client
// follows Link headers, and returns every invitation listed. It fails on a
// page that repeats an invitation, that is short but not the last, or
// whose TotalItems is not total.
func (h *harness) walkGuests(host uuid.UUID, opts guest.ListOptions, total int) []guest.Invitation {
	h.t.Helper()
	var got []guest.Invitation
	seen := map[uuid.UUID]bool{}
	for pages := 0; ; pages++ {
		require.Less(h.t, pages, 1000, "the list never ends")
		res, err := h.guest.List(h.ctx, host, opts)
		require.NoError(h.t, err)
		require.LessOrEqual(h.t, len(res.Items), opts.Limit)
		require.Equal(h.t, total, res.TotalItems, "total_items counts the filters, on every page")
		for _, item := range res.Items {
			require.False(h.t, seen[item.ID], "invitation %s (%s) listed twice", item.ID, item.Email)
			seen[item.ID] = true
			got = append(got, item.Invitation)
		}
		if res.Next == "" {
			return got
		}
		require.Len(h.t, res.Items, opts.Limit, "only the last page may be short")
		opts.Cursor, opts.Offset = res.Next, 0
	}
}

// onePage lists everything opts selects in one page, and checks that
// nothing follows it.
func (h *harness) onePage(host uuid.UUID, opts guest.ListOptions) guest.ListResult {
	h.t.Helper()
	opts.Limit = guest.MaxLimit
	res, err := h.guest.List(h.ctx, host, opts)
	require.NoError(h.t, err)
	require.Len(h.t, res.Items, res.TotalItems, "one page holds the whole list")
	require.Empty(h.t, res.Next, "no page follows the last")
	return res
}

func ids(invs []guest.Invitation) []uuid.UUID {
	out := make([]uuid.UUID, len(invs))
	for i, inv := range invs {
		out[i] = inv.ID
	}
	return out
}

func itemInvitations(items []guest.Item) []guest.Invitation {
	out := make([]guest.Invitation, len(items))
	for i, item := range items {
		out[i] = item.Invitation
	}
	return out
}

// sortKey is the keyset position of inv in order by: its ID and that one
// field, all a store may read of ListQuery.After.
func sortKey(by guest.OrderBy, inv guest.Invitation) guest.Invitation {
	k := guest.Invitation{ID: inv.ID}
	switch by {
	case guest.OrderByEmail:
		k.Email = inv.Email
	case guest.OrderByFirstInvitationSentAt:
		k.FirstInvitationSentAt = inv.FirstInvitationSentAt
	case guest.OrderByLastInvitationSentAt:
		k.LastInvitationSentAt = inv.LastInvitationSentAt
	case guest.OrderByExpiredAt:
		k.ExpiredAt = inv.ExpiredAt
	case guest.OrderByAcceptedAt:
		k.AcceptedAt = inv.AcceptedAt
	case guest.OrderByArchivedAt:
		k.ArchivedAt = inv.ArchivedAt
	case guest.OrderByCreatedAt:
		k.CreatedAt = inv.CreatedAt
	case guest.OrderByUpdatedAt:
		k.UpdatedAt = inv.UpdatedAt
	}
	return k
}

var guestCursorTests = []test{
	{"GuestListCursorWalk", func(t *testing.T, h *harness) {
		host, all := h.seedCursorGuests()
		no := false
		filters := []struct {
			name string
			opts guest.ListOptions
		}{
			{"all", guest.ListOptions{}},
			{"sent", guest.ListOptions{Statuses: []guest.Status{guest.StatusSent}}},
			{"not archived", guest.ListOptions{Archived: &no}},
			{"not expired, email", guest.ListOptions{Expired: &no, Email: "EXAMPLE.com"}},
		}
		for _, by := range guestOrders {
			for _, dir := range []store.Direction{store.Asc, store.Desc} {
				for _, f := range filters {
					name := fmt.Sprintf("%s %s %s", by, dir, f.name)
					opts := f.opts
					opts.OrderBy, opts.Order = by, dir
					want := h.onePage(host, opts)
					require.Greater(t, want.TotalItems, 2*cursorPage, "%s: the seed makes every walk take pages", name)
					opts.Limit = cursorPage
					got := h.walkGuests(host, opts, want.TotalItems)
					assert.Equal(t, ids(itemInvitations(want.Items)), ids(got), "%s: the cursor pages are the one page", name)
				}
				// The first offset page gives a cursor too: a client can
				// switch from offsets to cursors at any page.
				want := h.onePage(host, guest.ListOptions{OrderBy: by, Order: dir})
				require.Len(t, want.Items, len(all))
				got := h.walkGuests(host, guest.ListOptions{OrderBy: by, Order: dir, Limit: cursorPage, Offset: cursorPage}, len(all))
				assert.Equal(t, ids(itemInvitations(want.Items))[cursorPage:], ids(got), "%s %s: from offset %d on", by, dir, cursorPage)
			}
		}
	}},
	{"GuestListAfterTheLast", func(t *testing.T, h *harness) {
		host, all := h.seedCursorGuests()
		for _, by := range guestOrders {
			for _, dir := range []store.Direction{store.Asc, store.Desc} {
				q := guest.ListQuery{HostOrganizationID: host, Now: h.clock.Now(), OrderBy: by, Order: dir, Limit: 100}
				list, total := h.listGuests(q)
				require.Len(t, list, len(all))
				// After reads only the ID and the sort field: the keys
				// alone cut the list where the records would.
				for _, i := range []int{0, 1, len(list) / 2, len(list) - 2} {
					q.After = ptr(sortKey(by, list[i]))
					items, n := h.listGuests(q)
					assert.Equal(t, ids(list[i+1:]), ids(items), "%s %s after item %d", by, dir, i)
					assert.Equal(t, total, n, "%s %s: After does not change the total", by, dir)
				}
				q.After = ptr(sortKey(by, list[len(list)-1]))
				q.Limit = 2
				items, n := h.listGuests(q)
				assert.Empty(t, items, "%s %s: nothing comes after the last", by, dir)
				assert.Equal(t, total, n, "%s %s", by, dir)
			}
		}
	}},
	{"GuestListAfterExtremes", func(t *testing.T, h *harness) {
		// Positions at the ends of what a cursor can hold reach the store
		// as they are: it cuts the list there, as Compare does.
		host, all := h.seedCursorGuests()
		first := time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC)
		last := time.Date(9999, time.December, 31, 23, 59, 59, 999999000, time.UTC)
		maxID := uuid.UUID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		var keys []guest.Invitation
		for _, id := range []uuid.UUID{uuid.Nil, maxID} {
			for _, at := range []time.Time{first, last} {
				keys = append(keys, guest.Invitation{ID: id, Email: "!", FirstInvitationSentAt: at,
					LastInvitationSentAt: at, ExpiredAt: at, CreatedAt: at, UpdatedAt: at, AcceptedAt: ptr(at), ArchivedAt: ptr(at)})
			}
			keys = append(keys, guest.Invitation{ID: id, Email: "\U0010ffff\U0010ffff"}) // null accepted_at and archived_at
		}
		for _, by := range guestOrders {
			for _, dir := range []store.Direction{store.Asc, store.Desc} {
				for _, k := range keys {
					q := guest.ListQuery{HostOrganizationID: host, Now: h.clock.Now(), OrderBy: by, Order: dir, Limit: 100, After: ptr(sortKey(by, k))}
					items, total := h.listGuests(q)
					assert.Equal(t, ids(expect(q, all)), ids(items), "%s %s after %v", by, dir, q.After)
					assert.Equal(t, len(all), total)
				}
			}
		}
	}},
	{"GuestListCursorPastTheEnd", func(t *testing.T, h *harness) {
		host, all := h.seedCursorGuests()
		opts := guest.ListOptions{OrderBy: guest.OrderByAcceptedAt, Order: store.Asc, Limit: len(all) - 1}
		first, err := h.guest.List(h.ctx, host, opts)
		require.NoError(t, err)
		require.NotEmpty(t, first.Next, "one invitation follows")
		rest, err := h.guest.List(h.ctx, host, guest.ListOptions{OrderBy: opts.OrderBy, Order: opts.Order, Cursor: first.Next})
		require.NoError(t, err)
		require.Len(t, rest.Items, 1)
		assert.Empty(t, rest.Next)
		// The last one goes: its cursor now leads past the end.
		require.NoError(t, h.deleteGuest(h.ctx, host, rest.Items[0].ID))
		rest, err = h.guest.List(h.ctx, host, guest.ListOptions{OrderBy: opts.OrderBy, Order: opts.Order, Cursor: first.Next})
		require.NoError(t, err)
		assert.Empty(t, rest.Items)
		assert.Empty(t, rest.Next)
		assert.Equal(t, len(all)-1, rest.TotalItems)
	}},
	{"GuestListCursorIsStable", func(t *testing.T, h *harness) {
		host, all := h.seedCursorGuests()
		for _, by := range []guest.OrderBy{guest.OrderByCreatedAt, guest.OrderByEmail, guest.OrderByArchivedAt} {
			opts := guest.ListOptions{OrderBy: by, Order: store.Desc}
			want := itemInvitations(h.onePage(host, opts).Items)
			// Between two pages one invitation that was listed and one
			// that was not yet go, and one that sorts before the cursor
			// comes: the rest are listed once each, none skipped.
			opts.Limit = cursorPage
			first, err := h.guest.List(h.ctx, host, opts)
			require.NoError(t, err)
			gone := []uuid.UUID{want[1].ID, want[2*cursorPage].ID}
			for _, id := range gone {
				require.NoError(t, h.deleteGuest(h.ctx, host, id))
			}
			newcomer := h.newGuest(host, "zz-newcomer@example.com")
			newcomer.ArchivedAt, newcomer.Archived = ptr(h.clock.Now()), true
			h.createGuest(newcomer)
			opts.Cursor = first.Next
			got := h.walkGuests(host, opts, len(all)-len(gone)+1)
			want = slices.DeleteFunc(want[cursorPage:], func(inv guest.Invitation) bool { return slices.Contains(gone, inv.ID) })
			assert.Equal(t, ids(want), ids(got), "%s", by)
			// Put the host back as it was for the next order.
			require.NoError(t, h.deleteGuest(h.ctx, host, newcomer.ID))
			for _, inv := range all {
				if slices.Contains(gone, inv.ID) {
					h.createGuest(inv)
				}
			}
		}
	}},
}
