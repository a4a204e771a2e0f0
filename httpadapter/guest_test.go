package httpadapter

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/guest"
)

// guestFields are the documented members of a guest invitation, in the
// documented order, and the additive metadata.
var guestFields = []string{
	"id", "host_organization_id", "email", "first_invitation_sent_at", "last_invitation_sent_at", "expired_at",
	"expired", "status", "invitation_token", "archived", "created_at", "updated_at", "accepted_at", "archived_at",
	"parent_organization_id", "parent_organization_name", "metadata",
}

func TestGuestCreateAndGet(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"", "/mount"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, options{prefix: prefix})
			host, parent := uuid.New(), uuid.New()
			r := f.do(request{
				method: http.MethodPost, path: "/guest-invitations", auth: bearerAuth, header: guestHeaders(host, host),
				body: map[string]any{"email": "Guest@Example.com", "expired_at": "2030-01-05T00:00:00+02:00", "parent_organization_id": parent},
			})
			require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
			assert.Equal(t, "application/json", r.header.Get("Content-Type"))
			for _, name := range guestFields {
				assert.Contains(t, r.json, name)
			}
			assert.Len(t, r.json, len(guestFields))
			assert.Equal(t, host.String(), str(r.json, "host_organization_id"))
			assert.Equal(t, "guest@example.com", str(r.json, "email"))
			assert.Equal(t, "sent", str(r.json, "status"))
			assert.Equal(t, "2030-01-04T22:00:00Z", str(r.json, "expired_at"), "stored and shown in UTC")
			assert.Equal(t, "2030-01-02T03:04:05Z", str(r.json, "first_invitation_sent_at"))
			assert.Equal(t, false, r.json["expired"])
			assert.Equal(t, false, r.json["archived"])
			assert.Nil(t, r.json["accepted_at"])
			assert.Nil(t, r.json["archived_at"])
			assert.Equal(t, parent.String(), str(r.json, "parent_organization_id"))
			assert.Nil(t, r.json["parent_organization_name"], "null without a directory")
			assert.GreaterOrEqual(t, len(str(r.json, "invitation_token")), 10)

			location := r.header.Get("Location")
			assert.Equal(t, prefix+"/guest-invitations/"+str(r.json, "id"), location)
			got := f.do(request{method: http.MethodGet, path: strings.TrimPrefix(location, prefix), auth: bearerAuth, header: guestHeaders(host, host)})
			require.Equal(t, http.StatusOK, got.status, "%s", got.raw)
			assert.Equal(t, r.json, got.json, "the token is returned on every read")
		})
	}
}

func TestGuestList(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	host := uuid.New()
	var ids []string
	for _, e := range []string{"carol@example.com", "alice@example.com", "bob@corp.example"} {
		ids = append(ids, str(f.createGuest(host, e), "id"))
		f.clock.Advance(time.Minute)
	}
	f.createGuest(uuid.New(), "alice@example.com")
	r := f.do(request{method: http.MethodPost, path: "/guest-invitations/" + ids[0] + "/accept", header: guestHeaders(host, host)})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	r = f.do(request{method: http.MethodPatch, path: "/guest-invitations/" + ids[2], header: guestHeaders(host, host), body: map[string]bool{"archived": true}})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)

	tests := []struct {
		query string
		want  []string
		total int
	}{
		{"", []string{ids[2], ids[1], ids[0]}, 3},
		{"?order_by=email&order=asc", []string{ids[1], ids[2], ids[0]}, 3},
		{"?statuses=sent", []string{ids[2], ids[1]}, 2},
		{"?statuses=sent&statuses=accepted_by_system", []string{ids[2], ids[1], ids[0]}, 3},
		{"?email=EXAMPLE.COM", []string{ids[1], ids[0]}, 2},
		{"?archived=true", []string{ids[2]}, 1},
		{"?archived=false&expired=false", []string{ids[1], ids[0]}, 2},
		{"?limit=1&offset=1", []string{ids[1]}, 3},
		{"?offset=10", nil, 3},
		{"?order_by=accepted_at&order=desc", []string{ids[0], ids[2], ids[1]}, 3},
		{"?unknown=param", []string{ids[2], ids[1], ids[0]}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := f.do(request{method: http.MethodGet, path: "/guest-invitations" + tt.query, header: guestHeaders(host, host)})
			require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
			var got []string
			for _, item := range r.json["items"].([]any) {
				got = append(got, str(item.(map[string]any), "id"))
			}
			assert.Equal(t, tt.want, got)
			assert.Equal(t, float64(tt.total), r.json["total_items"])
		})
	}

	f.clock.Advance(72 * time.Hour)
	r = f.do(request{method: http.MethodGet, path: "/guest-invitations?expired=true", header: guestHeaders(host, host)})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	require.Len(t, r.json["items"], 2, "the sent ones expire; the accepted one does not")
	assert.Equal(t, true, r.json["items"].([]any)[0].(map[string]any)["expired"])
}

func TestGuestArchiveResendAccept(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	host := uuid.New()
	h := guestHeaders(host, host)
	created := f.createGuest(host, "guest@example.com")
	item := "/guest-invitations/" + str(created, "id")

	f.clock.Advance(time.Hour)
	r := f.do(request{method: http.MethodPatch, path: item, header: h, body: map[string]bool{"archived": true}})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, true, r.json["archived"])
	assert.Equal(t, "2030-01-02T04:04:05Z", str(r.json, "archived_at"))
	assert.Equal(t, "2030-01-02T04:04:05Z", str(r.json, "updated_at"))

	acceptByToken := func(token string) response {
		return f.do(request{method: http.MethodPost, path: "/guest-invitations/accept", body: map[string]string{"invitation_token": token}})
	}
	assertProblem(t, acceptByToken(str(created, "invitation_token")), http.StatusConflict, "archived")
	assertProblem(t, f.do(request{method: http.MethodPost, path: item + "/resend", header: h}), http.StatusConflict, "archived")

	r = f.do(request{method: http.MethodPatch, path: item, header: h, body: map[string]bool{"archived": false}})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Nil(t, r.json["archived_at"])

	// Resend without a body keeps the expiry; with one it moves it.
	r = f.do(request{method: http.MethodPost, path: item + "/resend", header: h})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, str(created, "expired_at"), str(r.json, "expired_at"))
	assert.Equal(t, str(created, "first_invitation_sent_at"), str(r.json, "first_invitation_sent_at"))
	assert.Equal(t, "2030-01-02T04:04:05Z", str(r.json, "last_invitation_sent_at"))
	assert.NotEqual(t, str(created, "invitation_token"), str(r.json, "invitation_token"))
	r = f.do(request{method: http.MethodPost, path: item + "/resend", header: h, body: map[string]string{"expired_at": "2030-02-01T00:00:00Z"}})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, "2030-02-01T00:00:00Z", str(r.json, "expired_at"))
	token := str(r.json, "invitation_token")

	assertProblem(t, acceptByToken(str(created, "invitation_token")), http.StatusNotFound, "invalid-token")
	r = acceptByToken(token)
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, "accepted_by_guest", str(r.json, "status"))
	assert.Equal(t, "2030-01-02T04:04:05Z", str(r.json, "accepted_at"))
	assertProblem(t, acceptByToken(token), http.StatusConflict, "already-accepted")
	assertProblem(t, f.do(request{method: http.MethodPost, path: item + "/accept", header: h}), http.StatusConflict, "already-accepted")

	other := f.createGuest(host, "other@example.com")
	r = f.do(request{method: http.MethodPost, path: "/guest-invitations/" + str(other, "id") + "/accept", header: h})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, "accepted_by_system", str(r.json, "status"))
}

func TestGuestExpired(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	host := uuid.New()
	h := guestHeaders(host, host)
	created := f.createGuest(host, "late@example.com")
	item := "/guest-invitations/" + str(created, "id")
	f.clock.Advance(48 * time.Hour)

	r := f.do(request{method: http.MethodGet, path: item, header: h})
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, true, r.json["expired"])
	assertProblem(t, f.do(request{method: http.MethodPost, path: item + "/accept", header: h}), http.StatusGone, "expired")
	assertProblem(t, f.do(request{method: http.MethodPost, path: "/guest-invitations/accept",
		body: map[string]string{"invitation_token": str(created, "invitation_token")}}), http.StatusGone, "expired")
	// A resend revives it: for the default expiry without a new one.
	r = f.do(request{method: http.MethodPost, path: item + "/resend", header: h, body: `{}`})
	require.Equal(t, http.StatusOK, r.status, "a resend revives it: %s", r.raw)
	assert.Equal(t, false, r.json["expired"])
	assert.Equal(t, f.clock.Now().Add(guest.DefaultExpiry).Format(time.RFC3339Nano), str(r.json, "expired_at"))
	assertProblem(t, f.do(request{method: http.MethodPost, path: "/guest-invitations/accept",
		body: map[string]string{"invitation_token": str(created, "invitation_token")}}), http.StatusNotFound, "invalid-token")

	r = f.do(request{method: http.MethodPost, path: item + "/resend", header: h, body: map[string]string{"expired_at": "2030-01-10T00:00:00Z"}})
	require.Equal(t, http.StatusOK, r.status, "a new expiry moves it: %s", r.raw)
	assert.Equal(t, "2030-01-10T00:00:00Z", str(r.json, "expired_at"))
}

func TestGuestCrossOrganization(t *testing.T) {
	t.Parallel()
	requester, target, stranger := uuid.New(), uuid.New(), uuid.New()
	connected := func(_ context.Context, p Principal, from, to uuid.UUID) error {
		if from == requester && to == target && p.ID == keyID {
			return nil
		}
		return ErrForbidden
	}
	body := map[string]any{"email": "guest@example.com", "expired_at": "2030-01-03T00:00:00Z"}

	t.Run("refused without AuthorizeConnection", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		r := f.do(request{method: http.MethodPost, path: "/guest-invitations", header: guestHeaders(requester, target), body: body})
		assertProblem(t, r, http.StatusForbidden, "forbidden")
	})

	t.Run("allowed for a connected pair", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, options{config: func(c *Config) { c.AuthorizeConnection = connected }})
		r := f.do(request{method: http.MethodPost, path: "/guest-invitations", header: guestHeaders(requester, target), body: body})
		require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
		assert.Equal(t, target.String(), str(r.json, "host_organization_id"), "the target hosts the invitation")
		item := "/guest-invitations/" + str(r.json, "id")

		for _, req := range []request{
			{method: http.MethodPatch, path: item, body: map[string]bool{"archived": false}},
			{method: http.MethodPost, path: item + "/resend"},
			{method: http.MethodPost, path: item + "/accept"},
		} {
			req.header = guestHeaders(requester, target)
			r := f.do(req)
			assert.Equal(t, http.StatusOK, r.status, "%s %s: %s", req.method, req.path, r.raw)
		}
		// List and get are for the organization itself only, connected or
		// not.
		for _, path := range []string{"/guest-invitations", item} {
			r := f.do(request{method: http.MethodGet, path: path, header: guestHeaders(requester, target)})
			assertProblem(t, r, http.StatusForbidden, "forbidden")
			r = f.do(request{method: http.MethodGet, path: path, header: guestHeaders(target, target)})
			assert.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		}
		// Another pair, or the same pair for another key, is refused.
		r = f.do(request{method: http.MethodPost, path: "/guest-invitations", header: guestHeaders(stranger, target), body: body})
		assertProblem(t, r, http.StatusForbidden, "forbidden")
		r = f.do(request{method: http.MethodPost, path: item + "/accept", header: guestHeaders(target, requester)})
		assertProblem(t, r, http.StatusForbidden, "forbidden")
		req := request{method: http.MethodPost, path: "/guest-invitations", header: guestHeaders(requester, target), body: body, auth: noAuth}
		req.header["Authorization"] = "Bearer " + otherKey
		assertProblem(t, f.do(req), http.StatusForbidden, "forbidden")
	})
}

func TestGuestTenantIsolation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	host, other := uuid.New(), uuid.New()
	item := "/guest-invitations/" + str(f.createGuest(host, "guest@example.com"), "id")
	for _, req := range []request{
		{method: http.MethodGet, path: item},
		{method: http.MethodPatch, path: item, body: map[string]bool{"archived": true}},
		{method: http.MethodPost, path: item + "/resend"},
		{method: http.MethodPost, path: item + "/accept"},
	} {
		req.header = guestHeaders(other, other)
		assertProblem(t, f.do(req), http.StatusNotFound, "not-found")
	}
	r := f.do(request{method: http.MethodGet, path: "/guest-invitations", header: guestHeaders(other, other)})
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, []any{}, r.json["items"])
	assert.Equal(t, float64(0), r.json["total_items"])
}

func TestGuestErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{config: func(c *Config) {
		c.MaxBodyBytes = 256
		c.AuthorizeOrganization = func(_ context.Context, _ Principal, org uuid.UUID) error {
			if org == forbiddenOrg {
				return ErrForbidden
			}
			return nil
		}
	}})
	host := uuid.New()
	h := guestHeaders(host, host)
	created := f.createGuest(host, "guest@example.com")
	item := "/guest-invitations/" + str(created, "id")
	future := "2030-01-03T00:00:00Z"
	withHeaders := func(r request, hdr map[string]string) request { r.header = hdr; return r }
	create := func(body any) request {
		return request{method: http.MethodPost, path: "/guest-invitations", header: h, body: body}
	}

	tests := []struct {
		name   string
		req    request
		status int
		slug   string
		fields []string
	}{
		{"no credentials", withHeaders(request{method: http.MethodGet, path: item, auth: noAuth}, h), 401, "unauthenticated", nil},
		{"missing headers", request{method: http.MethodGet, path: item}, 400, "invalid-request", []string{RequesterHeader, TargetHeader}},
		{"malformed header", withHeaders(request{method: http.MethodGet, path: item}, map[string]string{RequesterHeader: "x", TargetHeader: host.String()}), 400, "invalid-request", []string{RequesterHeader}},
		{"malformed id", withHeaders(request{method: http.MethodGet, path: "/guest-invitations/123"}, h), 400, "invalid-request", []string{"id"}},
		{"forbidden requester", withHeaders(request{method: http.MethodGet, path: item}, guestHeaders(forbiddenOrg, forbiddenOrg)), 403, "forbidden", nil},
		{"unknown invitation", withHeaders(request{method: http.MethodGet, path: "/guest-invitations/" + uuid.NewString()}, h), 404, "not-found", nil},
		{"duplicate open invitation", create(map[string]string{"email": "GUEST@example.com", "expired_at": future}), 409, "already-exists", nil},
		{"invalid fields", create(map[string]string{"email": "x", "expired_at": "2029-01-01T00:00:00Z"}), 422, "validation-failed", []string{"email", "expired_at"}},
		{"missing fields", create(`{}`), 422, "validation-failed", []string{"email", "expired_at"}},
		{"expiry too far", create(map[string]string{"email": "far@example.com", "expired_at": "2040-01-01T00:00:00Z"}), 422, "validation-failed", []string{"expired_at"}},
		{"nil parent", create(map[string]string{"email": "p@example.com", "expired_at": future, "parent_organization_id": uuid.Nil.String()}), 422, "validation-failed", []string{"parent_organization_id"}},
		{"malformed date and uuid", create(map[string]string{"email": "p@example.com", "expired_at": "tomorrow", "parent_organization_id": "p"}), 422, "validation-failed", []string{"expired_at", "parent_organization_id"}},
		{"malformed date and a bad email", create(map[string]string{"email": "x", "expired_at": "tomorrow"}), 422, "validation-failed", []string{"email", "expired_at"}},
		{"malformed uuid and a past date", create(map[string]string{"email": "p@example.com", "expired_at": "2029-01-01T00:00:00Z", "parent_organization_id": "p"}), 422, "validation-failed", []string{"expired_at", "parent_organization_id"}},
		{"malformed uuid alone", create(map[string]string{"email": "alone@example.com", "expired_at": future, "parent_organization_id": "{" + uuid.NewString() + "}"}), 422, "validation-failed", []string{"parent_organization_id"}},
		{"wrong JSON type", create(`{"email":"p@example.com","expired_at":1700000000}`), 400, "invalid-request", []string{"expired_at"}},
		{"malformed JSON", create(`{"email"`), 400, "invalid-request", nil},
		{"trailing data", create(`{"email":"t@example.com","expired_at":"` + future + `"}x`), 400, "invalid-request", nil},
		{"no content type", withHeaders(request{method: http.MethodPost, path: "/guest-invitations", body: `{}`, contentType: "-"}, h), 415, "unsupported-media-type", nil},
		{"body too large", create(`{"email":"` + strings.Repeat("x", 300) + `"}`), 413, "body-too-large", nil},
		{"patch without archived", withHeaders(request{method: http.MethodPatch, path: item, body: `{"archived":null}`}, h), 422, "validation-failed", []string{"archived"}},
		{"patch with a string", withHeaders(request{method: http.MethodPatch, path: item, body: `{"archived":"yes"}`}, h), 400, "invalid-request", []string{"archived"}},
		{"patch as text", withHeaders(request{method: http.MethodPatch, path: item, body: `archived=true`, contentType: "application/x-www-form-urlencoded"}, h), 415, "unsupported-media-type", nil},
		{"resend with a past expiry", withHeaders(request{method: http.MethodPost, path: item + "/resend", body: `{"expired_at":"2020-01-01T00:00:00Z"}`}, h), 422, "validation-failed", []string{"expired_at"}},
		{"resend with a malformed date", withHeaders(request{method: http.MethodPost, path: item + "/resend", body: `{"expired_at":"next week"}`}, h), 422, "validation-failed", []string{"expired_at"}},
		{"resend with a number", withHeaders(request{method: http.MethodPost, path: item + "/resend", body: `{"expired_at":1700000000}`}, h), 400, "invalid-request", []string{"expired_at"}},
		{"resend with a text body", withHeaders(request{method: http.MethodPost, path: item + "/resend", body: `soon`, contentType: "text/plain"}, h), 415, "unsupported-media-type", nil},
		{"accept without token", request{method: http.MethodPost, path: "/guest-invitations/accept", body: `{}`}, 422, "validation-failed", []string{"invitation_token"}},
		{"accept with a forged token", request{method: http.MethodPost, path: "/guest-invitations/accept", body: `{"invitation_token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`}, 404, "invalid-token", nil},
		{"accept with an organization token", request{method: http.MethodPost, path: "/guest-invitations/accept", body: map[string]string{"invitation_token": str(f.createInvitation(host, "o@example.com"), "token")}}, 404, "invalid-token", nil},
		{"accept by token needs credentials", request{method: http.MethodPost, path: "/guest-invitations/accept", body: `{}`, auth: noAuth}, 401, "unauthenticated", nil},
		{"limit not a number", withHeaders(request{method: http.MethodGet, path: "/guest-invitations?limit=x&offset=-"}, h), 400, "invalid-request", []string{"limit", "offset"}},
		{"expired not a boolean", withHeaders(request{method: http.MethodGet, path: "/guest-invitations?expired=yes&archived=1"}, h), 400, "invalid-request", []string{"expired", "archived"}},
		{"values out of range", withHeaders(request{method: http.MethodGet, path: "/guest-invitations?limit=101&offset=-1&order=up&order_by=name&statuses=lost"}, h), 422, "validation-failed", []string{"statuses", "order_by", "order", "limit", "offset"}},
		{"limit zero", withHeaders(request{method: http.MethodGet, path: "/guest-invitations?limit=0"}, h), 422, "validation-failed", []string{"limit"}},
		{"limit zero and other values", withHeaders(request{method: http.MethodGet, path: "/guest-invitations?limit=0&order=up&email="}, h), 422, "validation-failed", []string{"order", "limit", "email"}},
		{"limit beyond int64", withHeaders(request{method: http.MethodGet, path: "/guest-invitations?limit=99999999999999999999"}, h), 422, "validation-failed", []string{"limit"}},
		{"empty email search", withHeaders(request{method: http.MethodGet, path: "/guest-invitations?email="}, h), 422, "validation-failed", []string{"email"}},
		{"email search too long", withHeaders(request{method: http.MethodGet, path: "/guest-invitations?email=" + strings.Repeat("e", 256)}, h), 422, "validation-failed", []string{"email"}},
		{"wrong method", withHeaders(request{method: http.MethodDelete, path: item}, h), 405, "method-not-allowed", nil},
		{"unknown route", request{method: http.MethodGet, path: "/guest-invitations/" + str(created, "id") + "/history"}, 404, "not-found", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(tt.req)
			assertProblem(t, r, tt.status, tt.slug)
			if tt.fields == nil {
				assert.Equal(t, []any{}, r.json["errors"], "errors is always an array")
			} else {
				assert.Equal(t, tt.fields, r.fieldNames())
			}
			assert.NotEmpty(t, str(r.json, "title"))
			assert.NotEmpty(t, str(r.json, "detail"))
		})
	}

	// The 422s of unparsable members asked the service only for its pure
	// verdict on the other members: that must have stored nothing.
	for org, want := range map[uuid.UUID]int{host: 1, uuid.Nil: 0} {
		res, err := f.guests.List(context.Background(), org, guest.ListOptions{})
		require.NoError(t, err)
		assert.Equal(t, want, res.TotalItems, "invitations of %s", org)
	}

	r := f.do(request{method: http.MethodDelete, path: item, header: h})
	assert.Equal(t, "GET, HEAD, PATCH", r.header.Get("Allow"))
	r = f.do(withHeaders(request{method: http.MethodGet, path: item, auth: noAuth}, h))
	assert.Equal(t, challenge, r.header.Get("WWW-Authenticate"))
}

// TestGuestConcurrentAccept accepts one invitation from 40 clients at once,
// by token and by ID: exactly one wins, the others get 409.
func TestGuestConcurrentAccept(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	host := uuid.New()
	t.Run("by token", func(t *testing.T) {
		created := f.createGuest(host, "token@example.com")
		body := map[string]string{"invitation_token": str(created, "invitation_token")}
		statuses := concurrently(40, func() (response, error) {
			return tryDo(f.client, f.base, request{method: http.MethodPost, path: "/guest-invitations/accept", body: body})
		})
		assert.Equal(t, map[int]int{http.StatusOK: 1, http.StatusConflict: 39}, statuses)
	})
	t.Run("by id", func(t *testing.T) {
		created := f.createGuest(host, "system@example.com")
		path := "/guest-invitations/" + url.PathEscape(str(created, "id")) + "/accept"
		statuses := concurrently(40, func() (response, error) {
			return tryDo(f.client, f.base, request{method: http.MethodPost, path: path, header: guestHeaders(host, host)})
		})
		assert.Equal(t, map[int]int{http.StatusOK: 1, http.StatusConflict: 39}, statuses)
	})
}
