package baseline_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/httpadapter"
	"github.com/invitekit/invitekit/internal/pgtest"
	"github.com/invitekit/invitekit/store"
)

func TestMain(m *testing.M) {
	code := pgtest.Main("internal/baseline", m)
	atExit.run()
	os.Exit(code)
}

// atExit holds what the benchmarks keep for the whole process (servers,
// stores, PostgreSQL schemas, files), released by TestMain, last added
// first.
var atExit exitList

type exitList struct {
	mu  sync.Mutex
	fns []func()
}

func (l *exitList) add(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fns = append(l.fns, f)
}

func (l *exitList) run() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.fns) - 1; i >= 0; i-- {
		l.fns[i]()
	}
	l.fns = nil
}

// cleanupFunc registers what to release when an environment is done with:
// atExit.add for the benchmarks' environments, which live as long as the
// process, tb.Cleanup for a test's.
type cleanupFunc func(func())

// The one API key of our server. Like the example server's generated key
// (@*), it acts for every organization.
const (
	apiKeyID     = "key-bench"
	apiKeySecret = "3f1c0b7e9a5d42c6b8e1f0a7d3c5b9e2"
)

// tokenKey signs our server's invitation tokens: 32 bytes, the size the
// example server's INVITEKIT_TOKEN_KEY and key file have.
var tokenKey = bytes.Repeat([]byte{0x5a}, 32)

// backend is what our server needs of a store.
type backend interface {
	guest.Store
	event.Store
}

// ourHandler is our server as examples/server wires it, guest routes
// only: guest.Service on st with one token key, httpadapter with API-key
// authentication (Bearer), the example's AuthorizeOrganization for a key
// that acts for every organization, no connections between organizations
// (the example's default), Logger (errors only, discarded here), and each
// request bounded by the example's 10-second deadline. Left out, as the
// baseline has none of them: the example's throttling of failed
// authentications (which costs nothing to a client that authenticates),
// its cap on connections (1000, far above the 16 the benchmarks open), its
// per-request log lines (LogRequests) and its metrics (MeterProvider nil:
// the Handler then skips measuring).
//
// clock nil is time.Now. limits nil is the example's default limits
// (store.DefaultMaxOpen open invitations and store.DefaultCreatesPerHour
// creates an hour per host); &store.Limits{} sets none.
func ourHandler(st backend, clock func() time.Time, limits *store.Limits) (http.Handler, error) {
	if limits == nil {
		limits = &store.Limits{MaxOpen: store.DefaultMaxOpen, CreatesPerHour: store.DefaultCreatesPerHour}
	}
	svc, err := guest.NewService(guest.Config{Store: st, Keys: [][]byte{tokenKey}, Limits: limits, Clock: clock})
	if err != nil {
		return nil, err
	}
	h, err := httpadapter.New(httpadapter.Config{
		Guests:       svc,
		Events:       st,
		Authenticate: httpadapter.APIKeys(map[string]string{apiKeyID: apiKeySecret}),
		AuthorizeOrganization: func(_ context.Context, p httpadapter.Principal, _ uuid.UUID) error {
			if p.ID == apiKeyID {
				return nil
			}
			return httpadapter.ErrForbidden
		},
		AuthorizeConnection: func(context.Context, httpadapter.Principal, uuid.UUID, uuid.UUID) error {
			return httpadapter.ErrForbidden
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	}), nil
}

// serve serves h on a loopback port with the example server's timeouts;
// both servers of a comparison get the same ones.
func serve(h http.Handler, cleanup cleanupFunc) string {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ReadHeaderTimeout = 5 * time.Second
	srv.Config.ReadTimeout = 15 * time.Second
	srv.Config.WriteTimeout = 30 * time.Second
	srv.Config.IdleTimeout = time.Minute
	srv.Config.MaxHeaderBytes = 64 << 10
	srv.Start()
	cleanup(srv.Close)
	return srv.URL
}

// newClient returns a client that keeps up to conns connections alive to
// one server.
func newClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		DisableCompression:  true,
	}}
}

// newRequest returns a request of host's, with the headers both servers
// read: our API key, the organization headers, and a JSON content type
// when there is a body.
func newRequest(method, url string, host uuid.UUID, body []byte) *http.Request {
	var r *http.Request
	if body != nil {
		r, _ = http.NewRequest(method, url, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	} else {
		r, _ = http.NewRequest(method, url, nil)
	}
	r.Header.Set("Authorization", "Bearer "+apiKeySecret)
	r.Header.Set(httpadapter.RequesterHeader, host.String())
	r.Header.Set(httpadapter.TargetHeader, host.String())
	return r
}

// pgAdmin is a pool outside every store, for creating, loading and
// dropping schemas, opened on first use and closed at exit.
var pgAdmin struct {
	once sync.Once
	pool *pgxpool.Pool
	err  error
}

// postgresURL returns the server's URL and the admin pool, or skips tb.
func postgresURL(tb testing.TB) (string, *pgxpool.Pool) {
	tb.Helper()
	u := pgtest.URL(tb)
	pgAdmin.once.Do(func() {
		pgAdmin.pool, pgAdmin.err = pgxpool.New(context.Background(), u)
		if pgAdmin.err == nil {
			atExit.add(pgAdmin.pool.Close)
		}
	})
	if pgAdmin.err != nil {
		tb.Fatal(pgAdmin.err)
	}
	return u, pgAdmin.pool
}

// newSchema returns the name of a schema no one uses, dropped with
// everything in it by cleanup. The store that first opens it creates it.
func newSchema(admin *pgxpool.Pool, cleanup cleanupFunc) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := "invitekit_baseline_" + hex.EncodeToString(b)
	cleanup(func() {
		if _, err := admin.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			fmt.Fprintln(os.Stderr, "drop schema", name+":", err)
		}
	})
	return name
}

// envInt reads a positive integer from the environment, def when unset.
func envInt(tb testing.TB, name string, def int) int {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// envDuration reads a positive duration from the environment, def when
// unset.
func envDuration(tb testing.TB, name string, def time.Duration) time.Duration {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		tb.Fatalf("%s=%q: want a positive duration such as 10s", name, v)
	}
	return d
}

// envSizes reads a comma-separated list of row counts from the
// environment, def when unset.
func envSizes(tb testing.TB, name string, def []int) []int {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	var sizes []int
	for _, s := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			tb.Fatalf("%s=%q: want comma-separated positive row counts such as 1000,1000000", name, v)
		}
		sizes = append(sizes, n)
	}
	return sizes
}
