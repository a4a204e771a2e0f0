package acceptpage

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/httpadapter"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
)

// Bounds on what a request may carry. A token is 87 characters; anything
// much longer is not one and is refused before it is decoded.
const (
	maxTokenLen = 128
	maxFormSize = 64 << 10
)

var (
	// ErrInvalidConfig reports a Config that New refuses; the message
	// names the field.
	ErrInvalidConfig = errors.New("acceptpage: invalid config")
	// ErrNotSignedIn is what Config.Email returns (wrapped or not) when
	// nobody is signed in: the page then asks the visitor to sign in
	// (401) instead of reporting a failure.
	ErrNotSignedIn = errors.New("acceptpage: not signed in")
)

// Names resolves the display names the page shows. Its OrganizationName is
// guest.Directory's method, so one application type can serve both (and
// the mail package's Names).
type Names interface {
	// OrganizationName returns the display name of the organization id,
	// or an error wrapping store.ErrNotFound when it knows none; the page
	// then names no organization.
	OrganizationName(ctx context.Context, id uuid.UUID) (string, error)
	// InviterName returns the display name of the person or key that
	// sent an organization invitation (invitation.Invitation.InviterID),
	// or an error wrapping store.ErrNotFound when it knows none.
	InviterName(ctx context.Context, organizationID uuid.UUID, inviterID string) (string, error)
}

// Config configures a Handler. At least one of Invitations and Guests is
// required.
type Config struct {
	// Invitations serves organization invitations; nil when the
	// application has none (their tokens are then invalid here).
	Invitations *invitation.Service
	// Guests serves guest invitations; nil when the application has none.
	Guests *guest.Service
	// Names, when set, names the inviting organization and the inviter.
	Names Names
	// Email returns the verified email of the user who is signed in,
	// for organization invitations: only that address can accept. When
	// nil the page asks for the address in its form and says why, and
	// does not show the address the invitation was sent to, so that
	// holding the link is not enough to accept it. ErrNotSignedIn (or
	// an empty address) is answered 401 with a request to sign in; an
	// application that sends people to a sign-in page does so before
	// the request reaches the Handler. Any other error is logged and
	// answered as a failure.
	Email func(r *http.Request) (string, error)
	// AcceptInvitation, when set, is the application's part of an
	// organization accept: it runs inside the store's transaction, after
	// the invitation has moved to accepted and before anything commits,
	// with the request (for the application's session, where
	// httpadapter's hook gets the API principal instead) and the accepted
	// invitation; ctx carries the store's transaction (sqlitestore.Tx,
	// postgresstore.Tx) for the membership row. An error refuses the
	// accept and nothing commits; a *httpadapter.Refusal is shown with its
	// status and detail, any other error is logged and shown as a generic
	// failure. It must not call the store or the services (see
	// invitation.AcceptHook).
	AcceptInvitation func(ctx context.Context, r *http.Request, inv invitation.Invitation) error
	// AcceptGuestInvitation is AcceptInvitation for guest invitations.
	AcceptGuestInvitation func(ctx context.Context, r *http.Request, inv guest.Invitation) error
	// Template renders every answer: it must define "page", which gets a
	// Page. ParseTemplate adds the functions the default uses;
	// DefaultTemplate returns a copy of the default, in which an
	// application may redefine one part ("title", "open"). New renders
	// it once for every State, so a template that fails does so at
	// start. Default: templates/page.html.
	Template *template.Template
	// TrustedOrigins are other origins ("https://app.example.com") whose
	// pages may post the accept form, for a form served elsewhere. The
	// page's own origin needs no entry.
	TrustedOrigins []string
	// Logger receives failures the page cannot show (store errors,
	// failing hooks); slog.Default() when nil.
	Logger *slog.Logger
}

// Handler serves the accept page: GET (and HEAD) shows the invitation of
// the token in the query, POST accepts it. Mount it at the path the
// emails link to. It is safe for concurrent use.
type Handler struct {
	cfg  Config
	tmpl *template.Template
	csrf *http.CrossOriginProtection
	log  *slog.Logger
}

// New checks cfg and returns a Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Invitations == nil && cfg.Guests == nil {
		return nil, fmt.Errorf("%w: Config.Invitations or Config.Guests is required", ErrInvalidConfig)
	}
	h := &Handler{cfg: cfg, tmpl: cfg.Template, csrf: http.NewCrossOriginProtection(), log: cfg.Logger}
	for _, o := range cfg.TrustedOrigins {
		if err := h.csrf.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("%w: Config.TrustedOrigins: %w", ErrInvalidConfig, err)
		}
	}
	if h.tmpl == nil {
		h.tmpl = defaultTemplate
	}
	if err := check(h.tmpl); err != nil {
		return nil, fmt.Errorf("%w: Config.Template: %w", ErrInvalidConfig, err)
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.show(w, r)
	case http.MethodPost:
		h.accept(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		h.render(w, r, Page{State: StateError, Problem: "This page only shows and accepts invitations."}, http.StatusMethodNotAllowed)
	}
}

// show answers a GET: what the invitation is, and nothing more.
func (h *Handler) show(w http.ResponseWriter, r *http.Request) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		h.render(w, r, Page{State: StateInvalid}, http.StatusBadRequest)
		return
	}
	p, err := h.inspect(r.Context(), q.Get("token"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	p.AskEmail = p.State == StateOpen && p.Kind == KindOrganization && h.cfg.Email == nil
	h.render(w, r, p, p.State.status())
}

// accept answers a POST of the page's form.
func (h *Handler) accept(w http.ResponseWriter, r *http.Request) {
	if err := h.csrf.Check(r); err != nil {
		h.render(w, r, Page{State: StateForbidden}, http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	if err := r.ParseForm(); err != nil {
		status := http.StatusBadRequest
		if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		h.render(w, r, Page{State: StateError, Problem: "The form could not be read. Open the link from your email again."}, status)
		return
	}
	tok := r.PostForm.Get("token")
	p, err := h.inspect(r.Context(), tok)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	if p.State != StateOpen {
		// Nothing to accept: say why, as a GET would.
		h.render(w, r, p, p.State.status())
		return
	}
	if p.Kind == KindGuest {
		inv, err := h.cfg.Guests.AcceptByGuest(r.Context(), tok, hooks[guest.AcceptHook](h, r, "AcceptGuestInvitation", h.cfg.AcceptGuestInvitation)...)
		h.done(w, r, p, tok, err, func() Page { return h.guestPage(inv) })
		return
	}
	p.AskEmail = h.cfg.Email == nil
	addr := r.PostForm.Get("email")
	if !p.AskEmail {
		addr, err = h.cfg.Email(r)
		if errors.Is(err, ErrNotSignedIn) || (err == nil && addr == "") {
			p.Problem = "Sign in with the account this invitation was sent to, then open the link again."
			h.render(w, r, p, http.StatusUnauthorized)
			return
		}
		if err != nil {
			h.fail(w, r, p, fmt.Errorf("acceptpage: Config.Email: %w", err))
			return
		}
	}
	p.EnteredEmail = addr
	inv, err := h.cfg.Invitations.Accept(r.Context(), tok, addr, hooks[invitation.AcceptHook](h, r, "AcceptInvitation", h.cfg.AcceptInvitation)...)
	h.done(w, r, p, tok, err, func() Page { return h.invitationPage(inv) })
}

// done answers an accept of the invitation p shows: on success the
// accepted invitation, named as p names it (the accept has committed, so
// nothing may fail it now); on failure p with the reason, or the
// invitation's new state when another request changed it first.
func (h *Handler) done(w http.ResponseWriter, r *http.Request, p Page, tok string, err error, accepted func() Page) {
	if err == nil {
		got := accepted()
		got.State, got.OrganizationName, got.InviterName = StateAccepted, p.OrganizationName, p.InviterName
		h.render(w, r, got, http.StatusOK)
		return
	}
	var (
		herr *hookError
		verr *store.ValidationError
	)
	switch {
	case errors.As(err, &herr):
		h.refused(w, r, p, herr)
	case errors.Is(err, invitation.ErrEmailMismatch):
		p.Problem = "This invitation was sent to a different email address. Enter the address it was sent to."
		if !p.AskEmail {
			p.Problem = "This invitation was sent to a different email address than the one you are signed in with."
		}
		h.render(w, r, p, http.StatusForbidden)
	case errors.As(err, &verr):
		p.Problem = "Enter a valid email address."
		h.render(w, r, p, http.StatusUnprocessableEntity)
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrExpired), errors.Is(err, store.ErrInvalidToken):
		// Another request accepted, revoked, archived, resent or deleted
		// the invitation after this one read it: show where it is now.
		now, nowErr := h.inspect(r.Context(), tok)
		if nowErr != nil || now.State == StateOpen {
			h.fail(w, r, p, errors.Join(err, nowErr))
			return
		}
		h.render(w, r, now, now.State.status())
	default:
		h.fail(w, r, p, err)
	}
}

// refused answers an accept an application's hook failed: a
// *httpadapter.Refusal with its status and detail, anything else as a
// failure the visitor cannot fix.
func (h *Handler) refused(w http.ResponseWriter, r *http.Request, p Page, herr *hookError) {
	var refusal *httpadapter.Refusal
	if !errors.As(herr, &refusal) || refusal == nil {
		h.fail(w, r, p, herr)
		return
	}
	status, detail := refusal.Response()
	if refusal.Detail == "" {
		detail = "The invitation could not be accepted."
	}
	p.Problem = detail
	h.render(w, r, p, status)
}

// fail answers an error the page cannot explain to the visitor: a store
// that is busy or gone, a failing hook.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, p Page, err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, store.ErrClosed) ||
		errors.Is(err, store.ErrUnavailable) {
		w.Header().Set("Retry-After", "5")
		h.render(w, r, Page{State: StateUnavailable}, http.StatusServiceUnavailable)
		return
	}
	h.log.ErrorContext(r.Context(), "acceptpage: request failed", slog.String("error", err.Error()))
	p.State = StateError
	p.Problem = ""
	h.render(w, r, p, http.StatusInternalServerError)
}

// render writes p through the template with status, and the headers that
// keep the token in the page's URL from leaking (no Referer, no cache) and
// the page from being framed (so no other site can trick a click on its
// button).
func (h *Handler) render(w http.ResponseWriter, r *http.Request, p Page, status int) {
	var buf bytes.Buffer
	if err := h.tmpl.ExecuteTemplate(&buf, "page", p); err != nil {
		h.log.ErrorContext(r.Context(), "acceptpage: template failed", slog.String("error", err.Error()))
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Robots-Tag", "noindex")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// hookError is the error of an application's accept hook, kept apart
// from the services' errors: a hook's store.ErrConflict is its own
// refusal, not another request winning the race.
type hookError struct {
	name string
	err  error
}

func (e *hookError) Error() string { return "acceptpage: Config." + e.name + ": " + e.err.Error() }
func (e *hookError) Unwrap() error { return e.err }

// hooks turns the Config hook named name into a service's accept hooks,
// recovering a panic inside the store's transaction so the store rolls back
// as for any failing hook.
func hooks[H ~func(context.Context, T) error, T any](h *Handler, r *http.Request, name string, hook func(context.Context, *http.Request, T) error) []H {
	if hook == nil {
		return nil
	}
	return []H{func(ctx context.Context, v T) (err error) {
		defer func() {
			if p := recover(); p != nil {
				h.log.ErrorContext(ctx, "acceptpage: panic in accept hook", slog.String("hook", name),
					slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
				err = &hookError{name: name, err: fmt.Errorf("panicked: %v", p)}
			}
		}()
		if err := hook(ctx, r, v); err != nil {
			return &hookError{name: name, err: err}
		}
		return nil
	}}
}
