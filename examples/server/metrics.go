package main

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// newMetrics returns the MeterProvider the server hands to the Handler and
// the relay, and the handler of GET /metrics, which serves what they
// record in the Prometheus text format, with the Go runtime's and the
// process's own metrics. Everything lives on a registry and a provider of
// this server's own: nothing is installed globally. Shut the provider down
// when the server stops.
//
// /metrics needs no API key, like /healthz and /readyz: it is for the
// operator's scraper, on the operator's side. It shows request counts by
// route and status and the outbox's lag and dead events, never a path
// with an ID, an email or a token; still, expose it on the internal
// network only, as one does a probe.
func newMetrics() (*sdkmetric.MeterProvider, http.Handler, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, nil, fmt.Errorf("metrics: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	// A metric that fails to collect leaves the rest of the page served.
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return mp, h, nil
}
