package outbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/outbox"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/storetest"
)

// fullJitter makes every backoff its nominal delay.
func fullJitter(d time.Duration) time.Duration { return d }

// logBuffer collects log output from concurrent deliveries.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// fixture is a memstore with a fake clock, and a way to record events on it.
type fixture struct {
	t     testing.TB
	store *memstore.Store
	clock *storetest.Clock
	org   uuid.UUID
	seq   map[uuid.UUID]int // events recorded per invitation
	logs  *logBuffer
}

func newFixture(t testing.TB) *fixture {
	s := memstore.New()
	t.Cleanup(func() { _ = s.Close() })
	return &fixture{t: t, store: s, clock: storetest.NewClock(time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)), org: uuid.New(), seq: make(map[uuid.UUID]int), logs: &logBuffer{}}
}

// config returns a Config on the fixture's store and clock, with exact
// jitter, quiet logs and fast polling; tests override what they exercise.
func (f *fixture) config(subs ...outbox.Subscriber) outbox.Config {
	return outbox.Config{
		Store:        f.store,
		Subscribers:  subs,
		Owner:        "relay-" + uuid.NewString(),
		Clock:        f.clock.Now,
		Jitter:       fullJitter,
		PollInterval: time.Millisecond,
		Logger:       slog.New(slog.NewTextHandler(f.logs, nil)),
	}
}

func (f *fixture) relay(cfg outbox.Config) *outbox.Relay {
	r, err := outbox.New(cfg)
	require.NoError(f.t, err)
	return r
}

// payload is the Data of the events the fixture records.
type payload struct {
	Seq int `json:"seq"`
}

func seqOf(t testing.TB, ev event.Event) int {
	var p payload
	require.NoError(t, json.Unmarshal(ev.Data, &p))
	return p.Seq
}

// record appends n events to invitation inv, creating it with the first;
// each event's Data holds its position among the invitation's events.
func (f *fixture) record(inv uuid.UUID, n int) []event.Event {
	ctx := context.Background()
	out := make([]event.Event, 0, n)
	for range n {
		seq := f.seq[inv]
		f.seq[inv]++
		ev := f.event(inv, seq)
		now := f.clock.Now()
		if seq == 0 {
			err := f.store.CreateInvitation(ctx, invitation.Invitation{
				ID: inv, OrganizationID: f.org, Email: inv.String() + "@example.com", Role: "member",
				Status: invitation.StatusPending, CreatedAt: now, SentAt: now, ExpireAt: now.Add(24 * time.Hour),
			}, now, ev)
			require.NoError(f.t, err)
		} else {
			_, err := f.store.UpdateInvitation(ctx, f.org, inv, now, store.Limits{}, func(context.Context, *invitation.Invitation) (event.Event, error) {
				return ev, nil
			})
			require.NoError(f.t, err)
		}
		out = append(out, ev)
	}
	return out
}

func (f *fixture) event(inv uuid.UUID, seq int) event.Event {
	id, err := uuid.NewV7()
	require.NoError(f.t, err)
	data, err := json.Marshal(payload{Seq: seq})
	require.NoError(f.t, err)
	typ := event.InvitationResent
	if seq == 0 {
		typ = event.InvitationCreated
	}
	return event.Event{
		ID: id, Type: typ, OrganizationID: f.org, InvitationID: inv,
		OccurredAt: f.clock.Now().UTC().Truncate(time.Microsecond), Data: data,
	}
}

// runOnce runs one claim and returns how many events it took.
func runOnce(t testing.TB, r *outbox.Relay) int {
	n, err := r.RunOnce(context.Background())
	require.NoError(t, err)
	return n
}

// sink is a subscriber that records what it acknowledges, and fails an
// attempt when fail says so.
type sink struct {
	mu    sync.Mutex
	calls map[uuid.UUID]int
	acked []event.Event
	fail  func(ev event.Event, call int) error
}

func newSink(fail func(ev event.Event, call int) error) *sink {
	return &sink{calls: make(map[uuid.UUID]int), fail: fail}
}

func (s *sink) deliver(_ context.Context, ev event.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[ev.ID]++
	if s.fail != nil {
		if err := s.fail(ev, s.calls[ev.ID]); err != nil {
			return err
		}
	}
	s.acked = append(s.acked, ev)
	return nil
}

func (s *sink) subscriber(name string) outbox.Subscriber { return outbox.Func(name, s.deliver) }

func (s *sink) callsOf(id uuid.UUID) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[id]
}

func (s *sink) ackedEvents() []event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event.Event(nil), s.acked...)
}

// ackedCount returns how many distinct events s has acknowledged.
func (s *sink) ackedCount() int {
	seen := make(map[uuid.UUID]bool)
	for _, ev := range s.ackedEvents() {
		seen[ev.ID] = true
	}
	return len(seen)
}
