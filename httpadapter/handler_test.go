package httpadapter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
)

func TestNewChecksConfig(t *testing.T) {
	t.Parallel()
	_, err := New(Config{})
	assert.ErrorContains(t, err, "Authenticate")
	_, err = New(Config{Authenticate: APIKeys(testKeys), MaxBodyBytes: -1})
	assert.ErrorContains(t, err, "MaxBodyBytes")
	h, err := New(Config{Authenticate: APIKeys(testKeys)})
	require.NoError(t, err)
	assert.Equal(t, int64(DefaultMaxBodyBytes), h.cfg.MaxBodyBytes)
}

// TestAbsentServiceRoutes checks that a nil service's routes answer 404 in
// the API's error format, not 405 or a text body.
func TestAbsentServiceRoutes(t *testing.T) {
	t.Parallel()
	orgOnly := newFixture(t, options{noGuest: true})
	host := uuid.New()
	r := orgOnly.do(request{method: http.MethodPost, path: "/guest-invitations", header: guestHeaders(host, host), body: `{}`})
	assertProblem(t, r, http.StatusNotFound, "not-found")
	assert.Equal(t, []any{}, r.json["errors"], "guest paths answer in the guest format")

	guestOnly := newFixture(t, options{noOrg: true})
	r = guestOnly.do(request{method: http.MethodGet, path: orgPath(host)})
	assertProblem(t, r, http.StatusNotFound, "not-found")
	assert.Equal(t, r.header.Get(RequestIDHeader), str(r.json, "requestId"))
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	authn := APIKeys(map[string]string{"k1": "s1-secret", "k2": "s2-secret", "": "orphan", "empty": ""})
	basic := func(id, secret string) string {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.SetBasicAuth(id, secret)
		return req.Header.Get("Authorization")
	}
	tests := []struct {
		name          string
		authorization string
		want          string
	}{
		{"basic", basic("k1", "s1-secret"), "k1"},
		{"basic, second key", basic("k2", "s2-secret"), "k2"},
		{"bearer", "Bearer s2-secret", "k2"},
		{"bearer, any case", "bearer s1-secret", "k1"},
		{"basic, wrong secret", basic("k1", "s2-secret"), ""},
		{"basic, unknown key", basic("k3", "s1-secret"), ""},
		{"basic, key without secret", basic("empty", ""), ""},
		{"basic, key without ID", basic("", "orphan"), ""},
		{"bearer, unknown secret", "Bearer nope", ""},
		{"bearer, empty", "Bearer ", ""},
		{"bearer, key ID and secret", "Bearer k1:s1-secret", ""},
		{"malformed basic", "Basic !!!", ""},
		{"other scheme", "Digest s1-secret", ""},
		{"none", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.authorization != "" {
				req.Header.Set("Authorization", tt.authorization)
			}
			p, err := authn(req)
			if tt.want == "" {
				assert.ErrorIs(t, err, ErrUnauthenticated)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, Principal{ID: tt.want}, p)
		})
	}
}

// TestBothAuthSchemesOverHTTP drives one route with each scheme APIKeys
// accepts, and with wrong credentials.
func TestBothAuthSchemesOverHTTP(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	org := uuid.New()
	assert.Equal(t, http.StatusOK, f.do(request{method: http.MethodGet, path: orgPath(org), auth: basicAuth}).status)
	assert.Equal(t, http.StatusOK, f.do(request{method: http.MethodGet, path: orgPath(org), auth: bearerAuth}).status)
	r := f.do(request{method: http.MethodGet, path: orgPath(org), auth: noAuth, header: map[string]string{"Authorization": "Bearer " + keySecret + "x"}})
	assertProblem(t, r, http.StatusUnauthorized, "unauthenticated")
	assert.Equal(t, challenge, r.header.Get("WWW-Authenticate"))
}

// TestHookFailuresAreHidden checks that a failing hook is answered with a
// generic 500 (or 401) whose body shows nothing of the cause, which is
// logged instead.
func TestHookFailuresAreHidden(t *testing.T) {
	t.Parallel()
	secret := "db password is hunter2"
	f := newFixture(t, options{config: func(c *Config) {
		c.AuthorizeOrganization = func(context.Context, Principal, uuid.UUID) error { return errors.New(secret) }
	}})
	r := f.do(request{method: http.MethodGet, path: orgPath(uuid.New())})
	assertProblem(t, r, http.StatusInternalServerError, "internal")
	assert.NotContains(t, string(r.raw), "hunter2")
	assert.Contains(t, f.logs.String(), "hunter2")
	assert.Contains(t, f.logs.String(), r.header.Get(RequestIDHeader))

	g := newFixture(t, options{config: func(c *Config) {
		c.Authenticate = func(*http.Request) (Principal, error) { return Principal{}, errors.New(secret) }
	}})
	r = g.do(request{method: http.MethodGet, path: orgPath(uuid.New())})
	assertProblem(t, r, http.StatusUnauthorized, "unauthenticated")
	assert.NotContains(t, string(r.raw), "hunter2")
	assert.Contains(t, g.logs.String(), "hunter2", "a hook that fails, rather than refuses, is logged")
}

// TestPanicIsLastLineOfDefence checks that a panic in a hook is logged and
// answered 500, and that the server goes on serving.
func TestPanicIsLastLineOfDefence(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{config: func(c *Config) {
		c.AuthorizeOrganization = func(_ context.Context, _ Principal, org uuid.UUID) error {
			if org == forbiddenOrg {
				panic("hook bug")
			}
			return nil
		}
	}})
	r := f.do(request{method: http.MethodGet, path: orgPath(forbiddenOrg)})
	assertProblem(t, r, http.StatusInternalServerError, "internal")
	assert.Contains(t, f.logs.String(), "hook bug")
	assert.Equal(t, http.StatusOK, f.do(request{method: http.MethodGet, path: orgPath(uuid.New())}).status)
}

func TestClassify(t *testing.T) {
	t.Parallel()
	verr := &store.ValidationError{}
	verr.Add("email", "is required")
	tests := []struct {
		err    error
		status int
		slug   string
	}{
		{fmt.Errorf("op: %w", verr), 422, "validation-failed"},
		{fmt.Errorf("op: %w", store.ErrNotFound), 404, "not-found"},
		{fmt.Errorf("op: %w", store.ErrAlreadyExists), 409, "already-exists"},
		{fmt.Errorf("op: %w", store.ErrAlreadyAccepted), 409, "already-accepted"},
		{fmt.Errorf("op: %w", store.ErrRevoked), 409, "revoked"},
		{fmt.Errorf("op: %w", store.ErrAlreadyAccepted), 409, "already-accepted"},
		{fmt.Errorf("op: %w", guest.ErrArchived), 409, "archived"},
		{fmt.Errorf("op: %w", store.ErrConflict), 409, "conflict"},
		{fmt.Errorf("op: %w", store.ErrExpired), 410, "expired"},
		{fmt.Errorf("op: %w", store.ErrExpired), 410, "expired"},
		{fmt.Errorf("op: %w", invitation.ErrEmailMismatch), 403, "email-mismatch"},
		{fmt.Errorf("op: %w", store.ErrInvalidToken), 404, "invalid-token"},
		{fmt.Errorf("op: %w", store.ErrInvalidToken), 404, "invalid-token"},
		{fmt.Errorf("hook: %w", ErrForbidden), 403, "forbidden"},
		{fmt.Errorf("op: %w", &http.MaxBytesError{Limit: 1}), 413, "body-too-large"},
		{fmt.Errorf("op: %w", context.Canceled), 503, "unavailable"},
		{fmt.Errorf("op: %w", context.DeadlineExceeded), 503, "unavailable"},
		{fmt.Errorf("op: %w: %w", store.ErrUnavailable, errors.New("lock timeout")), 503, "unavailable"},
		{errors.New("disk on fire"), 500, "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			f := classify(tt.err)
			assert.Equal(t, tt.status, f.kind.status)
			assert.Equal(t, tt.slug, f.kind.slug)
			assert.NotContains(t, f.detail, "disk on fire")
		})
	}
}

func TestLogRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var buf syncBuffer
	mux := http.NewServeMux()
	mux.Handle("/x/", http.StripPrefix("/x", f.handler))
	logged := LogRequests(slog.New(slog.NewJSONHandler(&buf, nil)), mux)

	rec := httptest.NewRecorder()
	logged.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x/openapi.json", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	rec = httptest.NewRecorder()
	logged.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x/v1/organizations/nope/invitations", nil))
	require.Equal(t, http.StatusUnauthorized, rec.Code)

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2)
	var entry map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &entry))
	assert.Equal(t, "GET", entry["method"])
	assert.Equal(t, "/x/v1/organizations/nope/invitations", entry["path"])
	assert.Equal(t, float64(401), entry["status"])
	assert.Equal(t, rec.Header().Get(RequestIDHeader), entry["request_id"])
	assert.Equal(t, float64(rec.Body.Len()), entry["bytes"])
	assert.Contains(t, entry, "duration")
}

// TestHeadAndRedirects covers the mux behaviours a client may meet besides
// routes: HEAD of a GET route, and the redirect of an unclean path, which
// passes through untouched.
func TestHeadAndRedirects(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.do(request{method: http.MethodHead, path: orgPath(uuid.New())})
	assert.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))

	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/../openapi.json", nil))
	assert.Equal(t, http.StatusTemporaryRedirect, rec.Code)
	assert.Equal(t, "/openapi.json", rec.Header().Get("Location"))
	assert.False(t, bytes.Contains(rec.Body.Bytes(), []byte("problem")))
}

// TestBodyTooLargeWithoutLength sends a chunked body, whose size the
// Handler only learns by reading, past the limit.
func TestBodyTooLargeWithoutLength(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{config: func(c *Config) { c.MaxBodyBytes = 64 }})
	body := io.MultiReader(strings.NewReader(`{"email":"`), strings.NewReader(strings.Repeat("a", 100)+`@example.com","role":"admin"}`))
	req, err := http.NewRequest(http.MethodPost, f.base+orgPath(uuid.New()), body)
	require.NoError(t, err)
	require.Equal(t, int64(0), req.ContentLength, "the length is unknown, so the body is sent chunked")
	req.SetBasicAuth(keyID, keySecret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
}
