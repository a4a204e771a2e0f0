package outbox_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/outbox"
)

// BenchmarkRelayThroughput measures claim, delivery and settlement of b.N
// events, one per invitation, to a subscriber that does nothing.
func BenchmarkRelayThroughput(b *testing.B) {
	f := newFixture(b)
	var delivered atomic.Int64
	cfg := f.config(outbox.Func("count", func(context.Context, event.Event) error {
		delivered.Add(1)
		return nil
	}))
	cfg.Clock = time.Now
	r := f.relay(cfg)
	for range b.N {
		f.record(uuid.New(), 1)
	}
	ctx := context.Background()

	b.ResetTimer()
	start := time.Now()
	for delivered.Load() < int64(b.N) {
		if _, err := r.RunOnce(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}
