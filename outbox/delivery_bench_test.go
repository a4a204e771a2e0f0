package outbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/outbox"
	"github.com/invitekit/invitekit/postgresstore"
	"github.com/invitekit/invitekit/sqlitestore"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/webhook"
)

// noLimits lets a benchmark make more creates an hour in one organization
// than the default limits allow; it measures the create path without
// them, as it did before there were any.
var noLimits = &store.Limits{}

// deliveryStore is a durable store the delivery benchmarks run on.
type deliveryStore interface {
	invitation.Store
	outbox.Store
	Close() error
}

// deliveryStores opens each durable store: SQLite in a temporary file,
// PostgreSQL in a schema of its own when INVITEKIT_TEST_POSTGRES_URL is set.
func deliveryStores(b *testing.B) map[string]func(b *testing.B) deliveryStore {
	stores := map[string]func(b *testing.B) deliveryStore{
		"sqlite": func(b *testing.B) deliveryStore {
			s, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		},
	}
	url := os.Getenv("INVITEKIT_TEST_POSTGRES_URL")
	if url == "" {
		return stores
	}
	stores["postgres"] = func(b *testing.B) deliveryStore {
		ctx := context.Background()
		schema := "bench_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
		s, err := postgresstore.Open(ctx, url, postgresstore.WithSchema(schema))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			s.Close()
			if conn, err := pgx.Connect(ctx, url); err == nil {
				_, _ = conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
				_ = conn.Close(ctx)
			}
		})
		return s
	}
	return stores
}

// latencies is a local webhook receiver that records, per event, the time
// from its commit (OccurredAt) to its delivery.
type latencies struct {
	mu   sync.Mutex
	seen map[uuid.UUID]time.Duration
	all  chan struct{}
	want int
}

func newReceiver(b *testing.B, want int) (*latencies, *httptest.Server) {
	l := &latencies{seen: make(map[uuid.UUID]time.Duration, want), all: make(chan struct{}), want: want}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		body, _ := io.ReadAll(r.Body)
		var ev event.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if _, dup := l.seen[ev.ID]; !dup {
			l.seen[ev.ID] = at.Sub(ev.OccurredAt)
			if len(l.seen) == l.want {
				close(l.all)
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(srv.Close)
	return l, srv
}

func (l *latencies) quantile(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := make([]time.Duration, 0, len(l.seen))
	for _, v := range l.seen {
		d = append(d, v)
	}
	slices.Sort(d)
	return d[int(q*float64(len(d)-1))]
}

func startRelay(b *testing.B, ctx context.Context, s deliveryStore, url string) <-chan error {
	hook, err := webhook.New(webhook.Config{URL: url, Secret: mustSecret(b)})
	if err != nil {
		b.Fatal(err)
	}
	relay, err := outbox.New(outbox.Config{Store: s, Subscribers: []outbox.Subscriber{hook.Subscriber()}, PollInterval: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx) }()
	return done
}

func mustSecret(b *testing.B) webhook.Secret {
	s, err := webhook.ParseSecret(webhook.GenerateSecret())
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func newOrgs(b *testing.B, s deliveryStore) *invitation.Service {
	orgs, err := invitation.NewService(invitation.Config{Store: s, Keys: [][]byte{bytes.Repeat([]byte{3}, 32)}, Limits: noLimits})
	if err != nil {
		b.Fatal(err)
	}
	return orgs
}

func create(b *testing.B, orgs *invitation.Service, org uuid.UUID, i int) {
	_, err := orgs.Create(context.Background(), invitation.CreateParams{OrganizationID: org, Email: fmt.Sprintf("u%d@example.com", i), Role: "admin"})
	if err != nil {
		b.Error(err)
	}
}

// BenchmarkDeliveryThroughput records b.N events, then measures how fast
// one relay delivers the backlog to a local webhook receiver.
//
//	go test -run '^$' -bench DeliveryThroughput -benchtime 5000x ./outbox/
func BenchmarkDeliveryThroughput(b *testing.B) {
	for name, open := range deliveryStores(b) {
		b.Run(name, func(b *testing.B) {
			s := open(b)
			orgs := newOrgs(b, s)
			org := uuid.New()
			for i := range b.N {
				create(b, orgs, org, i)
			}
			l, srv := newReceiver(b, b.N)
			ctx, cancel := context.WithCancel(context.Background())
			b.ResetTimer()
			start := time.Now()
			done := startRelay(b, ctx, s, srv.URL)
			<-l.all
			elapsed := time.Since(start)
			b.StopTimer()
			cancel()
			<-done
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
		})
	}
}

// BenchmarkDeliveryLatency records events at a steady 1,000 per second
// (b.N in all) while a relay delivers them to a local webhook receiver, and
// reports the time from each event's commit to its delivery.
//
//	go test -run '^$' -bench DeliveryLatency -benchtime 5000x ./outbox/
func BenchmarkDeliveryLatency(b *testing.B) {
	const rate = 1000 // events per second
	for name, open := range deliveryStores(b) {
		b.Run(name, func(b *testing.B) {
			s := open(b)
			orgs := newOrgs(b, s)
			org := uuid.New()
			l, srv := newReceiver(b, b.N)
			ctx, cancel := context.WithCancel(context.Background())
			done := startRelay(b, ctx, s, srv.URL)
			b.ResetTimer()
			// Four producers share the rate, so one slow commit does not
			// hold the others back.
			const producers = 4
			var wg sync.WaitGroup
			for p := range producers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tick := time.NewTicker(producers * time.Second / rate)
					defer tick.Stop()
					for i := p; i < b.N; i += producers {
						<-tick.C
						create(b, orgs, org, i)
					}
				}()
			}
			wg.Wait()
			<-l.all
			b.StopTimer()
			cancel()
			<-done
			b.ReportMetric(float64(l.quantile(0.5).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(l.quantile(0.99).Microseconds())/1000, "p99-ms")
		})
	}
}
