package httpadapter

// End-to-end tests of the join link routes over HTTP: create, list, get,
// revoke, redemptions and redeem, every status each answers, the redeem
// hook, the domain policies and the events.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
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

// linksPath is the link collection path of organization org.
func linksPath(org uuid.UUID) string {
	return "/v1/organizations/" + org.String() + "/invite-links"
}

// linkItem is the path of the link of org with id.
func linkItem(org uuid.UUID, id string) string { return linksPath(org) + "/" + id }

const redeemPath = "/v1/invite-links/redeem"

// createLink creates a link of org through the API and returns its result
// object.
func (f *fixture) createLink(org uuid.UUID, body map[string]any) map[string]any {
	f.t.Helper()
	r := f.do(request{method: http.MethodPost, path: linksPath(org), body: body})
	require.Equal(f.t, http.StatusOK, r.status, "create link: %s", r.raw)
	return r.result()
}

// redeem redeems tok as addr.
func (f *fixture) redeem(tok, addr string) response {
	f.t.Helper()
	return f.do(request{method: http.MethodPost, path: redeemPath, body: map[string]string{"token": tok, "email": addr}})
}

// getLink returns the result of a get of org's link id, which must be a
// 200.
func (f *fixture) getLink(org uuid.UUID, id string) map[string]any {
	f.t.Helper()
	r := f.do(request{method: http.MethodGet, path: linkItem(org, id)})
	require.Equal(f.t, http.StatusOK, r.status, "%s", r.raw)
	return r.result()
}

// redeemedEmails lists the emails of the redemptions of org's link id,
// newest first.
func (f *fixture) redeemedEmails(org uuid.UUID, id string) []string {
	f.t.Helper()
	r := f.do(request{method: http.MethodGet, path: linkItem(org, id) + "/redemptions?limit=100"})
	require.Equal(f.t, http.StatusOK, r.status, "%s", r.raw)
	return resultEmails(r)
}

// resultEmails lists the email members of a list's results.
func resultEmails(r response) []string {
	out := []string{}
	list, _ := r.json["result"].([]any)
	for _, v := range list {
		out = append(out, str(v.(map[string]any), "email"))
	}
	return out
}

// resultIDs lists the id members of a list's results.
func resultIDs(r response) []string {
	var out []string
	list, _ := r.json["result"].([]any)
	for _, v := range list {
		out = append(out, str(v.(map[string]any), "id"))
	}
	return out
}

// nextPage follows the Link rel="next" header of r, which must have one.
func (f *fixture) nextPage(r response) response {
	f.t.Helper()
	hdr := r.header.Get("Link")
	require.True(f.t, strings.HasPrefix(hdr, "<") && strings.HasSuffix(hdr, `>; rel="next"`), "Link header %q", hdr)
	return f.do(request{method: http.MethodGet, path: strings.TrimSuffix(strings.TrimPrefix(hdr, "<"), `>; rel="next"`)})
}

func timeOf(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err, "%q", s)
	return v
}

// TestLinkCreate creates links of every shape and checks the read shape
// each is answered with.
func TestLinkCreate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	org := uuid.New()

	r := f.do(request{method: http.MethodPost, path: linksPath(org), body: map[string]any{"role": "admin", "maxUses": 5}})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, float64(200), r.json["status"])
	assert.Equal(t, r.header.Get(RequestIDHeader), str(r.json, "requestId"))
	l := r.result()
	assert.Equal(t, org.String(), str(l, "organizationId"))
	assert.Equal(t, "admin", str(l, "role"))
	assert.Equal(t, []any{map[string]any{"roleId": invitation.AdminRoleID.String(), "roleName": "admin", "roleType": "system"}}, l["assignedRoles"])
	assert.Equal(t, float64(5), l["maxUses"])
	assert.Equal(t, float64(0), l["uses"])
	assert.Equal(t, []any{}, l["allowedDomains"], "an array, empty when any domain may redeem")
	assert.Equal(t, t0, timeOf(t, str(l, "createdAt")))
	assert.Equal(t, t0.Add(link.DefaultTTL), timeOf(t, str(l, "expireAt")), "the default TTL")
	assert.Nil(t, l["revokedAt"])
	assert.Contains(t, l, "revokedAt")
	assert.Equal(t, "active", str(l, "status"))
	assert.NotEmpty(t, str(l, "token"))

	t.Run("assignedRoleIds", func(t *testing.T) {
		l := f.createLink(org, map[string]any{"assignedRoleIds": []string{invitation.DeveloperRoleID.String()}, "maxUses": 1})
		assert.Equal(t, "developer", str(l, "role"))
		assert.Equal(t, []any{map[string]any{"roleId": invitation.DeveloperRoleID.String(), "roleName": "developer", "roleType": "system"}}, l["assignedRoles"])
	})
	t.Run("allowedDomains normalised", func(t *testing.T) {
		l := f.createLink(org, map[string]any{"role": "admin", "maxUses": 10000,
			"allowedDomains": []string{" Example.COM", "example.com", "other.org", "EXAMPLE.com "}})
		assert.Equal(t, []any{"example.com", "other.org"}, l["allowedDomains"])
		assert.Equal(t, float64(10000), l["maxUses"])
	})
	t.Run("expireAt", func(t *testing.T) {
		at := t0.Add(48 * time.Hour)
		l := f.createLink(org, map[string]any{"role": "admin", "maxUses": 1, "expireAt": at.In(time.FixedZone("", 3600)).Format(time.RFC3339)})
		assert.Equal(t, at.Format(time.RFC3339), str(l, "expireAt"), "in UTC")
		l = f.createLink(org, map[string]any{"role": "admin", "maxUses": 1, "expireAt": t0.Add(link.MaxTTL).Format(time.RFC3339)})
		assert.Equal(t, t0.Add(link.MaxTTL), timeOf(t, str(l, "expireAt")), "365 days is the most")
		l = f.createLink(org, map[string]any{"role": "admin", "maxUses": 1, "expireAt": nil})
		assert.Equal(t, t0.Add(link.DefaultTTL), timeOf(t, str(l, "expireAt")), "null is the default")
	})
	t.Run("bearer", func(t *testing.T) {
		r := f.do(request{method: http.MethodPost, path: linksPath(org), auth: bearerAuth, body: map[string]any{"role": "developer", "maxUses": 2}})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	})
}

// TestLinkCreateInvalid refuses every invalid create with the status and
// the fields at fault, and creates nothing.
func TestLinkCreateInvalid(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	org := uuid.New()
	past := t0.Add(-time.Hour).Format(time.RFC3339)
	tooMany := make([]string, link.MaxAllowedDomains+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("d%d.example.com", i)
	}
	tests := []struct {
		name   string
		body   any
		status int
		slug   string
		fields []string
	}{
		{"maxUses 0", map[string]any{"role": "admin", "maxUses": 0}, 422, "validation-failed", []string{"maxUses"}},
		{"maxUses absent", map[string]any{"role": "admin"}, 422, "validation-failed", []string{"maxUses"}},
		{"maxUses 10001", map[string]any{"role": "admin", "maxUses": 10001}, 422, "validation-failed", []string{"maxUses"}},
		{"maxUses negative", map[string]any{"role": "admin", "maxUses": -1}, 422, "validation-failed", []string{"maxUses"}},
		{"expireAt in the past", map[string]any{"role": "admin", "maxUses": 1, "expireAt": past}, 422, "validation-failed", []string{"expireAt"}},
		{"expireAt now", map[string]any{"role": "admin", "maxUses": 1, "expireAt": t0.Format(time.RFC3339)}, 422, "validation-failed", []string{"expireAt"}},
		{"expireAt beyond 365 days", map[string]any{"role": "admin", "maxUses": 1, "expireAt": t0.Add(link.MaxTTL + time.Second).Format(time.RFC3339)}, 422, "validation-failed", []string{"expireAt"}},
		{"expireAt not a date-time", map[string]any{"role": "admin", "maxUses": 1, "expireAt": "tomorrow"}, 422, "validation-failed", []string{"expireAt"}},
		{"bad domains", map[string]any{"role": "admin", "maxUses": 1, "allowedDomains": []string{"example.com", "not a domain", "ada@example.com", "localhost"}}, 422, "validation-failed",
			[]string{"allowedDomains[1]", "allowedDomains[2]", "allowedDomains[3]"}},
		{"empty domain", map[string]any{"role": "admin", "maxUses": 1, "allowedDomains": []string{" "}}, 422, "validation-failed", []string{"allowedDomains[0]"}},
		{"too many domains", map[string]any{"role": "admin", "maxUses": 1, "allowedDomains": tooMany}, 422, "validation-failed", []string{"allowedDomains"}},
		{"no role", map[string]any{"maxUses": 1}, 422, "validation-failed", []string{"role"}},
		{"invalid role", map[string]any{"role": "Admin!", "maxUses": 1}, 422, "validation-failed", []string{"role"}},
		{"unknown role ID", map[string]any{"assignedRoleIds": []string{invitation.AdminRoleID.String(), uuid.NewString()}, "maxUses": 1}, 422, "validation-failed", []string{"assignedRoleIds[1]"}},
		{"role ID not a UUID", map[string]any{"assignedRoleIds": []string{"nope"}, "maxUses": 1}, 422, "validation-failed", []string{"assignedRoleIds[0]"}},
		{"every field at once", map[string]any{"maxUses": 0, "expireAt": past, "allowedDomains": []string{"x y"}}, 422, "validation-failed",
			[]string{"maxUses", "expireAt", "allowedDomains[0]", "role"}},
		{"malformed JSON", `{"maxUses":`, 400, "invalid-request", nil},
		{"not an object", `[]`, 400, "invalid-request", nil},
		{"trailing data", `{"role":"admin","maxUses":1} {}`, 400, "invalid-request", nil},
		{"maxUses a string", `{"role":"admin","maxUses":"5"}`, 400, "invalid-request", []string{"maxUses"}},
		{"maxUses a fraction", `{"role":"admin","maxUses":1.5}`, 400, "invalid-request", []string{"maxUses"}},
		{"expireAt a number", `{"role":"admin","maxUses":1,"expireAt":5}`, 400, "invalid-request", []string{"expireAt"}},
		{"allowedDomains a string", `{"role":"admin","maxUses":1,"allowedDomains":"example.com"}`, 400, "invalid-request", []string{"allowedDomains"}},
		{"allowedDomains of numbers", `{"role":"admin","maxUses":1,"allowedDomains":[1]}`, 400, "invalid-request", nil},
		{"assignedRoleIds an object", `{"maxUses":1,"assignedRoleIds":{}}`, 400, "invalid-request", []string{"assignedRoleIds"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(request{method: http.MethodPost, path: linksPath(org), body: tt.body})
			assertProblem(t, r, tt.status, tt.slug)
			if tt.fields != nil {
				assert.Equal(t, tt.fields, r.fieldNames(), "%s", r.raw)
			}
			assert.Equal(t, str(r.json, "detail"), str(r.json, "error"))
		})
	}
	r := f.do(request{method: http.MethodGet, path: linksPath(org)})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, []any{}, r.json["result"], "nothing was created")
}

// TestLinkRouteErrors answers the request errors of every organization
// link route: path, authentication, authorization, media type, size, and
// another tenant's or an unknown link.
func TestLinkRouteErrors(t *testing.T) {
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
	org := uuid.New()
	l := f.createLink(org, map[string]any{"role": "admin", "maxUses": 3})
	item := linkItem(org, str(l, "id"))
	otherTenant := linkItem(uuid.New(), str(l, "id"))
	unknown := linkItem(org, uuid.NewString())
	forbidden := linkItem(forbiddenOrg, str(l, "id"))
	create := map[string]any{"role": "admin", "maxUses": 1}

	tests := []struct {
		name   string
		req    request
		status int
		slug   string
		fields []string
	}{
		{"create: malformed organization ID", request{method: http.MethodPost, path: "/v1/organizations/nope/invite-links", body: create}, 400, "invalid-request", []string{"organizationId"}},
		{"create: no credentials", request{method: http.MethodPost, path: linksPath(org), body: create, auth: noAuth}, 401, "unauthenticated", nil},
		{"create: forbidden organization", request{method: http.MethodPost, path: linksPath(forbiddenOrg), body: create}, 403, "forbidden", nil},
		{"create: no content type", request{method: http.MethodPost, path: linksPath(org), body: `{"role":"admin","maxUses":1}`, contentType: "-"}, 415, "unsupported-media-type", nil},
		{"create: text content type", request{method: http.MethodPost, path: linksPath(org), body: `{}`, contentType: "text/plain"}, 415, "unsupported-media-type", nil},
		{"create: body too large", request{method: http.MethodPost, path: linksPath(org), body: `{"role":"admin","maxUses":1,"allowedDomains":["` + strings.Repeat("a", 300) + `.com"]}`}, 413, "body-too-large", nil},
		{"list: no credentials", request{method: http.MethodGet, path: linksPath(org), auth: noAuth}, 401, "unauthenticated", nil},
		{"list: forbidden organization", request{method: http.MethodGet, path: linksPath(forbiddenOrg)}, 403, "forbidden", nil},
		{"list: malformed organization ID", request{method: http.MethodGet, path: "/v1/organizations/42/invite-links"}, 400, "invalid-request", []string{"organizationId"}},
		{"get: malformed link ID", request{method: http.MethodGet, path: linksPath(org) + "/nope"}, 400, "invalid-request", []string{"linkId"}},
		{"get: no credentials", request{method: http.MethodGet, path: item, auth: noAuth}, 401, "unauthenticated", nil},
		{"get: forbidden organization", request{method: http.MethodGet, path: forbidden}, 403, "forbidden", nil},
		{"get: unknown link", request{method: http.MethodGet, path: unknown}, 404, "not-found", nil},
		{"get: another tenant's link", request{method: http.MethodGet, path: otherTenant}, 404, "not-found", nil},
		{"revoke: malformed link ID", request{method: http.MethodPost, path: linksPath(org) + "/nope/revoke"}, 400, "invalid-request", []string{"linkId"}},
		{"revoke: no credentials", request{method: http.MethodPost, path: item + "/revoke", auth: noAuth}, 401, "unauthenticated", nil},
		{"revoke: forbidden organization", request{method: http.MethodPost, path: forbidden + "/revoke"}, 403, "forbidden", nil},
		{"revoke: unknown link", request{method: http.MethodPost, path: unknown + "/revoke"}, 404, "not-found", nil},
		{"revoke: another tenant's link", request{method: http.MethodPost, path: otherTenant + "/revoke"}, 404, "not-found", nil},
		{"redemptions: malformed link ID", request{method: http.MethodGet, path: linksPath(org) + "/nope/redemptions"}, 400, "invalid-request", []string{"linkId"}},
		{"redemptions: no credentials", request{method: http.MethodGet, path: item + "/redemptions", auth: noAuth}, 401, "unauthenticated", nil},
		{"redemptions: forbidden organization", request{method: http.MethodGet, path: forbidden + "/redemptions"}, 403, "forbidden", nil},
		{"redemptions: unknown link", request{method: http.MethodGet, path: unknown + "/redemptions"}, 404, "not-found", nil},
		{"redemptions: another tenant's link", request{method: http.MethodGet, path: otherTenant + "/redemptions"}, 404, "not-found", nil},
		{"redeem: no credentials", request{method: http.MethodPost, path: redeemPath, body: map[string]string{"token": str(l, "token"), "email": "ada@example.com"}, auth: noAuth}, 401, "unauthenticated", nil},
		{"redeem: text content type", request{method: http.MethodPost, path: redeemPath, body: `{}`, contentType: "text/plain"}, 415, "unsupported-media-type", nil},
		{"redeem: body too large", request{method: http.MethodPost, path: redeemPath, body: `{"token":"` + strings.Repeat("a", 300) + `"}`}, 413, "body-too-large", nil},
		{"wrong method", request{method: http.MethodDelete, path: item}, 405, "method-not-allowed", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(tt.req)
			assertProblem(t, r, tt.status, tt.slug)
			assert.Equal(t, r.header.Get(RequestIDHeader), str(r.json, "requestId"))
			if tt.fields != nil {
				assert.Equal(t, tt.fields, r.fieldNames(), "%s", r.raw)
			}
			switch tt.status {
			case http.StatusUnauthorized:
				assert.NotEmpty(t, r.header.Get("WWW-Authenticate"))
			case http.StatusNotFound:
				assert.Equal(t, "no such link", str(r.json, "detail"), "the detail speaks of links")
			}
		})
	}
	// Nothing changed.
	got := f.getLink(org, str(l, "id"))
	assert.Equal(t, "active", str(got, "status"))
	assert.Equal(t, float64(0), got["uses"])
}

// TestLinkGetListRevoke reads and revokes links: get shows the token,
// the list pages newest first with a Link header, a second revoke is 409.
func TestLinkGetListRevoke(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	org := uuid.New()
	var ids, tokens []string
	for i := range 5 {
		l := f.createLink(org, map[string]any{"role": "admin", "maxUses": i + 1})
		ids, tokens = append(ids, str(l, "id")), append(tokens, str(l, "token"))
		f.clock.Advance(time.Minute)
	}
	f.createLink(uuid.New(), map[string]any{"role": "admin", "maxUses": 1}) // another organization's

	got := f.getLink(org, ids[0])
	assert.Equal(t, ids[0], str(got, "id"))
	assert.Equal(t, tokens[0], str(got, "token"), "the token is the same on every read")
	assert.Equal(t, "active", str(got, "status"))

	r := f.do(request{method: http.MethodGet, path: linksPath(org)})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, []string{ids[4], ids[3], ids[2], ids[1], ids[0]}, resultIDs(r), "newest first, this organization's only")
	assert.Empty(t, r.header.Get("Link"), "one page")
	for _, v := range r.json["result"].([]any) {
		assert.NotEmpty(t, str(v.(map[string]any), "token"), "every link with its token")
	}

	r = f.do(request{method: http.MethodGet, path: linksPath(org) + "?limit=2"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, []string{ids[4], ids[3]}, resultIDs(r))
	hdr := r.header.Get("Link")
	assert.True(t, strings.HasPrefix(hdr, "<"+linksPath(org)+"?cursor="), "Link %q", hdr)
	assert.Contains(t, hdr, "limit=2")
	r = f.nextPage(r)
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, []string{ids[2], ids[1]}, resultIDs(r))
	r = f.nextPage(r)
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, []string{ids[0]}, resultIDs(r))
	assert.Empty(t, r.header.Get("Link"), "the last page")

	for _, tt := range []struct {
		query  string
		status int
		fields []string
	}{
		{"limit=0", 422, []string{"limit"}},
		{"limit=101", 422, []string{"limit"}},
		{"limit=-1", 422, []string{"limit"}},
		{"cursor=garbage", 422, []string{"cursor"}},
		{"cursor=garbage&limit=0", 422, []string{"cursor", "limit"}},
		{"limit=ten", 400, []string{"limit"}},
		{"limit=1;", 400, []string{"query"}},
	} {
		r := f.do(request{method: http.MethodGet, path: linksPath(org) + "?" + tt.query})
		slug := "validation-failed"
		if tt.status == 400 {
			slug = "invalid-request"
		}
		assertProblem(t, r, tt.status, slug)
		assert.ElementsMatch(t, tt.fields, r.fieldNames(), "%s: %s", tt.query, r.raw)
	}

	f.clock.Advance(time.Minute)
	r = f.do(request{method: http.MethodPost, path: linkItem(org, ids[1]) + "/revoke"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, "revoked", str(r.result(), "status"))
	assert.Equal(t, f.clock.Now(), timeOf(t, str(r.result(), "revokedAt")))
	assert.Equal(t, tokens[1], str(r.result(), "token"))
	r = f.do(request{method: http.MethodPost, path: linkItem(org, ids[1]) + "/revoke"})
	assertProblem(t, r, http.StatusConflict, "link-revoked")
	assert.Equal(t, "the link was revoked", str(r.json, "detail"))
	assert.Equal(t, "revoked", str(f.getLink(org, ids[1]), "status"))
}

// TestLinkRedeem redeems links to every outcome.
func TestLinkRedeem(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	org := uuid.New()
	l := f.createLink(org, map[string]any{"assignedRoleIds": []string{invitation.DeveloperRoleID.String()}, "maxUses": 3})
	tok := str(l, "token")

	f.clock.Advance(time.Minute)
	r := f.redeem(tok, " Ada@Example.com")
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	red := r.result()
	assert.Equal(t, str(l, "id"), str(red, "linkId"))
	assert.Equal(t, org.String(), str(red, "organizationId"))
	assert.Equal(t, "ada@example.com", str(red, "email"), "normalised")
	assert.Equal(t, "developer", str(red, "role"))
	assert.Equal(t, l["assignedRoles"], red["assignedRoles"])
	assert.Equal(t, f.clock.Now(), timeOf(t, str(red, "redeemedAt")))
	assert.NotEmpty(t, str(red, "id"))
	assert.NotContains(t, red, "token")
	assert.Equal(t, float64(1), f.getLink(org, str(l, "id"))["uses"])

	r = f.redeem(tok, "ADA@example.com")
	assertProblem(t, r, http.StatusConflict, "already-redeemed")
	assert.Equal(t, "this email already redeemed the link", str(r.json, "detail"))

	t.Run("exhausted", func(t *testing.T) {
		one := f.createLink(org, map[string]any{"role": "admin", "maxUses": 1})
		require.Equal(t, http.StatusOK, f.redeem(str(one, "token"), "bob@example.com").status)
		r := f.redeem(str(one, "token"), "cy@example.com")
		assertProblem(t, r, http.StatusConflict, "link-exhausted")
		assert.Equal(t, "the link has no uses left", str(r.json, "detail"))
		got := f.getLink(org, str(one, "id"))
		assert.Equal(t, "exhausted", str(got, "status"))
		assert.Equal(t, float64(1), got["uses"])
		assert.Equal(t, []string{"bob@example.com"}, f.redeemedEmails(org, str(one, "id")))
	})
	t.Run("revoked", func(t *testing.T) {
		rv := f.createLink(org, map[string]any{"role": "admin", "maxUses": 5})
		require.Equal(t, http.StatusOK, f.do(request{method: http.MethodPost, path: linkItem(org, str(rv, "id")) + "/revoke"}).status)
		r := f.redeem(str(rv, "token"), "bob@example.com")
		assertProblem(t, r, http.StatusConflict, "link-revoked")
		assert.Equal(t, "the link was revoked", str(r.json, "detail"))
	})
	t.Run("domains", func(t *testing.T) {
		d := f.createLink(org, map[string]any{"role": "admin", "maxUses": 5, "allowedDomains": []string{"Example.com"}})
		for _, addr := range []string{"bob@other.org", "bob@sub.example.com", "bob@example.com.evil.org"} {
			r := f.redeem(str(d, "token"), addr)
			assertProblem(t, r, http.StatusForbidden, "domain-not-allowed")
			assert.Equal(t, "the email's domain may not redeem this link", str(r.json, "detail"), addr)
		}
		require.Equal(t, http.StatusOK, f.redeem(str(d, "token"), "bob@EXAMPLE.com").status)
		assert.Equal(t, float64(1), f.getLink(org, str(d, "id"))["uses"])
	})
	t.Run("tokens", func(t *testing.T) {
		inv := f.createInvitation(org, "dee@example.com")
		b := []byte(tok)
		if i := len(b) / 2; b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		tampered := string(b)
		for name, bad := range map[string]string{
			"garbage": "nope", "an invitation's": str(inv, "token"), "tampered": tampered, "long": strings.Repeat("x", 4096),
		} {
			r := f.redeem(bad, "dee@example.com")
			assertProblem(t, r, http.StatusNotFound, "invalid-token")
			assert.Equal(t, "no link matches this token", str(r.json, "detail"), name)
			assert.Equal(t, "Invalid link token", str(r.json, "title"), name)
		}
		// A link's token accepts no invitation, and accept is unchanged.
		r := f.do(request{method: http.MethodPost, path: "/v1/invitations/accept", body: map[string]string{"token": tok, "email": "dee@example.com"}})
		assertProblem(t, r, http.StatusNotFound, "invalid-token")
		assert.Equal(t, "no invitation matches this token", str(r.json, "detail"))
	})
	t.Run("invalid requests", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			body   any
			status int
			fields []string
		}{
			{"no token", map[string]string{"email": "eve@example.com"}, 422, []string{"token"}},
			{"empty token", map[string]string{"token": "", "email": "eve@example.com"}, 422, []string{"token"}},
			{"no email", map[string]string{"token": tok}, 422, []string{"email"}},
			{"invalid email", map[string]string{"token": tok, "email": "not an email"}, 422, []string{"email"}},
			{"look-alike email", map[string]string{"token": tok, "email": "ada\u200b@example.com"}, 422, []string{"email"}},
			{"malformed JSON", `{"token":`, 400, nil},
			{"token a number", `{"token":5,"email":"eve@example.com"}`, 400, []string{"token"}},
			{"email an array", `{"token":"x","email":[]}`, 400, []string{"email"}},
			{"not an object", `"x"`, 400, nil},
		} {
			r := f.do(request{method: http.MethodPost, path: redeemPath, body: tt.body})
			slug := "validation-failed"
			if tt.status == 400 {
				slug = "invalid-request"
			}
			assertProblem(t, r, tt.status, slug)
			if tt.fields != nil {
				assert.Equal(t, tt.fields, r.fieldNames(), "%s: %s", tt.name, r.raw)
			}
		}
		r := f.do(request{method: http.MethodPost, path: redeemPath, body: `{}`, contentType: "-"})
		assertProblem(t, r, http.StatusUnsupportedMediaType, "unsupported-media-type")
		r = f.do(request{method: http.MethodPost, path: redeemPath, body: `{"token":"` + strings.Repeat("a", DefaultMaxBodyBytes) + `"}`})
		assertProblem(t, r, http.StatusRequestEntityTooLarge, "body-too-large")
	})
	assert.Equal(t, []string{"ada@example.com"}, f.redeemedEmails(org, str(l, "id")), "only the first redemption was recorded")
	assert.Equal(t, float64(1), f.getLink(org, str(l, "id"))["uses"])
}

// TestLinkRedeemExpired: a link is redeemable until its expireAt, 410
// from then on.
func TestLinkRedeemExpired(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	org := uuid.New()
	l := f.createLink(org, map[string]any{"role": "admin", "maxUses": 5, "expireAt": t0.Add(2 * time.Hour).Format(time.RFC3339)})
	f.clock.Advance(2*time.Hour - time.Second)
	require.Equal(t, http.StatusOK, f.redeem(str(l, "token"), "ada@example.com").status)
	f.clock.Advance(time.Second)
	r := f.redeem(str(l, "token"), "bob@example.com")
	assertProblem(t, r, http.StatusGone, "link-expired")
	assert.Equal(t, "the link has expired", str(r.json, "detail"))
	assert.Equal(t, "Link expired", str(r.json, "title"))
	got := f.getLink(org, str(l, "id"))
	assert.Equal(t, "expired", str(got, "status"))
	assert.Equal(t, float64(1), got["uses"])
	// A revoke still ends an expired link, and then it is revoked.
	r = f.do(request{method: http.MethodPost, path: linkItem(org, str(l, "id")) + "/revoke"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, "revoked", str(r.result(), "status"))
	assertProblem(t, f.redeem(str(l, "token"), "bob@example.com"), http.StatusConflict, "link-revoked")
}

// TestLinkRedeemWithPrincipalEmail: as on accept, a principal with a
// verified email redeems as that email, and a body naming another is 403.
func TestLinkRedeemWithPrincipalEmail(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{config: func(c *Config) {
		c.Authenticate = func(*http.Request) (Principal, error) {
			return Principal{ID: "user-7", Email: "ada@example.com"}, nil
		}
	}})
	org := uuid.New()
	first := f.createLink(org, map[string]any{"role": "admin", "maxUses": 5})
	second := f.createLink(org, map[string]any{"role": "admin", "maxUses": 5})

	r := f.redeem(str(first, "token"), "mallory@example.com")
	assertProblem(t, r, http.StatusForbidden, "email-mismatch")
	assert.Contains(t, str(r.json, "detail"), "not the authenticated user's")
	assert.NotContains(t, str(r.json, "detail"), "invitation")
	r = f.do(request{method: http.MethodPost, path: redeemPath, body: map[string]string{"token": str(first, "token")}})
	require.Equal(t, http.StatusOK, r.status, "the principal's email stands in for the body's: %s", r.raw)
	assert.Equal(t, "ada@example.com", str(r.result(), "email"))
	r = f.redeem(str(second, "token"), " ADA@example.com")
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	r = f.redeem(str(second, "token"), "not an email")
	assertProblem(t, r, http.StatusUnprocessableEntity, "validation-failed")
	assert.Equal(t, []string{"email"}, r.fieldNames())
	assert.Equal(t, []string{"ada@example.com"}, f.redeemedEmails(org, str(first, "id")))
}

// TestLinkOrganizationDomainPolicy: an organization's domain policy
// (invitation.Config.AllowedDomains) refuses an invitation to another
// domain with 422, a link restricted to another domain with 422, and a
// redemption by another domain with 403. A policy that fails is a hidden
// 500.
func TestLinkOrganizationDomainPolicy(t *testing.T) {
	t.Parallel()
	strict, broken := uuid.New(), uuid.New()
	f := newFixture(t, options{invitations: func(c *invitation.Config) {
		c.AllowedDomains = func(_ context.Context, org uuid.UUID) ([]string, error) {
			switch org {
			case strict:
				return []string{"Example.com"}, nil
			case broken:
				return nil, errors.New("policy service down: hunter2")
			}
			return nil, nil
		}
	}})
	r := f.do(request{method: http.MethodPost, path: orgPath(strict), body: map[string]string{"email": "bob@other.org", "role": "admin"}})
	assertProblem(t, r, http.StatusUnprocessableEntity, "validation-failed")
	assert.Equal(t, []string{"email"}, r.fieldNames())
	f.createInvitation(strict, "bob@example.com")
	f.createInvitation(uuid.New(), "bob@other.org")

	r = f.do(request{method: http.MethodPost, path: linksPath(strict), body: map[string]any{"role": "admin", "maxUses": 5, "allowedDomains": []string{"example.com", "other.org"}}})
	assertProblem(t, r, http.StatusUnprocessableEntity, "validation-failed")
	assert.Equal(t, []string{"allowedDomains[1]"}, r.fieldNames())

	l := f.createLink(strict, map[string]any{"role": "admin", "maxUses": 5})
	r = f.redeem(str(l, "token"), "bob@other.org")
	assertProblem(t, r, http.StatusForbidden, "domain-not-allowed")
	r = f.redeem(str(l, "token"), "bob@sub.example.com")
	assertProblem(t, r, http.StatusForbidden, "domain-not-allowed")
	require.Equal(t, http.StatusOK, f.redeem(str(l, "token"), "bob@example.com").status)
	assert.Equal(t, []string{"bob@example.com"}, f.redeemedEmails(strict, str(l, "id")))

	open := f.createLink(uuid.New(), map[string]any{"role": "admin", "maxUses": 5, "allowedDomains": []string{"other.org"}})
	require.Equal(t, http.StatusOK, f.redeem(str(open, "token"), "bob@other.org").status, "another organization has no policy")

	r = f.do(request{method: http.MethodPost, path: linksPath(broken), body: map[string]any{"role": "admin", "maxUses": 5, "allowedDomains": []string{"example.com"}}})
	assertProblem(t, r, http.StatusInternalServerError, "internal")
	assert.NotContains(t, string(r.raw), "hunter2")
	b := f.createLink(broken, map[string]any{"role": "admin", "maxUses": 5}) // the policy is not asked
	r = f.redeem(str(b, "token"), "bob@example.com")
	assertProblem(t, r, http.StatusInternalServerError, "internal")
	assert.NotContains(t, string(r.raw), "hunter2")
	assert.Contains(t, f.logs.String(), "hunter2")
	assert.Empty(t, f.redeemedEmails(broken, str(b, "id")))
}

// TestLinkRedemptions lists a link's redemptions newest first, in pages.
func TestLinkRedemptions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	org := uuid.New()
	l := f.createLink(org, map[string]any{"role": "admin", "maxUses": 5})
	other := f.createLink(org, map[string]any{"role": "admin", "maxUses": 5})
	path := linkItem(org, str(l, "id")) + "/redemptions"

	r := f.do(request{method: http.MethodGet, path: path})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, []any{}, r.json["result"], "an array, empty before any redemption")

	var ids []string
	for _, addr := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		f.clock.Advance(time.Minute)
		r := f.redeem(str(l, "token"), addr)
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		ids = append(ids, str(r.result(), "id"))
	}
	require.Equal(t, http.StatusOK, f.redeem(str(other, "token"), "z@example.com").status)

	r = f.do(request{method: http.MethodGet, path: path + "?limit=2"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, []string{"c@example.com", "b@example.com"}, resultEmails(r))
	assert.Equal(t, []string{ids[2], ids[1]}, resultIDs(r))
	entry := r.json["result"].([]any)[0].(map[string]any)
	assert.Equal(t, str(l, "id"), str(entry, "linkId"))
	assert.Equal(t, "admin", str(entry, "role"))
	assert.True(t, strings.HasPrefix(r.header.Get("Link"), "<"+path+"?cursor="), "Link %q", r.header.Get("Link"))
	r = f.nextPage(r)
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, []string{"a@example.com"}, resultEmails(r))
	assert.Empty(t, r.header.Get("Link"))

	for _, tt := range []struct {
		query  string
		status int
		fields []string
	}{
		{"limit=0", 422, []string{"limit"}},
		{"limit=101", 422, []string{"limit"}},
		{"cursor=" + url.QueryEscape("not a cursor"), 422, []string{"cursor"}},
		{"limit=x", 400, []string{"limit"}},
		{"cursor=%zz", 400, []string{"query"}},
	} {
		r := f.do(request{method: http.MethodGet, path: path + "?" + tt.query})
		slug := "validation-failed"
		if tt.status == 400 {
			slug = "invalid-request"
		}
		assertProblem(t, r, tt.status, slug)
		assert.Equal(t, tt.fields, r.fieldNames(), "%s: %s", tt.query, r.raw)
	}
}

// linkHookSpy is a Config.RedeemLink whose answer a test sets, and that
// records what each call saw.
type linkHookSpy struct {
	mu     sync.Mutex
	answer func() error
	calls  int
	p      Principal
	inTx   bool
	l      link.Link
	r      link.Redemption
}

func (s *linkHookSpy) set(answer func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer = answer
}

func (s *linkHookSpy) redeem(ctx context.Context, p Principal, l link.Link, r link.Redemption) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.p, s.inTx, s.l, s.r = p, inStoreTx(ctx), l, r
	if s.answer == nil {
		return nil
	}
	return s.answer()
}

// redeemedEvents counts org's invite_link.redeemed events.
func (f *fixture) redeemedEvents(org uuid.UUID) int {
	f.t.Helper()
	return len(f.eventsOf(org, event.InviteLinkRedeemed))
}

// TestRedeemLinkHook redeems through Config.RedeemLink on every store
// with links: the hook sees the principal, the link and the redemption
// inside the store's transaction; its error is the response, and nothing
// is recorded: the use is not taken, no redemption is listed, no event.
func TestRedeemLinkHook(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			spy := &linkHookSpy{}
			f := newFixture(t, options{store: b.open, config: func(c *Config) { c.RedeemLink = spy.redeem }})
			if f.links == nil {
				t.Skipf("%s does not implement link.Store", b.name)
			}
			testRedeemLinkHook(t, f, spy, b.name != "memstore")
		})
	}
}

// testRedeemLinkHook is TestRedeemLinkHook on f, whose store has
// transactions when tx is set.
func testRedeemLinkHook(t *testing.T, f *fixture, spy *linkHookSpy, tx bool) {
	org := uuid.New()
	l := f.createLink(org, map[string]any{"role": "admin", "maxUses": 2})
	redeem := func() response { return f.redeem(str(l, "token"), "ada@example.com") }
	assertUnrecorded := func() {
		t.Helper()
		got := f.getLink(org, str(l, "id"))
		assert.Equal(t, float64(0), got["uses"], "the use is not taken")
		assert.Equal(t, "active", str(got, "status"))
		assert.Empty(t, f.redeemedEmails(org, str(l, "id")), "no redemption is recorded")
		assert.Zero(t, f.redeemedEvents(org), "no event is recorded")
	}

	spy.set(func() error { return &Refusal{Status: http.StatusPaymentRequired, Detail: "the plan has no free seat"} })
	r := redeem()
	assertProblem(t, r, http.StatusPaymentRequired, "accept-refused")
	assert.Equal(t, "the plan has no free seat", str(r.json, "detail"))
	assert.Equal(t, "the plan has no free seat", str(r.json, "error"))
	assert.Equal(t, 1, spy.l.Uses, "the hook runs after the use is taken")
	assertUnrecorded()

	spy.set(func() error { return fmt.Errorf("seats: %w", &Refusal{Status: http.StatusConflict}) })
	r = redeem()
	assertProblem(t, r, http.StatusConflict, "accept-refused")
	assert.Equal(t, linkRefusedDetail, str(r.json, "detail"), "a refusal without detail speaks of the link")
	assertUnrecorded()

	spy.set(func() error { return fmt.Errorf("membership: %w", store.ErrConflict) })
	r = redeem()
	assertProblem(t, r, http.StatusConflict, "conflict")
	assert.Equal(t, "the link's state does not allow this change", str(r.json, "detail"))
	assertUnrecorded()

	spy.set(func() error { return errors.New("membership table is gone: hunter2") })
	r = redeem()
	assertProblem(t, r, http.StatusInternalServerError, "internal")
	assert.NotContains(t, string(r.raw), "hunter2")
	assert.Contains(t, f.logs.String(), "hunter2")
	assert.Contains(t, f.logs.String(), "RedeemLink", "the log names the hook")
	assertUnrecorded()

	spy.set(func() error { panic("hook bug") })
	assertProblem(t, redeem(), http.StatusInternalServerError, "internal")
	assert.Contains(t, f.logs.String(), "hook bug")
	assertUnrecorded()

	spy.set(nil)
	r = redeem()
	require.Equal(t, http.StatusOK, r.status, "the token still works: %s", r.raw)
	assert.Equal(t, Principal{ID: keyID}, spy.p)
	assert.Equal(t, str(l, "id"), spy.l.ID.String())
	assert.Equal(t, 1, spy.l.Uses)
	assert.Equal(t, str(r.result(), "id"), spy.r.ID.String())
	assert.Equal(t, "ada@example.com", spy.r.Email)
	assert.Equal(t, spy.l.ID, spy.r.LinkID)
	assert.Equal(t, "admin", spy.r.Role)
	assert.Equal(t, tx, spy.inTx, "ctx carries the store's transaction")
	assert.Equal(t, 6, spy.calls)
	assert.Equal(t, float64(1), f.getLink(org, str(l, "id"))["uses"])
	assert.Equal(t, []string{"ada@example.com"}, f.redeemedEmails(org, str(l, "id")))
	assert.Equal(t, 1, f.redeemedEvents(org))

	// The hook does not run for a redemption the link refuses.
	assertProblem(t, redeem(), http.StatusConflict, "already-redeemed")
	assert.Equal(t, 6, spy.calls)
}

// TestLinkEvents: the events route lists invite_link.created,
// invite_link.redeemed and invite_link.revoked with the link, or the
// redemption, as data, never a token.
func TestLinkEvents(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	org := uuid.New()
	l := f.createLink(org, map[string]any{"role": "admin", "maxUses": 3, "allowedDomains": []string{"example.com"}})
	f.clock.Advance(time.Minute)
	red := f.redeem(str(l, "token"), "ada@example.com")
	require.Equal(t, http.StatusOK, red.status, "%s", red.raw)
	f.clock.Advance(time.Minute)
	rev := f.do(request{method: http.MethodPost, path: linkItem(org, str(l, "id")) + "/revoke"})
	require.Equal(t, http.StatusOK, rev.status, "%s", rev.raw)

	r := f.listEvents(org, "")
	evs := decodeEvents(t, r)
	require.Len(t, evs, 3)
	assert.Equal(t, []event.Type{event.InviteLinkRevoked, event.InviteLinkRedeemed, event.InviteLinkCreated},
		[]event.Type{evs[0].Type, evs[1].Type, evs[2].Type}, "newest first")
	assert.NotContains(t, string(r.raw), str(l, "token"), "no event carries the token")
	for _, ev := range evs {
		assert.Equal(t, str(l, "id"), ev.InvitationID.String(), "invitationId is the link's")
		assert.Equal(t, org, ev.OrganizationID)
		require.NotNil(t, ev.ActorID)
		assert.Equal(t, keyID, *ev.ActorID)
	}
	decode := func(raw json.RawMessage, v any) {
		t.Helper()
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(v), "%s", raw)
	}
	var created, revoked link.View
	decode(evs[2].Data, &created)
	decode(evs[0].Data, &revoked)
	want := maps.Clone(l)
	delete(want, "token")
	wantJSON, err := json.Marshal(want)
	require.NoError(t, err)
	assert.JSONEq(t, string(wantJSON), string(evs[2].Data), "the created link as the create answered it, without the token")
	assert.Equal(t, t0, evs[2].OccurredAt)
	assert.Equal(t, link.StatusRevoked, revoked.Status)
	assert.Equal(t, 1, revoked.Uses)
	assert.Empty(t, revoked.Token)
	var redeemed link.RedemptionView
	decode(evs[1].Data, &redeemed)
	redJSON, err := json.Marshal(red.result())
	require.NoError(t, err)
	assert.JSONEq(t, string(redJSON), string(evs[1].Data), "the redemption as redeem answered it")

	for _, typ := range []event.Type{event.InviteLinkCreated, event.InviteLinkRedeemed, event.InviteLinkRevoked} {
		assert.Len(t, f.eventsOf(org, typ), 1, "filtered by %s", typ)
	}
}

// TestLinkRoutesAbsent: without Config.Links the link routes are absent,
// and Links without Invitations is refused.
func TestLinkRoutesAbsent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{noLinks: true})
	org := uuid.New()
	for _, req := range []request{
		{method: http.MethodPost, path: linksPath(org), body: map[string]any{"role": "admin", "maxUses": 1}},
		{method: http.MethodGet, path: linksPath(org)},
		{method: http.MethodPost, path: redeemPath, body: map[string]string{"token": "x", "email": "ada@example.com"}},
	} {
		assertProblem(t, f.do(req), http.StatusNotFound, "not-found")
	}
	withLinks := newFixture(t)
	require.NotNil(t, withLinks.links)
	_, err := New(Config{Links: withLinks.links, Authenticate: APIKeys(testKeys)})
	assert.ErrorContains(t, err, "Config.Invitations")
}

// TestLinkErrorTerms: the store's generic errors are answered in a link's
// terms on the link routes only, and a link's own errors keep theirs.
func TestLinkErrorTerms(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err    error
		status int
		slug   string
		detail string
	}{
		{store.ErrNotFound, 404, "not-found", "no such link"},
		{fmt.Errorf("x: %w", store.ErrInvalidToken), 404, "invalid-token", "no link matches this token"},
		{store.ErrAlreadyExists, 409, "already-exists", "the link or redemption already exists"},
		{store.ErrAlreadyAccepted, 409, "conflict", "the link's state does not allow this change"},
		{store.ErrRevoked, 409, "link-revoked", "the link was revoked"},
		{store.ErrExpired, 410, "link-expired", "the link has expired"},
		{link.ErrExhausted, 409, "link-exhausted", "the link has no uses left"},
		{fmt.Errorf("link: redeem: %w", link.ErrAlreadyRedeemed), 409, "already-redeemed", "this email already redeemed the link"},
		{link.ErrDomainNotAllowed, 403, "domain-not-allowed", "the email's domain may not redeem this link"},
		{ErrForbidden, 403, "forbidden", "not authorized for this organization"},
		{fmt.Errorf("x: %w", store.ErrUnavailable), 503, "unavailable", "the store is busy or unreachable; try again later"},
	} {
		f := classify(linkError(tt.err))
		assert.Equal(t, tt.status, f.kind.status, "%v", tt.err)
		assert.Equal(t, tt.slug, f.kind.slug, "%v", tt.err)
		assert.Equal(t, tt.detail, f.detail, "%v", tt.err)
		assert.NotContains(t, f.kind.title+f.detail, "nvitation", "%v", tt.err)
	}
	assert.Equal(t, "no such invitation", classify(store.ErrNotFound).detail, "other routes are unchanged")
	assert.NoError(t, linkError(nil))
}
