package outbox_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/outbox"
	"github.com/invitekit/invitekit/postgresstore"
	"github.com/invitekit/invitekit/sqlitestore"
)

// withReader gives cfg a MeterProvider whose metrics the returned reader
// collects.
func withReader(t *testing.T, cfg *outbox.Config) *sdkmetric.ManualReader {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	cfg.MeterProvider = mp
	return reader
}

// collect returns the metrics the reader has now, by name.
func collect(t *testing.T, reader *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	out := make(map[string]metricdata.Metrics)
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, "github.com/invitekit/invitekit/outbox", sm.Scope.Name)
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// eventCounts returns invitekit.outbox.events as "type outcome" -> count.
func eventCounts(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	m, ok := collect(t, reader)["invitekit.outbox.events"]
	if !ok {
		return nil
	}
	assert.Equal(t, "{event}", m.Unit)
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "a counter: %T", m.Data)
	assert.True(t, sum.IsMonotonic)
	out := make(map[string]int64)
	for _, dp := range sum.DataPoints {
		require.Equal(t, 2, dp.Attributes.Len(), "type and outcome only: %v", dp.Attributes.ToSlice())
		typ, _ := dp.Attributes.Value("type")
		outcome, _ := dp.Attributes.Value("outcome")
		out[typ.AsString()+" "+outcome.AsString()] += dp.Value
	}
	return out
}

// Every settled attempt counts once, by event type and outcome; a
// subscriber that fails for good makes dead letters.
func TestMetricsCountEventsByTypeAndOutcome(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	delivered, refused, flaky := uuid.New(), uuid.New(), uuid.New()
	sub := newSink(func(ev event.Event, _ int) error {
		switch ev.InvitationID {
		case refused:
			return outbox.Permanent(errors.New("gone"))
		case flaky:
			return errors.New("try again")
		}
		return nil
	})
	cfg := f.config(sub.subscriber("s"))
	cfg.MaxAttempts = 2
	reader := withReader(t, &cfg)
	r := f.relay(cfg)
	f.record(delivered, 2) // created, then resent
	f.record(refused, 1)
	f.record(flaky, 1)

	for runOnce(t, r) > 0 {
	}
	assert.Equal(t, map[string]int64{
		"invitation.created delivered": 1,
		"invitation.resent delivered":  1,
		"invitation.created dead":      1,
		"invitation.created retry":     1,
	}, eventCounts(t, reader), "the refused event is dead at once, the flaky one due again in a second")

	f.clock.Advance(time.Hour) // past the flaky event's backoff
	for runOnce(t, r) > 0 {
	}
	assert.Equal(t, map[string]int64{
		"invitation.created delivered": 1,
		"invitation.resent delivered":  1,
		"invitation.created dead":      2,
		"invitation.created retry":     1,
	}, eventCounts(t, reader), "counts are cumulative; the second failure of the flaky event makes it dead")
	_, gauge := collect(t, reader)["invitekit.outbox.lag"]
	assert.False(t, gauge, "the store's gauges are read only while Run runs")
}

// While Run runs, the lag and dead event gauges read the store; they stop
// when Run returns.
func TestMetricsLagAndDeadGauges(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	refused, flaky := uuid.New(), uuid.New()
	sub := newSink(func(ev event.Event, _ int) error {
		if ev.InvitationID == refused {
			return outbox.Permanent(errors.New("gone"))
		}
		return errors.New("try again")
	})
	cfg := f.config(sub.subscriber("s"))
	cfg.BackoffBase = time.Hour
	reader := withReader(t, &cfg)
	f.record(refused, 1)
	f.clock.Advance(30 * time.Second)
	f.record(flaky, 1) // the oldest pending event: the refused one goes dead
	stop := start(t, f.relay(cfg))
	t.Cleanup(func() { _ = stop() })

	require.Eventually(t, func() bool {
		c := eventCounts(t, reader)
		return c["invitation.created dead"] == 1 && c["invitation.created retry"] == 1
	}, waitLimit, time.Millisecond)
	f.clock.Advance(90 * time.Second)

	ms := collect(t, reader)
	lag, ok := ms["invitekit.outbox.lag"].Data.(metricdata.Gauge[float64])
	require.True(t, ok, "lag is a float gauge: %v", ms["invitekit.outbox.lag"])
	assert.Equal(t, "s", ms["invitekit.outbox.lag"].Unit)
	require.Len(t, lag.DataPoints, 1)
	assert.InDelta(t, 90, lag.DataPoints[0].Value, 1e-6, "now minus the flaky event's OccurredAt, on the relay's clock")
	dead, ok := ms["invitekit.outbox.dead_events"].Data.(metricdata.Gauge[int64])
	require.True(t, ok, "dead_events is an int gauge: %v", ms["invitekit.outbox.dead_events"])
	require.Len(t, dead.DataPoints, 1)
	assert.Equal(t, int64(1), dead.DataPoints[0].Value)

	require.NoError(t, stop())
	ms = collect(t, reader)
	_, ok = ms["invitekit.outbox.lag"]
	assert.False(t, ok, "the callback is unregistered when Run returns")
}

// statsStore is a store the stats test fills through its own methods.
type statsStore interface {
	invitation.Store
	outbox.Store
	outbox.StatsReader
}

// statsStores opens every store that implements outbox.StatsReader:
// memstore, SQLite in a temporary file, and PostgreSQL in a schema of its
// own when INVITEKIT_TEST_POSTGRES_URL is set.
func statsStores(t *testing.T) map[string]statsStore {
	ctx := context.Background()
	mem := memstore.New()
	t.Cleanup(func() { _ = mem.Close() })
	lite, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "stats.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = lite.Close() })
	stores := map[string]statsStore{"memstore": mem, "sqlite": lite}
	url := os.Getenv("INVITEKIT_TEST_POSTGRES_URL")
	if url == "" {
		return stores
	}
	schema := "stats_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	pg, err := postgresstore.Open(ctx, url, postgresstore.WithSchema(schema))
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = pg.Close()
		if conn, err := pgx.Connect(ctx, url); err == nil {
			_, _ = conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
			_ = conn.Close(ctx)
		}
	})
	stores["postgres"] = pg
	return stores
}

// Every store reports the first pending event in claim order and counts
// the dead ones.
func TestOutboxStatsEveryStore(t *testing.T) {
	t.Parallel()
	for name, s := range statsStores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, err := s.OutboxStats(ctx)
			require.NoError(t, err)
			assert.Equal(t, outbox.Stats{}, st, "an empty outbox")

			t0 := time.Date(2026, 1, 2, 15, 4, 5, 123456000, time.UTC)
			org := uuid.New()
			evs := make([]event.Event, 4)
			for i := range evs {
				at := t0.Add(time.Duration(i) * time.Second)
				inv := invitation.Invitation{ID: uuid.New(), OrganizationID: org, Email: uuid.NewString() + "@example.com", Role: "member",
					Status: invitation.StatusPending, CreatedAt: at, SentAt: at, ExpireAt: at.Add(24 * time.Hour)}
				evs[i] = event.Event{ID: uuid.Must(uuid.NewV7()), Type: event.InvitationCreated, OrganizationID: org,
					InvitationID: inv.ID, OccurredAt: at, Data: []byte(`{}`)}
				require.NoError(t, s.CreateInvitation(ctx, inv, at, evs[i]))
			}
			now := t0.Add(time.Minute)
			claimed, err := s.ClaimEvents(ctx, "owner", now, time.Minute, 3)
			require.NoError(t, err)
			require.Len(t, claimed, 3)
			// The first delivered, the second to retry later, the third
			// dead; the fourth was never claimed.
			for i, state := range []outbox.State{outbox.StateDelivered, outbox.StatePending, outbox.StateDead} {
				o := outbox.Outcome{EventID: evs[i].ID, State: state, Attempts: 1, NextAttemptAt: now.Add(time.Hour)}
				require.NoError(t, s.SettleEvent(ctx, "owner", o))
			}

			st, err = s.OutboxStats(ctx)
			require.NoError(t, err)
			assert.True(t, evs[1].OccurredAt.Equal(st.OldestPending), "the event due later for a retry is the oldest pending: %v", st.OldestPending)
			assert.Equal(t, int64(1), st.Dead)
		})
	}
}
