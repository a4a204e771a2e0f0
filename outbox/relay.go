package outbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/invitekit/invitekit/event"
)

// ErrRunning reports a call of Run on a Relay whose Run has not returned.
var ErrRunning = errors.New("outbox: relay is already running")

// maxErrorLen bounds the error text kept with an event, which a store keeps
// in a column and a dead-letter listing shows.
const maxErrorLen = 2048

// Relay delivers the events of a Store to subscribers. It starts no
// goroutine until Run or RunOnce is called. It is safe for concurrent use.
type Relay struct {
	cfg     Config
	running atomic.Bool
	// slots bounds the deliveries under way at once, across batches.
	slots chan struct{}
	// kick wakes a waiting Run when Retry makes an event due: the store
	// need not announce it.
	kick    chan struct{}
	metrics *metrics
}

// New checks cfg, fills in its defaults and returns a Relay. Errors wrap
// ErrInvalidConfig and name the field at fault.
func New(cfg Config) (*Relay, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.Subscribers = slices.Clone(cfg.Subscribers)
	m, err := newMetrics(cfg.MeterProvider)
	if err != nil {
		return nil, err
	}
	return &Relay{
		cfg:     cfg,
		slots:   make(chan struct{}, cfg.Workers),
		kick:    make(chan struct{}, 1),
		metrics: m,
	}, nil
}

// Owner returns the name under which the relay holds its leases.
func (r *Relay) Owner() string { return r.cfg.Owner }

// Run delivers events until ctx ends, then returns nil: stopping is not a
// failure. It claims a batch, delivers and settles it, and claims again at
// once if the batch held anything; once a claim finds nothing due it waits
// for a wake-up from the store (when it implements Listener), a Retry, or
// PollInterval.
//
// Store errors are logged and retried after the same wait; they never end
// Run. When ctx ends, Run claims nothing more and waits for the deliveries
// under way, which run on a context that is not cancelled with ctx but
// ends after Timeout, and records their outcomes, which may take as long
// again: so Run returns within about twice Timeout, provided subscribers
// honour their context. Deliveries not yet started are put back, due at
// once for any relay.
//
// While Run runs, metrics collections read the store's delivery lag and
// dead events (see the package documentation, Metrics).
//
// A Relay runs once at a time: a second Run while one is under way returns
// ErrRunning.
func (r *Relay) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer r.running.Store(false)
	unobserve := r.observeStore(ctx)
	defer unobserve()
	wake := r.listen(ctx)
	for ctx.Err() == nil {
		n, err := r.RunOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			r.cfg.Logger.ErrorContext(ctx, "outbox: claim failed; retrying after a pause", "owner", r.cfg.Owner, "error", err)
		case err == nil && n > 0:
			// More may be due now: the rest of a full batch, or the
			// next events of the invitations just settled, which no
			// wake-up announces.
			continue
		}
		wake = r.wait(ctx, wake)
	}
	return nil
}

// RunOnce claims one batch of due events, delivers each to the subscribers
// that have not acknowledged it, settles them, and returns how many events
// it claimed. Run calls it in a loop; an application that schedules its own
// work (a cron job, a test) may call it directly, but not while Run runs on
// the same Relay: both would settle under one owner. It fails only when the
// claim does: delivery failures are recorded with their events, and a
// settlement that fails is logged.
func (r *Relay) RunOnce(ctx context.Context) (int, error) {
	now := r.now()
	batch, err := r.cfg.Store.ClaimEvents(ctx, r.cfg.Owner, now, r.cfg.Lease, r.cfg.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("outbox: claim events: %w", err)
	}
	leaseEnd := now.Add(r.cfg.Lease)
	// The events of one batch belong to distinct invitations (the store
	// hands out one event per invitation at a time), so they may go
	// concurrently without breaking the order within an invitation.
	var wg sync.WaitGroup
	for _, d := range batch {
		wg.Go(func() { r.handle(ctx, d, leaseEnd) })
	}
	wg.Wait()
	return len(batch), nil
}

// result is what became of one delivery of an event to one subscriber.
type result struct {
	sub Subscriber
	err error
	// skipped: the delivery did not start, because the relay is stopping
	// or the lease would end before the delivery's timeout.
	skipped bool
}

// handle delivers one claimed event and settles it.
func (r *Relay) handle(ctx context.Context, d Delivery, leaseEnd time.Time) {
	results := r.deliverAll(ctx, d, leaseEnd)
	o := r.outcome(ctx, d, results)
	if r.settle(ctx, o) {
		r.metrics.settled(ctx, d.Event.Type, o, o.Attempts > d.Attempts)
	}
}

// deliverAll delivers d to every subscriber that has not acknowledged it,
// concurrently within the relay's Workers bound.
func (r *Relay) deliverAll(ctx context.Context, d Delivery, leaseEnd time.Time) []result {
	var results []result
	for _, s := range r.cfg.Subscribers {
		if !slices.Contains(d.Acked, s.Name) {
			results = append(results, result{sub: s})
		}
	}
	var wg sync.WaitGroup
	for i := range results {
		if !r.acquire(ctx) {
			results[i].skipped = true
			continue
		}
		// A delivery that, with its settlement, could outlast the lease
		// might overlap another relay's delivery of the same event: leave
		// it to the next claim.
		if r.now().Add(2 * r.cfg.Timeout).After(leaseEnd) {
			r.release()
			results[i].skipped = true
			continue
		}
		wg.Go(func() {
			defer r.release()
			results[i].err = r.deliver(ctx, results[i].sub, d.Event)
		})
	}
	wg.Wait()
	return results
}

// acquire takes a delivery slot, or reports false when ctx ends first.
func (r *Relay) acquire(ctx context.Context) bool {
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	if ctx.Err() != nil { // both were ready and the slot won
		r.release()
		return false
	}
	return true
}

func (r *Relay) release() { <-r.slots }

// deliver calls one subscriber. Its context outlives ctx, so that a
// delivery under way at shutdown can finish (within Timeout) and be
// recorded rather than repeated. A panic is a failed attempt: one bad
// event must not take the application down.
func (r *Relay) deliver(ctx context.Context, s Subscriber, ev event.Event) (err error) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.Timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("outbox: subscriber panicked: %v", p)
		}
	}()
	return s.Deliver(dctx, cloneEvent(ev))
}

// cloneEvent gives each subscriber its own copy, since subscribers of one
// event run concurrently.
func cloneEvent(ev event.Event) event.Event {
	ev.Data = slices.Clone(ev.Data)
	if ev.ActorID != nil {
		a := *ev.ActorID
		ev.ActorID = &a
	}
	return ev
}

// outcome decides what the results of one attempt make of an event, and
// logs each failure.
func (r *Relay) outcome(ctx context.Context, d Delivery, results []result) Outcome {
	now := r.now()
	o := Outcome{EventID: d.Event.ID, Acked: slices.Clone(d.Acked), Attempts: d.Attempts}
	attempt := d.Attempts + 1
	var errs []error
	// permanent: every subscriber that failed did so for good.
	permanent, skipped, tried := true, false, false
	for _, res := range results {
		switch {
		case res.skipped:
			skipped = true
			continue
		case res.err == nil:
			o.Acked = append(o.Acked, res.sub.Name)
		default:
			permanent = permanent && IsPermanent(res.err)
			errs = append(errs, fmt.Errorf("%s: %w", res.sub.Name, res.err))
			r.cfg.Logger.WarnContext(ctx, "outbox: delivery failed", "event_id", d.Event.ID,
				"event_type", d.Event.Type, "subscriber", res.sub.Name, "attempt", attempt, "error", res.err)
		}
		tried = true
	}
	if tried {
		// Only an attempt that called a subscriber counts: an event put
		// back untried (at shutdown, near the lease's end) keeps its
		// count.
		o.Attempts = attempt
	}
	failed := len(errs) > 0
	if failed {
		o.Error = truncate(errors.Join(errs...).Error(), maxErrorLen)
	}
	// A permanent refusal ends the event only when no other subscriber
	// still waits for it: one receiver that is gone must not cost the
	// others their delivery.
	permanent = failed && permanent && !skipped
	switch {
	case !failed && !skipped:
		o.State = StateDelivered
	case permanent || (failed && attempt >= r.cfg.MaxAttempts):
		o.State = StateDead
		r.cfg.Logger.ErrorContext(ctx, "outbox: event is dead", "event_id", d.Event.ID,
			"event_type", d.Event.Type, "attempt", attempt, "permanent", permanent, "error", o.Error)
	case failed:
		o.State, o.NextAttemptAt = StatePending, now.Add(r.backoff(attempt))
	default: // only skipped: nothing failed, so no backoff
		o.State, o.NextAttemptAt = StatePending, now
	}
	return o
}

// backoff returns the delay after failed attempt n (1 for the first):
// BackoffBase doubled n-1 times, capped at BackoffMax, with equal jitter
// (half fixed, half random), so retries spread out yet never come sooner
// than half the nominal delay.
func (r *Relay) backoff(n int) time.Duration {
	d := r.cfg.BackoffBase
	for i := 1; i < n && d < r.cfg.BackoffMax; i++ {
		if d > r.cfg.BackoffMax/2 { // doubling would pass the cap, or overflow
			d = r.cfg.BackoffMax
			break
		}
		d *= 2
	}
	d = min(d, r.cfg.BackoffMax)
	half := d / 2
	return d - half + min(max(r.cfg.Jitter(half), 0), half)
}

// settle records o and reports whether the store took it. Its context
// outlives ctx, so that what finished during shutdown is recorded.
func (r *Relay) settle(ctx context.Context, o Outcome) bool {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.Timeout)
	defer cancel()
	err := r.cfg.Store.SettleEvent(sctx, r.cfg.Owner, o)
	switch {
	case errors.Is(err, ErrLeaseLost):
		// Another relay claimed the event after our lease ended; its
		// settlement counts, ours is dropped.
		r.cfg.Logger.WarnContext(ctx, "outbox: lease lost before settling; outcome dropped",
			"event_id", o.EventID, "owner", r.cfg.Owner, "state", o.State)
	case err != nil:
		r.cfg.Logger.ErrorContext(ctx, "outbox: settle failed; the event is retried when its lease ends",
			"event_id", o.EventID, "owner", r.cfg.Owner, "state", o.State, "error", err)
	}
	return err == nil
}

// listen subscribes to the store's wake-ups, or returns nil (poll only)
// when the store has none or cannot listen now.
func (r *Relay) listen(ctx context.Context) <-chan struct{} {
	l, ok := r.cfg.Store.(Listener)
	if !ok {
		return nil
	}
	ch, err := l.ListenEvents(ctx)
	if err != nil {
		r.cfg.Logger.WarnContext(ctx, "outbox: cannot listen for events; polling only", "error", err)
		return nil
	}
	return ch
}

// wait blocks until ctx ends, PollInterval passes, Retry kicks, or the
// store wakes the relay. It returns the wake-up channel to use next: nil
// once the store has closed it.
func (r *Relay) wait(ctx context.Context, wake <-chan struct{}) <-chan struct{} {
	t := time.NewTimer(r.cfg.PollInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-r.kick:
	case _, ok := <-wake:
		if !ok {
			r.cfg.Logger.WarnContext(ctx, "outbox: event wake-ups ended; polling only")
			return nil
		}
	}
	return wake
}

func (r *Relay) now() time.Time { return r.cfg.Clock().UTC().Truncate(time.Microsecond) }

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
