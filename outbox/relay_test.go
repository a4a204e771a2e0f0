package outbox_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/outbox"
	"github.com/invitekit/invitekit/store"
)

var errBoom = errors.New("boom")

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ok := newSink(nil).subscriber("ok")
	tests := []struct {
		name   string
		change func(*outbox.Config)
		field  string
	}{
		{"no store", func(c *outbox.Config) { c.Store = nil }, "Store"},
		{"no subscribers", func(c *outbox.Config) { c.Subscribers = nil }, "Subscribers"},
		{"empty name", func(c *outbox.Config) { c.Subscribers = []outbox.Subscriber{outbox.Func("", ok.Deliver)} }, "Subscribers[0].Name"},
		{"comma", func(c *outbox.Config) { c.Subscribers = []outbox.Subscriber{outbox.Func("a,b", ok.Deliver)} }, "comma"},
		{"long name", func(c *outbox.Config) {
			c.Subscribers = []outbox.Subscriber{outbox.Func(string(make([]byte, 101)), ok.Deliver)}
		}, "longer than 100"},
		{"duplicate", func(c *outbox.Config) { c.Subscribers = []outbox.Subscriber{ok, ok} }, "Subscribers[1].Name"},
		{"nil deliver", func(c *outbox.Config) { c.Subscribers = []outbox.Subscriber{{Name: "x"}} }, "Subscribers[0].Deliver"},
		{"timeout not below lease", func(c *outbox.Config) { c.Lease = time.Second; c.Timeout = time.Second }, "Timeout"},
		{"default timeout above lease", func(c *outbox.Config) { c.Lease = 5 * time.Second }, "Timeout"},
		{"negative workers", func(c *outbox.Config) { c.Workers = -1 }, "Workers"},
		{"negative poll", func(c *outbox.Config) { c.PollInterval = -time.Second }, "PollInterval"},
		{"max below base", func(c *outbox.Config) { c.BackoffBase = time.Minute; c.BackoffMax = time.Second }, "BackoffMax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := f.config(ok)
			tt.change(&cfg)
			_, err := outbox.New(cfg)
			require.ErrorIs(t, err, outbox.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.field)
		})
	}

	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		r, err := outbox.New(outbox.Config{Store: f.store, Subscribers: []outbox.Subscriber{ok}})
		require.NoError(t, err)
		assert.NotEmpty(t, r.Owner())
	})
}

func TestRunOnceDeliversToEverySubscriber(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a, b := newSink(nil), newSink(nil)
	r := f.relay(f.config(a.subscriber("a"), b.subscriber("b")))
	var want []uuid.UUID
	for range 3 {
		want = append(want, f.record(uuid.New(), 1)[0].ID)
	}

	assert.Equal(t, 3, runOnce(t, r))
	assert.Equal(t, 0, runOnce(t, r), "delivered events are not claimed again")
	for _, s := range []*sink{a, b} {
		var got []uuid.UUID
		for _, ev := range s.ackedEvents() {
			got = append(got, ev.ID)
		}
		assert.ElementsMatch(t, want, got)
	}
}

// Events of one invitation reach a subscriber strictly in order, even when
// some attempts fail and are retried: a later event is not even tried
// before the one before it is acknowledged.
func TestOrderPerInvitationWithFailures(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var tried []event.Event // every call, failed or not, in call order
	s := newSink(func(ev event.Event, call int) error {
		tried = append(tried, ev)
		if seqOf(t, ev)%2 == 0 && call < 3 {
			return errBoom
		}
		return nil
	})
	cfg := f.config(s.subscriber("s"))
	cfg.Workers = 1
	r := f.relay(cfg)
	invs := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	for _, inv := range invs {
		f.record(inv, 5)
	}

	for range 100 {
		if runOnce(t, r) == 0 {
			f.clock.Advance(outbox.DefaultBackoffMax)
			if runOnce(t, r) == 0 {
				break
			}
		}
	}

	require.Equal(t, 15, s.ackedCount())
	for _, inv := range invs {
		assert.Equal(t, []int{0, 1, 2, 3, 4}, seqsOf(t, s.ackedEvents(), inv), "acknowledged in order")
		assert.IsNonDecreasing(t, seqsOf(t, tried, inv), "never tried ahead of an unacknowledged event")
	}
}

func seqsOf(t *testing.T, evs []event.Event, inv uuid.UUID) []int {
	var out []int
	for _, ev := range evs {
		if ev.InvitationID == inv {
			out = append(out, seqOf(t, ev))
		}
	}
	return out
}

// The retry schedule doubles from BackoffBase, is capped at BackoffMax and
// keeps half of each delay fixed; the event is due not a microsecond
// earlier. After MaxAttempts failed attempts the event is dead.
func TestRetryBackoffSchedule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		jitter func(time.Duration) time.Duration
		delays []time.Duration
	}{
		{"most jitter", fullJitter, []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}},
		{"no jitter", func(time.Duration) time.Duration { return 0 }, []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 2500 * time.Millisecond, 2500 * time.Millisecond}},
		{"out-of-range jitter is clamped", func(d time.Duration) time.Duration { return 10 * d }, []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			s := newSink(func(event.Event, int) error { return errBoom })
			cfg := f.config(s.subscriber("flaky"))
			cfg.BackoffBase, cfg.BackoffMax, cfg.MaxAttempts, cfg.Jitter = time.Second, 5*time.Second, 6, tt.jitter
			r := f.relay(cfg)
			ev := f.record(uuid.New(), 1)[0]

			require.Equal(t, 1, runOnce(t, r))
			for i, d := range tt.delays {
				f.clock.Advance(d - time.Microsecond)
				require.Equal(t, 0, runOnce(t, r), "retry %d is not due before %v", i+1, d)
				f.clock.Advance(time.Microsecond)
				require.Equal(t, 1, runOnce(t, r), "retry %d is due after %v", i+1, d)
			}
			f.clock.Advance(time.Hour)
			assert.Equal(t, 0, runOnce(t, r), "dead after MaxAttempts")
			assert.Equal(t, 6, s.callsOf(ev.ID))

			dead, next, err := r.Dead(context.Background(), "", 10)
			require.NoError(t, err)
			assert.Empty(t, next)
			require.Len(t, dead, 1)
			assert.Equal(t, ev.ID, dead[0].Event.ID)
			assert.Equal(t, outbox.StateDead, dead[0].State)
			assert.Equal(t, 6, dead[0].Attempts)
			assert.Equal(t, "flaky: boom", dead[0].LastError)
			assert.Contains(t, f.logs.String(), "event_id="+ev.ID.String())
			assert.Contains(t, f.logs.String(), "subscriber=flaky attempt=6")
		})
	}
}

// A Permanent error makes the event dead at once, and a dead event stops
// holding its invitation's later events back.
func TestPermanentErrorGoesDeadAtOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := newSink(func(ev event.Event, _ int) error {
		if seqOf(t, ev) == 0 {
			return outbox.Permanent(errBoom)
		}
		return nil
	})
	r := f.relay(f.config(s.subscriber("s")))
	evs := f.record(uuid.New(), 2)

	require.Equal(t, 1, runOnce(t, r))
	dead, _, err := r.Dead(context.Background(), "", 10)
	require.NoError(t, err)
	require.Len(t, dead, 1)
	assert.Equal(t, evs[0].ID, dead[0].Event.ID)
	assert.Equal(t, 1, dead[0].Attempts)
	assert.Equal(t, "s: permanent: boom", dead[0].LastError)

	require.Equal(t, 1, runOnce(t, r), "the next event is due")
	assert.Equal(t, evs[1].ID, s.ackedEvents()[0].ID)
}

func TestRetryRedeliversDeadEvent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	acked := newSink(nil)
	failing := newSink(func(_ event.Event, call int) error {
		if call == 1 {
			return outbox.Permanent(errBoom)
		}
		return nil
	})
	r := f.relay(f.config(acked.subscriber("acked"), failing.subscriber("failing")))
	ev := f.record(uuid.New(), 1)[0]
	require.Equal(t, 1, runOnce(t, r))
	require.Equal(t, 0, runOnce(t, r))

	require.NoError(t, r.Retry(context.Background(), ev.ID))
	require.Equal(t, 1, runOnce(t, r))
	assert.Equal(t, 1, failing.ackedCount())
	assert.Equal(t, 1, acked.callsOf(ev.ID), "the subscriber that acknowledged is not called again")
	dead, _, err := r.Dead(context.Background(), "", 10)
	require.NoError(t, err)
	assert.Empty(t, dead)

	err = r.Retry(context.Background(), ev.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "a delivered event is not dead")
	assert.ErrorIs(t, r.Retry(context.Background(), uuid.New()), store.ErrNotFound)
}

func TestAckedSubscriberIsNotCalledAgain(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	good := newSink(nil)
	flaky := newSink(func(_ event.Event, call int) error {
		if call < 3 {
			return errBoom
		}
		return nil
	})
	r := f.relay(f.config(good.subscriber("good"), flaky.subscriber("flaky")))
	ev := f.record(uuid.New(), 1)[0]

	for range 3 {
		require.Equal(t, 1, runOnce(t, r))
		f.clock.Advance(time.Hour)
	}
	assert.Equal(t, 0, runOnce(t, r))
	assert.Equal(t, 1, good.callsOf(ev.ID))
	assert.Equal(t, 3, flaky.callsOf(ev.ID))
}

func TestSubscriberPanicIsAFailedAttempt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := newSink(func(_ event.Event, call int) error {
		if call == 1 {
			panic("bad subscriber")
		}
		return nil
	})
	r := f.relay(f.config(s.subscriber("s")))
	ev := f.record(uuid.New(), 1)[0]

	require.Equal(t, 1, runOnce(t, r))
	assert.Contains(t, f.logs.String(), "panicked: bad subscriber")
	f.clock.Advance(time.Hour)
	require.Equal(t, 1, runOnce(t, r))
	assert.Equal(t, 2, s.callsOf(ev.ID))
	assert.Equal(t, 1, s.ackedCount())
}

func TestDeadPages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := newSink(func(event.Event, int) error { return outbox.Permanent(errBoom) })
	r := f.relay(f.config(s.subscriber("s")))
	var want []uuid.UUID
	for range 5 {
		want = append(want, f.record(uuid.New(), 1)[0].ID)
		f.clock.Advance(time.Second)
	}
	require.Equal(t, 5, runOnce(t, r))

	var got []uuid.UUID
	cursor, pages := "", 0
	for {
		dead, next, err := r.Dead(context.Background(), cursor, 2)
		require.NoError(t, err)
		pages++
		for _, d := range dead {
			got = append(got, d.Event.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	assert.Equal(t, want, got)
	assert.Equal(t, 3, pages)

	_, _, err := r.Dead(context.Background(), "not a cursor", 2)
	assert.ErrorIs(t, err, store.ErrInvalidCursor)
	for _, limit := range []int{0, -1, outbox.MaxDeadLimit + 1} {
		_, _, err := r.Dead(context.Background(), "", limit)
		assert.ErrorIs(t, err, outbox.ErrInvalidLimit)
	}
}

// A relay that crashed mid-delivery holds its lease until it expires; then
// another relay delivers the event, and the crashed one cannot settle it.
func TestExpiredLeaseIsRedelivered(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := newSink(nil)
	r := f.relay(f.config(s.subscriber("s")))
	ev := f.record(uuid.New(), 1)[0]
	ctx := context.Background()
	claimed, err := f.store.ClaimEvents(ctx, "crashed", f.clock.Now(), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 1)

	f.clock.Advance(time.Minute - time.Microsecond)
	assert.Equal(t, 0, runOnce(t, r), "the lease holds")
	f.clock.Advance(time.Microsecond)
	assert.Equal(t, 1, runOnce(t, r))
	assert.Equal(t, 1, s.ackedCount())

	err = f.store.SettleEvent(ctx, "crashed", outbox.Outcome{EventID: ev.ID, State: outbox.StatePending})
	assert.ErrorIs(t, err, outbox.ErrLeaseLost)
}

// A relay whose lease ran out during a delivery drops its settlement: the
// relay that claimed the event next settles it.
func TestLostLeaseSettlementIsDropped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	started, release := make(chan struct{}), make(chan struct{})
	slow := outbox.Func("slow", func(context.Context, event.Event) error {
		close(started)
		<-release
		return nil
	})
	cfg := f.config(slow)
	cfg.Lease, cfg.Timeout = 2*time.Second, time.Second
	r := f.relay(cfg)
	ev := f.record(uuid.New(), 1)[0]
	ctx := context.Background()

	done := make(chan int)
	go func() { done <- runOnce(t, r) }()
	<-started
	f.clock.Advance(2 * time.Second)
	claimed, err := f.store.ClaimEvents(ctx, "thief", f.clock.Now(), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	close(release)
	assert.Equal(t, 1, <-done)
	assert.Contains(t, f.logs.String(), "lease lost")

	err = f.store.SettleEvent(ctx, "thief", outbox.Outcome{EventID: ev.ID, State: outbox.StateDelivered})
	assert.NoError(t, err, "the thief still holds the lease")
}

// A delivery that could outlast the lease is not started: the event goes
// back, due at once and without a failure, for the next claim.
func TestDeliveryNotStartedWhenLeaseWouldEnd(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := newSink(func(event.Event, int) error {
		f.clock.Advance(1500 * time.Millisecond)
		return nil
	})
	cfg := f.config(s.subscriber("s"))
	cfg.Lease, cfg.Timeout, cfg.Workers = 2*time.Second, time.Second, 1
	r := f.relay(cfg)
	f.record(uuid.New(), 1)
	f.record(uuid.New(), 1)

	require.Equal(t, 2, runOnce(t, r))
	assert.Equal(t, 1, s.ackedCount())
	require.Equal(t, 1, runOnce(t, r), "due again at once")
	assert.Equal(t, 2, s.ackedCount())
	assert.NotContains(t, f.logs.String(), "delivery failed")
}

// A delivery the relay never started (the lease would have ended first)
// does not count as an attempt: one real failure of MaxAttempts 2 leaves
// the event pending.
func TestUntriedDeliveryIsNotAnAttempt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var mu sync.Mutex
	first := true
	s := newSink(func(ev event.Event, call int) error {
		mu.Lock()
		defer mu.Unlock()
		if first { // slow: the other event's delivery is not started
			first = false
			f.clock.Advance(1500 * time.Millisecond)
			return nil
		}
		return errors.New("receiver down")
	})
	cfg := f.config(s.subscriber("s"))
	cfg.Lease, cfg.Timeout, cfg.Workers, cfg.MaxAttempts = 2*time.Second, time.Second, 1, 2
	r := f.relay(cfg)
	f.record(uuid.New(), 1)
	f.record(uuid.New(), 1)
	require.Equal(t, 2, runOnce(t, r), "one delivered, one put back untried")
	require.Equal(t, 1, runOnce(t, r), "the first real attempt fails")
	dead, _, err := r.Dead(t.Context(), "", 10)
	require.NoError(t, err)
	assert.Empty(t, dead, "one failed attempt of MaxAttempts 2 does not make the event dead")
}

// A subscriber that refuses an event for good ends it only when no other
// subscriber still waits for it.
func TestPermanentRefusalSparesOtherSubscribers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	gone := newSink(func(event.Event, int) error { return outbox.Permanent(errors.New("410 gone")) })
	var down atomic.Bool
	down.Store(true)
	flaky := newSink(func(event.Event, int) error {
		if down.Load() {
			return errors.New("receiver down")
		}
		return nil
	})
	r := f.relay(f.config(gone.subscriber("gone"), flaky.subscriber("flaky")))
	f.record(uuid.New(), 1)
	require.Equal(t, 1, runOnce(t, r))
	dead, _, err := r.Dead(t.Context(), "", 10)
	require.NoError(t, err)
	assert.Empty(t, dead, "flaky still waits for the event")

	down.Store(false)
	f.clock.Advance(time.Hour)
	require.Equal(t, 1, runOnce(t, r))
	dead, _, err = r.Dead(t.Context(), "", 10)
	require.NoError(t, err)
	require.Len(t, dead, 1, "now only the gone subscriber misses it")
	assert.Equal(t, []string{"flaky"}, dead[0].Acked)
}
