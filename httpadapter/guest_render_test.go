package httpadapter

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/memstore"
)

// guestListJSON is the documented list response as the Handler wrote it
// with json.Marshal before appendGuestList: the reference the rendered
// bytes are held to.
type guestListJSON struct {
	Items      []guest.View `json:"items"`
	TotalItems int          `json:"total_items"`
}

// guestView is the reference body of one invitation read by its own
// organization: the View with its token.
func guestView(item guest.Item, now time.Time) guest.View {
	v := guest.NewView(item.Invitation, now)
	v.InvitationToken = item.Token
	return v
}

// marshalGuestList is the reference of appendGuestList.
func marshalGuestList(t *testing.T, res guest.ListResult) []byte {
	t.Helper()
	out := guestListJSON{Items: make([]guest.View, len(res.Items)), TotalItems: res.TotalItems}
	for i, item := range res.Items {
		out.Items[i] = guestView(item, res.Now)
	}
	b, err := json.Marshal(out)
	require.NoError(t, err)
	return b
}

func TestAppendGuestListMatchesMarshal(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	parent := uuid.New()
	accepted := now.Add(-time.Hour)
	items := []guest.Item{
		{Invitation: guest.Invitation{
			ID: uuid.New(), HostOrganizationID: uuid.New(), Email: "a@example.com", Status: guest.StatusSent,
			FirstInvitationSentAt: now, LastInvitationSentAt: now, ExpiredAt: now, CreatedAt: now, UpdatedAt: now,
		}, Token: "tok-1"},
		{Invitation: guest.Invitation{
			ID: uuid.New(), HostOrganizationID: uuid.New(), Email: "<b>&\u2028@example.com", Status: guest.StatusAcceptedByGuest,
			FirstInvitationSentAt: now, LastInvitationSentAt: now, ExpiredAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now,
			AcceptedAt: &accepted, ParentOrganizationID: &parent, ParentOrganizationName: new(string),
			Metadata: json.RawMessage(`{ "a" : "<x>" , "b" : [ 1, 2 ] }`),
		}, Token: "tok-2"},
		{Invitation: guest.Invitation{ID: uuid.New(), Archived: true}},
	}
	for name, res := range map[string]guest.ListResult{
		"empty": {Items: []guest.Item{}, Now: now},
		// items is an array, never null, as the make of the reference
		// (and of the Handler before) made it.
		"empty, nil items": {TotalItems: 4, Now: now},
		"one":              {Items: items[:1], TotalItems: 1, Now: now},
		"several":          {Items: items, TotalItems: 1234567, Now: now},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want := marshalGuestList(t, res)
			got, err := appendGuestList([]byte("x")[:0], res)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))
		})
	}

	t.Run("metadata json.Marshal refuses", func(t *testing.T) {
		t.Parallel()
		bad := items[0]
		bad.Metadata = json.RawMessage(`{"a":`)
		_, err := appendGuestList(nil, guest.ListResult{Items: []guest.Item{items[1], bad}, Now: now})
		assert.Error(t, err)
	})
}

// TestGuestResponsesAsMarshaled checks the bytes of the guest routes'
// responses end to end against json.Marshal of the Views they stand for:
// a list page, a single read, and a read across organizations, which
// leaves the token out.
func TestGuestResponsesAsMarshaled(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{config: func(c *Config) {
		c.AuthorizeConnection = func(context.Context, Principal, uuid.UUID, uuid.UUID) error { return nil }
	}})
	ctx := context.Background()
	host, parent := uuid.New(), uuid.New()
	expiry := t0.Add(48 * time.Hour)
	var invs []guest.Invitation
	for _, p := range []guest.CreateParams{
		{Email: "plain@example.com"},
		{Email: "meta@example.com", ParentOrganizationID: &parent, Metadata: json.RawMessage(`{"note": "<b>a & b</b>\u2028", "n": [1, 2.5]}`)},
		{Email: "other@example.com"},
	} {
		p.HostOrganizationID, p.ExpiredAt = host, expiry
		inv, err := f.guests.Create(ctx, p)
		require.NoError(t, err)
		invs = append(invs, inv)
	}
	f.clock.Advance(time.Minute)
	_, err := f.guests.SetArchived(ctx, host, invs[2].ID, true)
	require.NoError(t, err)
	_, err = f.guests.AcceptBySystem(ctx, host, invs[0].ID)
	require.NoError(t, err)
	f.clock.Advance(72 * time.Hour) // the unaccepted ones are now expired

	for _, limit := range []int{2, 3} {
		list := f.do(request{method: http.MethodGet, path: "/guest-invitations?limit=" + strconv.Itoa(limit), header: guestHeaders(host, host)})
		require.Equal(t, http.StatusOK, list.status, "%s", list.raw)
		res, err := f.guests.List(ctx, host, guest.ListOptions{Limit: limit})
		require.NoError(t, err)
		require.Len(t, res.Items, limit)
		assert.Equal(t, string(marshalGuestList(t, res)), string(list.raw))
		assert.Equal(t, "application/json", list.header.Get("Content-Type"))
		assert.Equal(t, "no-store", list.header.Get("Cache-Control"))
		assert.Equal(t, strconv.Itoa(len(list.raw)), list.header.Get("Content-Length"))
	}

	for _, inv := range invs {
		path := "/guest-invitations/" + inv.ID.String()
		got := f.do(request{method: http.MethodGet, path: path, header: guestHeaders(host, host)})
		require.Equal(t, http.StatusOK, got.status, "%s", got.raw)
		stored, err := f.guests.Get(ctx, host, inv.ID)
		require.NoError(t, err)
		want, err := json.Marshal(guestView(f.guests.Item(stored), f.clock.Now()))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got.raw))
	}

	// Across organizations: unarchive the archived one, no token shown.
	requester := uuid.New()
	patched := f.do(request{
		method: http.MethodPatch, path: "/guest-invitations/" + invs[2].ID.String(), header: guestHeaders(requester, host),
		body: map[string]any{"archived": false},
	})
	require.Equal(t, http.StatusOK, patched.status, "%s", patched.raw)
	stored, err := f.guests.Get(ctx, host, invs[2].ID)
	require.NoError(t, err)
	want, err := json.Marshal(guest.NewView(stored, f.clock.Now()))
	require.NoError(t, err)
	assert.Equal(t, string(want), string(patched.raw))
	assert.NotContains(t, patched.json, "invitation_token")
}

// corruptMetadataStore returns every guest invitation with metadata that
// is not JSON, as a damaged database might.
type corruptMetadataStore struct{ *memstore.Store }

func (s corruptMetadataStore) GetGuestInvitation(ctx context.Context, hostID, id uuid.UUID) (guest.Invitation, error) {
	inv, err := s.Store.GetGuestInvitation(ctx, hostID, id)
	inv.Metadata = json.RawMessage(`{"a":`)
	return inv, err
}

func (s corruptMetadataStore) ListGuestInvitations(ctx context.Context, q guest.ListQuery) ([]guest.Invitation, int, error) {
	invs, n, err := s.Store.ListGuestInvitations(ctx, q)
	for i := range invs {
		invs[i].Metadata = json.RawMessage(`{"a":`)
	}
	return invs, n, err
}

// TestGuestUnrenderableMetadata: an invitation json.Marshal cannot render
// is answered with the documented internal error, logged, never a panic
// or half a body.
func TestGuestUnrenderableMetadata(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{store: func(*testing.T) backend { return corruptMetadataStore{memstore.New()} }})
	host := uuid.New()
	created := f.do(request{
		method: http.MethodPost, path: "/guest-invitations", header: guestHeaders(host, host),
		body: map[string]any{"email": "g@example.com", "expired_at": t0.Add(time.Hour).Format(time.RFC3339)},
	})
	require.Equal(t, http.StatusCreated, created.status, "%s", created.raw)
	for _, path := range []string{"/guest-invitations", "/guest-invitations/" + str(created.json, "id")} {
		r := f.do(request{method: http.MethodGet, path: path, header: guestHeaders(host, host)})
		assertProblem(t, r, http.StatusInternalServerError, "internal")
	}
	assert.Contains(t, f.logs.String(), "httpadapter: rendering guest invitation "+str(created.json, "id"))
}
