package outbox

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/invitekit/invitekit/event"
)

// meterName is the instrumentation scope of the relay's instruments.
const meterName = "github.com/invitekit/invitekit/outbox"

// statsTimeout bounds one StatsReader.OutboxStats call of a metrics
// collection, whose own context (a Prometheus scrape's, say) may have none.
const statsTimeout = 5 * time.Second

// The outcome attribute values of invitekit.outbox.events.
const (
	outcomeDelivered = "delivered"
	outcomeRetry     = "retry"
	outcomeDead      = "dead"
)

// metrics are a relay's instruments (see the package documentation,
// Metrics).
type metrics struct {
	meter  metric.Meter
	events metric.Int64Counter
	lag    metric.Float64ObservableGauge
	dead   metric.Int64ObservableGauge
}

func newMetrics(mp metric.MeterProvider) (*metrics, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := &metrics{meter: mp.Meter(meterName)}
	var err error
	if m.events, err = m.meter.Int64Counter("invitekit.outbox.events",
		metric.WithUnit("{event}"),
		metric.WithDescription("Events the relay settled, by event type and outcome: delivered to every subscriber, retry later, or dead.")); err != nil {
		return nil, fmt.Errorf("outbox: metrics: %w", err)
	}
	if m.lag, err = m.meter.Float64ObservableGauge("invitekit.outbox.lag",
		metric.WithUnit("s"),
		metric.WithDescription("Age of the oldest pending event in the store: how far delivery is behind; 0 when nothing is pending.")); err != nil {
		return nil, fmt.Errorf("outbox: metrics: %w", err)
	}
	if m.dead, err = m.meter.Int64ObservableGauge("invitekit.outbox.dead_events",
		metric.WithUnit("{event}"),
		metric.WithDescription("Dead events in the store: the relay gave up on them; Relay.Retry makes one pending again.")); err != nil {
		return nil, fmt.Errorf("outbox: metrics: %w", err)
	}
	return m, nil
}

// settled counts the settlement of an event of type t as o. An event put
// back untried (tried false: no subscriber was called) is not counted.
func (m *metrics) settled(ctx context.Context, t event.Type, o Outcome, tried bool) {
	var outcome string
	switch {
	case o.State == StateDelivered:
		outcome = outcomeDelivered
	case o.State == StateDead:
		outcome = outcomeDead
	case tried:
		outcome = outcomeRetry
	default:
		return
	}
	if !m.events.Enabled(ctx) {
		return
	}
	m.events.Add(ctx, 1, metric.WithAttributes(attribute.String("type", string(t)), attribute.String("outcome", outcome)))
}

// observeStore registers the callback that reports the store's lag and
// dead events at each collection, when the store is a StatsReader; the
// returned function unregisters it.
func (r *Relay) observeStore(ctx context.Context) func() {
	sr, ok := r.cfg.Store.(StatsReader)
	if !ok {
		return func() {}
	}
	reg, err := r.metrics.meter.RegisterCallback(func(cctx context.Context, o metric.Observer) error {
		cctx, cancel := context.WithTimeout(cctx, statsTimeout)
		defer cancel()
		st, err := sr.OutboxStats(cctx)
		if err != nil {
			// No observation rather than a wrong one: the gauges have
			// no value in this collection.
			r.cfg.Logger.WarnContext(cctx, "outbox: cannot read the store's outbox stats for metrics", "error", err)
			return nil
		}
		lag := 0.0
		if !st.OldestPending.IsZero() {
			lag = max(r.now().Sub(st.OldestPending).Seconds(), 0)
		}
		o.ObserveFloat64(r.metrics.lag, lag)
		o.ObserveInt64(r.metrics.dead, st.Dead)
		return nil
	}, r.metrics.lag, r.metrics.dead)
	if err != nil {
		r.cfg.Logger.WarnContext(ctx, "outbox: cannot register the lag and dead event gauges", "error", err)
		return func() {}
	}
	return func() { _ = reg.Unregister() }
}
