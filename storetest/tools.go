package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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
