package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/webhook"
)

// receiver is a webhook endpoint that verifies every delivery and counts
// them by event.
type receiver struct {
	srv    *httptest.Server
	secret webhook.Secret

	mu        sync.Mutex
	events    map[uuid.UUID]event.Event
	delivered map[uuid.UUID]int // deliveries per event ID
	invalid   int
}

func newReceiver(t *testing.T, secret string) *receiver {
	t.Helper()
	s, err := webhook.ParseSecret(secret)
	require.NoError(t, err)
	r := &receiver{secret: s, events: map[uuid.UUID]event.Event{}, delivered: map[uuid.UUID]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		var ev event.Event
		if err == nil {
			err = webhook.Verify(r.secret, req.Header, body, time.Now())
		}
		if err == nil {
			err = json.Unmarshal(body, &ev)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil || req.Header.Get("webhook-id") != ev.ID.String() {
			r.invalid++
			http.Error(w, "invalid", http.StatusBadRequest)
			return
		}
		r.events[ev.ID] = ev
		r.delivered[ev.ID]++
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// change is one change a client saw acknowledged: the event it must cause.
type change struct {
	invitation uuid.UUID
	typ        event.Type
}

// missing returns the acknowledged changes no delivered event stands for,
// and the deliveries and duplicate deliveries so far.
func (r *receiver) missing(acked []change) (missing []change, deliveries, duplicates int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	have := map[change]int{}
	for id, ev := range r.events {
		have[change{ev.InvitationID, ev.Type}]++
		deliveries += r.delivered[id]
		duplicates += r.delivered[id] - 1
	}
	for _, c := range acked {
		if have[c] == 0 {
			missing = append(missing, c)
			continue
		}
		have[c]--
	}
	return missing, deliveries, duplicates
}

// client creates, resends and accepts organization invitations against
// whichever server is up, and records the changes that were acknowledged.
type client struct {
	mu    sync.Mutex
	addr  string
	acked []change
	http  *http.Client
}

func (c *client) target() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addr
}

// post sends body and returns the result of a 200, nil otherwise (the
// server may be dead mid-request: then the change is not acknowledged).
func (c *client) post(path, body string) map[string]any {
	req, err := http.NewRequest("POST", "http://"+c.target()+path, strings.NewReader(body))
	if err != nil {
		return nil
	}
	req.SetBasicAuth("k", "s")
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var out struct {
		Result map[string]any `json:"result"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		return nil
	}
	return out.Result
}

func (c *client) ack(id string, typ event.Type) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.acked = append(c.acked, change{uuid.MustParse(id), typ})
}

// work runs create, resend, accept cycles until stop closes.
func (c *client) work(org string, stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		email := fmt.Sprintf("%s@example.com", uuid.NewString()[:12])
		inv := c.post("/v1/organizations/"+org+"/invitations", `{"email":"`+email+`","role":"admin"}`)
		if inv == nil {
			time.Sleep(5 * time.Millisecond) // the server is restarting
			continue
		}
		c.ack(inv["id"].(string), event.InvitationCreated)
		if i%2 == 0 {
			if res := c.post("/v1/organizations/"+org+"/invitations/"+inv["id"].(string)+"/resend", ""); res != nil {
				c.ack(inv["id"].(string), event.InvitationResent)
				inv = res
			} else {
				continue
			}
		}
		if res := c.post("/v1/invitations/accept", fmt.Sprintf(`{"token":%q,"email":%q}`, inv["token"], email)); res != nil {
			c.ack(inv["id"].(string), event.InvitationAccepted)
		}
	}
}

// waitDelivered waits until every acknowledged change has been delivered.
func waitDelivered(t *testing.T, r *receiver, acked []change) (deliveries, duplicates int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		missing, deliveries, duplicates := r.missing(acked)
		if len(missing) == 0 {
			return deliveries, duplicates
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged changes never delivered, e.g. %v", len(missing), len(acked), missing[0])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func kill(t *testing.T, p *process) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	<-p.done
}

// TestCrashLosesNoEvent SIGKILLs the server again and again while clients
// create, resend and accept: after the restarts, every acknowledged change
// has been delivered to the webhook at least once, with a valid signature.
func TestCrashLosesNoEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	bin := build(t)
	secret := webhook.GenerateSecret()
	r := newReceiver(t, secret)
	db := filepath.Join(t.TempDir(), "invitekit.db")
	env := []string{"INVITEKIT_API_KEYS=k:s@*", "INVITEKIT_WEBHOOK_SECRET=" + secret}
	args := []string{"-db", db, "-webhook", r.srv.URL, "-webhook-timeout", "1s"}
	org := uuid.NewString()
	c := &client{http: &http.Client{Timeout: 5 * time.Second}}

	const crashes = 6
	for round := range crashes {
		p := start(t, bin, env, args...)
		c.mu.Lock()
		c.addr = p.addr
		c.mu.Unlock()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() { defer wg.Done(); c.work(org, stop) }()
		}
		time.Sleep(time.Duration(300+100*round) * time.Millisecond)
		kill(t, p) // mid-traffic, mid-delivery
		close(stop)
		wg.Wait()
	}
	last := start(t, bin, env, args...)
	deliveries, duplicates := waitDelivered(t, r, c.acked)
	last.stop(t)

	r.mu.Lock()
	invalid := r.invalid
	r.mu.Unlock()
	assert.Zero(t, invalid, "every delivery carries a valid signature")
	t.Logf("%d crashes: %d acknowledged changes, %d deliveries of %d events, %d duplicates",
		crashes, len(c.acked), deliveries, len(r.events), duplicates)
	assert.GreaterOrEqual(t, len(c.acked), 50, "the clients made enough changes to mean something")
}

// TestTwoServersShareOneStream runs two servers on one PostgreSQL schema,
// both relaying to one receiver, while clients write through both: every
// event is delivered, and without a crash none twice.
func TestTwoServersShareOneStream(t *testing.T) {
	url, schema := postgresSchema(t)
	bin := build(t)
	secret := webhook.GenerateSecret()
	r := newReceiver(t, secret)
	env := []string{"INVITEKIT_API_KEYS=k:s@*", "INVITEKIT_WEBHOOK_SECRET=" + secret,
		"INVITEKIT_TOKEN_KEY=" + strings.Repeat("A", 43) + "="}
	args := []string{"-postgres", url, "-postgres-schema", schema, "-webhook", r.srv.URL, "-webhook-timeout", "1s"}
	a := start(t, bin, env, args...)
	b := start(t, bin, env, args...)

	org := uuid.NewString()
	clients := []*client{
		{addr: a.addr, http: &http.Client{Timeout: 5 * time.Second}},
		{addr: b.addr, http: &http.Client{Timeout: 5 * time.Second}},
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range clients {
		for range 3 {
			wg.Add(1)
			go func() { defer wg.Done(); c.work(org, stop) }()
		}
	}
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	acked := append(clients[0].acked, clients[1].acked...)
	deliveries, duplicates := waitDelivered(t, r, acked)
	t.Logf("two servers: %d acknowledged changes, %d deliveries of %d events, %d duplicates",
		len(acked), deliveries, len(r.events), duplicates)
	assert.Zero(t, duplicates, "relays sharing a stream never deliver an event twice without a crash")
	assert.GreaterOrEqual(t, len(acked), 50)

	// A crash of one relay mid-stream: the other takes over its leases
	// once they run out, so everything still arrives, at worst twice.
	clients[0].addr = b.addr
	stop = make(chan struct{})
	wg.Add(1)
	go func() { defer wg.Done(); clients[1].work(org, stop) }()
	time.Sleep(300 * time.Millisecond)
	kill(t, a)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	acked = append(clients[0].acked, clients[1].acked...)
	deliveries, duplicates = waitDelivered(t, r, acked)
	t.Logf("after one server was killed: %d acknowledged changes, %d deliveries of %d events, %d duplicates",
		len(acked), deliveries, len(r.events), duplicates)
	b.stop(t)
}
