package httpadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/metric"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/link"
)

// DefaultMaxBodyBytes is the request body limit when Config.MaxBodyBytes is
// zero: 1 MiB.
const DefaultMaxBodyBytes = 1 << 20

// RequestIDHeader is the response header that carries the ID of every
// request, the same ID as the organization routes' requestId.
const RequestIDHeader = "X-Request-Id"

// Config configures a Handler. Authenticate is required; at least one of
// the services should be set.
type Config struct {
	// Invitations serves the organization routes under
	// /v1/organizations/{organizationId}/invitations and
	// /v1/invitations/accept. When nil those routes are absent (404).
	Invitations *invitation.Service

	// Guests serves the /guest-invitations routes. When nil those routes
	// are absent (404).
	Guests *guest.Service

	// Links serves the join link routes under
	// /v1/organizations/{organizationId}/invite-links and
	// /v1/invite-links/redeem. It needs Invitations, the service the
	// link.Service was built with: the redeem route compares emails under
	// its email policy, as the accept route does. When nil those routes
	// are absent (404).
	Links *link.Service

	// Events serves GET /v1/organizations/{organizationId}/events, the
	// organization's events (package event), newest first: an audit log
	// of who changed which invitation, organization and guest ones alike.
	// Every invitekit store implements event.Store; pass the store the
	// services use. The route authorizes the organization with
	// AuthorizeOrganization, as the invitation list does. When nil the
	// route is absent (404).
	Events event.Store

	// AcceptInvitation, when set, is the application's part of
	// POST /v1/invitations/accept: it runs inside the store's
	// transaction, after the invitation has moved to accepted and before
	// anything commits, with the principal of the request and the
	// accepted invitation. ctx carries the transaction of a store that has
	// one (sqlitestore.Tx, postgresstore.Tx), so the hook can write its
	// own rows, the membership, in it, and they commit or roll back with
	// the accept. Returning an error refuses the accept: nothing commits,
	// the invitation stays pending, its token still works and no event is
	// recorded. A *Refusal is answered with its status and detail; a
	// *store.ValidationError or a store sentinel error (store.ErrConflict,
	// ...) as the Handler answers them from the services; any other error
	// (or a panic) is the application's fault: answered 500 with a
	// generic message and logged. The hook may run more than once for
	// one request when a store retries a transaction the database
	// aborted: do all its work through the transaction, and never call
	// the store or the services from it (see invitation.AcceptHook).
	AcceptInvitation func(ctx context.Context, p Principal, inv invitation.Invitation) error

	// RedeemLink, when set, is the application's part of
	// POST /v1/invite-links/redeem, as AcceptInvitation is of the accept:
	// it runs inside the store's transaction, after the link has taken
	// the use and before anything commits, with the principal of the
	// request, the link and the redemption (see link.RedeemHook). It
	// writes the membership in the transaction ctx carries, when the
	// store has one. Returning an error refuses the redemption: nothing
	// commits, the link keeps the use, no redemption or event is
	// recorded, and the error is answered as AcceptInvitation's are. It
	// may run more than once for one request, and must never call the
	// store or the services.
	RedeemLink func(ctx context.Context, p Principal, l link.Link, r link.Redemption) error

	// AcceptGuestInvitation is AcceptInvitation for the two guest accept
	// routes, POST /guest-invitations/accept (inv.Status is then
	// accepted_by_guest) and POST /guest-invitations/{id}/accept
	// (accepted_by_system), with the same transaction and the same
	// answers to its errors.
	AcceptGuestInvitation func(ctx context.Context, p Principal, inv guest.Invitation) error

	// Authenticate identifies the principal of a request from its
	// credentials. Every route except GET /openapi.json calls it first;
	// any error is answered 401 with a WWW-Authenticate challenge (return
	// ErrUnauthenticated for missing or bad credentials). APIKeys returns a
	// ready one. Required.
	Authenticate func(*http.Request) (Principal, error)

	// AuthorizeOrganization decides whether p may act for organization
	// orgID: the path's organizationId on the organization routes, the
	// Requester-Organization-ID header on the guest routes. Return nil to
	// allow, ErrForbidden to refuse (403); other errors are answered 500.
	// When nil, every authenticated principal may act for every
	// organization: fine for a single tenant or a trusted back office,
	// wrong for anything multi-tenant.
	AuthorizeOrganization func(ctx context.Context, p Principal, orgID uuid.UUID) error

	// AuthorizeConnection decides whether p, acting for organization
	// requester, may act on the guest invitations of organization target,
	// for the guest requests whose Target-Organization-ID differs from the
	// Requester-Organization-ID (create, archive, resend, accept; list and
	// get are allowed for the organization itself only). Return nil to
	// allow, ErrForbidden to refuse (403). When nil, every
	// cross-organization request is refused. The responses to allowed
	// cross-organization requests leave out invitation_token, which only
	// the target itself may read (see the package documentation).
	AuthorizeConnection func(ctx context.Context, p Principal, requester, target uuid.UUID) error

	// Logger receives the errors the Handler cannot show to the client:
	// internal errors, recovered panics, failing hooks. slog.Default()
	// when nil. The Handler does not log every request; wrap it with
	// LogRequests for that.
	Logger *slog.Logger

	// MaxBodyBytes bounds request bodies; a larger one is answered 413.
	// DefaultMaxBodyBytes when zero.
	MaxBodyBytes int64

	// MeterProvider records the duration of every request as the
	// OpenTelemetry semantic conventions' http.server.request.duration
	// histogram, by method, route (the pattern of the route, never the
	// raw path) and status (see the package documentation, Metrics).
	// otel.GetMeterProvider() when nil: the global provider, which
	// records nothing until the application installs one; the Handler
	// then skips the measurement altogether.
	MeterProvider metric.MeterProvider
}

// Handler serves the invitation routes. Build it with New; it is safe for
// concurrent use.
type Handler struct {
	cfg     Config
	events  *event.Log
	log     *slog.Logger
	mux     *http.ServeMux
	routes  []route
	openAPI map[string]any
	metrics *httpMetrics
}

// api tells which of the two documented APIs a response belongs to, which
// decides the shape of its errors.
type api int

const (
	orgAPI api = iota
	guestAPI
)

// route is one method and path the Handler serves.
type route struct {
	method string
	// path is both the ServeMux path pattern and the OpenAPI path.
	path string
	api  api
	// public routes skip Authenticate.
	public bool
	serve  func(h *Handler, x *exchange) error
}

// New checks cfg and returns a Handler serving the routes of the services
// cfg sets.
func New(cfg Config) (*Handler, error) {
	if cfg.Authenticate == nil {
		return nil, errors.New("httpadapter: Config.Authenticate is required")
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("httpadapter: Config.MaxBodyBytes %d is negative", cfg.MaxBodyBytes)
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Links != nil && cfg.Invitations == nil {
		return nil, errors.New("httpadapter: Config.Links needs Config.Invitations, the service its links were built with")
	}
	h := &Handler{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux()}
	if h.log == nil {
		h.log = slog.Default()
	}
	if cfg.Events != nil {
		h.events = event.NewLog(cfg.Events)
	}
	h.routes = routeTable(cfg)
	for _, rt := range h.routes {
		h.mux.Handle(rt.method+" "+rt.path, h.wrap(rt))
	}
	doc, err := openAPIFor(h.routes)
	if err != nil {
		return nil, err
	}
	h.openAPI = doc
	if h.metrics, err = newHTTPMetrics(cfg.MeterProvider, h.routes); err != nil {
		return nil, err
	}
	return h, nil
}

// routeTable lists the routes of the services cfg sets. Paths are those of
// the two documented APIs: the organization routes of the ClickHouse Cloud
// invitations API (camelCase, one envelope) and the guest routes of the
// MyCreditApp guest invitations API (snake_case, organization headers); the
// package documentation describes both.
func routeTable(cfg Config) []route {
	var rs []route
	if cfg.Invitations != nil {
		const coll = "/v1/organizations/{organizationId}/invitations"
		const item = coll + "/{invitationId}"
		rs = append(rs,
			route{method: http.MethodGet, path: coll, serve: (*Handler).listInvitations},
			route{method: http.MethodPost, path: coll, serve: (*Handler).createInvitation},
			route{method: http.MethodPost, path: coll + "/bulk", serve: (*Handler).createInvitations},
			route{method: http.MethodGet, path: item, serve: (*Handler).getInvitation},
			route{method: http.MethodDelete, path: item, serve: (*Handler).deleteInvitation},
			route{method: http.MethodPost, path: item + "/revoke", serve: (*Handler).revokeInvitation},
			route{method: http.MethodPost, path: item + "/resend", serve: (*Handler).resendInvitation},
			route{method: http.MethodPost, path: "/v1/invitations/accept", serve: (*Handler).acceptInvitation},
		)
	}
	if cfg.Links != nil {
		const coll = "/v1/organizations/{organizationId}/invite-links"
		const item = coll + "/{linkId}"
		rs = append(rs,
			route{method: http.MethodPost, path: coll, serve: inLinkTerms((*Handler).createLink)},
			route{method: http.MethodGet, path: coll, serve: inLinkTerms((*Handler).listLinks)},
			route{method: http.MethodGet, path: item, serve: inLinkTerms((*Handler).getLink)},
			route{method: http.MethodPost, path: item + "/revoke", serve: inLinkTerms((*Handler).revokeLink)},
			route{method: http.MethodGet, path: item + "/redemptions", serve: inLinkTerms((*Handler).listRedemptions)},
			route{method: http.MethodPost, path: "/v1/invite-links/redeem", serve: inLinkTerms((*Handler).redeemLink)},
		)
	}
	if cfg.Events != nil {
		rs = append(rs, route{method: http.MethodGet, path: "/v1/organizations/{organizationId}/events", serve: (*Handler).listEvents})
	}
	if cfg.Guests != nil {
		const coll = "/guest-invitations"
		const item = coll + "/{id}"
		rs = append(rs,
			route{method: http.MethodPost, path: coll, api: guestAPI, serve: (*Handler).createGuest},
			route{method: http.MethodGet, path: coll, api: guestAPI, serve: (*Handler).listGuests},
			route{method: http.MethodGet, path: item, api: guestAPI, serve: (*Handler).getGuest},
			route{method: http.MethodPatch, path: item, api: guestAPI, serve: (*Handler).patchGuest},
			route{method: http.MethodPost, path: item + "/resend", api: guestAPI, serve: (*Handler).resendGuest},
			route{method: http.MethodPost, path: item + "/accept", api: guestAPI, serve: (*Handler).acceptGuestBySystem},
			route{method: http.MethodPost, path: coll + "/accept", api: guestAPI, serve: (*Handler).acceptGuestByToken},
		)
	}
	return append(rs, route{method: http.MethodGet, path: "/openapi.json", public: true, serve: (*Handler).serveOpenAPI})
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, pattern := h.mux.Handler(r)
	if !h.metrics.enabled(r.Context()) {
		h.serve(w, r, pattern)
		return
	}
	// Measured here, around everything the Handler does, with the status
	// the client is sent: that of a route, a problem, a recovered panic or
	// a request no route matched.
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	returned := false
	defer func() {
		status := sw.status
		if status == 0 && returned {
			status = http.StatusOK // as the server answers for a handler that wrote nothing
		}
		h.metrics.record(r.Context(), r, pattern, status, time.Since(start))
	}()
	h.serve(sw, r, pattern)
	returned = true
}

// serve is ServeHTTP for a request pattern matched ("" when none did).
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, pattern string) {
	// The mux answers unknown paths and methods in text/plain; find those
	// first and answer them in the API's error format instead.
	if pattern == "" {
		x := h.newExchange(w, r, apiOfPath(r.URL.Path))
		defer h.recoverPanic(x)
		h.mux.ServeHTTP(&fallbackWriter{x: x}, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// apiOfPath guesses the API of a path no route matched, for the shape of
// its 404 or 405.
func apiOfPath(p string) api {
	if strings.HasPrefix(p, "/guest-invitations") {
		return guestAPI
	}
	return orgAPI
}

// wrap turns a route into the http.Handler registered with the mux: a
// request ID, panic recovery, authentication, the query string's syntax,
// then the route.
func (h *Handler) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := h.newExchange(w, r, rt.api)
		defer h.recoverPanic(x)
		if !rt.public {
			p, err := h.cfg.Authenticate(r)
			if err != nil {
				if !errors.Is(err, ErrUnauthenticated) {
					h.log.WarnContext(r.Context(), "httpadapter: Authenticate failed",
						slog.String("request_id", x.id), slog.Any("error", err))
				}
				x.fail(newRequestError(probUnauthenticated, "missing or invalid credentials"))
				return
			}
			x.principal = p
			if p.ID != "" {
				// The services record the actor of every change they
				// make with this context in its event.
				x.r = x.r.WithContext(event.WithActor(x.r.Context(), p.ID))
			}
		}
		// A query string that does not parse is 400 on every route, those
		// that read no parameter too: it is never silently dropped, and
		// one malformed query gets one answer whichever route it reaches.
		if err := x.query().err(); err != nil {
			x.fail(err)
			return
		}
		if err := rt.serve(h, x); err != nil {
			x.fail(err)
		}
	})
}

// exchange is one request and its response in progress.
type exchange struct {
	h         *Handler
	w         http.ResponseWriter
	r         *http.Request
	api       api
	id        string
	principal Principal
	written   bool
	// crossOrganization is set on a guest request whose requester acts on
	// another organization, the target (see guestTarget): its responses
	// leave out what only the target may read.
	crossOrganization bool
}

func (h *Handler) newExchange(w http.ResponseWriter, r *http.Request, a api) *exchange {
	x := &exchange{h: h, w: w, r: r, api: a, id: uuid.NewString()}
	w.Header().Set(RequestIDHeader, x.id)
	return x
}

func (x *exchange) ctx() context.Context { return x.r.Context() }

// recoverPanic is the last line of defence: a panic in a route is logged
// with its stack and answered 500 if nothing was written yet. No input is
// meant to get here.
func (h *Handler) recoverPanic(x *exchange) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	h.log.ErrorContext(x.ctx(), "httpadapter: panic serving request",
		slog.String("request_id", x.id), slog.String("method", x.r.Method),
		slog.String("path", x.r.URL.Path), slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
	if !x.written {
		x.writeFailure(failure{kind: probInternal, detail: "an internal error occurred", internal: true})
	}
}

// fail answers err through the error table.
func (x *exchange) fail(err error) {
	f := classify(inWireTerms(x.api, err))
	switch {
	case f.internal:
		x.h.log.ErrorContext(x.ctx(), "httpadapter: internal error",
			slog.String("request_id", x.id), slog.String("method", x.r.Method),
			slog.String("path", x.r.URL.Path), slog.Any("error", err))
	case f.kind == probUnavailable:
		x.h.log.InfoContext(x.ctx(), "httpadapter: request not completed",
			slog.String("request_id", x.id), slog.Any("error", err))
	}
	x.writeFailure(f)
}

func (x *exchange) writeFailure(f failure) {
	switch f.kind.status {
	case http.StatusUnauthorized:
		x.w.Header().Set("WWW-Authenticate", challenge)
	case http.StatusServiceUnavailable:
		x.w.Header().Set("Retry-After", retryAfter)
	case http.StatusTooManyRequests:
		// Only a limit knows when to come back: an accept hook's own
		// 429 (a Refusal) gets no Retry-After rather than "0", retry now.
		if f.retryAfter > 0 {
			x.w.Header().Set("Retry-After", strconv.Itoa(int(f.retryAfter/time.Second)))
		}
	}
	x.writeJSON(f.kind.status, "application/problem+json", f.body(x.api, x.id))
}

// writeJSON writes v as the whole response.
func (x *exchange) writeJSON(status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every body is one of this package's own types; this is a bug.
		x.h.log.ErrorContext(x.ctx(), "httpadapter: encoding response",
			slog.String("request_id", x.id), slog.Any("error", err))
		status, contentType = http.StatusInternalServerError, "application/problem+json"
		b = []byte(`{"status":500,"error":"an internal error occurred"}`)
	}
	x.writeBody(status, contentType, b)
}

// maxPooledBody bounds the buffers bodyBuffers keeps: a full guest list
// page (100 invitations of about 700 bytes) fits, and a rare huge body,
// one with large metadata on every item, is left to the garbage collector
// rather than pinned in the pool.
const maxPooledBody = 128 << 10

// bodyBuffers recycles the buffers renderJSON renders bodies into, so that
// a busy list route does not allocate and grow a fresh one per response.
// It holds pointers so that Put does not allocate.
var bodyBuffers = sync.Pool{New: func() any { return new([]byte) }}

// renderJSON writes the body render appends to a recycled buffer as the
// whole response, as writeJSON writes a marshaled one; render must append
// what json.Marshal would return for the body it stands for. When render
// fails nothing is written and its error is returned, for the route to
// return and the error table to answer (a 500, as the data cannot be
// shown). The buffer goes back to the pool once written: an
// http.ResponseWriter, like any io.Writer, does not retain it.
func (x *exchange) renderJSON(status int, contentType string, render func(dst []byte) ([]byte, error)) error {
	bp := bodyBuffers.Get().(*[]byte)
	b, err := render((*bp)[:0])
	if err == nil {
		x.writeBody(status, contentType, b)
	}
	if cap(b) <= maxPooledBody {
		*bp = b[:0]
		bodyBuffers.Put(bp)
	}
	return err
}

// writeBody writes b, a JSON body, as the whole response.
func (x *exchange) writeBody(status int, contentType string, b []byte) {
	x.written = true
	hdr := x.w.Header()
	hdr.Set("Content-Type", contentType)
	hdr.Set("Content-Length", strconv.Itoa(len(b)))
	hdr.Set("Cache-Control", "no-store")
	x.w.WriteHeader(status)
	_, _ = x.w.Write(b)
}

// requestPath is the path the client asked for, before any http.StripPrefix
// in front of the Handler, so Location and Link headers stay right when the
// Handler is mounted under a prefix.
func (x *exchange) requestPath() string {
	if u, err := url.ParseRequestURI(x.r.RequestURI); err == nil && u.EscapedPath() != "" {
		return u.EscapedPath()
	}
	return x.r.URL.EscapedPath()
}

// fallbackWriter stands in for the ResponseWriter while the mux answers a
// request no route matched: its 400, 404 and 405 become API errors,
// keeping the Allow header the mux sets; anything else (the mux's redirects
// to clean paths) passes through.
type fallbackWriter struct {
	x         *exchange
	swallowed bool
}

func (fw *fallbackWriter) Header() http.Header { return fw.x.w.Header() }

func (fw *fallbackWriter) WriteHeader(status int) {
	switch status {
	case http.StatusBadRequest:
		// The mux refuses the request target "*" outside OPTIONS.
		fw.swallowed = true
		fw.x.fail(badRequest("the request target is malformed"))
	case http.StatusNotFound:
		fw.swallowed = true
		fw.x.fail(newRequestError(probNotFound, "no route matches this path"))
	case http.StatusMethodNotAllowed:
		fw.swallowed = true
		fw.x.fail(newRequestError(probMethod, "the path does not support this method; see Allow"))
	default:
		fw.x.written = true
		fw.x.w.WriteHeader(status)
	}
}

func (fw *fallbackWriter) Write(b []byte) (int, error) {
	if fw.swallowed {
		return len(b), nil
	}
	return fw.x.w.Write(b)
}
