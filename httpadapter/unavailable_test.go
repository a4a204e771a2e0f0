package httpadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/link"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/store"
)

// unavailableStore is a memstore whose reads fail as a store does whose
// database is busy or unreachable, or whose context ended, as fail says.
type unavailableStore struct {
	*memstore.Store
	fail func(ctx context.Context) error
}

func (s *unavailableStore) GetInvitation(ctx context.Context, orgID, id uuid.UUID) (invitation.Invitation, error) {
	return invitation.Invitation{}, s.fail(ctx)
}

func (s *unavailableStore) GetGuestInvitation(ctx context.Context, hostID, id uuid.UUID) (guest.Invitation, error) {
	return guest.Invitation{}, s.fail(ctx)
}

func (s *unavailableStore) GetLink(ctx context.Context, orgID, id uuid.UUID) (link.Link, error) {
	return link.Link{}, s.fail(ctx)
}

func (s *unavailableStore) FindLink(ctx context.Context, id uuid.UUID) (link.Link, error) {
	return link.Link{}, s.fail(ctx)
}

func (s *unavailableStore) ListLinks(ctx context.Context, q link.ListQuery) ([]link.Link, error) {
	return nil, s.fail(ctx)
}

func (s *unavailableStore) UpdateLink(ctx context.Context, orgID, id uuid.UUID, update func(context.Context, *link.Link) (event.Event, error)) (link.Link, error) {
	return link.Link{}, s.fail(ctx)
}

// TestUnavailableIs503 checks that a busy or unreachable store, and a
// request whose context ended, are 503 in each API's error shape with
// Retry-After, never 500.
func TestUnavailableIs503(t *testing.T) {
	t.Parallel()
	busy := func(context.Context) error {
		return fmt.Errorf("sqlstore: get invitation: %w: %w", store.ErrUnavailable, errors.New("lock timeout"))
	}
	timedOut := func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, time.Nanosecond)
		defer cancel()
		<-ctx.Done()
		return fmt.Errorf("sqlstore: get invitation: %w", ctx.Err())
	}
	for name, fail := range map[string]func(context.Context) error{"busy": busy, "timed out": timedOut} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, options{store: func(*testing.T) backend {
				return &unavailableStore{Store: memstore.New(), fail: fail}
			}})
			org := uuid.New()
			r := f.do(request{method: http.MethodGet, path: orgPath(org) + "/" + uuid.NewString()})
			assert.Equal(t, http.StatusServiceUnavailable, r.status)
			assert.Equal(t, retryAfter, r.header.Get("Retry-After"))
			assert.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
			assert.Equal(t, float64(503), r.json["status"])
			assert.Equal(t, ProblemTypePrefix+"unavailable", r.json["type"])
			assert.NotEmpty(t, r.json["error"])
			assert.NotContains(t, string(r.raw), "lock timeout", "the cause is not shown")

			r = f.do(request{method: http.MethodGet, path: "/guest-invitations/" + uuid.NewString(), header: guestHeaders(org, org), auth: bearerAuth})
			assert.Equal(t, http.StatusServiceUnavailable, r.status)
			assert.Equal(t, retryAfter, r.header.Get("Retry-After"))
			assert.Equal(t, ProblemTypePrefix+"unavailable", r.json["type"])
			assert.Equal(t, float64(503), r.json["status"])
			assert.Contains(t, r.json, "errors")

			// The link routes, each reading the link (or the list)
			// first; the create writes, which this store does.
			require.NotNil(t, f.links)
			l := f.createLink(org, map[string]any{"role": "admin", "maxUses": 1})
			item := linkItem(org, str(l, "id"))
			for _, req := range []request{
				{method: http.MethodGet, path: linksPath(org)},
				{method: http.MethodGet, path: item},
				{method: http.MethodGet, path: item + "/redemptions"},
				{method: http.MethodPost, path: item + "/revoke"},
				{method: http.MethodPost, path: redeemPath, body: map[string]string{"token": str(l, "token"), "email": "ada@example.com"}},
			} {
				r := f.do(req)
				assertProblem(t, r, http.StatusServiceUnavailable, "unavailable")
				assert.Equal(t, retryAfter, r.header.Get("Retry-After"), "%s %s", req.method, req.path)
				assert.NotContains(t, string(r.raw), "lock timeout")
			}
			assert.NotContains(t, f.logs.String(), "internal error")
		})
	}
}

// unavailableWrites is a memstore whose link writes fail as a busy or
// unreachable store's do, while its reads work.
type unavailableWrites struct {
	*memstore.Store
	fail error
}

func (s *unavailableWrites) CreateLink(context.Context, link.Link, event.Event) error { return s.fail }

func (s *unavailableWrites) RedeemLink(context.Context, uuid.UUID, string, func(context.Context, *link.Link, bool) (link.Redemption, event.Event, error)) (link.Link, link.Redemption, error) {
	return link.Link{}, link.Redemption{}, s.fail
}

// TestUnavailableLinkWritesAre503: a link create or redemption that the
// store cannot write is a 503 with Retry-After, and changes nothing.
func TestUnavailableLinkWritesAre503(t *testing.T) {
	t.Parallel()
	ms := memstore.New()
	f := newFixture(t, options{store: func(*testing.T) backend {
		return &unavailableWrites{Store: ms, fail: fmt.Errorf("sqlstore: redeem link: %w: %w", store.ErrUnavailable, errors.New("lock timeout"))}
	}})
	org := uuid.New()
	r := f.do(request{method: http.MethodPost, path: linksPath(org), body: map[string]any{"role": "admin", "maxUses": 1}})
	assertProblem(t, r, http.StatusServiceUnavailable, "unavailable")
	assert.Equal(t, retryAfter, r.header.Get("Retry-After"))
	r = f.do(request{method: http.MethodGet, path: linksPath(org)})
	require.Equal(t, http.StatusOK, r.status)
	assert.Empty(t, r.json["result"], "the failed create stored nothing")

	// A link stored beside the adapter, whose redemption cannot be
	// written.
	_, err := f.links.Create(context.Background(), link.CreateParams{OrganizationID: org, Role: "admin", MaxUses: 1})
	require.ErrorIs(t, err, store.ErrUnavailable)
	l := link.Link{ID: uuid.New(), OrganizationID: org, Role: "admin", MaxUses: 1, Nonce: make([]byte, 16),
		CreatedAt: f.links.Now(), ExpireAt: f.links.Now().Add(time.Hour)}
	require.NoError(t, ms.CreateLink(context.Background(), l, event.Event{ID: uuid.New(), Type: event.InviteLinkCreated,
		OrganizationID: org, InvitationID: l.ID, OccurredAt: l.CreatedAt, Data: []byte("{}")}))
	r = f.do(request{method: http.MethodPost, path: redeemPath, body: map[string]string{"token": f.links.Token(l), "email": "ada@example.com"}})
	assertProblem(t, r, http.StatusServiceUnavailable, "unavailable")
	assert.Equal(t, retryAfter, r.header.Get("Retry-After"))
	got, err := ms.GetLink(context.Background(), org, l.ID)
	require.NoError(t, err)
	assert.Zero(t, got.Uses)
	assert.NotContains(t, f.logs.String(), "internal error")
}

// TestLogRequestsUndelivered: a response the client never got, because the
// server's WriteTimeout passed while the handler ran, is not logged as the
// status the handler wrote.
func TestLogRequestsUndelivered(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		w.Header().Set("Content-Length", "2")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("{}"))
	})
	srv := httptest.NewUnstartedServer(LogRequests(slog.New(slog.NewJSONHandler(&buf, nil)), slow))
	srv.Config.WriteTimeout = 50 * time.Millisecond
	srv.Start()
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL + "/slow")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("the client got a response (%d) after the write timeout", resp.StatusCode)
	}
	require.Eventually(t, func() bool { return strings.Contains(buf.String(), "http request") }, 5*time.Second, 10*time.Millisecond)
	var entry map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(buf.String())), &entry))
	assert.Equal(t, float64(0), entry["status"], "the client got nothing")
	assert.Equal(t, float64(200), entry["status_written"])
	assert.Equal(t, "ERROR", entry["level"])
	assert.NotEmpty(t, entry["error"])
}
