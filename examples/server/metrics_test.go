package main

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/webhook"
)

// scrape GETs /metrics without credentials and returns the Prometheus
// text.
func (p *process) scrape(t *testing.T) string {
	t.Helper()
	resp, err := http.Get("http://" + p.addr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "/metrics needs no API key")
	assert.Contains(t, resp.Header.Get("Content-Type"), "text/plain")
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(body)
}

// sample returns the value of the series of metric name that has every
// label of labels (name="value" each), and whether there is one; it fails
// when several match.
func sample(t *testing.T, text, name string, labels ...string) (float64, bool) {
	t.Helper()
	var found []string
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		rest, ok := strings.CutPrefix(line, name+"{")
		if !ok {
			continue
		}
		set, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		all := true
		for _, l := range labels {
			// Labels are separated by commas; none of these values has one.
			all = all && (strings.HasPrefix(set, l+",") || strings.Contains(set, ","+l+",") || strings.HasSuffix(set, ","+l) || set == l)
		}
		if all {
			found = append(found, value)
		}
	}
	if len(found) == 0 {
		return 0, false
	}
	require.Len(t, found, 1, "one series of %s with %v", name, labels)
	v, err := strconv.ParseFloat(found[0], 64)
	require.NoError(t, err)
	return v, true
}

// TestMetricsEndpoint runs the binary, makes requests and reads them back
// from /metrics by route pattern and status.
func TestMetricsEndpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	p := start(t, build(t), nil, "-db", ":memory:")
	org := uuid.NewString()
	status, body := p.do(t, "POST", "/v1/organizations/"+org+"/invitations", `{"email":"ada@example.com","role":"admin"}`)
	require.Equal(t, http.StatusOK, status, "%v", body)
	status, _ = p.do(t, "POST", "/v1/organizations/"+org+"/invitations", `{"email":"bob@example.com","role":"admin"}`)
	require.Equal(t, http.StatusOK, status)
	status, _ = p.do(t, "GET", "/v1/organizations/"+org+"/invitations/"+uuid.NewString(), "")
	require.Equal(t, http.StatusNotFound, status)

	text := p.scrape(t)
	const count = "http_server_request_duration_seconds_count"
	created, ok := sample(t, text, count, `http_request_method="POST"`,
		`http_route="/v1/organizations/{organizationId}/invitations"`, `http_response_status_code="200"`)
	require.True(t, ok, "no series for the creates in:\n%s", text)
	assert.Equal(t, 2.0, created)
	missing, ok := sample(t, text, count, `http_request_method="GET"`,
		`http_route="/v1/organizations/{organizationId}/invitations/{invitationId}"`, `http_response_status_code="404"`)
	require.True(t, ok, "no series for the 404 in:\n%s", text)
	assert.Equal(t, 1.0, missing)
	assert.NotContains(t, text, org, "no raw path becomes a label")
	assert.Contains(t, text, `# TYPE http_server_request_duration_seconds histogram`)
	assert.Contains(t, text, "go_goroutines ", "the Go runtime's metrics too")
	assert.NotContains(t, text, `http_route="/metrics"`, "scrapes are not API requests")
	p.stop(t)
}

// TestMetricsOutbox runs the binary with a webhook: /metrics counts the
// delivered events by type and shows the outbox's lag and dead events.
func TestMetricsOutbox(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	secret := webhook.GenerateSecret()
	r := newReceiver(t, secret)
	p := start(t, build(t), []string{"INVITEKIT_WEBHOOK_SECRET=" + secret}, "-db", ":memory:", "-webhook", r.srv.URL)
	org := uuid.NewString()
	status, body := p.do(t, "POST", "/v1/organizations/"+org+"/invitations", `{"email":"ada@example.com","role":"admin"}`)
	require.Equal(t, http.StatusOK, status, "%v", body)

	// The counter and the lag gauge are read at different moments of one
	// scrape, so the scrape that first counts the delivery may still see
	// the event pending; once it is delivered, the lag is 0 for good.
	var text string
	require.Eventually(t, func() bool {
		text = p.scrape(t)
		n, _ := sample(t, text, "invitekit_outbox_events_total", `type="invitation.created"`, `outcome="delivered"`)
		lag, ok := sample(t, text, "invitekit_outbox_lag_seconds")
		return n == 1 && ok && lag == 0
	}, 10*time.Second, 50*time.Millisecond, "the delivered event is never counted, or the lag never returns to 0:\n%s", text)
	dead, ok := sample(t, text, "invitekit_outbox_dead_events")
	require.True(t, ok, "no dead events gauge in:\n%s", text)
	assert.Zero(t, dead)
	p.stop(t)
}
