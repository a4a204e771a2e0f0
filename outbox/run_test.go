package outbox_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/outbox"
)

// waitLimit bounds how long a test waits for something that should happen
// at once; reaching it is a failure, never a measurement.
const waitLimit = 10 * time.Second

// start runs r in the background and returns a function that stops it and
// returns Run's result.
func start(t *testing.T, r *outbox.Relay) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(waitLimit):
				// Errorf, not Fatal: stop may run on another goroutine.
				err = errors.New("run did not return after cancel")
				t.Error(err)
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// waitFor waits until cond holds.
func waitFor(t *testing.T, msg string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, waitLimit, time.Millisecond, msg)
}

// received returns a subscriber that sends each event it gets on a channel.
func received(name string) (outbox.Subscriber, <-chan event.Event) {
	ch := make(chan event.Event, 100)
	return outbox.Func(name, func(_ context.Context, ev event.Event) error {
		ch <- ev
		return nil
	}), ch
}

func receive(t *testing.T, ch <-chan event.Event) event.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(waitLimit):
		t.Fatal("no delivery")
		return event.Event{}
	}
}

// Two relays on one store share the work: every event is delivered, none
// twice, each invitation's in order.
func TestTwoRelaysNeverDeliverTwice(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := newSink(nil)
	var invs []uuid.UUID
	for range 40 {
		inv := uuid.New()
		invs = append(invs, inv)
		f.record(inv, 5)
	}
	for range 2 {
		cfg := f.config(s.subscriber("s"))
		cfg.Clock, cfg.BatchSize, cfg.Workers = time.Now, 7, 4
		start(t, f.relay(cfg))
	}
	waitFor(t, "all 200 events delivered", func() bool { return s.ackedCount() == 200 })

	assert.Len(t, s.ackedEvents(), 200, "no event twice")
	for _, inv := range invs {
		assert.Equal(t, []int{0, 1, 2, 3, 4}, seqsOf(t, s.ackedEvents(), inv))
	}
}

// With failures and retries under Run, every event still arrives, in order.
func TestRunRetriesUntilDelivered(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := newSink(func(ev event.Event, call int) error {
		if call == 1 && seqOf(t, ev)%2 == 1 {
			return errBoom
		}
		return nil
	})
	cfg := f.config(s.subscriber("s"))
	cfg.Clock, cfg.BackoffBase, cfg.BackoffMax = time.Now, time.Millisecond, time.Millisecond
	var invs []uuid.UUID
	for range 10 {
		inv := uuid.New()
		invs = append(invs, inv)
		f.record(inv, 4)
	}
	start(t, f.relay(cfg))
	waitFor(t, "all 40 events delivered", func() bool { return s.ackedCount() == 40 })
	for _, inv := range invs {
		assert.Equal(t, []int{0, 1, 2, 3}, seqsOf(t, s.ackedEvents(), inv))
	}
}

// On cancel, Run claims nothing more, lets the delivery under way finish,
// records it, and returns nil. A second Run while one runs is refused.
func TestRunStopsAfterInFlightDelivery(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	started, release := make(chan struct{}), make(chan struct{})
	ctxErr := make(chan error, 1)
	slow := outbox.Func("slow", func(ctx context.Context, _ event.Event) error {
		close(started)
		<-release
		ctxErr <- ctx.Err() // nil: not cancelled with Run
		return nil
	})
	r := f.relay(f.config(slow))
	f.record(uuid.New(), 1)
	stop := start(t, r)
	<-started

	assert.ErrorIs(t, r.Run(context.Background()), outbox.ErrRunning)
	stopped := make(chan error)
	go func() { stopped <- stop() }()
	close(release)
	require.NoError(t, <-stopped)
	assert.NoError(t, <-ctxErr)

	f.clock.Advance(24 * time.Hour)
	assert.Equal(t, 0, runOnce(t, r), "settled as delivered, not pending a retry")
	assert.NotContains(t, f.logs.String(), "delivery failed")
}

// Deliveries still waiting for a worker when Run stops are not started:
// their events go back, due at once, without counting as failures.
func TestRunPutsBackUnstartedDeliveries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	started, release := make(chan struct{}, 2), make(chan struct{})
	var calls atomic.Int32
	slow := outbox.Func("slow", func(context.Context, event.Event) error {
		calls.Add(1)
		started <- struct{}{}
		<-release
		return nil
	})
	cfg := f.config(slow)
	cfg.Workers = 1
	r := f.relay(cfg)
	f.record(uuid.New(), 1)
	f.record(uuid.New(), 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	<-started

	cancel() // before the slot frees, so the other delivery cannot start
	close(release)
	require.NoError(t, <-done)
	require.Equal(t, int32(1), calls.Load())

	assert.Equal(t, 1, runOnce(t, r), "the other event is due at once")
	assert.Equal(t, int32(2), calls.Load())
	assert.NotContains(t, f.logs.String(), "delivery failed")
}

// Wake-ups from the store start delivery without waiting for a poll.
func TestListenerWakesRelay(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sub, ch := received("s")
	cfg := f.config(sub)
	cfg.PollInterval = time.Hour
	start(t, f.relay(cfg))

	for i := range 3 {
		ev := f.record(uuid.New(), 1)[0]
		assert.Equal(t, ev.ID, receive(t, ch).ID, "event %d", i)
	}
	// An invitation's later events become due as each settles, which no
	// wake-up announces: the relay claims again without waiting.
	for _, ev := range f.record(uuid.New(), 3) {
		assert.Equal(t, ev.ID, receive(t, ch).ID)
	}
}

// Retry wakes its running relay: no poll is needed to redeliver.
func TestRetryWakesRunningRelay(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var calls atomic.Int32
	ch := make(chan event.Event, 1)
	sub := outbox.Func("s", func(_ context.Context, ev event.Event) error {
		if calls.Add(1) == 1 {
			return outbox.Permanent(errBoom)
		}
		ch <- ev
		return nil
	})
	cfg := f.config(sub)
	cfg.PollInterval = time.Hour
	r := f.relay(cfg)
	start(t, r)
	ev := f.record(uuid.New(), 1)[0]
	waitFor(t, "event dead", func() bool {
		dead, _, err := r.Dead(context.Background(), "", 1)
		return err == nil && len(dead) == 1
	})

	require.NoError(t, r.Retry(context.Background(), ev.ID))
	assert.Equal(t, ev.ID, receive(t, ch).ID)
}

// flakyStore fails the first claims and cannot listen.
type flakyStore struct {
	*memstore.Store
	claimFailures atomic.Int32
}

func (s *flakyStore) ClaimEvents(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]outbox.Delivery, error) {
	if s.claimFailures.Add(-1) >= 0 {
		return nil, errors.New("database unavailable")
	}
	return s.Store.ClaimEvents(ctx, owner, now, lease, limit)
}

func (s *flakyStore) ListenEvents(context.Context) (<-chan struct{}, error) {
	return nil, errors.New("no notifications")
}

// Store errors are logged and retried; a store that cannot listen is
// polled.
func TestStoreErrorsAreRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	fs := &flakyStore{Store: f.store}
	fs.claimFailures.Store(3)
	sub, ch := received("s")
	cfg := f.config(sub)
	cfg.Store = fs
	f.record(uuid.New(), 1)
	start(t, f.relay(cfg))

	receive(t, ch)
	logs := f.logs.String()
	assert.Contains(t, logs, "cannot listen for events; polling only")
	assert.Contains(t, logs, "claim failed")
	assert.Contains(t, logs, "database unavailable")
}

// Run leaves no goroutine behind. Not parallel: it counts the process's
// goroutines, which parallel tests would disturb.
func TestRunLeavesNoGoroutines(t *testing.T) {
	f := newFixture(t)
	before := runtime.NumGoroutine()
	sub, ch := received("s")
	stop := start(t, f.relay(f.config(sub)))
	for range 3 {
		f.record(uuid.New(), 1)
	}
	for range 3 {
		receive(t, ch)
	}
	require.NoError(t, stop())
	// Polled by hand: require.Eventually checks from a goroutine of its
	// own, which the count would include.
	deadline := time.Now().Add(waitLimit)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after Run, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
