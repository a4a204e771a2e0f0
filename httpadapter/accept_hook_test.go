package httpadapter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/postgresstore"
	"github.com/invitekit/invitekit/sqlitestore"
	"github.com/invitekit/invitekit/store"
)

// hookSpy is an accept hook whose answer a test sets, and that records
// what each call saw.
type hookSpy struct {
	mu     sync.Mutex
	answer func() error
	calls  int
	p      Principal
	inTx   bool
	org    invitation.Invitation
	guest  guest.Invitation
}

func (s *hookSpy) set(answer func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer = answer
}

// inStoreTx reports whether ctx carries a database transaction of the
// stores that have one.
func inStoreTx(ctx context.Context) bool {
	_, sqlite := sqlitestore.Tx(ctx)
	_, pg := postgresstore.Tx(ctx)
	return sqlite || pg
}

func (s *hookSpy) call(ctx context.Context, p Principal) error {
	s.calls++
	s.p, s.inTx = p, inStoreTx(ctx)
	if s.answer == nil {
		return nil
	}
	return s.answer()
}

func (s *hookSpy) acceptInvitation(ctx context.Context, p Principal, inv invitation.Invitation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.org = inv
	return s.call(ctx, p)
}

func (s *hookSpy) acceptGuest(ctx context.Context, p Principal, inv guest.Invitation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.guest = inv
	return s.call(ctx, p)
}

// hookFixture is a fixture on store open whose accept hooks are spy.
func hookFixture(t *testing.T, open func(*testing.T) backend) (*fixture, *hookSpy) {
	spy := &hookSpy{}
	f := newFixture(t, options{store: open, config: func(c *Config) {
		c.AcceptInvitation = spy.acceptInvitation
		c.AcceptGuestInvitation = spy.acceptGuest
	}})
	return f, spy
}

// acceptedEvents counts org's accepted events of both kinds.
func (f *fixture) acceptedEvents(org uuid.UUID) int {
	f.t.Helper()
	return len(decodeEvents(f.t, f.listEvents(org, "type=invitation.accepted&type=guest_invitation.accepted")))
}

// TestAcceptHookOrganization accepts through the hook on every store: the
// hook sees the principal and the accepted invitation inside the store's
// transaction; a refusal is answered with the hook's status and leaves
// the invitation pending, its token working and no event; an error that
// is no refusal is a hidden 500, just as harmless.
func TestAcceptHookOrganization(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f, spy := hookFixture(t, b.open)
			org := uuid.New()
			created := f.createInvitation(org, "ada@example.com")
			item := orgPath(org) + "/" + str(created, "id")
			accept := func() response {
				return f.do(request{method: http.MethodPost, path: "/v1/invitations/accept",
					body: map[string]string{"token": str(created, "token"), "email": "ada@example.com"}})
			}
			assertPending := func() {
				t.Helper()
				r := f.do(request{method: http.MethodGet, path: item})
				require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
				assert.Equal(t, "pending", str(r.result(), "status"))
				assert.Zero(t, f.acceptedEvents(org), "a refused accept records no event")
			}

			spy.set(func() error { return &Refusal{Status: http.StatusPaymentRequired, Detail: "the plan has no free seat"} })
			r := accept()
			assertProblem(t, r, http.StatusPaymentRequired, "accept-refused")
			assert.Equal(t, "the plan has no free seat", str(r.json, "detail"))
			assert.Equal(t, "the plan has no free seat", str(r.json, "error"))
			assert.Equal(t, invitation.StatusAccepted, spy.org.Status, "the hook runs after the transition")
			assertPending()

			spy.set(func() error { return errors.New("membership table is gone: hunter2") })
			r = accept()
			assertProblem(t, r, http.StatusInternalServerError, "internal")
			assert.NotContains(t, string(r.raw), "hunter2")
			assert.Contains(t, f.logs.String(), "hunter2")
			assert.Contains(t, f.logs.String(), "AcceptInvitation", "the log names the hook")
			assertPending()

			spy.set(nil)
			r = accept()
			require.Equal(t, http.StatusOK, r.status, "the token still works: %s", r.raw)
			assert.Equal(t, "accepted", str(r.result(), "status"))
			assert.Equal(t, Principal{ID: keyID}, spy.p)
			assert.Equal(t, str(created, "id"), spy.org.ID.String())
			assert.Equal(t, invitation.StatusAccepted, spy.org.Status)
			require.NotNil(t, spy.org.AcceptedAt)
			assert.Equal(t, b.name != "memstore", spy.inTx, "ctx carries the store's transaction")
			assert.Equal(t, 1, f.acceptedEvents(org))
			assert.Equal(t, 3, spy.calls)
		})
	}
}

// TestAcceptHookGuest does the same for both guest accept routes.
func TestAcceptHookGuest(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f, spy := hookFixture(t, b.open)
			host := uuid.New()
			hdr := guestHeaders(host, host)
			byGuest := f.createGuest(host, "gus@example.com")
			bySystem := f.createGuest(host, "sys@example.com")
			acceptByGuest := func() response {
				return f.do(request{method: http.MethodPost, path: "/guest-invitations/accept",
					body: map[string]string{"invitation_token": str(byGuest, "invitation_token")}})
			}
			acceptBySystem := func() response {
				return f.do(request{method: http.MethodPost, path: "/guest-invitations/" + str(bySystem, "id") + "/accept", header: hdr})
			}
			assertSent := func(id string) {
				t.Helper()
				r := f.do(request{method: http.MethodGet, path: "/guest-invitations/" + id, header: hdr})
				require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
				assert.Equal(t, "sent", str(r.json, "status"))
				assert.Zero(t, f.acceptedEvents(host))
			}

			spy.set(func() error {
				return fmt.Errorf("seats: %w", &Refusal{Status: http.StatusConflict, Detail: "already a member"})
			})
			for _, tt := range []struct {
				accept func() response
				id     string
				status guest.Status
			}{{acceptByGuest, str(byGuest, "id"), guest.StatusAcceptedByGuest}, {acceptBySystem, str(bySystem, "id"), guest.StatusAcceptedBySystem}} {
				r := tt.accept()
				assertProblem(t, r, http.StatusConflict, "accept-refused")
				assert.Equal(t, "already a member", str(r.json, "detail"))
				assert.Equal(t, []any{}, r.json["errors"], "in the guest format")
				assert.Equal(t, tt.status, spy.guest.Status)
				assertSent(tt.id)
			}

			spy.set(func() error { panic("hook bug") })
			assertProblem(t, acceptByGuest(), http.StatusInternalServerError, "internal")
			assert.Contains(t, f.logs.String(), "hook bug")
			assertSent(str(byGuest, "id"))

			spy.set(nil)
			r := acceptByGuest()
			require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
			assert.Equal(t, "accepted_by_guest", str(r.json, "status"))
			assert.Equal(t, str(byGuest, "id"), spy.guest.ID.String())
			r = acceptBySystem()
			require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
			assert.Equal(t, "accepted_by_system", str(r.json, "status"))
			assert.Equal(t, guest.StatusAcceptedBySystem, spy.guest.Status)
			assert.Equal(t, Principal{ID: keyID}, spy.p)
			assert.Equal(t, b.name != "memstore", spy.inTx)
			assert.Equal(t, 2, f.acceptedEvents(host))
		})
	}
}

// TestAcceptHookErrors maps what a hook may return: a refusal with its
// status (any status outside 4xx is 403, an empty detail a generic one),
// and the errors the Handler knows from the services as it answers them.
func TestAcceptHookErrors(t *testing.T) {
	t.Parallel()
	verr := &store.ValidationError{}
	verr.Add("seat", "is taken")
	tests := []struct {
		name   string
		err    error
		status int
		slug   string
		detail string
	}{
		{"refusal", &Refusal{Status: 451, Detail: "not here"}, 451, "accept-refused", "not here"},
		{"refusal 401", &Refusal{Status: http.StatusUnauthorized, Detail: "log in first"}, 401, "accept-refused", "log in first"},
		{"refusal without status", &Refusal{Detail: "no"}, 403, "accept-refused", "no"},
		{"refusal with 200", &Refusal{Status: 200, Detail: "no"}, 403, "accept-refused", "no"},
		{"refusal with 503", &Refusal{Status: 503, Detail: "no"}, 403, "accept-refused", "no"},
		{"refusal without detail", &Refusal{Status: 409}, 409, "accept-refused", "the application refused to accept the invitation"},
		{"nil refusal", (*Refusal)(nil), 500, "internal", "an internal error occurred"},
		{"validation", fmt.Errorf("membership: %w", verr), 422, "validation-failed", "invalid input: seat is taken"},
		{"conflict", fmt.Errorf("membership: %w", store.ErrConflict), 409, "conflict", ""},
		{"forbidden", ErrForbidden, 403, "forbidden", ""},
		{"other", errors.New("boom"), 500, "internal", "an internal error occurred"},
	}
	f, spy := hookFixture(t, nil)
	org := uuid.New()
	created := f.createInvitation(org, "ada@example.com")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spy.set(func() error { return tt.err })
			r := f.do(request{method: http.MethodPost, path: "/v1/invitations/accept",
				body: map[string]string{"token": str(created, "token"), "email": "ada@example.com"}})
			assertProblem(t, r, tt.status, tt.slug)
			if tt.detail != "" {
				assert.Equal(t, tt.detail, str(r.json, "detail"))
			}
		})
	}
	assert.Zero(t, f.acceptedEvents(org))
}

// TestAcceptHookUnset checks that without hooks the accept routes accept
// as before, and that the actor of the accepted event is the principal.
func TestAcceptHookUnset(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	org := uuid.New()
	created := f.createInvitation(org, "ada@example.com")
	r := f.do(request{method: http.MethodPost, path: "/v1/invitations/accept",
		body: map[string]string{"token": str(created, "token"), "email": "ada@example.com"}})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	evs := decodeEvents(t, f.listEvents(org, "type=invitation.accepted"))
	require.Len(t, evs, 1)
	assert.Equal(t, event.InvitationAccepted, evs[0].Type)
	require.NotNil(t, evs[0].ActorID)
	assert.Equal(t, keyID, *evs[0].ActorID)
}
