package httpadapter

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/store"
)

// metered returns options whose Config records into a fresh SDK
// MeterProvider, and the reader that collects it.
func metered(t *testing.T, o options) (options, *sdkmetric.ManualReader) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	next := o.config
	o.config = func(c *Config) {
		c.MeterProvider = mp
		if next != nil {
			next(c)
		}
	}
	return o, reader
}

// requestDurations collects http.server.request.duration and returns its
// data points by "METHOD route status" (route "-" when absent).
func requestDurations(t *testing.T, reader *sdkmetric.ManualReader) map[string]metricdata.HistogramDataPoint[float64] {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	out := make(map[string]metricdata.HistogramDataPoint[float64])
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, "github.com/invitekit/invitekit/httpadapter", sm.Scope.Name)
		for _, m := range sm.Metrics {
			require.Equal(t, "http.server.request.duration", m.Name)
			assert.Equal(t, "s", m.Unit)
			h, ok := m.Data.(metricdata.Histogram[float64])
			require.True(t, ok, "a histogram: %T", m.Data)
			for _, dp := range h.DataPoints {
				method, _ := dp.Attributes.Value(attrMethod)
				route, ok := dp.Attributes.Value(attrRoute)
				r := route.AsString()
				if !ok {
					r = "-"
				}
				status, _ := dp.Attributes.Value(attrStatus)
				out[fmt.Sprintf("%s %s %d", method.AsString(), r, status.AsInt64())] = dp
			}
		}
	}
	return out
}

// Requests are counted by method, route pattern and the status the client
// got: a create, a problem, a request no route matched, a panic.
func TestMetricsRequestDuration(t *testing.T) {
	t.Parallel()
	o, reader := metered(t, options{config: func(c *Config) {
		c.AuthorizeOrganization = func(_ context.Context, _ Principal, org uuid.UUID) error {
			if org == forbiddenOrg {
				panic("hook bug")
			}
			return nil
		}
	}})
	f := newFixture(t, o)
	host, org := uuid.New(), uuid.New()
	f.createGuest(host, "gus@example.com")
	f.createGuest(host, "gil@example.com")
	f.createInvitation(org, "ada@example.com")
	assertProblem(t, f.do(request{method: http.MethodGet, path: orgPath(org) + "/" + uuid.NewString()}), http.StatusNotFound, "not-found")
	assertProblem(t, f.do(request{method: http.MethodGet, path: "/v1/no-such-route/" + uuid.NewString()}), http.StatusNotFound, "not-found")
	assertProblem(t, f.do(request{method: http.MethodGet, path: orgPath(forbiddenOrg)}), http.StatusInternalServerError, "internal")
	assertProblem(t, f.do(request{method: http.MethodGet, path: orgPath(org), auth: noAuth}), http.StatusUnauthorized, "unauthenticated")

	got := requestDurations(t, reader)
	counts := make(map[string]uint64, len(got))
	for k, dp := range got {
		counts[k] = dp.Count
	}
	assert.Equal(t, map[string]uint64{
		"POST /guest-invitations 201":                                           2,
		"POST /v1/organizations/{organizationId}/invitations 200":               1,
		"GET /v1/organizations/{organizationId}/invitations/{invitationId} 404": 1,
		"GET - 404": 1,
		"GET /v1/organizations/{organizationId}/invitations 500": 1,
		"GET /v1/organizations/{organizationId}/invitations 401": 1,
	}, counts)

	created := got["POST /guest-invitations 201"]
	assert.Equal(t, attribute.NewSet(
		attribute.String("http.request.method", "POST"),
		attribute.String("http.route", "/guest-invitations"),
		attribute.Int("http.response.status_code", 201),
		attribute.String("url.scheme", "http"),
	), created.Attributes, "the semantic conventions' attributes, no more")
	assert.Greater(t, created.Sum, 0.0)
	assert.Equal(t, durationBuckets, created.Bounds)
	unmatched := got["GET - 404"]
	_, hasRoute := unmatched.Attributes.Value(attrRoute)
	assert.False(t, hasRoute, "no route: the raw path never becomes an attribute")
	panicked := got["GET /v1/organizations/{organizationId}/invitations 500"]
	errType, _ := panicked.Attributes.Value(attrErrorType)
	assert.Equal(t, "500", errType.AsString(), "a server error has error.type")
}

// A store that cannot answer is counted 503, the status the client got.
func TestMetricsCountUnavailable(t *testing.T) {
	t.Parallel()
	o, reader := metered(t, options{store: func(*testing.T) backend {
		return &unavailableStore{Store: memstore.New(), fail: func(context.Context) error {
			return fmt.Errorf("sqlstore: get invitation: %w", store.ErrUnavailable)
		}}
	}})
	f := newFixture(t, o)
	r := f.do(request{method: http.MethodGet, path: orgPath(uuid.New()) + "/" + uuid.NewString()})
	require.Equal(t, http.StatusServiceUnavailable, r.status)
	got := requestDurations(t, reader)
	require.Contains(t, got, "GET /v1/organizations/{organizationId}/invitations/{invitationId} 503")
	assert.Equal(t, uint64(1), got["GET /v1/organizations/{organizationId}/invitations/{invitationId} 503"].Count)
}

// A method the conventions do not name is recorded as _OTHER, and HEAD on
// a GET route keeps its route.
func TestMetricsMethods(t *testing.T) {
	t.Parallel()
	o, reader := metered(t, options{})
	f := newFixture(t, o)
	for _, method := range []string{"BREW", http.MethodHead} {
		req := httptest.NewRequest(method, "/openapi.json", nil)
		f.handler.ServeHTTP(httptest.NewRecorder(), req)
	}
	got := requestDurations(t, reader)
	assert.Contains(t, got, "_OTHER - 405")
	assert.Contains(t, got, "HEAD /openapi.json 200")
}

// BenchmarkMetrics serves one GET in-process without metrics (the global
// provider, no SDK: the measurement is skipped) and with an SDK recording
// the histogram, to show the measurement's own cost.
func BenchmarkMetrics(b *testing.B) {
	for _, withSDK := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "sdk"}[withSDK], func(b *testing.B) {
			st := memstore.New()
			b.Cleanup(func() { _ = st.Close() })
			svc, err := invitation.NewService(invitation.Config{Store: st, Keys: [][]byte{make([]byte, 32)}})
			require.NoError(b, err)
			cfg := Config{Invitations: svc, Authenticate: APIKeys(testKeys), Logger: slog.New(slog.DiscardHandler)}
			if withSDK {
				mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
				b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
				cfg.MeterProvider = mp
			}
			h, err := New(cfg)
			require.NoError(b, err)
			org := uuid.New()
			inv, err := svc.Create(context.Background(), invitation.CreateParams{OrganizationID: org, Email: "m@example.com", Role: "admin"})
			require.NoError(b, err)
			path := orgPath(org) + "/" + inv.ID.String()
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				req.SetBasicAuth(keyID, keySecret)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET: %d", rec.Code)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}
