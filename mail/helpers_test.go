package mail_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/internal/smtptest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/mail"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/outbox"
	"github.com/invitekit/invitekit/store"
)

const (
	acceptURL = "https://app.test/accept"
	from      = "Acme Invites <invites@acme.test>"
	// wait bounds how long a test waits for email that should come; it
	// only matters when something is broken.
	wait      = 20 * time.Second
	pollEvery = 5 * time.Millisecond
)

// fixture is a memstore with both services, a names directory and an
// SMTP server.
type fixture struct {
	t      testing.TB
	store  *memstore.Store
	orgs   *invitation.Service
	guests *guest.Service
	names  *names
	srv    *smtptest.Server
	org    uuid.UUID
}

// newFixture starts a plain SMTP server (no TLS) unless srv is given, and
// uses clock for the services (time.Now when nil).
func newFixture(t testing.TB, clock func() time.Time, srv *smtptest.Server) *fixture {
	t.Helper()
	s := memstore.New()
	t.Cleanup(func() { _ = s.Close() })
	key := bytes.Repeat([]byte{7}, 32)
	orgs, err := invitation.NewService(invitation.Config{Store: s, Keys: [][]byte{key}, Clock: clock})
	require.NoError(t, err)
	guests, err := guest.NewService(guest.Config{Store: s, Keys: [][]byte{key}, Clock: clock})
	require.NoError(t, err)
	if srv == nil {
		srv = smtptest.NewServer(t)
	}
	org := uuid.New()
	return &fixture{t: t, store: s, orgs: orgs, guests: guests, srv: srv, org: org,
		names: &names{orgs: map[uuid.UUID]string{org: "Acme"}, inviters: map[string]string{"user_1": "Ada Lovelace"}}}
}

// config returns a Config that sends to the fixture's server; tests change
// what they exercise.
func (f *fixture) config() mail.Config {
	return mail.Config{
		SMTP: f.srv.URL(), From: from, AcceptURL: acceptURL, Invitations: f.orgs, Guests: f.guests,
		Names: f.names, TLSConfig: f.srv.TLSConfig(), Timeout: wait,
	}
}

func (f *fixture) mailer(change func(*mail.Config)) *mail.Mailer {
	f.t.Helper()
	cfg := f.config()
	if change != nil {
		change(&cfg)
	}
	m, err := mail.New(cfg)
	require.NoError(f.t, err)
	return m
}

// run starts a relay with fast retries that delivers to subs until the
// test ends.
func (f *fixture) run(subs ...outbox.Subscriber) {
	f.t.Helper()
	r, err := outbox.New(outbox.Config{
		Store: f.store, Subscribers: subs, PollInterval: 5 * time.Millisecond,
		BackoffBase: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond, MaxAttempts: 1000,
		Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(f.t, err)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	f.t.Cleanup(func() {
		stop()
		assert.NoError(f.t, <-done)
	})
}

func (f *fixture) createOrg(email string) invitation.Invitation {
	f.t.Helper()
	inv, err := f.orgs.Create(context.Background(), invitation.CreateParams{
		OrganizationID: f.org, Email: email, Role: "developer", InviterID: "user_1"})
	require.NoError(f.t, err)
	return inv
}

func (f *fixture) createGuest(email string) guest.Invitation {
	f.t.Helper()
	inv, err := f.guests.Create(context.Background(), guest.CreateParams{
		HostOrganizationID: f.org, Email: email, ExpiredAt: f.guests.Now().Add(7 * 24 * time.Hour)})
	require.NoError(f.t, err)
	return inv
}

// events returns the fixture organization's events of typ, oldest first.
func (f *fixture) events(typ event.Type) []event.Event {
	f.t.Helper()
	evs, err := f.store.ListEvents(context.Background(), event.ListQuery{OrganizationID: f.org, Types: []event.Type{typ}, Limit: 1000})
	require.NoError(f.t, err)
	for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
		evs[i], evs[j] = evs[j], evs[i]
	}
	return evs
}

// onlyEvent returns the fixture organization's one event of typ.
func (f *fixture) onlyEvent(typ event.Type) event.Event {
	f.t.Helper()
	evs := f.events(typ)
	require.Len(f.t, evs, 1)
	return evs[0]
}

// tokenOf returns the token of m's link, which must point at acceptURL.
func tokenOf(t testing.TB, m smtptest.Message) string {
	t.Helper()
	link := m.Link()
	require.NotEmpty(t, link, "the message has a link")
	u, err := url.Parse(link)
	require.NoError(t, err)
	require.Equal(t, acceptURL, u.Scheme+"://"+u.Host+u.Path)
	tok := u.Query().Get("token")
	require.NotEmpty(t, tok)
	return tok
}

// names is a mail.Names over maps; err, when set, is every answer.
type names struct {
	mu       sync.Mutex
	orgs     map[uuid.UUID]string
	inviters map[string]string
	err      error
}

func (n *names) OrganizationName(_ context.Context, id uuid.UUID) (string, error) {
	return lookup(n, func() map[uuid.UUID]string { return n.orgs }, id)
}

func (n *names) InviterName(_ context.Context, _ uuid.UUID, id string) (string, error) {
	return lookup(n, func() map[string]string { return n.inviters }, id)
}

// lookup answers from the map m returns (read under n's lock): n.err, the
// name, or not found.
func lookup[K comparable](n *names, m func() map[K]string, k K) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.err != nil {
		return "", n.err
	}
	name, ok := m()[k]
	if !ok {
		return "", fmt.Errorf("%v: %w", k, store.ErrNotFound)
	}
	return name, nil
}

func (n *names) set(f func(n *names)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	f(n)
}
