package throttle

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clock is a time the test moves.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) add(d time.Duration)     { c.t = c.t.Add(d) }
func newClock() *clock                   { return &clock{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func failed(_ *http.Request, s int) bool { return s == http.StatusUnauthorized }

func newLimiter(t *testing.T, c *clock, max int) *Limiter {
	t.Helper()
	l, err := New(Config{Failures: 10, Per: time.Minute, MaxClients: max, Failed: failed, Now: c.now})
	require.NoError(t, err)
	return l
}

func TestBudgetRefills(t *testing.T) {
	t.Parallel()
	c := newClock()
	l := newLimiter(t, c, 0)
	for i := range 10 {
		require.Zero(t, l.Wait("a"), "failure %d is within the budget", i+1)
		l.Fail("a")
	}
	assert.Equal(t, 6*time.Second, l.Wait("a"), "one failure refills every 60s/10")
	assert.Zero(t, l.Wait("b"), "other addresses keep their budget")

	c.add(5 * time.Second)
	assert.Equal(t, time.Second, l.Wait("a"))
	c.add(time.Second)
	assert.Zero(t, l.Wait("a"), "one more try after 6 s")
	l.Fail("a")
	assert.Equal(t, 6*time.Second, l.Wait("a"))

	// Requests let through together that all fail push the budget below
	// zero, down to minus a whole budget.
	for range 100 {
		l.Fail("a")
	}
	assert.Equal(t, 66*time.Second, l.Wait("a"))
	c.add(2 * time.Minute)
	assert.Zero(t, l.Wait("a"))
}

func TestMemoryIsBounded(t *testing.T) {
	t.Parallel()
	c := newClock()
	l := newLimiter(t, c, 100)
	for i := range 1000 {
		l.Fail(fmt.Sprint("10.0.", i/256, ".", i%256))
	}
	assert.LessOrEqual(t, l.Len(), 100)

	// Addresses whose budget refilled are forgotten first.
	c.add(time.Minute)
	l.Fail("busy")
	for range 9 {
		l.Fail("busy")
	}
	for i := range 99 {
		l.Fail(fmt.Sprint("10.1.0.", i))
	}
	assert.Equal(t, 100, l.Len())
	assert.NotZero(t, l.Wait("busy"), "an address that spent its budget is remembered over idle ones")
}

// TestMakingRoomFreesAnEighth: a walk over the map that finds only a few
// refilled addresses still frees an eighth of the room, so the next new
// addresses do not each pay for a walk.
func TestMakingRoomFreesAnEighth(t *testing.T) {
	t.Parallel()
	c := newClock()
	l := newLimiter(t, c, 100)
	l.Fail("old")
	c.add(time.Minute)
	for i := range 99 {
		l.Fail(fmt.Sprint("10.0.0.", i))
	}
	require.Equal(t, 100, l.Len())
	l.Fail("new")
	assert.Equal(t, 100-100/8, l.Len(), "the refilled address and then arbitrary ones are forgotten")
}

func TestHandler(t *testing.T) {
	t.Parallel()
	c := newClock()
	l := newLimiter(t, c, 0)
	calls := 0
	h := l.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.Header.Get("Authorization") != "good" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	do := func(remote, auth string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for range 5 {
		assert.Equal(t, http.StatusOK, do("192.0.2.1:1000", "good").Code, "successes spend nothing")
	}
	for i := range 10 {
		assert.Equal(t, http.StatusUnauthorized, do(fmt.Sprintf("192.0.2.1:%d", 2000+i), "bad").Code, "the port does not matter")
	}
	w := do("192.0.2.1:3000", "good")
	assert.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.Equal(t, "6", w.Header().Get("Retry-After"))
	assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
	var p map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
	assert.Equal(t, "urn:invitekit:problem:rate-limited", p["type"])
	assert.EqualValues(t, 429, p["status"])
	assert.NotEmpty(t, p["detail"])
	assert.Equal(t, p["requestId"], w.Header().Get("X-Request-Id"), "the request log names the ID the client got")
	assert.Equal(t, 15, calls, "a throttled request never reaches the handler")

	assert.Equal(t, http.StatusOK, do("192.0.2.2:1000", "good").Code, "another address is served")
	c.add(6 * time.Second)
	assert.Equal(t, http.StatusOK, do("192.0.2.1:1000", "good").Code)
}

func TestAddr(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "192.0.2.1", Addr("192.0.2.1:443"))
	assert.Equal(t, "2001:db8:1:2::/64", Addr("[2001:db8:1:2:aaaa::1]:443"), "an IPv6 /64 is one client")
	assert.Equal(t, Addr("[2001:db8:1:2::5]:1"), Addr("[2001:db8:1:2:ffff::9]:2"))
	assert.Equal(t, "192.0.2.1", Addr("[::ffff:192.0.2.1]:80"))
	assert.Equal(t, "pipe", Addr("pipe"), "whatever RemoteAddr is, it names a client")

	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.1:5000"
	assert.Equal(t, "10.0.0.1", ForwardedAddr(r))
	r.Header.Add("X-Forwarded-For", "203.0.113.9, 198.51.100.7")
	assert.Equal(t, "198.51.100.7", ForwardedAddr(r), "the entry the trusted proxy appended")
	r.Header.Set("X-Forwarded-For", "garbage")
	assert.Equal(t, "10.0.0.1", ForwardedAddr(r))
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{Failures: 0, Per: time.Minute, Failed: failed},
		{Failures: 1, Per: 0, Failed: failed},
		{Failures: 1, Per: time.Minute},
		{Failures: 1, Per: time.Minute, MaxClients: -1, Failed: failed},
	} {
		_, err := New(cfg)
		assert.Error(t, err)
	}
}
