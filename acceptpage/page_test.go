package acceptpage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/acceptpage"
	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/httpadapter"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/storetest"
)

var (
	t0  = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	key = bytes.Repeat([]byte("k"), 32)
	org = uuid.MustParse("11111111-1111-4111-8111-111111111111")
)

// names knows one organization and one inviter, with a name that must be
// escaped in HTML.
type names struct{}

func (names) OrganizationName(_ context.Context, id uuid.UUID) (string, error) {
	if id == org {
		return "Acme <Labs>", nil
	}
	return "", store.ErrNotFound
}

func (names) InviterName(_ context.Context, _ uuid.UUID, inviterID string) (string, error) {
	if inviterID == "u1" {
		return "Grace Hopper", nil
	}
	return "", store.ErrNotFound
}

// site is an accept page on a real HTTP server over memstore services.
type site struct {
	srv    *httptest.Server
	store  *memstore.Store
	orgs   *invitation.Service
	guests *guest.Service
	clock  *storetest.Clock
	logs   *bytes.Buffer
}

func newSite(t *testing.T, mutate ...func(*acceptpage.Config)) *site {
	t.Helper()
	s := &site{store: memstore.New(), clock: storetest.NewClock(t0), logs: &bytes.Buffer{}}
	var err error
	s.orgs, err = invitation.NewService(invitation.Config{Store: s.store, Keys: [][]byte{key}, Clock: s.clock.Now})
	require.NoError(t, err)
	s.guests, err = guest.NewService(guest.Config{Store: s.store, Keys: [][]byte{key}, Clock: s.clock.Now})
	require.NoError(t, err)
	cfg := acceptpage.Config{Invitations: s.orgs, Guests: s.guests, Names: names{},
		Logger: slog.New(slog.NewTextHandler(s.logs, nil))}
	for _, m := range mutate {
		m(&cfg)
	}
	h, err := acceptpage.New(cfg)
	require.NoError(t, err)
	s.srv = httptest.NewServer(h)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *site) invite(t *testing.T, email string) (invitation.Invitation, string) {
	t.Helper()
	inv, err := s.orgs.Create(context.Background(), invitation.CreateParams{OrganizationID: org, Email: email, Role: "developer", InviterID: "u1"})
	require.NoError(t, err)
	return inv, s.orgs.Token(inv)
}

func (s *site) inviteGuest(t *testing.T, email string) (guest.Invitation, string) {
	t.Helper()
	inv, err := s.guests.Create(context.Background(), guest.CreateParams{HostOrganizationID: org, Email: email, ExpiredAt: t0.Add(48 * time.Hour)})
	require.NoError(t, err)
	return inv, s.guests.Token(inv)
}

// get fetches the page for tok and returns its status and body.
func (s *site) get(t *testing.T, tok string) (int, string) {
	t.Helper()
	return s.do(t, http.MethodGet, "?token="+url.QueryEscape(tok), nil, nil)
}

// post submits the form as a browser on the page's own origin would.
func (s *site) post(t *testing.T, form url.Values, header http.Header) (int, string) {
	t.Helper()
	if header == nil {
		header = http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {s.srv.URL}}
	}
	header.Set("Content-Type", "application/x-www-form-urlencoded")
	return s.do(t, http.MethodPost, "", strings.NewReader(form.Encode()), header)
}

func (s *site) do(t *testing.T, method, query string, body io.Reader, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+"/"+query, body)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := s.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// events counts the organization's events: a page that changed anything
// recorded one.
func (s *site) events(t *testing.T) int {
	t.Helper()
	evs, err := s.store.ListEvents(context.Background(), event.ListQuery{OrganizationID: org, Limit: 100})
	require.NoError(t, err)
	return len(evs)
}

func TestGetShowsAnOpenInvitationAndChangesNothing(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	inv, tok := s.invite(t, "ada@example.com")
	for range 3 {
		status, body := s.get(t, tok)
		assert.Equal(t, http.StatusOK, status)
		assert.Contains(t, body, "<title>Join Acme &lt;Labs&gt;</title>")
		assert.Contains(t, body, "<strong>Grace Hopper</strong> invited you to join <strong>Acme &lt;Labs&gt;</strong>.")
		assert.NotContains(t, body, "Acme <Labs>", "the organization's name is escaped")
		assert.NotContains(t, body, "ada@example.com", "the page asks for the address, so holding the link must not tell it")
		assert.Contains(t, body, "<dd>developer</dd>")
		assert.Contains(t, body, `<time datetime="2026-05-08T12:00:00Z">8 May 2026 at 12:00 UTC</time>`)
		assert.Contains(t, body, `<input type="hidden" name="token" value="`+tok+`">`)
		assert.Contains(t, body, `<label for="email">Your email address</label>`)
		assert.Contains(t, body, "Only the address this invitation was sent to can accept it.", "the page says why it asks")
	}
	status, body := s.do(t, http.MethodHead, "?token="+tok, nil, nil)
	assert.Equal(t, http.StatusOK, status)
	assert.Empty(t, body)

	got, err := s.orgs.Get(context.Background(), org, inv.ID)
	require.NoError(t, err)
	assert.Equal(t, inv, got, "GET and HEAD change nothing")
	assert.Equal(t, 1, s.events(t), "only the create recorded an event")
}

func TestHeadersKeepTheTokenInThePage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	_, tok := s.invite(t, "ada@example.com")
	resp, err := s.srv.Client().Get(s.srv.URL + "/?token=" + tok)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"), "the token in the URL must not leak to other sites")
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	assert.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"), "no other site may frame the accept button")
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'", "no script runs")
}

func TestGetSaysPlainlyWhyAnInvitationCannotBeAccepted(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := context.Background()

	_, expired := s.invite(t, "expired@example.com")
	revokedInv, revoked := s.invite(t, "revoked@example.com")
	_, err := s.orgs.Revoke(ctx, org, revokedInv.ID)
	require.NoError(t, err)
	_, accepted := s.invite(t, "accepted@example.com")
	_, err = s.orgs.Accept(ctx, accepted, "accepted@example.com")
	require.NoError(t, err)
	resentInv, replaced := s.invite(t, "resent@example.com")
	_, err = s.orgs.Resend(ctx, org, resentInv.ID)
	require.NoError(t, err)
	deletedInv, deleted := s.invite(t, "deleted@example.com")
	require.NoError(t, s.orgs.Delete(ctx, org, deletedInv.ID))
	archivedGuest, archived := s.inviteGuest(t, "archived@example.com")
	_, err = s.guests.SetArchived(ctx, org, archivedGuest.ID, true)
	require.NoError(t, err)
	_, guestAccepted := s.inviteGuest(t, "guest-accepted@example.com")
	_, err = s.guests.AcceptByGuest(ctx, guestAccepted)
	require.NoError(t, err)
	_, guestExpired := s.inviteGuest(t, "guest-expired@example.com")
	s.clock.Set(t0.Add(8 * 24 * time.Hour)) // past every invitation's expiry
	before := s.events(t)

	cases := []struct {
		name, tok string
		status    int
		says      string
	}{
		{"expired", expired, http.StatusGone, `expired on <time datetime="2026-05-08T12:00:00Z">`},
		{"revoked", revoked, http.StatusConflict, "<strong>Acme &lt;Labs&gt;</strong> revoked this invitation."},
		{"accepted", accepted, http.StatusConflict, "was already accepted on"},
		{"replaced by a resend", replaced, http.StatusNotFound, "This invitation link is not valid."},
		{"deleted", deleted, http.StatusNotFound, "This invitation link is not valid."},
		{"tampered", accepted[:len(accepted)-3] + "abc", http.StatusNotFound, "This invitation link is not valid."},
		{"missing", "", http.StatusNotFound, "This invitation link is not valid."},
		{"far too long", strings.Repeat("A", 5000), http.StatusNotFound, "This invitation link is not valid."},
		{"guest archived", archived, http.StatusConflict, "withdrew this invitation"},
		{"guest accepted", guestAccepted, http.StatusConflict, "was already accepted on"},
		{"guest expired", guestExpired, http.StatusGone, "expired on"},
	}
	for _, tc := range cases {
		status, body := s.get(t, tc.tok)
		assert.Equal(t, tc.status, status, tc.name)
		assert.Contains(t, body, tc.says, tc.name)
		assert.NotContains(t, body, `<button type="submit">`, "%s: no accept button", tc.name)
	}
	status, body := s.do(t, http.MethodGet, "?token=%zz", nil, nil)
	assert.Equal(t, http.StatusBadRequest, status, "a malformed query")
	assert.Contains(t, body, "This invitation link is not valid.")
	assert.Equal(t, before, s.events(t), "no GET changed anything")
}

func TestPostAcceptsAnOrganizationInvitation(t *testing.T) {
	t.Parallel()
	var hooked []string
	s := newSite(t, func(c *acceptpage.Config) {
		c.AcceptInvitation = func(_ context.Context, r *http.Request, inv invitation.Invitation) error {
			hooked = append(hooked, r.PostForm.Get("email")+" "+string(inv.Status))
			return nil
		}
	})
	inv, tok := s.invite(t, "ada@example.com")
	s.clock.Advance(time.Hour)

	status, body := s.post(t, url.Values{"token": {tok}, "email": {" Ada@Example.com "}}, nil)
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "<title>Invitation accepted</title>")
	assert.Contains(t, body, "You have accepted the invitation to join <strong>Acme &lt;Labs&gt;</strong> as <strong>developer</strong>.")
	assert.Equal(t, []string{" Ada@Example.com  accepted"}, hooked, "the hook ran once, inside the accept")
	got, err := s.orgs.Get(context.Background(), org, inv.ID)
	require.NoError(t, err)
	assert.Equal(t, invitation.StatusAccepted, got.Status)
	assert.Equal(t, t0.Add(time.Hour), *got.AcceptedAt)

	status, body = s.get(t, tok)
	assert.Equal(t, http.StatusConflict, status)
	assert.Contains(t, body, "Invitation already accepted")
	status, body = s.post(t, url.Values{"token": {tok}, "email": {"ada@example.com"}}, nil)
	assert.Equal(t, http.StatusConflict, status, "a second accept")
	assert.Contains(t, body, "Invitation already accepted")
	assert.Len(t, hooked, 1)
}

func TestPostRefusesTheWrongEmailAndKeepsTheInvitation(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	inv, tok := s.invite(t, "ada@example.com")

	status, body := s.post(t, url.Values{"token": {tok}, "email": {"eve@example.com"}}, nil)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Contains(t, body, `role="alert"`)
	assert.Contains(t, body, "This invitation was sent to a different email address.")
	assert.Contains(t, body, `value="eve@example.com"`, "what was typed is shown again")
	assert.Contains(t, body, `aria-invalid="true"`)

	status, body = s.post(t, url.Values{"token": {tok}, "email": {"not an email"}}, nil)
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Contains(t, body, "Enter a valid email address.")

	got, err := s.orgs.Get(context.Background(), org, inv.ID)
	require.NoError(t, err)
	assert.Equal(t, invitation.StatusPending, got.Status)
	assert.Equal(t, 1, s.events(t))
}

// TestPostRefusesLookAlikeEmails: the form's email goes through the
// service's email policy, so an address that only looks like the invited
// one (an invisible character, the Kelvin sign, bytes that are not UTF-8)
// is refused as invalid, never matched or repaired.
func TestPostRefusesLookAlikeEmails(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	inv, tok := s.invite(t, "kate@example.com")
	for _, addr := range []string{
		"kate@example.com\u200b", "kate\u200b@example.com", "\u212aate@example.com", "\xff\xfe@example.com",
		"kate@localhost", "kate@[127.0.0.1]",
	} {
		status, body := s.post(t, url.Values{"token": {tok}, "email": {addr}}, nil)
		assert.Equal(t, http.StatusUnprocessableEntity, status, "%q", addr)
		assert.Contains(t, body, "Enter a valid email address.", "%q", addr)
	}
	got, err := s.orgs.Get(context.Background(), org, inv.ID)
	require.NoError(t, err)
	assert.Equal(t, invitation.StatusPending, got.Status)
	status, _ := s.post(t, url.Values{"token": {tok}, "email": {"KATE@example.com"}}, nil)
	assert.Equal(t, http.StatusOK, status)
}

func TestPostFromAnotherSiteIsRefused(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	inv, tok := s.invite(t, "ada@example.com")
	form := url.Values{"token": {tok}, "email": {"ada@example.com"}}
	for name, h := range map[string]http.Header{
		"cross-site fetch": {"Sec-Fetch-Site": {"cross-site"}},
		"same-site fetch":  {"Sec-Fetch-Site": {"same-site"}},
		"foreign origin":   {"Origin": {"https://evil.example"}},
	} {
		status, body := s.post(t, form, h)
		assert.Equal(t, http.StatusForbidden, status, name)
		assert.Contains(t, body, "The form was sent from another website", name)
	}
	got, err := s.orgs.Get(context.Background(), org, inv.ID)
	require.NoError(t, err)
	assert.Equal(t, invitation.StatusPending, got.Status, "no cross-site post accepted")

	trusted := newSite(t, func(c *acceptpage.Config) { c.TrustedOrigins = []string{"https://app.example"} })
	_, tok = trusted.invite(t, "ada@example.com")
	status, _ := trusted.post(t, url.Values{"token": {tok}, "email": {"ada@example.com"}},
		http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://app.example"}})
	assert.Equal(t, http.StatusOK, status, "a trusted origin may post")
}

func TestEmailHookReplacesTheField(t *testing.T) {
	t.Parallel()
	signedIn := "ada@example.com"
	var sessions error
	s := newSite(t, func(c *acceptpage.Config) {
		c.Email = func(r *http.Request) (string, error) {
			if sessions != nil {
				return "", sessions
			}
			if r.Header.Get("Cookie") == "" {
				return "", fmt.Errorf("session: %w", acceptpage.ErrNotSignedIn)
			}
			return signedIn, nil
		}
	})
	inv, tok := s.invite(t, "ada@example.com")
	status, body := s.get(t, tok)
	assert.Equal(t, http.StatusOK, status)
	assert.NotContains(t, body, `name="email"`, "the signed-in user's email is not asked for")
	assert.Contains(t, body, "<dd>ada@example.com</dd>", "the page says whom the invitation is for")

	h := func() http.Header {
		return http.Header{"Sec-Fetch-Site": {"same-origin"}}
	}
	status, body = s.post(t, url.Values{"token": {tok}}, h())
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Contains(t, body, "Sign in with the account this invitation was sent to")

	signedIn = "eve@example.com"
	withCookie := h()
	withCookie.Set("Cookie", "session=1")
	status, body = s.post(t, url.Values{"token": {tok}, "email": {"ada@example.com"}}, withCookie)
	assert.Equal(t, http.StatusForbidden, status, "a typed email does not override the hook")
	assert.Contains(t, body, "than the one you are signed in with")

	signedIn = ""
	status, _ = s.post(t, url.Values{"token": {tok}}, withCookie)
	assert.Equal(t, http.StatusUnauthorized, status, "no address is no one signed in")

	sessions = errors.New("session store: connection refused")
	status, body = s.post(t, url.Values{"token": {tok}}, withCookie)
	assert.Equal(t, http.StatusInternalServerError, status, "a failing session store is not a signed-out user")
	assert.NotContains(t, body, "connection refused")
	assert.Contains(t, s.logs.String(), "session store: connection refused")

	got, err := s.orgs.Get(context.Background(), org, inv.ID)
	require.NoError(t, err)
	assert.Equal(t, invitation.StatusPending, got.Status)

	sessions, signedIn = nil, "ada@example.com"
	status, _ = s.post(t, url.Values{"token": {tok}}, withCookie)
	assert.Equal(t, http.StatusOK, status)
}

func TestHookRefusalsAndPanicsCommitNothing(t *testing.T) {
	t.Parallel()
	refuse := &httpadapter.Refusal{Status: http.StatusPaymentRequired, Detail: "The plan has no free seat."}
	var next error = refuse
	s := newSite(t, func(c *acceptpage.Config) {
		c.AcceptInvitation = func(context.Context, *http.Request, invitation.Invitation) error {
			if next == nil {
				panic("membership table missing")
			}
			return next
		}
	})
	inv, tok := s.invite(t, "ada@example.com")
	form := url.Values{"token": {tok}, "email": {"ada@example.com"}}

	status, body := s.post(t, form, nil)
	assert.Equal(t, http.StatusPaymentRequired, status)
	assert.Contains(t, body, "The plan has no free seat.")

	next = errors.New("db: connection reset")
	status, body = s.post(t, form, nil)
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.NotContains(t, body, "connection reset", "the cause is logged, not shown")
	assert.Contains(t, s.logs.String(), "connection reset")

	next = nil
	status, _ = s.post(t, form, nil)
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.Contains(t, s.logs.String(), "membership table missing")

	// A hook's own conflict or not-found is its refusal, not another
	// request changing the invitation.
	for _, cause := range []error{store.ErrConflict, store.ErrNotFound} {
		next = fmt.Errorf("membership: %w", cause)
		status, body = s.post(t, form, nil)
		assert.Equal(t, http.StatusInternalServerError, status, "hook error %v", cause)
		assert.Contains(t, body, "Something went wrong and nothing was changed.")
	}

	got, err := s.orgs.Get(context.Background(), org, inv.ID)
	require.NoError(t, err)
	assert.Equal(t, invitation.StatusPending, got.Status)
	assert.Equal(t, 1, s.events(t), "no refused accept recorded an event")
	assert.NotContains(t, s.logs.String(), tok, "no token in the log")
	status, _ = s.get(t, tok)
	assert.Equal(t, http.StatusOK, status, "the token still works")
}

// An accept that committed is reported as accepted, whatever fails after.
func TestAcceptedEvenIfNamesFailAfterwards(t *testing.T) {
	t.Parallel()
	n := &flakyNames{}
	s := newSite(t, func(c *acceptpage.Config) { c.Names = n })
	inv, tok := s.invite(t, "ada@example.com")
	n.failAfter = 1 // the POST's first look-up succeeds, any other fails
	status, body := s.post(t, url.Values{"token": {tok}, "email": {"ada@example.com"}}, nil)
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "You have accepted the invitation to join <strong>Acme &lt;Labs&gt;</strong>")
	got, err := s.orgs.Get(context.Background(), org, inv.ID)
	require.NoError(t, err)
	assert.Equal(t, invitation.StatusAccepted, got.Status)
}

// flakyNames answers failAfter organization look-ups (0: all), then fails.
type flakyNames struct {
	names
	mu        sync.Mutex
	calls     int
	failAfter int
}

func (f *flakyNames) OrganizationName(ctx context.Context, id uuid.UUID) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failAfter > 0 && f.calls > f.failAfter {
		return "", errors.New("directory down")
	}
	return f.names.OrganizationName(ctx, id)
}

func TestGuestInvitation(t *testing.T) {
	t.Parallel()
	var hooked []guest.Status
	s := newSite(t, func(c *acceptpage.Config) {
		c.AcceptGuestInvitation = func(_ context.Context, _ *http.Request, inv guest.Invitation) error {
			hooked = append(hooked, inv.Status)
			return nil
		}
	})
	inv, tok := s.inviteGuest(t, "guest@example.com")
	status, body := s.get(t, tok)
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "You have been invited as a guest of <strong>Acme &lt;Labs&gt;</strong>.")
	assert.NotContains(t, body, `name="email"`, "a guest's token is the credential")
	assert.NotContains(t, body, "<dt>Role</dt>")

	status, body = s.post(t, url.Values{"token": {tok}}, nil)
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Invitation accepted")
	assert.Equal(t, []guest.Status{guest.StatusAcceptedByGuest}, hooked)
	got, err := s.guests.Get(context.Background(), org, inv.ID)
	require.NoError(t, err)
	assert.Equal(t, guest.StatusAcceptedByGuest, got.Status)
}

func TestWithoutNamesThePageNamesNoOne(t *testing.T) {
	t.Parallel()
	s := newSite(t, func(c *acceptpage.Config) { c.Names = nil })
	_, tok := s.invite(t, "ada@example.com")
	status, body := s.get(t, tok)
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "<title>You are invited</title>")
	assert.Contains(t, body, "You have been invited to join an organization.")
}

func TestNamesFailureIsNotShown(t *testing.T) {
	t.Parallel()
	s := newSite(t, func(c *acceptpage.Config) { c.Names = failingNames{} })
	_, tok := s.invite(t, "ada@example.com")
	status, body := s.get(t, tok)
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.Contains(t, body, "Something went wrong and nothing was changed.")
	assert.NotContains(t, body, "directory down")
	assert.Contains(t, s.logs.String(), "directory down")
}

type failingNames struct{}

func (failingNames) OrganizationName(context.Context, uuid.UUID) (string, error) {
	return "", errors.New("directory down")
}

func (failingNames) InviterName(context.Context, uuid.UUID, string) (string, error) {
	return "", errors.New("directory down")
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	_, tok := s.invite(t, "ada@example.com")
	require.NoError(t, s.store.Close())
	resp, err := s.srv.Client().Get(s.srv.URL + "/?token=" + tok)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "5", resp.Header.Get("Retry-After"))
	assert.Contains(t, string(body), "nothing was changed")
}

// busyNames fails as a lookup in a busy or unreachable store does.
type busyNames struct{}

func (busyNames) OrganizationName(context.Context, uuid.UUID) (string, error) {
	return "", fmt.Errorf("directory: %w", store.ErrUnavailable)
}

func (busyNames) InviterName(context.Context, uuid.UUID, string) (string, error) {
	return "", fmt.Errorf("directory: %w", store.ErrUnavailable)
}

func TestBusyStoreIsUnavailable(t *testing.T) {
	t.Parallel()
	s := newSite(t, func(c *acceptpage.Config) { c.Names = busyNames{} })
	_, tok := s.invite(t, "ada@example.com")
	resp, err := s.srv.Client().Get(s.srv.URL + "/?token=" + tok)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "5", resp.Header.Get("Retry-After"))
	assert.Contains(t, string(body), "nothing was changed")
}

func TestOtherMethodsAndBadForms(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	req, err := http.NewRequest(http.MethodPut, s.srv.URL+"/", nil)
	require.NoError(t, err)
	resp, err := s.srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "GET, HEAD, POST", resp.Header.Get("Allow"))

	status, _ := s.do(t, http.MethodPost, "", strings.NewReader("token=%zz"), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	assert.Equal(t, http.StatusBadRequest, status, "a malformed form")
	status, _ = s.do(t, http.MethodPost, "", strings.NewReader("token="+strings.Repeat("A", 70<<10)), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	assert.Equal(t, http.StatusRequestEntityTooLarge, status, "a form beyond the size bound")
	status, body := s.post(t, url.Values{"email": {"ada@example.com"}}, nil)
	assert.Equal(t, http.StatusNotFound, status, "a form without a token")
	assert.Contains(t, body, "This invitation link is not valid.")
}

func TestTemplateOverride(t *testing.T) {
	t.Parallel()
	tmpl, err := acceptpage.ParseTemplate(`{{define "page"}}{{.State}}|{{.OrganizationName}}|{{date .ExpiresAt}}{{end}}`)
	require.NoError(t, err)
	s := newSite(t, func(c *acceptpage.Config) { c.Template = tmpl })
	_, tok := s.invite(t, "ada@example.com")
	status, body := s.get(t, tok)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "open|Acme &lt;Labs&gt;|8 May 2026 at 12:00 UTC", body)
}

func TestDefaultTemplatePartOverride(t *testing.T) {
	t.Parallel()
	tmpl := acceptpage.DefaultTemplate()
	_, err := tmpl.New("title").Parse(`{{if eq .State "open"}}Welcome aboard{{else}}Invitation{{end}}`)
	require.NoError(t, err)
	s := newSite(t, func(c *acceptpage.Config) { c.Template = tmpl })
	_, tok := s.invite(t, "ada@example.com")
	status, body := s.get(t, tok)
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "<title>Welcome aboard</title>")
	assert.Contains(t, body, `<button type="submit">Accept invitation</button>`, "the rest is the default")

	_, body = newSite(t).get(t, tok)
	assert.Contains(t, body, "<title>Invalid invitation link</title>", "the default itself is unchanged")
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	svc, err := invitation.NewService(invitation.Config{Store: memstore.New(), Keys: [][]byte{key}})
	require.NoError(t, err)
	noPage, err := acceptpage.ParseTemplate(`{{define "other"}}x{{end}}`)
	require.NoError(t, err)
	badField, err := acceptpage.ParseTemplate(`{{define "page"}}{{if eq .State "open"}}{{.Inviter}}{{end}}{{end}}`)
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		cfg  acceptpage.Config
		says string
	}{
		"no service":     {acceptpage.Config{}, "Config.Invitations or Config.Guests"},
		"no page":        {acceptpage.Config{Invitations: svc, Template: noPage}, `"page"`},
		"bad field":      {acceptpage.Config{Invitations: svc, Template: badField}, "Config.Template: rendering state open"},
		"bad origin":     {acceptpage.Config{Invitations: svc, TrustedOrigins: []string{"not a url"}}, "Config.TrustedOrigins"},
		"origin w/ path": {acceptpage.Config{Invitations: svc, TrustedOrigins: []string{"https://a.example/x"}}, "Config.TrustedOrigins"},
	} {
		_, err := acceptpage.New(tc.cfg)
		assert.ErrorIs(t, err, acceptpage.ErrInvalidConfig, name)
		assert.ErrorContains(t, err, tc.says, name)
	}
}

func TestRacingAcceptsShowTheWinner(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	_, tok := s.invite(t, "ada@example.com")
	const n = 8
	statuses := make(chan int, n)
	form := url.Values{"token": {tok}, "email": {"ada@example.com"}}.Encode()
	for range n {
		go func() {
			// No require here: a goroutine that stops early would leave the
			// test waiting for its status.
			req, _ := http.NewRequest(http.MethodPost, s.srv.URL, strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := s.srv.Client().Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	count := map[int]int{}
	for range n {
		count[<-statuses]++
	}
	assert.Equal(t, map[int]int{http.StatusOK: 1, http.StatusConflict: n - 1}, count, fmt.Sprint(count))
}
