package httpadapter

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// meterName is the instrumentation scope of the Handler's instruments.
const meterName = "github.com/invitekit/invitekit/httpadapter"

// The attributes of http.server.request.duration, from the OpenTelemetry
// semantic conventions for HTTP.
const (
	attrMethod    = attribute.Key("http.request.method")
	attrRoute     = attribute.Key("http.route")
	attrStatus    = attribute.Key("http.response.status_code")
	attrScheme    = attribute.Key("url.scheme")
	attrErrorType = attribute.Key("error.type")
)

// durationBuckets are the bucket boundaries the semantic conventions advise
// for http.server.request.duration, in seconds.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// commonStatuses are the statuses the Handler answers: their attribute
// sets are built once, in New, for every route; others are built per
// request.
var commonStatuses = []int{
	http.StatusOK, http.StatusCreated, http.StatusNoContent,
	http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect,
	http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
	http.StatusMethodNotAllowed, http.StatusConflict, http.StatusGone, http.StatusRequestEntityTooLarge,
	http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity, http.StatusTooManyRequests,
	http.StatusInternalServerError, http.StatusServiceUnavailable,
}

// knownMethods are the methods the semantic conventions name; any other
// is recorded as _OTHER, so a client cannot make up attribute values.
var knownMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace,
}

// httpMetrics records http.server.request.duration.
type httpMetrics struct {
	duration metric.Float64Histogram
	// routes holds the attribute sets of each route, by its ServeMux
	// pattern; unmatched those of requests no route matched, by method.
	routes    map[string]*attrSets
	unmatched map[string]*attrSets
}

// attrSets are the ready attribute sets of one method and route.
type attrSets struct {
	method, route string // route is "" when no route matched
	sets          map[setKey]metric.RecordOption
}

type setKey struct {
	status int
	https  bool
}

func newHTTPMetrics(mp metric.MeterProvider, routes []route) (*httpMetrics, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	duration, err := mp.Meter(meterName).Float64Histogram("http.server.request.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP server requests."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		return nil, fmt.Errorf("httpadapter: metrics: %w", err)
	}
	m := &httpMetrics{duration: duration, routes: make(map[string]*attrSets, len(routes)), unmatched: make(map[string]*attrSets, len(knownMethods))}
	for _, rt := range routes {
		m.routes[rt.method+" "+rt.path] = newAttrSets(rt.method, rt.path)
	}
	for _, method := range knownMethods {
		m.unmatched[method] = newAttrSets(method, "")
	}
	return m, nil
}

func newAttrSets(method, route string) *attrSets {
	a := &attrSets{method: method, route: route, sets: make(map[setKey]metric.RecordOption, 2*len(commonStatuses))}
	for _, status := range commonStatuses {
		for _, https := range []bool{false, true} {
			a.sets[setKey{status, https}] = metric.WithAttributeSet(requestAttrs(method, route, status, https))
		}
	}
	return a
}

// requestAttrs returns the attributes of one request: route "" leaves
// http.route out, status 0 (nothing was written) the status code, which
// error.type then replaces; a server error (5xx) has its status as
// error.type, as the conventions ask.
func requestAttrs(method, route string, status int, https bool) attribute.Set {
	kvs := make([]attribute.KeyValue, 0, 5)
	kvs = append(kvs, attrMethod.String(method))
	if route != "" {
		kvs = append(kvs, attrRoute.String(route))
	}
	scheme := "http"
	if https {
		scheme = "https"
	}
	kvs = append(kvs, attrScheme.String(scheme))
	switch {
	case status == 0:
		kvs = append(kvs, attrErrorType.String("aborted"))
	case status >= 500:
		kvs = append(kvs, attrStatus.Int(status), attrErrorType.String(strconv.Itoa(status)))
	default:
		kvs = append(kvs, attrStatus.Int(status))
	}
	return attribute.NewSet(kvs...)
}

// enabled reports whether a request's measurement would be recorded: not
// when no SDK is installed, so that the Handler then pays for none of it.
func (m *httpMetrics) enabled(ctx context.Context) bool { return m.duration.Enabled(ctx) }

// record records one request that took d, for pattern, the ServeMux
// pattern that matched it ("" when none did), with the status written (0
// when none was).
func (m *httpMetrics) record(ctx context.Context, r *http.Request, pattern string, status int, d time.Duration) {
	https := r.TLS != nil
	var a *attrSets
	if pattern != "" {
		a = m.routes[pattern]
	} else {
		a = m.unmatched[r.Method]
	}
	if a != nil && a.method == r.Method {
		if opt, ok := a.sets[setKey{status, https}]; ok {
			m.duration.Record(ctx, d.Seconds(), opt)
			return
		}
	}
	// A status of its own, HEAD on a GET route, or a method no route
	// knows: build the set for this request.
	method := r.Method
	if !slices.Contains(knownMethods, method) {
		method = "_OTHER"
	}
	var route string
	if a != nil {
		route = a.route
	} else if _, path, ok := strings.Cut(pattern, " "); ok {
		route = path
	}
	m.duration.Record(ctx, d.Seconds(), metric.WithAttributeSet(requestAttrs(method, route, status, https)))
}
