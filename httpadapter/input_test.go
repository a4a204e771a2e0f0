package httpadapter

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
)

// The end-to-end tests of strict input (issue 11): bodies that are not
// valid UTF-8 and malformed query strings are 400, emails the policy
// refuses are 422 naming email, and cross-organization responses never
// carry what the requester may not GET.

// jsonRoutes are the requests of every route that reads a JSON body, each
// with a valid body and the member a broken string replaces.
func jsonRoutes(f *fixture, host uuid.UUID) []struct {
	name   string
	req    request
	member string
} {
	org := f.createInvitation(host, "jsonroutes@example.com")
	g := f.createGuest(host, "jsonroutes@example.com")
	lnk := f.createLink(host, map[string]any{"role": "admin", "maxUses": 5})
	h := guestHeaders(host, host)
	future := f.clock.Now().Add(24 * time.Hour).Format(time.RFC3339)
	item := "/guest-invitations/" + str(g, "id")
	return []struct {
		name   string
		req    request
		member string
	}{
		{"org create", request{method: http.MethodPost, path: orgPath(host), body: `{"email":"BAD","role":"admin"}`}, "email"},
		{"org create role", request{method: http.MethodPost, path: orgPath(host), body: `{"email":"ok@example.com","role":"BAD"}`}, "role"},
		{"org accept", request{method: http.MethodPost, path: "/v1/invitations/accept", body: `{"token":"` + str(org, "token") + `","email":"BAD"}`}, "email"},
		{"org accept token", request{method: http.MethodPost, path: "/v1/invitations/accept", body: `{"token":"BAD","email":"jsonroutes@example.com"}`}, "token"},
		{"link create", request{method: http.MethodPost, path: linksPath(host), body: `{"role":"BAD","maxUses":1}`}, "role"},
		{"link create domain", request{method: http.MethodPost, path: linksPath(host), body: `{"role":"admin","maxUses":1,"allowedDomains":["BAD"]}`}, "allowedDomains[0]"},
		{"link redeem", request{method: http.MethodPost, path: "/v1/invite-links/redeem", body: `{"token":"` + str(lnk, "token") + `","email":"BAD"}`}, "email"},
		{"link redeem token", request{method: http.MethodPost, path: "/v1/invite-links/redeem", body: `{"token":"BAD","email":"jsonroutes@example.com"}`}, "token"},
		{"guest create", request{method: http.MethodPost, path: "/guest-invitations", header: h, body: `{"email":"BAD","expired_at":"` + future + `"}`}, "email"},
		{"guest patch", request{method: http.MethodPatch, path: item, header: h, body: `{"archived":false,"note":"BAD"}`}, "note"},
		{"guest resend", request{method: http.MethodPost, path: item + "/resend", header: h, body: `{"expired_at":"BAD"}`}, "expired_at"},
		{"guest accept", request{method: http.MethodPost, path: "/guest-invitations/accept", body: `{"invitation_token":"BAD"}`}, "invitation_token"},
	}
}

// TestInvalidUTF8Body: a body that is not valid UTF-8, or whose JSON
// escapes a lone surrogate, is 400 on every JSON route of both APIs, in
// the route's API shape, before anything decodes it: never stored with
// U+FFFD in place of what was sent.
func TestInvalidUTF8Body(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	host := uuid.New()
	for _, rt := range jsonRoutes(f, host) {
		for _, bad := range []string{
			"\xff\xfe@example.com", "a\xc3(b", "\xed\xa0\x80", "\xc0\x80", // raw bytes
			`\ud800`, `x\udfff@example.com`, `\ud800\u0041`, `\udc00\ud800`, // lone surrogate escapes
		} {
			req := rt.req
			req.body = strings.Replace(rt.req.body.(string), "BAD", bad, 1)
			r := f.do(req)
			assertProblem(t, r, http.StatusBadRequest, "invalid-request")
			assert.Contains(t, str(r.json, "detail"), "UTF-", "%s %q", rt.name, bad)
			if strings.HasPrefix(req.path, "/guest-invitations") {
				assert.Contains(t, r.json, "errors", "the guest shape")
				assert.NotContains(t, r.json, "requestId")
			} else {
				assert.Equal(t, str(r.json, "detail"), str(r.json, "error"), "the organization shape")
			}
		}
	}
	// Text that only looks like a surrogate escape, and a real pair, are
	// valid: refused (or not) for what they say, not as broken text.
	for _, fine := range []string{`\\ud800`, `\ud83d\ude00`, "\u00e9"} {
		r := f.do(request{method: http.MethodPost, path: orgPath(host), body: `{"email":"ok@example.com","role":"` + fine + `"}`})
		assertProblem(t, r, http.StatusUnprocessableEntity, "validation-failed")
		assert.Equal(t, []string{"role"}, r.fieldNames(), "%s", r.raw)
	}
	// Nothing was created by the refused requests.
	r := f.do(request{method: http.MethodGet, path: orgPath(host)})
	require.Equal(t, http.StatusOK, r.status)
	assert.Len(t, r.json["result"], 1)
}

// TestMalformedQueryString: a query string url.ParseQuery refuses is 400
// naming the problem on every route that reads its query, never the list
// of the pairs that parsed.
func TestMalformedQueryString(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	host := uuid.New()
	f.createInvitation(host, "ada@example.com")
	f.createGuest(host, "ada@example.com")
	h := guestHeaders(host, host)
	for _, c := range []struct {
		path   string
		header map[string]string
		query  string
		reason string
	}{
		{orgPath(host), nil, "status=revoked;x", "semicolon"},
		{orgPath(host), nil, "status=revoked%zz", `"%zz"`},
		{orgPath(host), nil, "limit=1;", "semicolon"},
		{orgPath(host), nil, "email=ada%40example.com&%g0=1", `"%g0"`},
		{eventsPath(host), nil, "type=invitation.created;x", "semicolon"},
		{eventsPath(host), nil, "limit=%zz", `"%zz"`},
		{"/guest-invitations", h, "statuses=sent;x", "semicolon"},
		{"/guest-invitations", h, "statuses=sent%zz", `"%zz"`},
		{"/guest-invitations", h, "limit=1;", "semicolon"},
		{"/guest-invitations", h, "email=ada%", `"%"`},
	} {
		r := f.do(request{method: http.MethodGet, path: c.path + "?" + c.query, header: c.header})
		assertProblem(t, r, http.StatusBadRequest, "invalid-request")
		assert.Equal(t, []string{"query"}, r.fieldNames(), "%s?%s: %s", c.path, c.query, r.raw)
		assert.Contains(t, str(r.json, "detail"), c.reason, "%s?%s", c.path, c.query)
		assert.NotContains(t, r.json, "items")
		assert.NotContains(t, r.json, "result")
	}
}

// TestMalformedQueryOnEveryRoute: a routes that reads no parameter answers
// a malformed query 400 too, before it changes anything, rather than
// dropping it; a well-formed query it does not read is still ignored.
func TestMalformedQueryOnEveryRoute(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	host := uuid.New()
	inv := f.createInvitation(host, "ada@example.com")
	guestInv := f.createGuest(host, "ada@example.com")
	item := orgPath(host) + "/" + str(inv, "id")
	gItem := "/guest-invitations/" + str(guestInv, "id")
	lnk := f.createLink(host, map[string]any{"role": "admin", "maxUses": 5})
	lItem := linksPath(host) + "/" + str(lnk, "id")
	h := guestHeaders(host, host)
	seen := map[string]bool{}
	for _, c := range []struct {
		method, path string
		header       map[string]string
		body         any
	}{
		{http.MethodGet, orgPath(host), nil, nil},
		{http.MethodPost, orgPath(host), nil, map[string]string{"email": "bob@example.com", "role": "admin"}},
		{http.MethodPost, orgPath(host) + "/bulk", nil, map[string]any{"invitations": []map[string]string{{"email": "cy@example.com", "role": "admin"}}}},
		{http.MethodGet, item, nil, nil},
		{http.MethodDelete, item, nil, nil},
		{http.MethodPost, item + "/revoke", nil, nil},
		{http.MethodPost, item + "/resend", nil, nil},
		{http.MethodPost, "/v1/invitations/accept", nil, map[string]string{"token": str(inv, "token"), "email": "ada@example.com"}},
		{http.MethodGet, eventsPath(host), nil, nil},
		{http.MethodPost, linksPath(host), nil, map[string]any{"role": "admin", "maxUses": 1}},
		{http.MethodGet, linksPath(host), nil, nil},
		{http.MethodGet, lItem, nil, nil},
		{http.MethodPost, lItem + "/revoke", nil, nil},
		{http.MethodGet, lItem + "/redemptions", nil, nil},
		{http.MethodPost, "/v1/invite-links/redeem", nil, map[string]string{"token": str(lnk, "token"), "email": "ada@example.com"}},
		{http.MethodPost, "/guest-invitations", h, map[string]string{"email": "bob@example.com", "expired_at": "2030-01-03T00:00:00Z"}},
		{http.MethodGet, "/guest-invitations", h, nil},
		{http.MethodGet, gItem, h, nil},
		{http.MethodPatch, gItem, h, map[string]bool{"archived": true}},
		{http.MethodPost, gItem + "/resend", h, nil},
		{http.MethodPost, gItem + "/accept", h, nil},
		{http.MethodPost, "/guest-invitations/accept", nil, map[string]string{"invitation_token": str(guestInv, "invitation_token")}},
		{http.MethodGet, "/openapi.json", nil, nil},
	} {
		for _, query := range []string{"a;b", "a=%zz"} {
			r := f.do(request{method: c.method, path: c.path + "?" + query, header: c.header, body: c.body})
			assertProblem(t, r, http.StatusBadRequest, "invalid-request")
			assert.Equal(t, []string{"query"}, r.fieldNames(), "%s %s?%s: %s", c.method, c.path, query, r.raw)
		}
		seen[c.method+" "+strings.NewReplacer(str(inv, "id"), "{invitationId}", str(guestInv, "id"), "{id}",
			str(lnk, "id"), "{linkId}", host.String(), "{organizationId}").Replace(c.path)] = true
	}
	for _, rt := range f.handler.routes {
		assert.True(t, seen[rt.method+" "+rt.path], "route %s %s is covered", rt.method, rt.path)
	}
	// Nothing changed: the invitations are still pending and open.
	got := f.do(request{method: http.MethodGet, path: item + "?unread=1"})
	require.Equal(t, http.StatusOK, got.status, "%s", got.raw)
	assert.Equal(t, "pending", str(got.result(), "status"))
	g := f.do(request{method: http.MethodGet, path: gItem, header: h})
	require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
	assert.Equal(t, false, g.json["archived"])
	assert.Equal(t, "sent", str(g.json, "status"))
	l := f.do(request{method: http.MethodGet, path: lItem})
	require.Equal(t, http.StatusOK, l.status, "%s", l.raw)
	assert.Equal(t, "active", str(l.result(), "status"))
	assert.Equal(t, float64(0), l.result()["uses"])
	r := f.do(request{method: http.MethodGet, path: linksPath(host)})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Len(t, r.json["result"], 1, "no link was created")
}

// TestLookAlikeEmailsOverHTTP: of three addresses that look the same, one
// invitation is open; the others, the Kelvin sign and every domain the
// default policy refuses are 422 naming email, on both APIs, and wherever
// an email enters: create, accept, the organization list's filter.
func TestLookAlikeEmailsOverHTTP(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	host := uuid.New()
	h := guestHeaders(host, host)
	future := f.clock.Now().Add(24 * time.Hour).Format(time.RFC3339)
	created := f.createInvitation(host, "ada@example.com")
	f.createGuest(host, "ada@example.com")

	refused := []string{
		"ada@example.com\u200b", "ada\u200b@example.com", "\u212aate@example.com", "a\u200cda@example.com",
		"a\u200dda@example.com", "ada\u2060@example.com", "\ufeffada@example.com", "a\u00a0da@example.com",
		"jose\u0301@example.com", "\u0130da@example.com", "a\u0000da@example.com",
		"user@[127.0.0.1]", "user@[IPv6:2001:db8::1]", "a@-b.c", "a@b..c", "user@localhost", "a@b", "user@127.0.0.1",
	}
	for _, addr := range refused {
		r := f.do(request{method: http.MethodPost, path: orgPath(host), body: map[string]string{"email": addr, "role": "admin"}})
		assertProblem(t, r, http.StatusUnprocessableEntity, "validation-failed")
		assert.Equal(t, []string{"email"}, r.fieldNames(), "org create %q: %s", addr, r.raw)

		r = f.do(request{method: http.MethodPost, path: "/guest-invitations", header: h, body: map[string]string{"email": addr, "expired_at": future}})
		assertProblem(t, r, http.StatusUnprocessableEntity, "validation-failed")
		assert.Equal(t, []string{"email"}, r.fieldNames(), "guest create %q: %s", addr, r.raw)

		r = f.do(request{method: http.MethodPost, path: "/v1/invitations/accept", body: map[string]string{"token": str(created, "token"), "email": addr}})
		assertProblem(t, r, http.StatusUnprocessableEntity, "validation-failed")
		assert.Equal(t, []string{"email"}, r.fieldNames(), "accept %q: %s", addr, r.raw)

		r = f.do(request{method: http.MethodGet, path: orgPath(host) + "?email=" + url.QueryEscape(addr)})
		assertProblem(t, r, http.StatusUnprocessableEntity, "validation-failed")
		assert.Equal(t, []string{"email"}, r.fieldNames(), "org list email %q: %s", addr, r.raw)
	}
	// The spellings that are the same address are the one open invitation.
	for _, addr := range []string{"ADA@example.com", " ada@EXAMPLE.com "} {
		r := f.do(request{method: http.MethodPost, path: orgPath(host), body: map[string]string{"email": addr, "role": "admin"}})
		assertProblem(t, r, http.StatusConflict, "already-exists")
		r = f.do(request{method: http.MethodPost, path: "/guest-invitations", header: h, body: map[string]string{"email": addr, "expired_at": future}})
		assertProblem(t, r, http.StatusConflict, "already-exists")
	}
	r := f.do(request{method: http.MethodGet, path: orgPath(host)})
	assert.Len(t, r.json["result"], 1, "one open organization invitation")
	r = f.do(request{method: http.MethodGet, path: "/guest-invitations", header: h})
	assert.Equal(t, float64(1), r.json["total_items"], "one open guest invitation")

	// International addresses in NFC pass.
	r = f.do(request{method: http.MethodPost, path: orgPath(host), body: map[string]string{"email": "JOS\u00c9@example.com", "role": "admin"}})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, "jos\u00e9@example.com", str(r.result(), "email"))

	// The guest list's email is a search, not an address: only broken
	// text is refused there.
	r = f.do(request{method: http.MethodGet, path: "/guest-invitations?email=ada%E2%80%8B", header: h})
	assert.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	r = f.do(request{method: http.MethodGet, path: "/guest-invitations?email=%FF", header: h})
	assertProblem(t, r, http.StatusUnprocessableEntity, "validation-failed")
	assert.Equal(t, []string{"email"}, r.fieldNames())
}

// TestAcceptComparesNormalForms: the body's email is checked as any email
// that enters and compared with the principal's in its normal form, so
// the Kelvin sign is not taken for k.
func TestAcceptComparesNormalForms(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{config: func(c *Config) {
		c.Authenticate = func(*http.Request) (Principal, error) {
			return Principal{ID: "user-8", Email: "kate@example.com"}, nil
		}
	}})
	created := f.createInvitation(uuid.New(), "kate@example.com")
	r := f.do(request{method: http.MethodPost, path: "/v1/invitations/accept", body: map[string]string{"token": str(created, "token"), "email": "\u212aate@example.com"}})
	assertProblem(t, r, http.StatusUnprocessableEntity, "validation-failed")
	assert.Equal(t, []string{"email"}, r.fieldNames())
	r = f.do(request{method: http.MethodPost, path: "/v1/invitations/accept", body: map[string]string{"token": str(created, "token"), "email": "K\u0130te@example.com"}})
	assertProblem(t, r, http.StatusUnprocessableEntity, "validation-failed")
	r = f.do(request{method: http.MethodPost, path: "/v1/invitations/accept", body: map[string]string{"token": str(created, "token"), "email": "KATE@example.com "}})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
}

// TestEmailPolicyOverHTTP: a relaxed policy in the services' Config is
// the policy of the routes, the list filter's included.
func TestEmailPolicyOverHTTP(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	keys := [][]byte{[]byte(strings.Repeat("p", 32))}
	policy := invitation.EmailPolicy{AllowSingleLabelDomain: true, AllowLocalhost: true, AllowAddressLiteral: true}
	invs, err := invitation.NewService(invitation.Config{Store: f.store, Keys: keys, Clock: f.clock.Now, EmailPolicy: policy})
	require.NoError(t, err)
	guests, err := guest.NewService(guest.Config{Store: f.store, Keys: keys, Clock: f.clock.Now, EmailPolicy: policy})
	require.NoError(t, err)
	h, err := New(Config{Invitations: invs, Guests: guests, Authenticate: APIKeys(testKeys)})
	require.NoError(t, err)
	host := uuid.New()
	future := f.clock.Now().Add(24 * time.Hour).Format(time.RFC3339)
	for _, addr := range []string{"ada@intranet", "ada@localhost", "ada@[192.0.2.1]"} {
		rec := serveJSON(t, h, http.MethodPost, orgPath(host), nil, map[string]string{"email": addr, "role": "admin"})
		assert.Equal(t, http.StatusOK, rec.status, "%s", rec.raw)
		rec = serveJSON(t, h, http.MethodGet, orgPath(host)+"?limit=0&email="+url.QueryEscape(addr), nil, nil)
		assert.Equal(t, []string{"limit"}, rec.fieldNames(), "only the limit is refused: %s", rec.raw)
		rec = serveJSON(t, h, http.MethodPost, "/guest-invitations", guestHeaders(host, host), map[string]string{"email": addr, "expired_at": future})
		assert.Equal(t, http.StatusCreated, rec.status, "%s", rec.raw)
	}
	rec := serveJSON(t, h, http.MethodPost, orgPath(host), nil, map[string]string{"email": "ada\u200b@intranet", "role": "admin"})
	assert.Equal(t, http.StatusUnprocessableEntity, rec.status, "the character rules are not relaxed")
}

// serveJSON serves one request in-process, authenticated, with body as
// JSON when it is not nil.
func serveJSON(t *testing.T, h http.Handler, method, path string, header map[string]string, body any) response {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return doWith(t, srv.Client(), srv.URL, request{method: method, path: path, header: header, body: body})
}

// TestGuestCrossOrganizationHidesToken: a connected requester acts on the
// target's invitations, but no response to it carries invitation_token,
// which it could not GET: not create, not a no-op PATCH, not resend, not
// accept. The organization itself gets the documented body, token
// included.
func TestGuestCrossOrganizationHidesToken(t *testing.T) {
	t.Parallel()
	requester, target := uuid.New(), uuid.New()
	f := newFixture(t, options{config: func(c *Config) {
		c.AuthorizeConnection = func(_ context.Context, _ Principal, from, to uuid.UUID) error {
			if from == requester && to == target {
				return nil
			}
			return ErrForbidden
		}
	}})
	cross, self := guestHeaders(requester, target), guestHeaders(target, target)
	future := f.clock.Now().Add(24 * time.Hour).Format(time.RFC3339)

	// The target's own invitation: the requester may act on it by ID.
	theirs := f.createGuest(target, "theirs@example.com")
	require.NotEmpty(t, str(theirs, "invitation_token"))
	item := "/guest-invitations/" + str(theirs, "id")

	r := f.do(request{method: http.MethodPost, path: "/guest-invitations", header: cross, body: map[string]string{"email": "mine@example.com", "expired_at": future}})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
	assert.NotContains(t, r.json, "invitation_token", "cross-organization create")
	assert.NotEmpty(t, r.header.Get("Location"))
	assert.Equal(t, target.String(), str(r.json, "host_organization_id"))
	mine := "/guest-invitations/" + str(r.json, "id")

	for _, req := range []request{
		{method: http.MethodPatch, path: item, body: map[string]bool{"archived": false}}, // the no-op of the report
		{method: http.MethodPatch, path: item, body: map[string]bool{"archived": true}},
		{method: http.MethodPatch, path: item, body: map[string]bool{"archived": false}},
		{method: http.MethodPost, path: item + "/resend"},
		{method: http.MethodPost, path: item + "/resend", body: map[string]string{"expired_at": future}},
		{method: http.MethodPost, path: item + "/accept"},
		{method: http.MethodPost, path: mine + "/resend"},
		{method: http.MethodPatch, path: mine, body: map[string]bool{"archived": false}},
	} {
		req.header = cross
		r := f.do(req)
		require.Equal(t, http.StatusOK, r.status, "%s %s: %s", req.method, req.path, r.raw)
		assert.NotContains(t, r.json, "invitation_token", "%s %s", req.method, req.path)
		assert.NotContains(t, string(r.raw), "invitation_token")
	}
	// Nothing else gives it away either: list and get stay refused.
	for _, path := range []string{"/guest-invitations", item} {
		assertProblem(t, f.do(request{method: http.MethodGet, path: path, header: cross}), http.StatusForbidden, "forbidden")
	}
	// The organization itself still reads every documented member.
	for _, req := range []request{
		{method: http.MethodGet, path: mine},
		{method: http.MethodPatch, path: mine, body: map[string]bool{"archived": false}},
		{method: http.MethodPost, path: mine + "/resend"},
		{method: http.MethodPost, path: mine + "/accept"},
	} {
		req.header = self
		r := f.do(req)
		require.Equal(t, http.StatusOK, r.status, "%s %s: %s", req.method, req.path, r.raw)
		assert.NotEmpty(t, str(r.json, "invitation_token"), "%s %s", req.method, req.path)
	}
	r = f.do(request{method: http.MethodPost, path: "/guest-invitations", header: self, body: map[string]string{"email": "own@example.com", "expired_at": future}})
	require.Equal(t, http.StatusCreated, r.status)
	assert.NotEmpty(t, str(r.json, "invitation_token"))
}
