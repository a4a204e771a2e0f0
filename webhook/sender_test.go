package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/outbox"
	"github.com/invitekit/invitekit/webhook"
)

var testNow = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

func testEvent() event.Event {
	actor := "user_1"
	return event.Event{
		ID: uuid.Must(uuid.NewV7()), Type: event.InvitationCreated, OrganizationID: uuid.New(), InvitationID: uuid.New(),
		ActorID: &actor, OccurredAt: testNow, Data: json.RawMessage(`{"email":"dev@example.com"}`),
	}
}

func newSender(t *testing.T, url string, change func(*webhook.Config)) *webhook.Sender {
	t.Helper()
	cfg := webhook.Config{URL: url, Secret: mustSecret(t, vectorSecret), Clock: func() time.Time { return testNow }}
	if change != nil {
		change(&cfg)
	}
	s, err := webhook.New(cfg)
	require.NoError(t, err)
	return s
}

func TestSenderPostsSignedEvent(t *testing.T) {
	t.Parallel()
	ev := testEvent()
	var got *http.Request
	var gotBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		gotBody, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)

	require.NoError(t, newSender(t, srv.URL+"/hooks", nil).Send(context.Background(), ev))
	want, err := json.Marshal(ev)
	require.NoError(t, err)
	assert.Equal(t, http.MethodPost, got.Method)
	assert.Equal(t, "/hooks", got.URL.Path)
	assert.Equal(t, want, gotBody)
	assert.Equal(t, "application/json", got.Header.Get("Content-Type"))
	assert.Equal(t, ev.ID.String(), got.Header.Get("webhook-id"))
	assert.Equal(t, "1767366245", got.Header.Get("webhook-timestamp"))
	assert.Equal(t, webhook.Sign(mustSecret(t, vectorSecret), ev.ID.String(), testNow, want), got.Header.Get("webhook-signature"))
	assert.NoError(t, webhook.Verify(mustSecret(t, vectorSecret), got.Header, gotBody, testNow))
}

func TestSenderStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status    int
		body      string
		wantErr   bool
		permanent bool
		snippet   string
	}{
		{status: http.StatusOK},
		{status: http.StatusAccepted, body: strings.Repeat("x", 1<<20)},
		{status: http.StatusInternalServerError, body: "database\ndown", wantErr: true, snippet: "status 500: database down"},
		{status: http.StatusBadRequest, body: strings.Repeat("é", 1<<20), wantErr: true, snippet: "status 400: éé"},
		{status: http.StatusTooManyRequests, wantErr: true, snippet: "status 429"},
		{status: http.StatusFound, wantErr: true, snippet: "status 302"},
		{status: http.StatusGone, wantErr: true, permanent: true, snippet: "status 410"},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.status == http.StatusFound {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			t.Cleanup(srv.Close)

			err := newSender(t, srv.URL, nil).Send(context.Background(), testEvent())
			if !tt.wantErr {
				assert.NoError(t, err)
				return
			}
			var se *webhook.StatusError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.status, se.StatusCode)
			assert.Contains(t, err.Error(), tt.snippet)
			assert.LessOrEqual(t, len(err.Error()), 1024, "the body is bounded")
			assert.Equal(t, tt.permanent, outbox.IsPermanent(err))
		})
	}
}

func TestSenderTimesOut(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release: // the server may not notice the client leave
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close

	err := newSender(t, srv.URL, func(c *webhook.Config) { c.Timeout = time.Millisecond }).Send(context.Background(), testEvent())
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = newSender(t, srv.URL, nil).Send(ctx, testEvent())
	assert.ErrorIs(t, err, context.Canceled)
}

func TestSenderErrorHidesCredentials(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	u := strings.Replace(srv.URL, "http://", "http://user:hunter2@", 1)

	err := newSender(t, u, nil).Send(context.Background(), testEvent())
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2")
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	secret := mustSecret(t, vectorSecret)
	tests := []struct {
		name, problem string
		cfg           webhook.Config
	}{
		{"no URL", "URL is required", webhook.Config{Secret: secret}},
		{"relative URL", "absolute http or https", webhook.Config{URL: "/hooks", Secret: secret}},
		{"other scheme", "absolute http or https", webhook.Config{URL: "ftp://example.com/", Secret: secret}},
		{"bad URL", "URL", webhook.Config{URL: "http://exa mple.com/%zz", Secret: secret}},
		{"no secret", "Secret is required", webhook.Config{URL: "https://example.com/"}},
		{"negative timeout", "Timeout", webhook.Config{URL: "https://example.com/", Secret: secret, Timeout: -1}},
	}
	for _, tt := range tests {
		_, err := webhook.New(tt.cfg)
		assert.ErrorIs(t, err, webhook.ErrInvalidConfig, tt.name)
		assert.ErrorContains(t, err, tt.problem, tt.name)
	}

	a, err := webhook.New(webhook.Config{URL: "https://example.com/a", Secret: secret})
	require.NoError(t, err)
	b, err := webhook.New(webhook.Config{URL: "https://example.com/b", Secret: secret})
	require.NoError(t, err)
	named, err := webhook.New(webhook.Config{URL: "https://example.com/a", Secret: secret, Name: "crm"})
	require.NoError(t, err)
	assert.Regexp(t, `^webhook-[0-9a-f]{12}$`, a.Subscriber().Name)
	assert.NotEqual(t, a.Subscriber().Name, b.Subscriber().Name, "one name per URL")
	assert.Equal(t, "crm", named.Subscriber().Name)
}

// receiver is a webhook endpoint that verifies what it receives.
type receiver struct {
	secret webhook.Secret
	mu     sync.Mutex
	events []event.Event
	failed []error
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = webhook.Verify(rc.secret, r.Header, body, time.Now())
	}
	var ev event.Event
	if err == nil {
		err = json.Unmarshal(body, &ev)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil {
		rc.failed = append(rc.failed, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.events = append(rc.events, ev)
}

func (rc *receiver) received() []event.Event {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]event.Event(nil), rc.events...)
}

// A relay delivers every event the invitation service records to a
// receiver that verifies each with Verify.
func TestRelayToWebhookEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := memstore.New()
	t.Cleanup(func() { _ = s.Close() })
	invitations, err := invitation.NewService(invitation.Config{Store: s, Keys: [][]byte{bytes.Repeat([]byte{7}, 32)}})
	require.NoError(t, err)
	secret := mustSecret(t, webhook.GenerateSecret())
	rc := &receiver{secret: secret}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	sender, err := webhook.New(webhook.Config{URL: srv.URL, Secret: secret})
	require.NoError(t, err)
	relay, err := outbox.New(outbox.Config{Store: s, Subscribers: []outbox.Subscriber{sender.Subscriber()},
		Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- relay.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		assert.NoError(t, <-done)
	})

	org := uuid.New()
	var want []uuid.UUID
	for i := range 5 {
		inv, err := invitations.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "dev" + string(rune('a'+i)) + "@example.com", Role: "developer"})
		require.NoError(t, err)
		_, err = invitations.Revoke(ctx, org, inv.ID)
		require.NoError(t, err)
		want = append(want, inv.ID, inv.ID)
	}

	require.Eventually(t, func() bool { return len(rc.received()) >= 10 }, 10*time.Second, time.Millisecond)
	var got []uuid.UUID
	byInvitation := make(map[uuid.UUID][]event.Type)
	for _, ev := range rc.received() {
		got = append(got, ev.InvitationID)
		byInvitation[ev.InvitationID] = append(byInvitation[ev.InvitationID], ev.Type)
	}
	assert.ElementsMatch(t, want, got)
	for inv, types := range byInvitation {
		assert.Equal(t, []event.Type{event.InvitationCreated, event.InvitationRevoked}, types, inv)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	assert.Empty(t, rc.failed)
}
