package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

// step is one answer of a scripted Sweep.
type step struct {
	res store.SweepResult
	err error
}

// script is a Sweep that answers with steps in order, then with nothing to
// do, and counts its calls.
type script struct {
	mu    sync.Mutex
	steps []step
	calls int
	// unbounded counts the calls whose context had no deadline.
	unbounded int
}

func (s *script) sweep(ctx context.Context) (store.SweepResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if _, ok := ctx.Deadline(); !ok {
		s.unbounded++
	}
	if s.calls > len(s.steps) {
		return store.SweepResult{}, nil
	}
	return s.steps[s.calls-1].res, s.steps[s.calls-1].err
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// waitClosed waits, a bounded time, for the sweep to stop.
func waitClosed(t *testing.T, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("the sweep did not stop within 15 s of its context's end")
	}
}

// TestSweepDrainsAndCarriesOn: a failed sweep is logged and tried again at
// the next tick, and a tick calls Sweep again while More says there is
// work left, logging the sum once; ticks that find nothing log nothing.
func TestSweepDrainsAndCarriesOn(t *testing.T) {
	t.Parallel()
	log := &syncBuffer{}
	orgs := &script{steps: []step{
		{store.SweepResult{Expired: 5}, fmt.Errorf("purge: %w", store.ErrUnavailable)},
		{store.SweepResult{Expired: 2, Purged: 1, More: true}, nil},
		{store.SweepResult{Expired: 1, Purged: 3}, nil},
	}}
	guests := &script{steps: []step{{store.SweepResult{Expired: 7}, nil}}}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := startSweep(ctx, 10*time.Millisecond, []sweeper{{"invitation", orgs.sweep}, {"guest_invitation", guests.sweep}},
		slog.New(slog.NewTextHandler(log, nil)))

	deadline := time.Now().Add(15 * time.Second)
	for orgs.count() < 5 { // the failure, the drain of two calls, two ticks with nothing
		require.False(t, time.Now().After(deadline), "the sweep stopped after %d calls:\n%s", orgs.count(), log)
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	waitClosed(t, done)

	out := log.String()
	assert.Contains(t, out, `level=WARN msg="sweep failed; trying again at the next tick" kind=invitation err="purge: invitekit: the store is busy`)
	assert.Contains(t, out, `msg="swept invitations" kind=invitation expired=5 purged=0`, "what a failed sweep did is logged too")
	assert.Contains(t, out, `msg="swept invitations" kind=invitation expired=3 purged=4`, "one tick drains while More is set")
	assert.Contains(t, out, `msg="swept invitations" kind=guest_invitation expired=7 purged=0`, "the other kind is swept though one failed")
	assert.Equal(t, 3, strings.Count(out, "swept invitations"), "a tick that does nothing logs nothing:\n%s", out)
	assert.Zero(t, orgs.unbounded+guests.unbounded, "every call has a deadline, so a hung store fails one tick only")
}

// TestSweepStopsWithContext: a drain ends once the context is done,
// however much work is left, without a warning for the sweep that the
// shutdown cut short, and the channel says when it has stopped.
func TestSweepStopsWithContext(t *testing.T) {
	t.Parallel()
	for name, last := range map[string]step{
		"more left":          {store.SweepResult{Expired: 1, More: true}, nil},
		"sweep cut short":    {store.SweepResult{Expired: 1}, fmt.Errorf("expire: %w", context.Canceled)},
		"store call aborted": {store.SweepResult{Expired: 1}, fmt.Errorf("expire: %w", store.ErrUnavailable)},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			log := &syncBuffer{}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			more := step{store.SweepResult{Expired: 1, More: true}, nil}
			orgs := &script{steps: []step{more, more, last}}
			// The third call ends the context, as SIGTERM would during it.
			cancelling := func(ctx context.Context) (store.SweepResult, error) {
				if orgs.count() == 2 {
					cancel()
				}
				return orgs.sweep(ctx)
			}
			guests := &script{}
			done := startSweep(ctx, time.Hour, []sweeper{{"invitation", cancelling}, {"guest_invitation", guests.sweep}},
				slog.New(slog.NewTextHandler(log, nil)))
			waitClosed(t, done)
			assert.Equal(t, 3, orgs.count(), "no call after the context ended")
			assert.Zero(t, guests.count(), "no sweep starts after the context ended")
			assert.NotContains(t, log.String(), "WARN", "a sweep cut short by shutdown is no failure")
			assert.Contains(t, log.String(), "kind=invitation expired=3 purged=0", "what was done is still logged")
		})
	}
}

func TestSweepDisabled(t *testing.T) {
	t.Parallel()
	s := &script{}
	done := startSweep(t.Context(), 0, []sweeper{{"invitation", s.sweep}}, discardLogger())
	select {
	case <-done:
	default:
		t.Fatal("with -sweep-interval 0 there is nothing to wait for")
	}
	assert.Zero(t, s.count())
}

// expiredEvents returns the invitation IDs of the host's
// guest_invitation.expired events.
func expiredEvents(t *testing.T, p *process, host string) []string {
	t.Helper()
	status, body := p.do(t, "GET", "/v1/organizations/"+host+"/events?type=guest_invitation.expired", "")
	require.Equal(t, http.StatusOK, status, "%v", body)
	var ids []string
	for _, ev := range body["result"].([]any) {
		ids = append(ids, ev.(map[string]any)["invitationId"].(string))
	}
	return ids
}

// TestServerSweepsExpiredInvitations: the server's own sweep loop records
// each expiry once, with its event, while it serves.
func TestServerSweepsExpiredInvitations(t *testing.T) {
	skipShort(t)
	p := start(t, build(t), []string{"INVITEKIT_API_KEYS=k:s@*"},
		"-db", filepath.Join(t.TempDir(), "invitekit.db"), "-sweep-interval", "200ms")
	p.apiKey = [2]string{"k", "s"}
	host := uuid.NewString()
	// The second expires after the first: by the time the sweep has
	// recorded it, the sweep has passed the first many times.
	var ids []string
	for i, after := range []time.Duration{2 * time.Second, 4 * time.Second} {
		expiry := time.Now().Add(after).UTC().Format(time.RFC3339Nano)
		status, body := p.do(t, "POST", "/guest-invitations", fmt.Sprintf(`{"email":"g%d@example.com","expired_at":%q}`, i, expiry), host)
		require.Equal(t, http.StatusCreated, status, "%v", body)
		ids = append(ids, body["id"].(string))
	}
	assert.Empty(t, expiredEvents(t, p, host), "nothing has expired yet")

	deadline := time.Now().Add(15 * time.Second)
	for !slices.Contains(expiredEvents(t, p, host), ids[1]) {
		require.False(t, time.Now().After(deadline), "no guest_invitation.expired event within 15 s:\n%s", p.log)
		time.Sleep(100 * time.Millisecond)
	}
	assert.ElementsMatch(t, ids, expiredEvents(t, p, host), "each expiry is recorded once")
	p.logged(t, `msg="swept invitations" kind=guest_invitation expired=`)
	p.stop(t)
}

// retryAfter returns the whole seconds of a Retry-After header.
func retryAfter(t *testing.T, h http.Header) int {
	t.Helper()
	secs, err := strconv.Atoi(h.Get("Retry-After"))
	require.NoError(t, err, "Retry-After %q", h.Get("Retry-After"))
	return secs
}

// TestServerLimits: -max-open and -creates-per-hour bind each
// organization, on the organization and the guest routes, with 429 and
// Retry-After.
func TestServerLimits(t *testing.T) {
	skipShort(t)
	p := start(t, build(t), []string{"INVITEKIT_API_KEYS=k:s@*"}, "-db", ":memory:", "-max-open", "1", "-creates-per-hour", "2")
	p.apiKey = [2]string{"k", "s"}
	org := "/v1/organizations/" + uuid.NewString() + "/invitations"
	create := func(email string) (int, http.Header, map[string]any) {
		return p.doHeader(t, "POST", org, `{"email":"`+email+`","role":"admin"}`)
	}
	revoke := func(body map[string]any) {
		status, res := p.do(t, "POST", org+"/"+body["result"].(map[string]any)["id"].(string)+"/revoke", "")
		require.Equal(t, http.StatusOK, status, "%v", res)
	}

	status, _, first := create("a@example.com")
	require.Equal(t, http.StatusOK, status, "%v", first)
	status, h, body := create("b@example.com")
	assert.Equal(t, http.StatusTooManyRequests, status, "-max-open 1: %v", body)
	assert.Equal(t, "urn:invitekit:problem:limit-exceeded", body["type"])
	assert.Positive(t, retryAfter(t, h))

	revoke(first)
	status, _, second := create("b@example.com")
	require.Equal(t, http.StatusOK, status, "a revoked invitation frees its place: %v", second)
	revoke(second)
	status, h, body = create("c@example.com")
	assert.Equal(t, http.StatusTooManyRequests, status, "-creates-per-hour 2: %v", body)
	assert.Contains(t, body["detail"], "in the last hour")
	assert.LessOrEqual(t, retryAfter(t, h), 3600)

	expiry := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	host := uuid.NewString()
	status, body = p.do(t, "POST", "/guest-invitations", `{"email":"g1@example.com","expired_at":"`+expiry+`"}`, host)
	require.Equal(t, http.StatusCreated, status, "%v", body)
	status, h, body = p.doHeader(t, "POST", "/guest-invitations", `{"email":"g2@example.com","expired_at":"`+expiry+`"}`, host)
	assert.Equal(t, http.StatusTooManyRequests, status, "the guest routes have the limits too: %v", body)
	assert.Equal(t, "urn:invitekit:problem:limit-exceeded", body["type"])
	assert.Positive(t, retryAfter(t, h))
	p.stop(t)
}
