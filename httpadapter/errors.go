package httpadapter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/link"
	"github.com/invitekit/invitekit/store"
)

// ProblemTypePrefix starts the RFC 9457 "type" of every error response; the
// rest is one of the slugs in the package documentation ("not-found",
// "validation-failed", ...), stable for clients to switch on.
const ProblemTypePrefix = "urn:invitekit:problem:"

// problem is the kind of an error response: its status and the RFC 9457
// type and title shared by every response of that kind.
type problem struct {
	status int
	slug   string
	title  string
}

// The kinds of error response, one per distinct condition a client may
// want to tell apart.
var (
	probBadRequest      = problem{http.StatusBadRequest, "invalid-request", "Invalid request"}
	probUnauthenticated = problem{http.StatusUnauthorized, "unauthenticated", "Authentication required"}
	probForbidden       = problem{http.StatusForbidden, "forbidden", "Forbidden"}
	probEmailMismatch   = problem{http.StatusForbidden, "email-mismatch", "Invitation addressed to another email"}
	probNotFound        = problem{http.StatusNotFound, "not-found", "Not found"}
	probInvalidToken    = problem{http.StatusNotFound, "invalid-token", "Invalid invitation token"}
	probMethod          = problem{http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed"}
	probAlreadyExists   = problem{http.StatusConflict, "already-exists", "Invitation already open"}
	probAlreadyAccepted = problem{http.StatusConflict, "already-accepted", "Invitation already accepted"}
	probRevoked         = problem{http.StatusConflict, "revoked", "Invitation revoked"}
	probArchived        = problem{http.StatusConflict, "archived", "Invitation archived"}
	probConflict        = problem{http.StatusConflict, "conflict", "Conflict"}
	probExpired         = problem{http.StatusGone, "expired", "Invitation expired"}
	probTooLarge        = problem{http.StatusRequestEntityTooLarge, "body-too-large", "Request body too large"}
	probMediaType       = problem{http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type"}
	probValidation      = problem{http.StatusUnprocessableEntity, "validation-failed", "Invalid field values"}
	probLimit           = problem{http.StatusTooManyRequests, "limit-exceeded", "Limit exceeded"}
	probInternal        = problem{http.StatusInternalServerError, "internal", "Internal server error"}
	probUnavailable     = problem{http.StatusServiceUnavailable, "unavailable", "Request not completed"}

	// The join link routes' own kinds (see inLinkTerms).
	probDomainNotAllowed  = problem{http.StatusForbidden, "domain-not-allowed", "Email domain not allowed"}
	probRedeemerMismatch  = problem{http.StatusForbidden, "email-mismatch", "Email is not the user's"}
	probLinkInvalidToken  = problem{http.StatusNotFound, "invalid-token", "Invalid link token"}
	probAlreadyRedeemed   = problem{http.StatusConflict, "already-redeemed", "Link already redeemed"}
	probLinkRevoked       = problem{http.StatusConflict, "link-revoked", "Link revoked"}
	probLinkExhausted     = problem{http.StatusConflict, "link-exhausted", "Link has no uses left"}
	probLinkAlreadyExists = problem{http.StatusConflict, "already-exists", "Already exists"}
	probLinkExpired       = problem{http.StatusGone, "link-expired", "Link expired"}
)

// errorTable maps domain and hook errors to responses: the only place that
// does. Entries are tried in order with errors.Is, so the specific errors
// that wrap store.ErrConflict come before it, and the link routes' errors,
// each wrapping a store error, before every store error.
var errorTable = []struct {
	err    error
	kind   problem
	detail string
}{
	{link.ErrDomainNotAllowed, probDomainNotAllowed, "the email's domain may not redeem this link"},
	{errRedeemerMismatch, probRedeemerMismatch, "the email is not the authenticated user's; redeem the link with your own"},
	{link.ErrAlreadyRedeemed, probAlreadyRedeemed, "this email already redeemed the link"},
	{link.ErrRevoked, probLinkRevoked, "the link was revoked"},
	{link.ErrExhausted, probLinkExhausted, "the link has no uses left"},
	{link.ErrExpired, probLinkExpired, "the link has expired"},
	{errLinkAlreadyExists, probLinkAlreadyExists, "the link or redemption already exists"},
	{errLinkConflict, probConflict, "the link's state does not allow this change"},
	// As for invitations, a bad token says nothing about which check
	// failed.
	{errLinkInvalidToken, probLinkInvalidToken, "no link matches this token"},
	{errLinkNotFound, probNotFound, "no such link"},
	{store.ErrAlreadyAccepted, probAlreadyAccepted, "the invitation was already accepted"},
	{store.ErrRevoked, probRevoked, "the invitation was revoked"},
	{guest.ErrArchived, probArchived, "the guest invitation is archived"},
	{store.ErrAlreadyExists, probAlreadyExists, "an open invitation for this email already exists"},
	{store.ErrConflict, probConflict, "the invitation's state does not allow this change"},
	{store.ErrExpired, probExpired, "the invitation has expired"},
	{invitation.ErrEmailMismatch, probEmailMismatch, "the invitation is addressed to another email"},
	// A bad token is answered like a missing invitation: it says nothing
	// about which check failed.
	{store.ErrInvalidToken, probInvalidToken, "no invitation matches this token"},
	{store.ErrNotFound, probNotFound, "no such invitation"},
	{ErrForbidden, probForbidden, "not authorized for this organization"},
	{context.Canceled, probUnavailable, "the request was cancelled"},
	{context.DeadlineExceeded, probUnavailable, "the request timed out"},
	{store.ErrUnavailable, probUnavailable, "the store is busy or unreachable; try again later"},
}

// The link routes' names for the store's generic errors (see
// inLinkTerms), and the redeem route's email mismatch. Each wraps the
// store error it names.
var (
	errLinkInvalidToken  = fmt.Errorf("httpadapter: link: %w", store.ErrInvalidToken)
	errLinkNotFound      = fmt.Errorf("httpadapter: link: %w", store.ErrNotFound)
	errLinkAlreadyExists = fmt.Errorf("httpadapter: link: %w", store.ErrAlreadyExists)
	errLinkConflict      = fmt.Errorf("httpadapter: link: %w", store.ErrConflict)
	errRedeemerMismatch  = errors.New("httpadapter: the body's email is not the principal's")
)

// linkTerms are the store's generic errors a link route may meet, from
// its service or from Config.RedeemLink, with what they are on a link
// route: each its own response, so that its detail speaks of links, never
// of invitations. Specific errors come before the generic ones they wrap.
var linkTerms = []struct{ generic, specific error }{
	{store.ErrInvalidToken, errLinkInvalidToken},
	{store.ErrNotFound, errLinkNotFound},
	{store.ErrAlreadyExists, errLinkAlreadyExists},
	{store.ErrRevoked, link.ErrRevoked},
	{store.ErrExpired, link.ErrExpired},
	{store.ErrConflict, errLinkConflict},
}

// linkRefusedDetail is the detail of a Config.RedeemLink refusal that
// gives none.
const linkRefusedDetail = "the application refused the redemption of the link"

// inLinkTerms wraps a link route, so that the errors it returns are
// answered in a link's terms: a generic store error (see linkTerms) as
// the link's, a *Refusal without detail with linkRefusedDetail. The
// link's own errors keep their responses, and any other error is left as
// it is.
func inLinkTerms(serve func(*Handler, *exchange) error) func(*Handler, *exchange) error {
	return func(h *Handler, x *exchange) error {
		return linkError(serve(h, x))
	}
}

// linkError returns err in a link's terms, as inLinkTerms describes.
func linkError(err error) error {
	if err == nil {
		return nil
	}
	var refusal *Refusal
	if errors.As(err, &refusal) && refusal != nil {
		if refusal.Detail == "" {
			return fmt.Errorf("%w (%w)", &Refusal{Status: refusal.Status, Detail: linkRefusedDetail}, err)
		}
		return err
	}
	for _, t := range linkTerms {
		if errors.Is(err, t.generic) {
			// A link's own error (link.ErrExhausted wraps
			// store.ErrConflict) keeps its response: errorTable
			// tries it before what it is wrapped with here.
			return fmt.Errorf("%w: %w", t.specific, err)
		}
	}
	return err
}

// retryAfter is the Retry-After of every 503, in seconds: about as long as
// a connection takes to come back or a stray lock holder to be noticed,
// and short enough that a client's retry is not kept waiting.
const retryAfter = "2"

// Refusal is the error an accept hook (Config.AcceptInvitation,
// Config.AcceptGuestInvitation, Config.RedeemLink) returns to refuse an
// accept or a redemption with a status and message of its own choosing:
// the response has Status, the problem type
// ProblemTypePrefix+"accept-refused", and Detail as its detail (and, on
// the organization routes, its error). Return it as a pointer, wrapped
// or not:
//
//	return &httpadapter.Refusal{Status: http.StatusPaymentRequired, Detail: "the plan has no free seat"}
//
// Detail is shown to the client as it is; put nothing in it the client
// should not read.
type Refusal struct {
	// Status is the response's status, a client error from 400 to 499.
	// Any other value is answered 403.
	Status int
	// Detail says why, for the client. When empty the response says the
	// application refused the accept.
	Detail string
}

// Error implements error.
func (r *Refusal) Error() string {
	if r == nil {
		return "httpadapter: accept refused"
	}
	return fmt.Sprintf("httpadapter: accept refused (%d): %s", r.Status, r.Detail)
}

// Response returns the status and detail a refusal is answered with:
// Status when it is a client error (400 to 499), else 403, and Detail, or
// a generic reason when it is empty. The accept page (package acceptpage)
// answers a refusal the same way.
func (r *Refusal) Response() (status int, detail string) {
	status, detail = r.Status, r.Detail
	if status < 400 || status > 499 {
		status = http.StatusForbidden
	}
	if detail == "" {
		detail = "the application refused to accept the invitation"
	}
	return status, detail
}

// failure is the response to r.
func (r *Refusal) failure() failure {
	status, detail := r.Response()
	return failure{kind: problem{status, "accept-refused", "Accept refused"}, detail: detail}
}

// requestError is an error the adapter finds in a request before any
// service sees it: a malformed header, path, query or body, a refused
// authorization.
type requestError struct {
	kind   problem
	detail string
	fields []store.FieldError
}

func (e *requestError) Error() string { return e.kind.slug + ": " + e.detail }

func newRequestError(kind problem, detail string, fields ...store.FieldError) *requestError {
	return &requestError{kind: kind, detail: detail, fields: fields}
}

// badRequest reports a syntax error in the request, naming the fields at
// fault.
func badRequest(detail string, fields ...store.FieldError) *requestError {
	return newRequestError(probBadRequest, detail, fields...)
}

// forbidden reports a refusal the adapter decides itself.
func forbidden(detail string) *requestError {
	return newRequestError(probForbidden, detail)
}

// failure is an error response ready to be written.
type failure struct {
	kind   problem
	detail string
	fields []store.FieldError
	// internal is set when the cause must be logged, not shown.
	internal bool
	// retryAfter, when set, is the Retry-After of a 429.
	retryAfter time.Duration
}

// limitDetail says which limit refused a request, in the words of the API.
func limitDetail(e *store.LimitError) string {
	switch e.Limit {
	case store.LimitMaxOpen:
		return fmt.Sprintf("the organization has %d open invitations, its limit; revoke one or wait until one expires", e.Max)
	case store.LimitCreatesPerHour:
		return fmt.Sprintf("the organization created %d invitations in the last hour, its limit; try again later", e.Max)
	}
	return "the organization reached a limit; try again later"
}

// classify maps err to its response. Errors it does not know are
// internal: a generic 500 whose cause is only logged.
func classify(err error) failure {
	var rerr *requestError
	if errors.As(err, &rerr) {
		return failure{kind: rerr.kind, detail: rerr.detail, fields: rerr.fields}
	}
	var refusal *Refusal
	if errors.As(err, &refusal) && refusal != nil {
		return refusal.failure()
	}
	var verr *store.ValidationError
	if errors.As(err, &verr) {
		return failure{kind: probValidation, detail: validationDetail(verr.Fields), fields: verr.Fields}
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return failure{kind: probTooLarge, detail: "the request body is larger than the limit"}
	}
	var limit *store.LimitError
	if errors.As(err, &limit) {
		return failure{kind: probLimit, detail: limitDetail(limit), retryAfter: limit.RetryAfter}
	}
	for _, e := range errorTable {
		if errors.Is(err, e.err) {
			return failure{kind: e.kind, detail: e.detail}
		}
	}
	return failure{kind: probInternal, detail: "an internal error occurred", internal: true}
}

// validationDetail joins the field messages, for clients that read only the
// message (the organization routes' "error").
func validationDetail(fields []store.FieldError) string {
	var b strings.Builder
	b.WriteString("invalid input")
	for i, f := range fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field)
		b.WriteString(" ")
		b.WriteString(f.Message)
	}
	return b.String()
}

// fieldJSON is one entry of the "errors" array of an error response.
type fieldJSON struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func fieldsJSON(fields []store.FieldError) []fieldJSON {
	out := make([]fieldJSON, len(fields))
	for i, f := range fields {
		out[i] = fieldJSON{Field: f.Field, Message: f.Message}
	}
	return out
}

// orgErrorJSON is the error body of the organization routes: the ClickHouse
// envelope (status, error, requestId) with the RFC 9457 members, and the
// invalid fields when there are some.
type orgErrorJSON struct {
	Status    int         `json:"status"`
	Error     string      `json:"error"`
	RequestID string      `json:"requestId"`
	Type      string      `json:"type"`
	Title     string      `json:"title"`
	Detail    string      `json:"detail"`
	Errors    []fieldJSON `json:"errors,omitempty"`
}

// guestErrorJSON is the RFC 9457 error body of the guest routes. Errors is
// always present, empty when no field is at fault.
type guestErrorJSON struct {
	Type   string      `json:"type"`
	Title  string      `json:"title"`
	Status int         `json:"status"`
	Detail string      `json:"detail"`
	Errors []fieldJSON `json:"errors"`
}

// body returns the error body in the style of api.
func (f failure) body(a api, requestID string) any {
	if a == guestAPI {
		return guestErrorJSON{
			Type:   ProblemTypePrefix + f.kind.slug,
			Title:  f.kind.title,
			Status: f.kind.status,
			Detail: f.detail,
			Errors: fieldsJSON(f.fields),
		}
	}
	var fields []fieldJSON
	if len(f.fields) > 0 {
		fields = fieldsJSON(f.fields)
	}
	return orgErrorJSON{
		Status:    f.kind.status,
		Error:     f.detail,
		RequestID: requestID,
		Type:      ProblemTypePrefix + f.kind.slug,
		Title:     f.kind.title,
		Detail:    f.detail,
		Errors:    fields,
	}
}
