package httpadapter

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

// seedGuestList creates 23 invitations of a new host through the API, in
// pairs that share created_at, the last three with the emails of accepted
// ones, and accepts or archives some, so every order has ties and the
// nullable ones have nulls. It returns the host.
func (f *fixture) seedGuestList() uuid.UUID {
	f.t.Helper()
	host := uuid.New()
	for i := range 23 {
		if i%2 == 0 {
			f.clock.Advance(time.Second)
		}
		n := i
		if i >= 20 {
			n = (i-20)*4 + 1 // 1, 5 and 9 are accepted: their emails are free
		}
		id := str(f.createGuest(host, fmt.Sprintf("g%02d@example.com", n)), "id")
		switch i % 4 {
		case 1:
			r := f.do(request{method: http.MethodPost, path: "/guest-invitations/" + id + "/accept", header: guestHeaders(host, host)})
			require.Equal(f.t, http.StatusOK, r.status, "%s", r.raw)
		case 2:
			r := f.do(request{method: http.MethodPatch, path: "/guest-invitations/" + id, header: guestHeaders(host, host), body: map[string]bool{"archived": true}})
			require.Equal(f.t, http.StatusOK, r.status, "%s", r.raw)
		}
	}
	f.createGuest(uuid.New(), "g01@example.com") // another host's
	return host
}

// guestIDs are the ids of a guest list response's items.
func guestIDs(t *testing.T, r response) []string {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	var out []string
	for _, item := range r.json["items"].([]any) {
		out = append(out, str(item.(map[string]any), "id"))
	}
	return out
}

// followGuests requests path and every page its Link headers lead to, and
// returns the ids of all of them in order. Every page has total_items
// total, every link keeps the mount prefix and the query but drops the
// offset, and only the last page has no link.
func (f *fixture) followGuests(prefix, path string, host uuid.UUID, total int) []string {
	f.t.Helper()
	var all []string
	for pages := 0; ; pages++ {
		require.Less(f.t, pages, 100, "the list never ends")
		r := f.do(request{method: http.MethodGet, path: path, header: guestHeaders(host, host)})
		ids := guestIDs(f.t, r)
		assert.Equal(f.t, float64(total), r.json["total_items"], "%s: total_items counts the filters only", path)
		all = append(all, ids...)
		link := r.header.Get("Link")
		if link == "" {
			return all
		}
		next := nextLink(f.t, link)
		require.True(f.t, strings.HasPrefix(next, prefix+"/guest-invitations?"), "Link %q keeps the mount prefix", link)
		nq := mustParseQuery(f.t, next)
		assert.NotContains(f.t, nq, "offset", "Link %q: a cursor takes no offset", link)
		require.NotEmpty(f.t, nq.Get("cursor"), "Link %q", link)
		prev := mustParseQuery(f.t, path)
		for name := range prev {
			if name != "offset" && name != "cursor" {
				assert.Equal(f.t, prev[name], nq[name], "Link %q keeps %s", link, name)
			}
		}
		path = strings.TrimPrefix(next, prefix)
	}
}

func TestGuestListCursor(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"", "/mount"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, options{prefix: prefix})
			host := f.seedGuestList()
			for _, query := range []string{
				"",
				"order_by=email&order=asc",
				"order_by=email&order=desc&statuses=sent",
				"order_by=accepted_at&order=asc",
				"order_by=accepted_at&order=desc",
				"order_by=archived_at&order=asc&expired=false",
				"order_by=updated_at&order=desc&email=G0",
				"order_by=first_invitation_sent_at&order=asc&statuses=sent&statuses=accepted_by_system",
			} {
				one := f.do(request{method: http.MethodGet, path: "/guest-invitations?limit=100&" + query, header: guestHeaders(host, host)})
				want := guestIDs(t, one)
				require.Greater(t, len(want), 8, "%s: the walk takes several pages", query)
				assert.Empty(t, one.header.Get("Link"), "%s: the last page links nothing", query)
				total := len(want)
				assert.Equal(t, float64(total), one.json["total_items"])

				got := f.followGuests(prefix, "/guest-invitations?limit=4&"+query, host, total)
				assert.Equal(t, want, got, "%s: every invitation once, in order", query)
				got = f.followGuests(prefix, "/guest-invitations?limit=3&offset=2&"+query, host, total)
				assert.Equal(t, want[2:], got, "%s: from an offset page on", query)
			}
		})
	}
}

func TestGuestListCursorRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	host := f.seedGuestList()
	h := guestHeaders(host, host)
	list := func(query string) response {
		return f.do(request{method: http.MethodGet, path: "/guest-invitations?" + query, header: h})
	}
	cursorOf := func(query string) string {
		r := list(query)
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		return mustParseQuery(t, nextLink(t, r.header.Get("Link"))).Get("cursor")
	}
	byEmail := url.QueryEscape(cursorOf("order_by=email&order=asc&limit=2"))
	newest := url.QueryEscape(cursorOf("limit=2"))
	orgCursor := url.QueryEscape(store.Cursor{CreatedAt: t0, ID: uuid.New()}.String())

	for _, tt := range []struct {
		name   string
		query  string
		status int
		slug   string
		fields []string
	}{
		{"cursor and offset", "cursor=" + newest + "&offset=2", 422, "validation-failed", []string{"offset"}},
		{"garbage", "cursor=garbage", 422, "validation-failed", []string{"cursor"}},
		{"garbage and offset", "cursor=garbage&offset=1", 422, "validation-failed", []string{"offset", "cursor"}},
		{"an organization list's cursor", "cursor=" + orgCursor, 422, "validation-failed", []string{"cursor"}},
		{"another order's", "cursor=" + byEmail, 422, "validation-failed", []string{"cursor"}},
		{"another direction's", "cursor=" + byEmail + "&order_by=email&order=desc", 422, "validation-failed", []string{"cursor"}},
		{"with other refused values", "cursor=garbage&limit=0&order=up", 422, "validation-failed", []string{"order", "cursor", "limit"}},
		{"malformed escape", "cursor=%zz", 400, "invalid-request", []string{"query"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := list(tt.query)
			assertProblem(t, r, tt.status, tt.slug)
			assert.Equal(t, tt.fields, r.fieldNames(), "%s", r.raw)
			assert.Empty(t, r.header.Get("Link"))
		})
	}
	// Whatever a client sends as a cursor is refused as one, never a 500.
	for _, c := range []string{
		"%00", "%FF%FE", "AQ", "AQcA", "____", "AQcA%0A", "%2B%2F%3D", strings.Repeat("A", 10000), newest + "A", newest[:len(newest)-1],
	} {
		r := list("cursor=" + c)
		assertProblem(t, r, http.StatusUnprocessableEntity, "validation-failed")
		assert.Equal(t, []string{"cursor"}, r.fieldNames(), "cursor=%.40s: %s", c, r.raw)
	}

	r := list("cursor=" + byEmail)
	assert.Contains(t, string(r.raw), "order_by=email order=asc", "the problem says which order the cursor is for")

	// The cursor with its own order, and offset=0, which is no offset.
	assert.Len(t, guestIDs(t, list("cursor="+byEmail+"&order_by=email&order=asc&limit=3")), 3)
	assert.Len(t, guestIDs(t, list("cursor="+newest+"&offset=0&limit=3")), 3)
	// An empty cursor is no cursor.
	assert.Len(t, guestIDs(t, list("cursor=&limit=3")), 3)
}
