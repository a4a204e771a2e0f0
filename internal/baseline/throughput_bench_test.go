package baseline_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/internal/baseline"
	"github.com/invitekit/invitekit/postgresstore"
	"github.com/invitekit/invitekit/sqlitestore"
	"github.com/invitekit/invitekit/store"
)

// throughputEnv is our server and the baseline on one database, which
// holds a host's invitations for the get and list requests.
type throughputEnv struct {
	ours, baseline string
	host           hostSpec
	ids            []uuid.UUID
}

// throughputHost is the host whose invitations get and list read.
func throughputHost(rows int) dataset {
	return dataset{listed: []hostSpec{newHost("throughput", rows)}, neighbour: newHost("throughput-neighbour", rows)}
}

// newThroughputEnv completes an environment whose database holds d.
func newThroughputEnv(tb testing.TB, ours, base string, d dataset) *throughputEnv {
	tb.Helper()
	e := &throughputEnv{ours: ours, baseline: base, host: d.listed[0]}
	if err := e.host.generate(func(inv guest.Invitation) error {
		e.ids = append(e.ids, inv.ID)
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	return e
}

// sqliteThroughputEnv makes a SQLite file holding d in dir, and serves it
// by our server (sqlitestore with the default options) and by the
// baseline.
func sqliteThroughputEnv(tb testing.TB, dir string, d dataset, limits *store.Limits, cleanup cleanupFunc) *throughputEnv {
	tb.Helper()
	ctx := context.Background()
	path := filepath.Join(dir, "throughput.db")
	if err := buildSQLite(ctx, path, d); err != nil {
		tb.Fatal(err)
	}
	st, err := sqlitestore.Open(ctx, path)
	if err != nil {
		tb.Fatal(err)
	}
	cleanup(func() { st.Close() })
	h, err := ourHandler(st, nil, limits)
	if err != nil {
		tb.Fatal(err)
	}
	bs, err := baseline.OpenSQLite(path)
	if err != nil {
		tb.Fatal(err)
	}
	cleanup(func() { bs.Close() })
	return newThroughputEnv(tb, serve(h, cleanup), serve(bs, cleanup), d)
}

// postgresThroughputEnv loads d into a new schema and serves it by our
// server (postgresstore) and by the baseline, each on a pool of its own
// of the default configuration (pgxpool's: at most max(4, CPUs)
// connections), which is the pool the example server opens.
func postgresThroughputEnv(tb testing.TB, d dataset, limits *store.Limits, cleanup cleanupFunc) *throughputEnv {
	tb.Helper()
	u, admin := postgresURL(tb)
	ctx := context.Background()
	schema := newSchema(admin, cleanup)
	st, err := postgresstore.Open(ctx, u, postgresstore.WithSchema(schema))
	if err != nil {
		tb.Fatal(err)
	}
	cleanup(func() { st.Close() })
	if err := loadPostgres(ctx, admin, schema, d); err != nil {
		tb.Fatal(err)
	}
	h, err := ourHandler(st, nil, limits)
	if err != nil {
		tb.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, u)
	if err != nil {
		tb.Fatal(err)
	}
	cleanup(pool.Close)
	bs := baseline.NewPostgres(pool, schema)
	return newThroughputEnv(tb, serve(h, cleanup), serve(bs, cleanup), d)
}

// loadOp is one kind of request the throughput benchmark sends.
type loadOp struct {
	name string
	// status is the answer every request must get.
	status int
	// client returns the request maker of client goroutine w, against
	// the server at base.
	client func(e *throughputEnv, base string, w int) func() *http.Request
}

// createsPerHost is how many invitations each client goroutine creates
// for one host before it moves to a new one: well below the example's
// default limits, so that creates are never refused when they apply.
const createsPerHost = 500

// throughputList is the page the list requests ask for.
const throughputList = 50

var loadOps = []loadOp{
	{name: "create", status: http.StatusCreated, client: func(e *throughputEnv, base string, w int) func() *http.Request {
		var host uuid.UUID
		expires := time.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339)
		n := 0
		return func() *http.Request {
			if n%createsPerHost == 0 {
				host = uuid.New()
			}
			n++
			body := fmt.Appendf(nil, `{"email":"guest%d@example.com","expired_at":%q}`, n, expires)
			return newRequest(http.MethodPost, base+"/guest-invitations", host, body)
		}
	}},
	{name: "get", status: http.StatusOK, client: func(e *throughputEnv, base string, w int) func() *http.Request {
		i := w * 7919
		return func() *http.Request {
			id := e.ids[i%len(e.ids)]
			i++
			return newRequest(http.MethodGet, base+"/guest-invitations/"+id.String(), e.host.id, nil)
		}
	}},
	{name: "list", status: http.StatusOK, client: func(e *throughputEnv, base string, w int) func() *http.Request {
		url := fmt.Sprintf("%s/guest-invitations?limit=%d", base, throughputList)
		return func() *http.Request { return newRequest(http.MethodGet, url, e.host.id, nil) }
	}},
}

// rounds configures a comparison.
type rounds struct {
	n int
	// each is how long each server is loaded in a round; warmup how
	// long each is loaded, unmeasured, before the first.
	each, warmup time.Duration
	// conns is the number of client goroutines, each a keep-alive
	// connection.
	conns int
}

// comparison is the outcome of the rounds of one operation.
type comparison struct {
	// ours and baseline are requests per second, ratio ours/baseline:
	// each the median over the rounds.
	ours, baseline, ratio float64
	// log has a line per round.
	log []string
}

// compare loads our server and the baseline with op in turns: cfg.n
// rounds, each loading one server then the other for cfg.each, the
// first of the two alternating from round to round.
func compare(e *throughputEnv, op loadOp, cfg rounds) (comparison, error) {
	clients := map[string]*http.Client{e.ours: newClient(cfg.conns), e.baseline: newClient(cfg.conns)}
	defer func() {
		for _, c := range clients {
			c.CloseIdleConnections()
		}
	}()
	if cfg.warmup > 0 {
		for _, base := range []string{e.ours, e.baseline} {
			if _, err := load(clients[base], e, base, op, cfg.conns, cfg.warmup); err != nil {
				return comparison{}, err
			}
		}
	}
	var c comparison
	var ours, base, ratios []float64
	for r := range cfg.n {
		order := []string{e.ours, e.baseline}
		if r%2 == 1 {
			slices.Reverse(order)
		}
		rate := map[string]float64{}
		for _, server := range order {
			rps, err := load(clients[server], e, server, op, cfg.conns, cfg.each)
			if err != nil {
				return comparison{}, err
			}
			rate[server] = rps
		}
		ours, base = append(ours, rate[e.ours]), append(base, rate[e.baseline])
		ratios = append(ratios, rate[e.ours]/rate[e.baseline])
		c.log = append(c.log, fmt.Sprintf("round %d: ours %.0f req/s, baseline %.0f req/s, ratio %.3f",
			r+1, rate[e.ours], rate[e.baseline], ratios[r]))
	}
	c.ours, c.baseline, c.ratio = median(ours), median(base), median(ratios)
	return c, nil
}

// load sends op's requests to the server at base from conns goroutines
// for d, and returns the requests answered per second. A request
// answered with another status than op's, or not at all, fails it.
func load(client *http.Client, e *throughputEnv, base string, op loadOp, conns int, d time.Duration) (float64, error) {
	var (
		done    atomic.Int64
		stop    atomic.Bool
		errOnce sync.Once
		failed  error
		wg      sync.WaitGroup
	)
	fail := func(err error) {
		errOnce.Do(func() { failed = err })
		stop.Store(true)
	}
	start := time.Now()
	deadline := start.Add(d)
	for w := range conns {
		next := op.client(e, base, w)
		wg.Go(func() {
			for !stop.Load() && time.Now().Before(deadline) {
				resp, err := client.Do(next())
				if err != nil {
					fail(err)
					return
				}
				if resp.StatusCode != op.status {
					body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
					resp.Body.Close()
					fail(fmt.Errorf("%s %s: %s, want %d: %s", op.name, base, resp.Status, op.status, body))
					return
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil {
					fail(err)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if failed != nil {
		return 0, failed
	}
	return float64(done.Load()) / time.Since(start).Seconds(), nil
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// throughputEnvs are the benchmark's environments, one per store, built
// on first use and kept for the process.
var throughputEnvs struct {
	mu   sync.Mutex
	m    map[string]*throughputEnv
	done map[string]comparison
}

// benchLimits are the limits of our server in the throughput benchmark:
// none by default, as the baseline has none; the example server's
// defaults with INVITEKIT_BENCH_LIMITS=example.
func benchLimits(b *testing.B) *store.Limits {
	switch v := os.Getenv("INVITEKIT_BENCH_LIMITS"); v {
	case "", "none":
		return &store.Limits{}
	case "example":
		return nil
	default:
		b.Fatalf("INVITEKIT_BENCH_LIMITS=%q: want none or example", v)
		return nil
	}
}

func benchThroughputEnv(b *testing.B, storeName string) *throughputEnv {
	b.Helper()
	if storeName == "postgres" {
		postgresURL(b)
	}
	throughputEnvs.mu.Lock()
	defer throughputEnvs.mu.Unlock()
	if e, ok := throughputEnvs.m[storeName]; ok {
		return e
	}
	d := throughputHost(1_000)
	var e *throughputEnv
	switch storeName {
	case "sqlite":
		dir, err := os.MkdirTemp("", "invitekit-throughput-")
		if err != nil {
			b.Fatal(err)
		}
		atExit.add(func() { os.RemoveAll(dir) })
		e = sqliteThroughputEnv(b, dir, d, benchLimits(b), atExit.add)
	default:
		e = postgresThroughputEnv(b, d, benchLimits(b), atExit.add)
	}
	if throughputEnvs.m == nil {
		throughputEnvs.m = map[string]*throughputEnv{}
	}
	throughputEnvs.m[storeName] = e
	return e
}

// BenchmarkThroughput compares our server (httpadapter, guest.Service and
// sqlitestore or postgresstore) with the baseline on the same database,
// over loopback HTTP with 16 keep-alive client connections: for create,
// get (of 1,000 invitations of one host) and list (the first page of 50
// of that host, with the total), INVITEKIT_BENCH_ROUNDS rounds (5) in
// which each server is loaded for INVITEKIT_BENCH_ROUND (10s), the first
// of the two alternating, after a warm-up of each. It reports the median
// requests per second of each and the median of the rounds' ratios
// ours/baseline; -v shows every round. The work is done once per
// process, whatever b.N:
//
//	go test -run '^$' -bench Throughput -benchtime 1x ./internal/baseline/
func BenchmarkThroughput(b *testing.B) {
	for _, storeName := range []string{"sqlite", "postgres"} {
		b.Run(storeName, func(b *testing.B) {
			e := benchThroughputEnv(b, storeName)
			each := envDuration(b, "INVITEKIT_BENCH_ROUND", 10*time.Second)
			cfg := rounds{n: envInt(b, "INVITEKIT_BENCH_ROUNDS", 5), each: each, warmup: min(each/5, 2*time.Second), conns: 16}
			for _, op := range loadOps {
				b.Run(op.name, func(b *testing.B) {
					c, err := compareOnce(b.Name(), e, op, cfg)
					if err != nil {
						b.Fatal(err)
					}
					for _, line := range c.log {
						b.Log(line)
					}
					b.ReportMetric(0, "ns/op")
					b.ReportMetric(c.ours, "ours-req/s")
					b.ReportMetric(c.baseline, "baseline-req/s")
					b.ReportMetric(c.ratio, "ours/baseline")
				})
			}
		})
	}
}

// compareOnce runs compare once per name and process: the benchmark
// framework may call a benchmark more than once (-benchtime Nx runs it
// with b.N 1, then N).
func compareOnce(name string, e *throughputEnv, op loadOp, cfg rounds) (comparison, error) {
	throughputEnvs.mu.Lock()
	defer throughputEnvs.mu.Unlock()
	if c, ok := throughputEnvs.done[name]; ok {
		return c, nil
	}
	c, err := compare(e, op, cfg)
	if err != nil {
		return c, err
	}
	if throughputEnvs.done == nil {
		throughputEnvs.done = map[string]comparison{}
	}
	throughputEnvs.done[name] = c
	return c, nil
}
