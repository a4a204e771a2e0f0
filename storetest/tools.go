package storetest

import (
	"context"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/invitekit/invitekit/store"
)

// Clock is a settable clock for tests, safe for concurrent use. Pass its
// Now method as a service's Config.Clock; several services (one per
// simulated application instance) may share one.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock that reads t until it is set or advanced.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Race runs f(0) to f(n-1) on n goroutines released at the same instant,
// so they contend for whatever they touch, and returns their errors in
// order.
func Race(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-gate
			errs[i] = f(i)
		}()
	}
	ready.Wait()
	close(gate)
	done.Wait()
	return errs
}

// OneWinner asserts that exactly one of errs is nil, as when racers contend
// for one record, and that every other one is loser (by errors.Is).
func OneWinner(t *testing.T, errs []error, loser error) {
	t.Helper()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
			continue
		}
		assert.ErrorIs(t, err, loser)
	}
	assert.Equal(t, 1, wins, "exactly one of %d succeeds", len(errs))
}

// SweepAll calls sweep until a call says there is no more to do, and
// returns what the calls did in all and the most heap memory the process
// held in objects meanwhile (runtime/metrics, sampled every millisecond
// without stopping the world): a benchmark's measure of a sweep whose
// calls must each work in bounded memory.
func SweepAll(ctx context.Context, sweep func(context.Context) (store.SweepResult, error)) (store.SweepResult, uint64, error) {
	var total store.SweepResult
	var peak atomic.Uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	finish := func(err error) (store.SweepResult, uint64, error) {
		close(done)
		<-sampled
		return total, peak.Load(), err
	}
	for {
		res, err := sweep(ctx)
		if err != nil {
			return finish(err)
		}
		total.Expired += res.Expired
		total.Purged += res.Purged
		if !res.More {
			return finish(nil)
		}
	}
}
