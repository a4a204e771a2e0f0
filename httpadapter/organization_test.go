package httpadapter

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
)

func TestOrganizationCreateGetDelete(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	org := uuid.New()

	r := f.do(request{method: http.MethodPost, path: orgPath(org), body: map[string]string{"email": "  Ada@Example.COM ", "role": "admin"}})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
	assert.Equal(t, float64(200), r.json["status"])
	assert.Equal(t, r.header.Get(RequestIDHeader), str(r.json, "requestId"))
	created := r.result()
	assert.Equal(t, "ada@example.com", str(created, "email"))
	assert.Equal(t, "admin", str(created, "role"))
	assert.Equal(t, "pending", str(created, "status"))
	assert.Equal(t, keyID, str(created, "inviterId"))
	assert.Equal(t, org.String(), str(created, "organizationId"))
	assert.Equal(t, "2030-01-02T03:04:05Z", str(created, "createdAt"))
	assert.Equal(t, "2030-01-09T03:04:05Z", str(created, "expireAt"))
	assert.Nil(t, created["acceptedAt"])
	assert.NotEmpty(t, str(created, "token"))

	item := orgPath(org) + "/" + str(created, "id")
	r = f.do(request{method: http.MethodGet, path: item})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	got := r.result()
	assert.NotContains(t, got, "token", "the token is shown only when the invitation is sent")
	delete(created, "token")
	assert.Equal(t, created, got)

	r = f.do(request{method: http.MethodDelete, path: item})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, float64(200), r.json["status"])
	assert.NotContains(t, r.json, "result")

	assertProblem(t, f.do(request{method: http.MethodGet, path: item}), http.StatusNotFound, "not-found")
	assertProblem(t, f.do(request{method: http.MethodDelete, path: item}), http.StatusNotFound, "not-found")
}

func TestOrganizationListPagesWithLink(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"", "/api/v0"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, options{prefix: prefix})
			org := uuid.New()
			var ids []string
			for _, e := range []string{"a@example.com", "b@example.com", "c@example.com"} {
				ids = append(ids, str(f.createInvitation(org, e), "id"))
				f.clock.Advance(time.Second)
			}
			f.createInvitation(uuid.New(), "other@example.com")

			var seen []string
			path := orgPath(org) + "?limit=2&status=pending"
			for range 3 {
				r := f.do(request{method: http.MethodGet, path: path})
				require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
				for _, inv := range r.json["result"].([]any) {
					seen = append(seen, str(inv.(map[string]any), "id"))
				}
				link := r.header.Get("Link")
				if link == "" {
					break
				}
				next := nextLink(t, link)
				require.True(t, strings.HasPrefix(next, prefix+orgPath(org)+"?"), "Link %q must keep the mount prefix", link)
				assert.Equal(t, "pending", mustParseQuery(t, next).Get("status"), "Link keeps the filters")
				path = strings.TrimPrefix(next, prefix)
			}
			assert.Equal(t, []string{ids[2], ids[1], ids[0]}, seen, "newest first, each once")
		})
	}
}

// TestOrganizationListDefaultPage checks that a list without limit is as
// long as a page can be: clients of the ClickHouse API know no paging and
// read the first page as the whole list.
func TestOrganizationListDefaultPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	org := uuid.New()
	ctx := context.Background()
	for i := range invitation.MaxLimit + 1 {
		_, err := f.inv.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: fmt.Sprintf("u%03d@example.com", i), Role: "admin"})
		require.NoError(t, err)
	}
	count := func(r response) int {
		t.Helper()
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		return len(r.json["result"].([]any))
	}

	r := f.do(request{method: http.MethodGet, path: orgPath(org)})
	assert.Equal(t, invitation.MaxLimit, count(r))
	next := nextLink(t, r.header.Get("Link"))
	assert.Equal(t, 1, count(f.do(request{method: http.MethodGet, path: next})), "the Link leads to the rest")

	r = f.do(request{method: http.MethodGet, path: orgPath(org) + "?limit=20"})
	assert.Equal(t, 20, count(r), "an explicit limit still applies")
	cursor := mustParseQuery(t, nextLink(t, r.header.Get("Link"))).Get("cursor")
	r = f.do(request{method: http.MethodGet, path: orgPath(org) + "?cursor=" + url.QueryEscape(cursor)})
	assert.Equal(t, invitation.MaxLimit+1-20, count(r), "a cursor without limit gets the rest, up to a full page")
}

// nextLink returns the URL of a Link header's rel="next".
func nextLink(t *testing.T, link string) string {
	t.Helper()
	target, params, ok := strings.Cut(link, ";")
	require.True(t, ok, "Link %q", link)
	assert.Equal(t, `rel="next"`, strings.TrimSpace(params))
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(target), "<"), ">")
}

func mustParseQuery(t *testing.T, ref string) url.Values {
	t.Helper()
	u, err := url.Parse(ref)
	require.NoError(t, err)
	return u.Query()
}

func TestOrganizationListFilters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	org := uuid.New()
	first := f.createInvitation(org, "first@example.com")
	f.clock.Advance(time.Second)
	f.createInvitation(org, "second@example.com")

	r := f.do(request{method: http.MethodPost, path: orgPath(org) + "/" + str(first, "id") + "/revoke"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)

	list := func(query string) []string {
		r := f.do(request{method: http.MethodGet, path: orgPath(org) + query})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		assert.Empty(t, r.header.Get("Link"))
		var emails []string
		for _, inv := range r.json["result"].([]any) {
			emails = append(emails, str(inv.(map[string]any), "email"))
		}
		return emails
	}
	assert.Equal(t, []string{"first@example.com"}, list("?status=revoked"))
	assert.Equal(t, []string{"second@example.com"}, list("?email=SECOND@example.com"))
	assert.Equal(t, []string{"second@example.com", "first@example.com"}, list(""))
	assert.Nil(t, list("?status=accepted"))

	r = f.do(request{method: http.MethodGet, path: orgPath(uuid.New())})
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, []any{}, r.json["result"], "an empty list is [], not null")
}

func TestOrganizationRevokeResendAccept(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	org := uuid.New()
	created := f.createInvitation(org, "ada@example.com")
	item := orgPath(org) + "/" + str(created, "id")
	oldToken := str(created, "token")

	f.clock.Advance(time.Hour)
	r := f.do(request{method: http.MethodPost, path: item + "/resend"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	resent := r.result()
	newToken := str(resent, "token")
	assert.NotEqual(t, oldToken, newToken)
	assert.Equal(t, "2030-01-02T04:04:05Z", str(resent, "sentAt"))
	assert.Equal(t, "2030-01-09T04:04:05Z", str(resent, "expireAt"))

	accept := func(token, email string) response {
		return f.do(request{method: http.MethodPost, path: "/v1/invitations/accept", body: map[string]string{"token": token, "email": email}})
	}
	assertProblem(t, accept(oldToken, "ada@example.com"), http.StatusNotFound, "invalid-token")
	assertProblem(t, accept(newToken, "bob@example.com"), http.StatusForbidden, "email-mismatch")

	r = accept(newToken, "ADA@example.com")
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, "accepted", str(r.result(), "status"))
	assert.Equal(t, "2030-01-02T04:04:05Z", str(r.result(), "acceptedAt"))
	assert.NotContains(t, r.result(), "token")

	assertProblem(t, accept(newToken, "ada@example.com"), http.StatusConflict, "already-accepted")
	assertProblem(t, f.do(request{method: http.MethodPost, path: item + "/revoke"}), http.StatusConflict, "already-accepted")
	assertProblem(t, f.do(request{method: http.MethodPost, path: item + "/resend"}), http.StatusConflict, "already-accepted")

	other := f.createInvitation(org, "eve@example.com")
	otherItem := orgPath(org) + "/" + str(other, "id")
	r = f.do(request{method: http.MethodPost, path: otherItem + "/revoke"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, "revoked", str(r.result(), "status"))
	assert.NotNil(t, r.result()["revokedAt"])
	assertProblem(t, f.do(request{method: http.MethodPost, path: otherItem + "/revoke"}), http.StatusConflict, "revoked")
	assertProblem(t, accept(str(other, "token"), "eve@example.com"), http.StatusConflict, "revoked")
}

func TestOrganizationAcceptExpired(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	org := uuid.New()
	created := f.createInvitation(org, "ada@example.com")
	f.clock.Advance(7 * 24 * time.Hour)

	r := f.do(request{method: http.MethodGet, path: orgPath(org) + "/" + str(created, "id")})
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "expired", str(r.result(), "status"), "the effective status")

	r = f.do(request{method: http.MethodPost, path: "/v1/invitations/accept", body: map[string]string{"token": str(created, "token"), "email": "ada@example.com"}})
	assertProblem(t, r, http.StatusGone, "expired")
	// A resend revives it: open again, with a new token and expiry; the
	// old link stays dead.
	r = f.do(request{method: http.MethodPost, path: orgPath(org) + "/" + str(created, "id") + "/resend"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	revived := r.result()
	assert.Equal(t, "pending", str(revived, "status"))
	assert.Equal(t, f.clock.Now().Add(invitation.DefaultTTL).Format(time.RFC3339Nano), str(revived, "expireAt"))
	r = f.do(request{method: http.MethodPost, path: "/v1/invitations/accept", body: map[string]string{"token": str(created, "token"), "email": "ada@example.com"}})
	assertProblem(t, r, http.StatusNotFound, "invalid-token")
	r = f.do(request{method: http.MethodPost, path: "/v1/invitations/accept", body: map[string]string{"token": str(revived, "token"), "email": "ada@example.com"}})
	require.Equal(t, http.StatusOK, r.status, "the revived link accepts: %s", r.raw)
}

func TestOrganizationAcceptWithPrincipalEmail(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{config: func(c *Config) {
		c.Authenticate = func(*http.Request) (Principal, error) {
			return Principal{ID: "user-7", Email: "ada@example.com"}, nil
		}
	}})
	org := uuid.New()
	first := f.createInvitation(org, "ada@example.com")
	second := f.createInvitation(uuid.New(), "ada@example.com")

	r := f.do(request{method: http.MethodPost, path: "/v1/invitations/accept", body: map[string]string{"token": str(first, "token"), "email": "mallory@example.com"}})
	assertProblem(t, r, http.StatusForbidden, "email-mismatch")
	r = f.do(request{method: http.MethodPost, path: "/v1/invitations/accept", body: map[string]string{"token": str(first, "token")}})
	require.Equal(t, http.StatusOK, r.status, "the principal's email stands in for the body's: %s", r.raw)
	r = f.do(request{method: http.MethodPost, path: "/v1/invitations/accept", body: map[string]string{"token": str(second, "token"), "email": " ADA@example.com"}})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
}

func TestOrganizationErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{config: func(c *Config) {
		c.MaxBodyBytes = 256
		c.AuthorizeOrganization = func(_ context.Context, p Principal, org uuid.UUID) error {
			if org == forbiddenOrg {
				return ErrForbidden
			}
			return nil
		}
	}})
	org := uuid.New()
	created := f.createInvitation(org, "ada@example.com")
	item := orgPath(org) + "/" + str(created, "id")
	otherTenant := orgPath(uuid.New()) + "/" + str(created, "id")

	tests := []struct {
		name   string
		req    request
		status int
		slug   string
		fields []string
	}{
		{"malformed organization ID", request{method: http.MethodGet, path: "/v1/organizations/nope/invitations"}, 400, "invalid-request", []string{"organizationId"}},
		{"non-canonical organization ID", request{method: http.MethodGet, path: "/v1/organizations/" + strings.ReplaceAll(org.String(), "-", "") + "/invitations"}, 400, "invalid-request", []string{"organizationId"}},
		{"malformed invitation ID", request{method: http.MethodGet, path: orgPath(org) + "/42"}, 400, "invalid-request", []string{"invitationId"}},
		{"no credentials", request{method: http.MethodGet, path: item, auth: noAuth}, 401, "unauthenticated", nil},
		{"forbidden organization", request{method: http.MethodGet, path: orgPath(forbiddenOrg)}, 403, "forbidden", nil},
		{"unknown invitation", request{method: http.MethodGet, path: orgPath(org) + "/" + uuid.NewString()}, 404, "not-found", nil},
		{"another tenant's invitation", request{method: http.MethodGet, path: otherTenant}, 404, "not-found", nil},
		{"another tenant's delete", request{method: http.MethodDelete, path: otherTenant}, 404, "not-found", nil},
		{"another tenant's revoke", request{method: http.MethodPost, path: otherTenant + "/revoke"}, 404, "not-found", nil},
		{"another tenant's resend", request{method: http.MethodPost, path: otherTenant + "/resend"}, 404, "not-found", nil},
		{"duplicate open invitation", request{method: http.MethodPost, path: orgPath(org), body: map[string]string{"email": "ADA@example.com", "role": "admin"}}, 409, "already-exists", nil},
		{"invalid fields", request{method: http.MethodPost, path: orgPath(org), body: map[string]string{"email": "not an email", "role": "Admin!"}}, 422, "validation-failed", []string{"email", "role"}},
		{"missing fields", request{method: http.MethodPost, path: orgPath(org), body: `{}`}, 422, "validation-failed", []string{"email", "role"}},
		{"no content type", request{method: http.MethodPost, path: orgPath(org), body: `{"email":"x@example.com","role":"admin"}`, contentType: "-"}, 415, "unsupported-media-type", nil},
		{"text content type", request{method: http.MethodPost, path: orgPath(org), body: `{}`, contentType: "text/plain"}, 415, "unsupported-media-type", nil},
		{"body too large", request{method: http.MethodPost, path: orgPath(org), body: `{"email":"` + strings.Repeat("a", 300) + `@example.com","role":"admin"}`}, 413, "body-too-large", nil},
		{"malformed JSON", request{method: http.MethodPost, path: orgPath(org), body: `{"email":`}, 400, "invalid-request", nil},
		{"wrong JSON type", request{method: http.MethodPost, path: orgPath(org), body: `{"email":42,"role":"admin"}`}, 400, "invalid-request", []string{"email"}},
		{"array body", request{method: http.MethodPost, path: orgPath(org), body: `[]`}, 400, "invalid-request", nil},
		{"null body", request{method: http.MethodPost, path: orgPath(org), body: `null`}, 400, "invalid-request", nil},
		{"empty body", request{method: http.MethodPost, path: orgPath(org), body: ``}, 400, "invalid-request", nil},
		{"trailing data", request{method: http.MethodPost, path: orgPath(org), body: `{"email":"t@example.com","role":"admin"} {}`}, 400, "invalid-request", nil},
		{"limit not a number", request{method: http.MethodGet, path: orgPath(org) + "?limit=ten"}, 400, "invalid-request", []string{"limit"}},
		{"limit out of range", request{method: http.MethodGet, path: orgPath(org) + "?limit=1000"}, 422, "validation-failed", []string{"limit"}},
		{"limit zero", request{method: http.MethodGet, path: orgPath(org) + "?limit=0"}, 422, "validation-failed", []string{"limit"}},
		{"limit zero with a cursor", request{method: http.MethodGet, path: orgPath(org) + "?limit=00&cursor=" + validCursor}, 422, "validation-failed", []string{"limit"}},
		{"limit zero and a bad status", request{method: http.MethodGet, path: orgPath(org) + "?limit=0&status=lost"}, 422, "validation-failed", []string{"status", "limit"}},
		{"limit beyond int64", request{method: http.MethodGet, path: orgPath(org) + "?limit=-99999999999999999999"}, 422, "validation-failed", []string{"limit"}},
		{"unknown status", request{method: http.MethodGet, path: orgPath(org) + "?status=lost"}, 422, "validation-failed", []string{"status"}},
		{"foreign cursor", request{method: http.MethodGet, path: orgPath(org) + "?cursor=abc"}, 422, "validation-failed", []string{"cursor"}},
		{"accept without token", request{method: http.MethodPost, path: "/v1/invitations/accept", body: map[string]string{"email": "ada@example.com"}}, 422, "validation-failed", []string{"token"}},
		{"accept with a forged token", request{method: http.MethodPost, path: "/v1/invitations/accept", body: map[string]string{"token": "forged-token-value", "email": "ada@example.com"}}, 404, "invalid-token", nil},
		{"accept with a bad email", request{method: http.MethodPost, path: "/v1/invitations/accept", body: map[string]string{"token": str(created, "token"), "email": "nope"}}, 422, "validation-failed", []string{"email"}},
		{"accept with a guest token", request{method: http.MethodPost, path: "/v1/invitations/accept", body: map[string]string{"token": str(f.createGuest(org, "g@example.com"), "invitation_token"), "email": "g@example.com"}}, 404, "invalid-token", nil},
		{"unknown route", request{method: http.MethodGet, path: "/v1/organizations"}, 404, "not-found", nil},
		{"wrong method", request{method: http.MethodPut, path: item}, 405, "method-not-allowed", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(tt.req)
			assertProblem(t, r, tt.status, tt.slug)
			assert.Equal(t, tt.fields, r.fieldNames())
			assert.Equal(t, r.header.Get(RequestIDHeader), str(r.json, "requestId"))
			assert.Equal(t, str(r.json, "detail"), str(r.json, "error"), "error and detail carry one message")
			assert.NotEmpty(t, str(r.json, "error"))
		})
	}

	r := f.do(request{method: http.MethodGet, path: item, auth: noAuth})
	assert.Equal(t, challenge, r.header.Get("WWW-Authenticate"))
	r = f.do(request{method: http.MethodPut, path: item})
	assert.Equal(t, "DELETE, GET, HEAD", r.header.Get("Allow"))
}

// validCursor is a well-formed cursor: a page boundary at t0.
var validCursor = store.Cursor{CreatedAt: t0, ID: uuid.Max}.String()

var forbiddenOrg = uuid.MustParse("00000000-0000-7000-8000-00000000f0f0")

// TestOrganizationUnknownFieldsIgnored sends members the adapter does not
// model. (assignedRoleIds was one until it was modelled: see
// TestCreateRejectsRoleIDs for what its invalid values get.)
func TestOrganizationUnknownFieldsIgnored(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.do(request{method: http.MethodPost, path: orgPath(uuid.New()),
		body:        `{"email":"ada@example.com","role":"developer","assignedRoleNames":["x"],"extra":{"a":[1,2]}}`,
		contentType: "application/json; charset=utf-8"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, "developer", str(r.result(), "role"))
}

// TestOrganizationConcurrentAccept accepts one invitation from 40 clients
// at once: exactly one wins, the others are told it was already accepted.
func TestOrganizationConcurrentAccept(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	created := f.createInvitation(uuid.New(), "ada@example.com")
	body := map[string]string{"token": str(created, "token"), "email": "ada@example.com"}
	statuses := concurrently(40, func() (response, error) {
		return tryDo(f.client, f.base, request{method: http.MethodPost, path: "/v1/invitations/accept", body: body})
	})
	assert.Equal(t, map[int]int{http.StatusOK: 1, http.StatusConflict: 39}, statuses)
}

// concurrently runs call n times at once and counts the statuses; a
// transport error counts as status 0.
func concurrently(n int, call func() (response, error)) map[int]int {
	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		start    = make(chan struct{})
		wg       sync.WaitGroup
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, _ := call()
			mu.Lock()
			statuses[r.status]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return statuses
}
