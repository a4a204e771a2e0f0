package httpadapter

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/storetest"
)

// The fuzz targets send arbitrary bodies, headers, query strings and paths
// to a Handler in-process and check the property every input must keep:
// no panic, no 5xx, and every error a JSON problem. Their seed corpora run
// in the normal test run; go test -fuzz=FuzzName explores further.

// fuzzTarget is one Handler over memstore, shared by every input of a fuzz
// target, with one invitation of each kind to aim at.
type fuzzTarget struct {
	h          *Handler
	host       uuid.UUID
	orgItem    string
	orgToken   string
	guestItem  string
	guestToken string
}

func newFuzzTarget(f *testing.F) *fuzzTarget {
	f.Helper()
	st := memstore.New()
	f.Cleanup(func() { _ = st.Close() })
	keys := [][]byte{bytes.Repeat([]byte("f"), 32)}
	clk := storetest.NewClock(t0)
	invs, err := invitation.NewService(invitation.Config{Store: st, Keys: keys, Clock: clk.Now})
	require.NoError(f, err)
	guests, err := guest.NewService(guest.Config{Store: st, Keys: keys, Clock: clk.Now})
	require.NoError(f, err)
	h, err := New(Config{
		Invitations: invs, Guests: guests, Events: st, Authenticate: APIKeys(testKeys), MaxBodyBytes: 4096,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(f, err)

	ctx := context.Background()
	host := uuid.New()
	inv, err := invs.Create(ctx, invitation.CreateParams{OrganizationID: host, Email: "org@example.com", Role: "admin"})
	require.NoError(f, err)
	g, err := guests.Create(ctx, guest.CreateParams{HostOrganizationID: host, Email: "guest@example.com", ExpiredAt: t0.Add(48 * 3600e9)})
	require.NoError(f, err)
	return &fuzzTarget{
		h: h, host: host,
		orgItem: orgPath(host) + "/" + inv.ID.String(), orgToken: invs.Token(inv),
		guestItem: "/guest-invitations/" + g.ID.String(), guestToken: guests.Token(g),
	}
}

// serve sends req, authenticated and with the organization headers unless
// it already has them, and checks the property.
func (ft *fuzzTarget) serve(t *testing.T, req *http.Request) {
	t.Helper()
	if req.Header.Get("Authorization") == "" {
		req.SetBasicAuth(keyID, keySecret)
	}
	if req.Header.Get(RequesterHeader) == "" && req.Header.Get(TargetHeader) == "" {
		req.Header.Set(RequesterHeader, ft.host.String())
		req.Header.Set(TargetHeader, ft.host.String())
	}
	rec := httptest.NewRecorder()
	ft.h.ServeHTTP(rec, req)
	checkFuzzResponse(t, req, rec)
}

func checkFuzzResponse(t *testing.T, req *http.Request, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s %q answered %d: %s", req.Method, req.URL.Path, rec.Code, rec.Body.Bytes())
	}
	if rec.Code < 200 || rec.Code >= 300 && rec.Code < 400 {
		return // the mux's redirects of unclean paths
	}
	ct := rec.Header().Get("Content-Type")
	if !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("%s %q answered %d with a body that is not JSON: %q", req.Method, req.URL.Path, rec.Code, rec.Body.Bytes())
	}
	if rec.Code < 400 {
		if ct != "application/json" {
			t.Fatalf("success with Content-Type %q", ct)
		}
		return
	}
	if ct != "application/problem+json" {
		t.Fatalf("%d with Content-Type %q", rec.Code, ct)
	}
	var problem struct {
		Status int    `json:"status"`
		Type   string `json:"type"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &problem); err != nil || problem.Status != rec.Code ||
		!strings.HasPrefix(problem.Type, ProblemTypePrefix) {
		t.Fatalf("%d with a malformed problem (%v): %s", rec.Code, err, rec.Body.Bytes())
	}
}

func bodyRequest(method, path, contentType, body string) *http.Request {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

// jsonSeeds are bodies every body target starts from: valid, malformed,
// wrongly typed, nested, truncated, trailing, huge numbers, escapes.
var jsonSeeds = []string{
	``, `{}`, `null`, `[]`, `"x"`, `{"a":1}`, `{`, `}`, `{"email":`, `{"email":"a@b.co"} {}`,
	`{"email":null}`, `{"email":1e400}`, `{"email":["a"]}`, `{"email":{"x":1}}`, "{\"email\":\"\\u0000\"}",
	"\xef\xbb\xbf{}", `{"email":"\ud800"}`, `{"role":true}`, strings.Repeat(`[`, 5000),
	// Issue 11: bytes that are not UTF-8, surrogate escapes, look-alike
	// and non-public emails.
	"{\"email\":\"\xff\xfe@example.com\"}", `{"email":"\ud83d\ude00@example.com"}`, `{"email":"\\ud800@example.com"}`,
	`{"email":"org\u200b@example.com"}`, `{"email":"\u212aate@example.com"}`, `{"email":"user@[IPv6:::1]"}`,
	`{"email":"a@-b.c"}`, `{"email":"user@localhost"}`,
}

func FuzzOrganizationCreateBody(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, s := range jsonSeeds {
		f.Add(s, "application/json")
	}
	f.Add(`{"email":"new@example.com","role":"admin"}`, "application/json")
	f.Add(`{"email":"ORG@example.com","role":"admin"}`, "application/json")
	f.Add(`{"email":"x@example.com","role":"Admin Role"}`, "application/json; charset=utf-8")
	f.Add(`{"email":"x@example.com","role":"admin"}`, "text/plain")
	f.Add(`{"email":"x@example.com","role":"admin"}`, "application/merge-patch+json")
	f.Add(`{}`, ";;;")
	f.Fuzz(func(t *testing.T, body, contentType string) {
		ft.serve(t, bodyRequest(http.MethodPost, orgPath(ft.host), contentType, body))
	})
}

func FuzzOrganizationAcceptBody(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, s := range jsonSeeds {
		f.Add(s)
	}
	f.Add(`{"token":"` + ft.orgToken + `","email":"org@example.com"}`)
	f.Add(`{"token":"` + ft.orgToken + `","email":"other@example.com"}`)
	f.Add(`{"token":"` + ft.guestToken + `","email":"guest@example.com"}`)
	f.Add(`{"token":"` + ft.orgToken[:len(ft.orgToken)-2] + `","email":"org@example.com"}`)
	f.Add(`{"token":"!!!","email":"org@example.com"}`)
	f.Fuzz(func(t *testing.T, body string) {
		ft.serve(t, bodyRequest(http.MethodPost, "/v1/invitations/accept", "application/json", body))
	})
}

func FuzzGuestCreateBody(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, s := range jsonSeeds {
		f.Add(s, "application/json")
	}
	f.Add(`{"email":"new@example.com","expired_at":"2030-01-03T00:00:00Z"}`, "application/json")
	f.Add(`{"email":"p@example.com","expired_at":"2030-01-03T00:00:00.123456789+05:30","parent_organization_id":"`+uuid.NewString()+`"}`, "application/json")
	f.Add(`{"email":"p@example.com","expired_at":"9999-12-31T23:59:59Z"}`, "application/json")
	f.Add(`{"email":"p@example.com","expired_at":"0000-01-01T00:00:00Z"}`, "application/json")
	f.Add(`{"email":"p@example.com","expired_at":"2030-13-45T99:00:00Z"}`, "application/json")
	f.Add(`{"email":"p@example.com","expired_at":"2030-01-03T00:00:00Z","parent_organization_id":"{`+uuid.NewString()+`}"}`, "application/json")
	f.Add(`{"email":"p@example.com","expired_at":1}`, "")
	f.Fuzz(func(t *testing.T, body, contentType string) {
		ft.serve(t, bodyRequest(http.MethodPost, "/guest-invitations", contentType, body))
	})
}

func FuzzGuestPatchBody(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, s := range jsonSeeds {
		f.Add(s)
	}
	f.Add(`{"archived":true}`)
	f.Add(`{"archived":false}`)
	f.Add(`{"archived":"true"}`)
	f.Add(`{"archived":1}`)
	f.Fuzz(func(t *testing.T, body string) {
		ft.serve(t, bodyRequest(http.MethodPatch, ft.guestItem, "application/json", body))
	})
}

func FuzzGuestResendBody(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, s := range jsonSeeds {
		f.Add(s, "application/json")
	}
	f.Add(``, "")
	f.Add(`   `, "text/plain")
	f.Add(`{"expired_at":"2030-01-20T00:00:00Z"}`, "application/json")
	f.Add(`{"expired_at":null}`, "application/json")
	f.Add(`{"expired_at":"2000-01-01T00:00:00Z"}`, "application/json")
	f.Fuzz(func(t *testing.T, body, contentType string) {
		ft.serve(t, bodyRequest(http.MethodPost, ft.guestItem+"/resend", contentType, body))
	})
}

func FuzzGuestAcceptBody(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, s := range jsonSeeds {
		f.Add(s)
	}
	f.Add(`{"invitation_token":"` + ft.guestToken + `"}`)
	f.Add(`{"invitation_token":"` + ft.orgToken + `"}`)
	f.Add(`{"invitation_token":"` + strings.Repeat("A", 3000) + `"}`)
	f.Add(`{"invitation_token":12}`)
	f.Fuzz(func(t *testing.T, body string) {
		ft.serve(t, bodyRequest(http.MethodPost, "/guest-invitations/accept", "application/json", body))
	})
}

func FuzzGuestHeaders(f *testing.F) {
	ft := newFuzzTarget(f)
	host := ft.host.String()
	f.Add(host, host, "Bearer "+keySecret)
	f.Add(host, uuid.NewString(), "Bearer "+keySecret)
	f.Add("", "", "")
	f.Add("not-a-uuid", host, "Bearer x")
	f.Add(strings.ToUpper(host), host, "Basic a2V5LTE6")
	f.Add(strings.ReplaceAll(host, "-", ""), "urn:uuid:"+host, "Basic !!!")
	f.Add(host+" ", "\x00", "Bearer "+keySecret+"\n")
	f.Fuzz(func(t *testing.T, requester, target, authorization string) {
		for _, req := range []*http.Request{
			httptest.NewRequest(http.MethodGet, "/guest-invitations", nil),
			httptest.NewRequest(http.MethodGet, ft.guestItem, nil),
			bodyRequest(http.MethodPost, ft.guestItem+"/resend", "", ""),
		} {
			req.Header.Set(RequesterHeader, requester)
			req.Header.Set(TargetHeader, target)
			req.Header.Set("Authorization", authorization)
			if authorization == "" {
				req.Header.Set("Authorization", "Bearer "+keySecret)
			}
			ft.serve(t, req)
		}
	})
}

func FuzzOrganizationListQuery(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, q := range []string{
		"", "limit=1", "limit=0", "limit=-1", "limit=100", "limit=101", "limit=99999999999999999999",
		"status=pending", "status=expired", "status=", "status=PENDING", "cursor=", "cursor=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"cursor=%ZZ", "email=org@example.com", "email=x", "limit=1&limit=2", ";;&&==", "%",
		"status=revoked;x", "status=revoked%zz", "limit=1;", "email=org%E2%80%8B%40example.com",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		req := httptest.NewRequest(http.MethodGet, orgPath(ft.host), nil)
		req.URL.RawQuery = rawQuery
		ft.serve(t, req)
	})
}

func FuzzEventListQuery(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, q := range []string{
		"", "limit=1", "limit=0", "limit=-1", "limit=100", "limit=101", "type=invitation.created",
		"type=invitation.created&type=guest_invitation.created", "type=invitation.created,invitation.accepted", "type=",
		"type=%00", "cursor=", "cursor=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "cursor=%ZZ", "limit=1&limit=2", ";;&&==", "%",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		req := httptest.NewRequest(http.MethodGet, eventsPath(ft.host), nil)
		req.URL.RawQuery = rawQuery
		ft.serve(t, req)
	})
}

func FuzzGuestListQuery(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, q := range []string{
		"", "statuses=sent&statuses=accepted_by_guest", "statuses=", "email=EXAMPLE", "email=", "email=%25_",
		"expired=true&archived=false", "expired=1", "order_by=email&order=asc", "order_by=nope", "order=sideways",
		"limit=0", "limit=100", "limit=101", "offset=-1", "offset=9223372036854775807", "limit=100&offset=9223372036854775807",
		"offset=99999999999999999999", "%", "a=%zz",
		"statuses=sent;x", "statuses=sent%zz", "limit=1;", "email=%E2%80%8B", "email=%FF",
		"cursor=", "cursor=AQ", "cursor=%00", "cursor=AAAA&offset=1", "order_by=accepted_at&cursor=AQIDBA",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		req := httptest.NewRequest(http.MethodGet, "/guest-invitations", nil)
		req.URL.RawQuery = rawQuery
		ft.serve(t, req)
	})
}

var fuzzMethods = []string{
	http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodPut, http.MethodHead,
	http.MethodOptions, "CONNECT", "BREW",
}

func FuzzPath(f *testing.F) {
	ft := newFuzzTarget(f)
	for i, p := range []string{
		"/", "/openapi.json", eventsPath(ft.host), ft.orgItem, ft.orgItem + "/revoke", ft.guestItem + "/accept", "/guest-invitations/accept",
		"/v1/organizations//invitations", "/v1/../guest-invitations", "/guest-invitations/%00", "//", "",
		"/v1/organizations/" + ft.host.String() + "/invitations/" + ft.host.String() + "/resend/",
	} {
		f.Add(uint8(i), p)
	}
	f.Fuzz(func(t *testing.T, method uint8, path string) {
		req := httptest.NewRequest(fuzzMethods[int(method)%len(fuzzMethods)], "/", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.URL.Path = path
		req.RequestURI = path
		ft.serve(t, req)
	})
}
