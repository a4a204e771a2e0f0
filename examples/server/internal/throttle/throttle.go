// Package throttle slows down clients that guess: each client address has
// a budget of failed requests (wrong API secrets, invalid invitation
// tokens) that refills over time, and an address that spent it is answered
// 429 Too Many Requests, with Retry-After, until it has refilled enough,
// without the request reaching the handler.
//
// It is a token bucket per address, in memory: instances behind a load
// balancer each keep their own. Memory is bounded by Config.MaxClients;
// an address whose budget has refilled completely is forgotten, as it is
// then no different from one never seen.
package throttle

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/httpadapter"
)

// Config configures a Limiter.
type Config struct {
	// Failures is the budget: how many failed requests an address may
	// make at once. At least 1.
	Failures int
	// Per is how long a spent budget takes to refill completely; it
	// refills steadily, one failure every Per/Failures. Positive.
	Per time.Duration
	// MaxClients bounds the addresses remembered; 100,000 when zero.
	// At the bound, the addresses whose budget has refilled are
	// forgotten, and then arbitrary ones, which start again with a whole
	// budget, until an eighth of the room is free.
	MaxClients int
	// Failed tells whether the answer status to r spends budget.
	Failed func(r *http.Request, status int) bool
	// ClientAddr is the address r counts against; RemoteAddr (see Addr)
	// when nil.
	ClientAddr func(r *http.Request) string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Limiter keeps the budget of every address. It is safe for concurrent use.
type Limiter struct {
	cfg     Config
	rate    float64 // budget refilled per second
	mu      sync.Mutex
	clients map[string]*bucket
}

// bucket is an address's budget: tokens at time at.
type bucket struct {
	tokens float64
	at     time.Time
}

// New returns a Limiter, or an error for a Config it cannot work with.
func New(cfg Config) (*Limiter, error) {
	if cfg.Failures < 1 || cfg.Per <= 0 || cfg.MaxClients < 0 || cfg.Failed == nil {
		return nil, fmt.Errorf("throttle: want Failures >= 1, Per > 0, MaxClients >= 0 and Failed, have %d, %v, %d", cfg.Failures, cfg.Per, cfg.MaxClients)
	}
	if cfg.MaxClients == 0 {
		cfg.MaxClients = 100_000
	}
	if cfg.ClientAddr == nil {
		cfg.ClientAddr = func(r *http.Request) string { return Addr(r.RemoteAddr) }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Limiter{cfg: cfg, rate: float64(cfg.Failures) / cfg.Per.Seconds(), clients: map[string]*bucket{}}, nil
}

// refill brings b to now and returns it.
func (l *Limiter) refill(b *bucket, now time.Time) *bucket {
	if now.After(b.at) {
		b.tokens = math.Min(float64(l.cfg.Failures), b.tokens+now.Sub(b.at).Seconds()*l.rate)
		b.at = now
	}
	return b
}

// Wait returns how long addr must wait before its next request is let
// through: 0 when it may send one now.
func (l *Limiter) Wait(addr string) time.Duration {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.clients[addr]
	if !ok {
		return 0
	}
	if l.refill(b, now).tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// Fail spends one failure of addr's budget. Requests let through together
// may all fail after the budget ran out: the budget then goes below zero,
// down to minus a whole budget, and takes that much longer to refill.
func (l *Limiter) Fail(addr string) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.clients[addr]
	if !ok {
		l.makeRoom(now)
		b = &bucket{tokens: float64(l.cfg.Failures), at: now}
		l.clients[addr] = b
	}
	l.refill(b, now).tokens = math.Max(-float64(l.cfg.Failures), b.tokens-1)
}

// makeRoom forgets addresses when there is no room for one more: those
// whose budget has refilled, then arbitrary ones until an eighth of the
// room is free. The walk over the map, under the lock every request takes,
// is so paid once per MaxClients/8 new addresses: were it to stop at the
// refilled ones, a walk that found one would be repeated for the next new
// address, by an attacker with many addresses for every one it sends from.
func (l *Limiter) makeRoom(now time.Time) {
	if len(l.clients) < l.cfg.MaxClients {
		return
	}
	for addr, b := range l.clients {
		if l.refill(b, now).tokens >= float64(l.cfg.Failures) {
			delete(l.clients, addr)
		}
	}
	keep := l.cfg.MaxClients - 1 - l.cfg.MaxClients/8
	for addr := range l.clients {
		if len(l.clients) <= keep {
			break
		}
		delete(l.clients, addr)
	}
}

// Len returns how many addresses the Limiter remembers.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// Handler passes the requests of addresses with budget left to next, and
// spends budget for the answers Config.Failed names. The others are
// answered 429 with Retry-After and an RFC 9457 problem body shaped like
// httpadapter's errors.
func (l *Limiter) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := l.cfg.ClientAddr(r)
		if wait := l.Wait(addr); wait > 0 {
			tooMany(w, wait)
			return
		}
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if l.cfg.Failed(r, rec.status()) {
			l.Fail(addr)
		}
	})
}

// tooMany answers 429. The request ID is in a header too, as the
// httpadapter's are, so that the request log names it.
func tooMany(w http.ResponseWriter, wait time.Duration) {
	secs := int(math.Ceil(wait.Seconds()))
	detail := fmt.Sprintf("too many failed authentications or invalid tokens from this address: retry after %d seconds", secs)
	id := uuid.NewString()
	body, _ := json.Marshal(map[string]any{
		"status":    http.StatusTooManyRequests,
		"error":     detail,
		"requestId": id,
		"type":      httpadapter.ProblemTypePrefix + "rate-limited",
		"title":     "Too many requests",
		"detail":    detail,
	})
	w.Header().Set(httpadapter.RequestIDHeader, id)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write(body)
}

// recorder remembers the status of a response.
type recorder struct {
	http.ResponseWriter
	code int
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 && code >= 200 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

// Addr returns the address a request from remote (an http.Request's
// RemoteAddr, host:port) counts against: its IP, or for IPv6 its /64
// network, which one subscriber usually holds whole.
func Addr(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() != nil {
		return ip.String()
	}
	return (&net.IPNet{IP: ip.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}

// ForwardedAddr returns the client address a trusted proxy put last in
// X-Forwarded-For, falling back to RemoteAddr. Use it only behind a proxy
// that appends to the header: otherwise clients choose their own address.
func ForwardedAddr(r *http.Request) string {
	values := r.Header.Values("X-Forwarded-For")
	if len(values) > 0 {
		list := strings.Split(values[len(values)-1], ",")
		if ip := net.ParseIP(strings.TrimSpace(list[len(list)-1])); ip != nil {
			return Addr(ip.String())
		}
	}
	return Addr(r.RemoteAddr)
}
