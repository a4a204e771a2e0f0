package postgresstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/httpadapter"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/postgresstore"
	"github.com/invitekit/invitekit/store"
)

// requestTimeout is the deadline the servers of these tests give each
// request, as the example server does (inside its write timeout).
const requestTimeout = 10 * time.Second

// apiServer serves the HTTP adapter over s on a real HTTP server, each
// request under requestTimeout, and returns a client for it.
func apiServer(t *testing.T, s *postgresstore.Store) *apiClient {
	t.Helper()
	// Limits far above the default ones, which these tests' load would
	// reach, but still counted: creates take the path they take by
	// default, a transaction that counts under the organization's lock.
	limits := &store.Limits{MaxOpen: 1 << 30, CreatesPerHour: 1 << 30}
	orgs, err := invitation.NewService(invitation.Config{Store: s, Keys: [][]byte{signingKey}, Limits: limits})
	require.NoError(t, err)
	guests, err := guest.NewService(guest.Config{Store: s, Keys: [][]byte{signingKey}, Limits: limits})
	require.NoError(t, err)
	h, err := httpadapter.New(httpadapter.Config{
		Invitations:  orgs,
		Guests:       guests,
		Authenticate: httpadapter.APIKeys(map[string]string{"key": "secret"}),
	})
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	}))
	srv.Config.WriteTimeout = 3 * requestTimeout
	srv.Start()
	t.Cleanup(srv.Close)
	return &apiClient{base: srv.URL, client: srv.Client()}
}

type apiClient struct {
	base   string
	client *http.Client
}

// reply is one response: its status, Retry-After and JSON body.
type reply struct {
	status     int
	retryAfter string
	body       map[string]any
	raw        string
	took       time.Duration
}

// result returns the "result" object of an organization route's success.
func (r reply) result() map[string]any {
	m, _ := r.body["result"].(map[string]any)
	return m
}

func (r reply) str(key string) string {
	s, _ := r.result()[key].(string)
	return s
}

// do sends a request and returns its reply; an error means the client got
// no response at all.
func (c *apiClient) do(method, path string, body any, header ...string) (reply, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return reply{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return reply{}, err
	}
	req.SetBasicAuth("key", "secret")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	start := time.Now()
	resp, err := c.client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	r := reply{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), raw: string(raw), took: time.Since(start)}
	_ = json.Unmarshal(raw, &r.body)
	return r, nil
}

// tally counts replies by operation and status.
type tally struct {
	mu sync.Mutex
	n  map[string]map[int]int
}

func (t *tally) add(op string, status int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == nil {
		t.n = make(map[string]map[int]int)
	}
	if t.n[op] == nil {
		t.n[op] = make(map[int]int)
	}
	t.n[op][status]++
}

func (t *tally) count(status int) (n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range t.n {
		n += m[status]
	}
	return n
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	ops := make([]string, 0, len(t.n))
	for op := range t.n {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var b strings.Builder
	for _, op := range ops {
		fmt.Fprintf(&b, " %s%v", op, t.n[op])
	}
	return b.String()
}

// tracked is an invitation a worker created, and what the client was told
// about it.
type tracked struct {
	id, email, token string
	// status is the last acknowledged status; unsure is set once a change
	// of it was answered 503, whose outcome the client cannot know.
	status string
	unsure bool
}

// faultDuration is how long TestKilledConnectionsUnderLoad runs its load:
// 30 s, or INVITEKIT_FAULT_DURATION, or 5 s with -short.
func faultDuration(t *testing.T) time.Duration {
	if s := os.Getenv("INVITEKIT_FAULT_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		require.NoError(t, err)
		return d
	}
	if testing.Short() {
		return 5 * time.Second
	}
	return 30 * time.Second
}

// lockHold is how long TestRowLockHeldElsewhere holds the row lock: 60 s,
// as a forgotten psql session would, or INVITEKIT_LOCK_HOLD, or 5 s with
// -short.
func lockHold(t *testing.T) time.Duration {
	if s := os.Getenv("INVITEKIT_LOCK_HOLD"); s != "" {
		d, err := time.ParseDuration(s)
		require.NoError(t, err)
		return d
	}
	if testing.Short() {
		return 5 * time.Second
	}
	return 60 * time.Second
}

// TestKilledConnectionsUnderLoad terminates the store's PostgreSQL
// connections every 50 to 500 ms while workers create, get, list, resend,
// accept and revoke invitations (and create and get guest invitations)
// end to end over HTTP. No request may be answered 500 or go unanswered; a
// 503 must carry Retry-After. Afterwards every acknowledged create is
// stored, every acknowledged accept or revoke has its state, and no
// (organization, email) has two open invitations.
func TestKilledConnectionsUnderLoad(t *testing.T) {
	t.Parallel()
	app := randomName("invitekit_load_")
	schema := newSchema(t)
	s := openStore(t, schema, "application_name="+app)
	api := apiServer(t, s)
	duration := faultDuration(t)

	ctx, stop := context.WithTimeout(context.Background(), duration)
	defer stop()
	var kills, killed atomic.Int64
	killerDone := make(chan struct{})
	go func() {
		defer close(killerDone)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(50+rand.IntN(451)) * time.Millisecond):
			}
			var n int64
			if err := admin.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
				FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n); err == nil {
				kills.Add(1)
				killed.Add(n)
			}
		}
	}()

	const workers = 6
	var counts tally
	var mu sync.Mutex
	var failures []string
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 20 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	orgs := make([]uuid.UUID, workers)
	invs := make([][]*tracked, workers)
	guestIDs := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		orgs[w] = uuid.New()
		wg.Go(func() {
			org := orgs[w]
			base := "/v1/organizations/" + org.String() + "/invitations"
			guestHeaders := []string{"Requester-Organization-ID", org.String(), "Target-Organization-ID", org.String()}
			// check records a reply: an unanswered request or a 500 is a
			// failure, as is a 503 without Retry-After.
			check := func(op string, r reply, err error) bool {
				if err != nil {
					fail("%s: no response: %v", op, err)
					return false
				}
				counts.add(op, r.status)
				switch {
				case r.status >= 500 && r.status != http.StatusServiceUnavailable:
					fail("%s: %d %s", op, r.status, r.raw)
				case r.status == http.StatusServiceUnavailable && r.retryAfter == "":
					fail("%s: 503 without Retry-After", op)
				}
				return true
			}
			// pending returns a random invitation the client believes
			// pending, or nil.
			pending := func() *tracked {
				var open []*tracked
				for _, inv := range invs[w] {
					if inv.status == "pending" && !inv.unsure {
						open = append(open, inv)
					}
				}
				if len(open) == 0 {
					return nil
				}
				return open[rand.IntN(len(open))]
			}
			for n := 0; ctx.Err() == nil; n++ {
				switch op := rand.IntN(10); {
				case op < 3: // a small set of emails, so creates collide
					email := fmt.Sprintf("u%d@example.com", rand.IntN(12))
					r, err := api.do(http.MethodPost, base, map[string]any{"email": email, "role": "developer"})
					if check("create", r, err) && r.status == http.StatusOK {
						invs[w] = append(invs[w], &tracked{id: r.str("id"), email: email, token: r.str("token"), status: "pending"})
					}
				case op < 5:
					if len(invs[w]) == 0 {
						continue
					}
					inv := invs[w][rand.IntN(len(invs[w]))]
					r, err := api.do(http.MethodGet, base+"/"+inv.id, nil)
					if check("get", r, err) && r.status != http.StatusOK && r.status != http.StatusServiceUnavailable {
						fail("get %s: %d %s", inv.id, r.status, r.raw)
					}
				case op < 6:
					r, err := api.do(http.MethodGet, base+"?limit=20", nil)
					if check("list", r, err) && r.status != http.StatusOK && r.status != http.StatusServiceUnavailable {
						fail("list: %d %s", r.status, r.raw)
					}
				case op < 7:
					inv := pending()
					if inv == nil {
						continue
					}
					r, err := api.do(http.MethodPost, base+"/"+inv.id+"/resend", nil)
					if check("resend", r, err) {
						switch r.status {
						case http.StatusOK:
							inv.token = r.str("token")
						case http.StatusServiceUnavailable:
							inv.unsure = true
						default:
							fail("resend %s: %d %s", inv.id, r.status, r.raw)
						}
					}
				case op < 8:
					inv := pending()
					if inv == nil {
						continue
					}
					r, err := api.do(http.MethodPost, "/v1/invitations/accept", map[string]any{"token": inv.token, "email": inv.email})
					if check("accept", r, err) {
						switch r.status {
						case http.StatusOK:
							inv.status = "accepted"
						case http.StatusServiceUnavailable:
							inv.unsure = true
						default:
							fail("accept %s: %d %s", inv.id, r.status, r.raw)
						}
					}
				case op < 9:
					inv := pending()
					if inv == nil {
						continue
					}
					r, err := api.do(http.MethodPost, base+"/"+inv.id+"/revoke", nil)
					if check("revoke", r, err) {
						switch r.status {
						case http.StatusOK:
							inv.status = "revoked"
						case http.StatusServiceUnavailable:
							inv.unsure = true
						default:
							fail("revoke %s: %d %s", inv.id, r.status, r.raw)
						}
					}
				default:
					if len(guestIDs[w]) > 0 && rand.IntN(2) == 0 {
						id := guestIDs[w][rand.IntN(len(guestIDs[w]))]
						r, err := api.do(http.MethodGet, "/guest-invitations/"+id, nil, guestHeaders...)
						if check("guest get", r, err) && r.status != http.StatusOK && r.status != http.StatusServiceUnavailable {
							fail("guest get %s: %d %s", id, r.status, r.raw)
						}
						continue
					}
					r, err := api.do(http.MethodPost, "/guest-invitations", map[string]any{
						"email":      fmt.Sprintf("g%d@example.com", n),
						"expired_at": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339),
					}, guestHeaders...)
					if check("guest create", r, err) && r.status == http.StatusCreated {
						id, _ := r.body["id"].(string)
						guestIDs[w] = append(guestIDs[w], id)
					}
				}
			}
		})
	}
	wg.Wait()
	<-killerDone
	t.Logf("%v of load, %d kills terminating %d connections; replies by operation and status:%v", duration, kills.Load(), killed.Load(), &counts)
	t.Logf("503s: %d", counts.count(http.StatusServiceUnavailable))
	for _, f := range failures {
		t.Error(f)
	}
	require.Positive(t, kills.Load())

	// What the clients were told is what is stored.
	bg := context.Background()
	table := pgx.Identifier{schema, "invitations"}.Sanitize()
	created, checked := 0, 0
	for w := range workers {
		for _, inv := range invs[w] {
			created++
			var status string
			err := admin.QueryRow(bg, "SELECT status FROM "+table+" WHERE id = $1 AND organization_id = $2", inv.id, orgs[w]).Scan(&status)
			if !assert.NoError(t, err, "acknowledged create of %s is stored", inv.id) {
				continue
			}
			if !inv.unsure {
				checked++
				assert.Equal(t, inv.status, status, "invitation %s", inv.id)
			} else if inv.status != "pending" {
				assert.Equal(t, inv.status, status, "a final state stays")
			}
		}
		for _, id := range guestIDs[w] {
			var n int
			require.NoError(t, admin.QueryRow(bg, "SELECT count(*) FROM "+pgx.Identifier{schema, "guest_invitations"}.Sanitize()+
				" WHERE id = $1", id).Scan(&n))
			assert.Equal(t, 1, n, "acknowledged guest create of %s is stored", id)
		}
	}
	var dups int
	require.NoError(t, admin.QueryRow(bg, `SELECT count(*) FROM (SELECT organization_id, email FROM `+table+`
		WHERE status = 'pending' AND expire_at > now() GROUP BY 1, 2 HAVING count(*) > 1) d`).Scan(&dups))
	assert.Zero(t, dups, "no (organization, email) has two open invitations")
	t.Logf("%d acknowledged creates stored, %d in the state the client was told", created, checked)
}

// TestRowLockHeldElsewhere holds an invitation's row lock from another
// session (BEGIN; SELECT ... FOR UPDATE, then idle, as a forgotten psql
// session would, for lockHold: 60 s) while six clients keep resending,
// revoking and accepting that invitation through a pool of four
// connections: each of those requests is answered 503 with Retry-After
// within the lock timeout (plus slack), the token is not rotated, and
// requests for other invitations (creates, gets and resends) are served
// throughout.
func TestRowLockHeldElsewhere(t *testing.T) {
	t.Parallel()
	const lockTimeout = time.Second
	schema := newSchema(t)
	s, err := postgresstore.Open(context.Background(), withParams(testURL(t), "pool_max_conns=4"),
		postgresstore.WithSchema(schema), postgresstore.WithLockTimeout(lockTimeout))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	api := apiServer(t, s)
	org := uuid.New()
	base := "/v1/organizations/" + org.String() + "/invitations"
	r, err := api.do(http.MethodPost, base, map[string]any{"email": "locked@example.com", "role": "admin"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	locked, token := r.str("id"), r.str("token")
	table := pgx.Identifier{schema, "invitations"}.Sanitize()
	nonce := func() []byte {
		var n []byte
		require.NoError(t, admin.QueryRow(context.Background(), "SELECT nonce FROM "+table+" WHERE id = $1", locked).Scan(&n))
		return n
	}
	before := nonce()

	bg := context.Background()
	holder, err := admin.Begin(bg)
	require.NoError(t, err)
	_, err = holder.Exec(bg, "SELECT 1 FROM "+table+" WHERE id = $1 FOR UPDATE", locked)
	require.NoError(t, err)
	release := sync.OnceFunc(func() { assert.NoError(t, holder.Rollback(bg)) })
	defer release()

	hold, endHold := context.WithTimeout(bg, lockHold(t))
	defer endHold()
	var counts tally
	var mu sync.Mutex
	slowest := map[string]time.Duration{}
	var slowestOther time.Duration
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			for hold.Err() == nil {
				var r reply
				var err error
				var op string
				switch i % 3 {
				case 0, 1:
					op = "resend"
					r, err = api.do(http.MethodPost, base+"/"+locked+"/resend", nil)
				case 2:
					if i%2 == 0 {
						op = "revoke"
						r, err = api.do(http.MethodPost, base+"/"+locked+"/revoke", nil)
					} else {
						op = "accept"
						r, err = api.do(http.MethodPost, "/v1/invitations/accept", map[string]any{"token": token, "email": "locked@example.com"})
					}
				}
				if !assert.NoError(t, err, op) {
					return
				}
				counts.add(op, r.status)
				assert.Equal(t, http.StatusServiceUnavailable, r.status, "%s of the locked invitation: %s", op, r.raw)
				assert.NotEmpty(t, r.retryAfter)
				assert.Less(t, r.took, lockTimeout+3*time.Second, "answered within the lock timeout")
				mu.Lock()
				slowest[op] = max(slowest[op], r.took)
				mu.Unlock()
			}
		})
	}
	// Unrelated requests while the lock is held and the six keep
	// waiting for it.
	served := 0
	for i := 0; hold.Err() == nil; i++ {
		r, err := api.do(http.MethodPost, base, map[string]any{"email": fmt.Sprintf("other%d@example.com", i), "role": "admin"})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.status, "create of another invitation: %s", r.raw)
		slowestOther = max(slowestOther, r.took)
		g, err := api.do(http.MethodGet, base+"/"+r.str("id"), nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, g.status, "get of another invitation: %s", g.raw)
		slowestOther = max(slowestOther, g.took)
		rs, err := api.do(http.MethodPost, base+"/"+r.str("id")+"/resend", nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, rs.status, "resend of another invitation: %s", rs.raw)
		slowestOther = max(slowestOther, rs.took)
		served += 3
	}
	wg.Wait()
	t.Logf("while the lock was held: locked-row requests%v, slowest %v; %d other requests served, slowest %v",
		&counts, slowest, served, slowestOther)
	assert.Positive(t, served)
	assert.Equal(t, before, nonce(), "no request that got 503 rotated the token")

	release()
	r, err = api.do(http.MethodPost, base+"/"+locked+"/resend", nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, r.status, "once the lock is gone: %s", r.raw)
	assert.NotEqual(t, before, nonce())
}
