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

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
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
			assert.NotContains(t, f.logs.String(), "internal error")
		})
	}
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
