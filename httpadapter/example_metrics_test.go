package httpadapter_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/invitekit/invitekit/httpadapter"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/memstore"
)

// Record request metrics with an OpenTelemetry SDK MeterProvider. An
// application gives it the reader of its exporter (the OTel Prometheus
// exporter, OTLP, ...); a ManualReader collects them here so the output is
// exact.
func Example_metrics() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	st := memstore.New()
	defer st.Close()
	invitations, err := invitation.NewService(invitation.Config{Store: st, Keys: [][]byte{bytes.Repeat([]byte("k"), 32)}})
	if err != nil {
		log.Fatal(err)
	}
	h, err := httpadapter.New(httpadapter.Config{
		Invitations:   invitations,
		Authenticate:  httpadapter.APIKeys(map[string]string{"key-1": "s3cret-s3cret"}),
		MeterProvider: mp,
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, path := range []string{"0190f0a0-0000-7000-8000-000000000001", "0190f0a0-0000-7000-8000-000000000002"} {
		req := httptest.NewRequest(http.MethodPost, "/v1/organizations/"+path+"/invitations",
			strings.NewReader(`{"email":"ada@example.com","role":"admin"}`))
		req.SetBasicAuth("key-1", "s3cret-s3cret")
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
				route, _ := dp.Attributes.Value("http.route")
				status, _ := dp.Attributes.Value("http.response.status_code")
				fmt.Println(m.Name, m.Unit, route.AsString(), status.AsInt64(), dp.Count)
			}
		}
	}
	// Output:
	// http.server.request.duration s /v1/organizations/{organizationId}/invitations 200 2
}
