package baseline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/postgresstore"
	"github.com/invitekit/invitekit/sqlitestore"
	"github.com/invitekit/invitekit/store"
)

// benchListLimit is the page size every list request of the benchmarks
// asks for.
const benchListLimit = 50

// neighbourRows is how many invitations the data sets' neighbour host
// holds.
const neighbourRows = 10_000

// listCase is one documented way of listing: an order or a filter.
type listCase struct {
	// name names the sub-benchmark: order=email_asc, statuses=sent, ...
	name string
	// params are the query parameters besides limit.
	params url.Values
	// query is the case in the terms of the domain: the filters and the
	// order; listQuery completes it.
	query guest.ListQuery
}

// listQuery is c's query of host's invitations at dataNow, limit a page.
func (c listCase) listQuery(host uuid.UUID, limit int) guest.ListQuery {
	q := c.query
	q.HostOrganizationID, q.Now, q.Limit = host, dataNow, limit
	if q.OrderBy == "" {
		q.OrderBy, q.Order = guest.OrderByCreatedAt, store.Desc
	}
	return q
}

// listCases are every documented order_by in both directions, then each
// filter in the default order (created_at desc).
func listCases() []listCase {
	var cs []listCase
	for _, o := range []guest.OrderBy{guest.OrderByEmail, guest.OrderByFirstInvitationSentAt,
		guest.OrderByLastInvitationSentAt, guest.OrderByExpiredAt, guest.OrderByAcceptedAt,
		guest.OrderByArchivedAt, guest.OrderByCreatedAt, guest.OrderByUpdatedAt} {
		for _, d := range []store.Direction{store.Asc, store.Desc} {
			cs = append(cs, listCase{
				name:   fmt.Sprintf("order=%s_%s", o, d),
				params: url.Values{"order_by": {string(o)}, "order": {string(d)}},
				query:  guest.ListQuery{OrderBy: o, Order: d},
			})
		}
	}
	for _, s := range []guest.Status{guest.StatusSent, guest.StatusAcceptedByGuest, guest.StatusAcceptedBySystem} {
		cs = append(cs, listCase{name: "statuses=" + string(s), params: url.Values{"statuses": {string(s)}},
			query: guest.ListQuery{Statuses: []guest.Status{s}}})
	}
	for _, name := range []string{"archived", "expired"} {
		for _, v := range []bool{true, false} {
			c := listCase{name: fmt.Sprintf("%s=%t", name, v), params: url.Values{name: {strconv.FormatBool(v)}}}
			if name == "archived" {
				c.query.Archived = &v
			} else {
				c.query.Expired = &v
			}
			cs = append(cs, c)
		}
	}
	for _, e := range []string{rareEmail, commonEmail} {
		cs = append(cs, listCase{name: "email=" + e, params: url.Values{"email": {e}},
			query: guest.ListQuery{EmailContains: e}})
	}
	return cs
}

// expectedTotals returns, by case name, how many of h's invitations each
// case matches, counted in Go over the generated rows. Each host's are
// counted once per process.
func expectedTotals(h hostSpec, cases []listCase) (map[string]int, error) {
	totals.mu.Lock()
	defer totals.mu.Unlock()
	if t, ok := totals.m[h.id]; ok {
		return t, nil
	}
	qs := make([]guest.ListQuery, len(cases))
	for i, c := range cases {
		qs[i] = c.listQuery(h.id, benchListLimit)
	}
	counts := make([]int, len(cases))
	err := h.generate(func(inv guest.Invitation) error {
		for i, q := range qs {
			if q.Matches(inv) {
				counts[i]++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	t := map[string]int{}
	for i, c := range cases {
		t[c.name] = counts[i]
	}
	if totals.m == nil {
		totals.m = map[uuid.UUID]map[string]int{}
	}
	totals.m[h.id] = t
	return t, nil
}

var totals struct {
	mu sync.Mutex
	m  map[uuid.UUID]map[string]int
}

// listPage is what the harness reads of a list response.
type listPage struct {
	Items []struct {
		ID uuid.UUID `json:"id"`
	} `json:"items"`
	TotalItems int `json:"total_items"`
}

// listEnv is our server on a database that holds a data set.
type listEnv struct {
	base   string
	client *http.Client
	data   dataset
}

// list sends c's request for host's first page of limit and returns the
// page and its latency: from sending the request to having read the whole
// body.
func (e *listEnv) list(host uuid.UUID, c listCase, limit int) (listPage, time.Duration, error) {
	params := url.Values{"limit": {strconv.Itoa(limit)}}
	for k, v := range c.params {
		params[k] = v
	}
	req := newRequest(http.MethodGet, e.base+"/guest-invitations?"+params.Encode(), host, nil)
	start := time.Now()
	resp, err := e.client.Do(req)
	if err != nil {
		return listPage{}, 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return listPage{}, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return listPage{}, 0, fmt.Errorf("%s: %s: %.300s", c.name, resp.Status, body)
	}
	var page listPage
	if err := json.Unmarshal(body, &page); err != nil {
		return listPage{}, 0, fmt.Errorf("%s: %w", c.name, err)
	}
	return page, took, nil
}

// checkTotal says whether page is a first page of limit out of total.
func checkTotal(page listPage, total, limit int) error {
	if page.TotalItems != total || len(page.Items) != min(total, limit) {
		return fmt.Errorf("total_items %d and %d items, want %d and %d", page.TotalItems, len(page.Items), total, min(total, limit))
	}
	return nil
}

// sqliteListEnv serves d from the SQLite file at path, which holds it,
// through sqlitestore with the default options.
func sqliteListEnv(tb testing.TB, path string, d dataset, cleanup cleanupFunc) *listEnv {
	tb.Helper()
	st, err := sqlitestore.Open(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	cleanup(func() { st.Close() })
	return newListEnv(tb, st, d, cleanup)
}

// postgresListEnv loads d into a new schema and serves it through
// postgresstore on a pool of the default configuration, as the example
// server opens it.
func postgresListEnv(tb testing.TB, d dataset, cleanup cleanupFunc) *listEnv {
	tb.Helper()
	u, admin := postgresURL(tb)
	ctx := context.Background()
	schema := newSchema(admin, cleanup)
	st, err := postgresstore.Open(ctx, u, postgresstore.WithSchema(schema))
	if err != nil {
		tb.Fatal(err)
	}
	cleanup(func() { st.Close() })
	start := time.Now()
	if err := loadPostgres(ctx, admin, schema, d); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("postgres: loaded %d invitations of %d hosts into schema %s in %v (COPY, then VACUUM ANALYZE)",
		d.rows(), len(d.hosts()), schema, time.Since(start).Round(time.Millisecond))
	return newListEnv(tb, st, d, cleanup)
}

// newListEnv serves our server on st, its clock at dataNow.
func newListEnv(tb testing.TB, st backend, d dataset, cleanup cleanupFunc) *listEnv {
	tb.Helper()
	h, err := ourHandler(st, func() time.Time { return dataNow }, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &listEnv{base: serve(h, cleanup), client: newClient(1), data: d}
}

// listEnvs are the benchmarks' environments, one per store, built on
// first use and kept for the process.
var listEnvs struct {
	mu sync.Mutex
	m  map[string]*listEnv
}

// benchListEnv returns the benchmarks' environment of store ("sqlite" or
// "postgres"), building it on first use: hosts of the sizes
// INVITEKIT_BENCH_SIZES lists (1000 and 1000000 by default) and the
// neighbour. The SQLite file is cached in os.TempDir() between runs.
func benchListEnv(b *testing.B, storeName string) *listEnv {
	b.Helper()
	if storeName == "postgres" {
		postgresURL(b) // skips before anything is built
	}
	listEnvs.mu.Lock()
	defer listEnvs.mu.Unlock()
	if e, ok := listEnvs.m[storeName]; ok {
		return e
	}
	d := newDataset(envSizes(b, "INVITEKIT_BENCH_SIZES", []int{1_000, 1_000_000}), neighbourRows)
	// Said on stderr, which go test shows whatever the flags: a build
	// takes minutes.
	var e *listEnv
	start := time.Now()
	switch storeName {
	case "sqlite":
		path, built, err := cachedSQLite(context.Background(), d)
		if err != nil {
			b.Fatal(err)
		}
		if built {
			fmt.Fprintf(os.Stderr, "sqlite: built %d invitations of %d hosts in %v, cached as %s\n", d.rows(), len(d.hosts()),
				time.Since(start).Round(time.Millisecond), path)
		} else {
			fmt.Fprintf(os.Stderr, "sqlite: using the cached %s (%d invitations; delete it to build it again)\n", path, d.rows())
		}
		e = sqliteListEnv(b, path, d, atExit.add)
	default:
		e = postgresListEnv(b, d, atExit.add)
		fmt.Fprintf(os.Stderr, "postgres: created, migrated and loaded a schema of %d invitations of %d hosts in %v\n",
			d.rows(), len(d.hosts()), time.Since(start).Round(time.Millisecond))
	}
	if listEnvs.m == nil {
		listEnvs.m = map[string]*listEnv{}
	}
	listEnvs.m[storeName] = e
	return e
}

// BenchmarkGuestList lists guest invitations through our server (the
// httpadapter, guest.Service and the store), one request at a time, for
// hosts of 1,000 and 1,000,000 invitations in one database: every
// documented order in both directions, and each filter. Each iteration is
// one request of a page of 50; the metrics are its latency's median and
// 90th percentile over the iterations, and the total_items every response
// carries (checked against the count in Go). Run it with a fixed count of
// requests:
//
//	go test -run '^$' -bench GuestList -benchtime 20x ./internal/baseline/
func BenchmarkGuestList(b *testing.B) {
	for _, storeName := range []string{"sqlite", "postgres"} {
		b.Run(storeName, func(b *testing.B) {
			e := benchListEnv(b, storeName)
			cases := listCases()
			for _, h := range e.data.listed {
				want, err := expectedTotals(h, cases)
				if err != nil {
					b.Fatal(err)
				}
				b.Run(strconv.Itoa(h.rows), func(b *testing.B) {
					for _, c := range cases {
						b.Run(c.name, func(b *testing.B) { benchList(b, e, h, c, want[c.name]) })
					}
				})
			}
		})
	}
}

func benchList(b *testing.B, e *listEnv, h hostSpec, c listCase, total int) {
	// One request first, not measured: the connection, and the pages a
	// first request reads from disk.
	if _, _, err := e.list(h.id, c, benchListLimit); err != nil {
		b.Fatal(err)
	}
	var latencies []time.Duration
	for b.Loop() {
		page, took, err := e.list(h.id, c, benchListLimit)
		if err == nil {
			err = checkTotal(page, total, benchListLimit)
		}
		if err != nil {
			b.Fatal(err)
		}
		latencies = append(latencies, took)
	}
	b.ReportMetric(percentile(latencies, 50).Seconds()*1000, "p50-ms")
	b.ReportMetric(percentile(latencies, 90).Seconds()*1000, "p90-ms")
	b.ReportMetric(float64(total), "total_items")
}

// percentile returns the p-th percentile of ds by the nearest-rank
// method; ds is sorted in place.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(math.Ceil(p/100*float64(len(ds)))) - 1
	return ds[max(i, 0)]
}
