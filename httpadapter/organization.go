package httpadapter

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
)

// withToken says whether a response shows the invitation's token: only
// create and resend do, the two moments the invitation is sent.
type withToken bool

// invitationResult answers 200 with one invitation, its status evaluated
// at one instant.
func (h *Handler) invitationResult(x *exchange, inv invitation.Invitation, tok withToken) error {
	var token string
	if tok {
		token = h.cfg.Invitations.Token(inv)
	}
	v := invitation.NewView(inv, h.cfg.Invitations.Now())
	v.Token = token
	return x.result(v)
}

// envelopeJSON is the ClickHouse success envelope. Real clients of that API
// check for status 200 and read result.
type envelopeJSON struct {
	Status    int    `json:"status"`
	RequestID string `json:"requestId"`
	Result    any    `json:"result"`
}

// emptyEnvelopeJSON is the envelope of DELETE, which has no result.
type emptyEnvelopeJSON struct {
	Status    int    `json:"status"`
	RequestID string `json:"requestId"`
}

// result answers 200 with result in the envelope.
func (x *exchange) result(result any) error {
	x.writeJSON(http.StatusOK, "application/json", envelopeJSON{Status: http.StatusOK, RequestID: x.id, Result: result})
	return nil
}

// organization reads the path's organizationId and checks that the
// principal may act for it.
func (h *Handler) organization(x *exchange) (uuid.UUID, error) {
	orgID, err := x.pathUUID("organizationId")
	if err != nil {
		return uuid.Nil, err
	}
	return orgID, h.authorizeOrganization(x, orgID)
}

func (h *Handler) authorizeOrganization(x *exchange, orgID uuid.UUID) error {
	if h.cfg.AuthorizeOrganization == nil {
		return nil
	}
	if err := h.cfg.AuthorizeOrganization(x.ctx(), x.principal, orgID); err != nil {
		return fmt.Errorf("httpadapter: AuthorizeOrganization: %w", err)
	}
	return nil
}

// invitationTarget reads and authorizes the organization, then reads the
// invitation ID, both from the path.
func (h *Handler) invitationTarget(x *exchange) (orgID, id uuid.UUID, err error) {
	if orgID, err = h.organization(x); err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	if id, err = x.pathUUID("invitationId"); err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	return orgID, id, nil
}

func (h *Handler) listInvitations(x *exchange) error {
	orgID, err := h.organization(x)
	if err != nil {
		return err
	}
	q := x.query()
	status, _ := q.str("status")
	email, _ := q.str("email")
	cursor, _ := q.str("cursor")
	limit, given := q.limit(invitation.MaxLimit)
	if !given {
		// Clients of the ClickHouse API, which has no paging, read one
		// page as the whole list: make it as long as a page can be.
		limit = invitation.MaxLimit
	}
	if err := q.err(); err != nil {
		return err
	}
	opts := invitation.ListOptions{Status: invitation.Status(status), Email: email, Cursor: cursor, Limit: limit}
	if len(q.invalid) > 0 {
		return invalidRequest(x.api, q.invalid, h.cfg.Invitations.ValidateList(opts))
	}
	page, err := h.cfg.Invitations.List(x.ctx(), orgID, opts)
	if err != nil {
		return err
	}
	x.linkNext(page.Next)
	out := make([]invitation.View, len(page.Invitations))
	for i, inv := range page.Invitations {
		out[i] = invitation.NewView(inv, page.Now)
	}
	return x.result(out)
}

// linkNext sets the Link header of a page that has a next one, whose
// cursor is next.
func (x *exchange) linkNext(next string) {
	if next != "" {
		x.w.Header().Set("Link", "<"+x.nextPageURL(next)+`>; rel="next"`)
	}
}

// nextPageURL is the request's own path and query with the cursor replaced:
// a path-absolute reference, right under any prefix the Handler is mounted
// at.
func (x *exchange) nextPageURL(cursor string) string {
	q := x.r.URL.Query()
	q.Set("cursor", cursor)
	return x.requestPath() + "?" + q.Encode()
}

// createJSON is the body of a create, and one item of a bulk create.
type createJSON struct {
	Email           string          `json:"email"`
	Role            string          `json:"role"`
	AssignedRoleIDs []string        `json:"assignedRoleIds"`
	Metadata        json.RawMessage `json:"metadata"`
}

// params returns the create of b for orgID by principal, and the invalid
// values the adapter found in it itself.
func (b createJSON) params(orgID uuid.UUID, p Principal) (invitation.CreateParams, []store.FieldError) {
	ids, invalid := roleIDs(b.AssignedRoleIDs)
	return invitation.CreateParams{
		OrganizationID:  orgID,
		Email:           b.Email,
		Role:            b.Role,
		AssignedRoleIDs: ids,
		InviterID:       p.ID,
		Metadata:        b.Metadata,
	}, invalid
}

func (h *Handler) createInvitation(x *exchange) error {
	orgID, err := h.organization(x)
	if err != nil {
		return err
	}
	var body createJSON
	if err := x.decode(&body); err != nil {
		return err
	}
	p, invalid := body.params(orgID, x.principal)
	if len(invalid) > 0 {
		return invalidRequest(x.api, invalid, h.cfg.Invitations.ValidateCreate(p))
	}
	inv, err := h.cfg.Invitations.Create(x.ctx(), p)
	if err != nil {
		return err
	}
	return h.invitationResult(x, inv, true)
}

// bulkItemJSON is the outcome of one item of a bulk create: its index in
// the request, its status, and the invitation (status 200) or the error
// in the members of the organization routes' error body.
type bulkItemJSON struct {
	Index  int              `json:"index"`
	Status int              `json:"status"`
	Result *invitation.View `json:"result,omitempty"`
	Error  string           `json:"error,omitempty"`
	Type   string           `json:"type,omitempty"`
	Title  string           `json:"title,omitempty"`
	Detail string           `json:"detail,omitempty"`
	Errors []fieldJSON      `json:"errors,omitempty"`
	// RetryAfter is in seconds, with status 429.
	RetryAfter int `json:"retryAfter,omitempty"`
}

// createInvitations is the bulk create: each item succeeds or fails on its
// own, in one store transaction (invitation.Service.CreateMany).
func (h *Handler) createInvitations(x *exchange) error {
	orgID, err := h.organization(x)
	if err != nil {
		return err
	}
	var body struct {
		Invitations []createJSON `json:"invitations"`
	}
	if err := x.decode(&body); err != nil {
		return err
	}
	if n := len(body.Invitations); n < 1 || n > invitation.MaxBulk {
		return &store.ValidationError{Fields: []store.FieldError{field("invitations",
			fmt.Sprintf("must hold 1 to %d invitations, holds %d", invitation.MaxBulk, n))}}
	}
	out := make([]bulkItemJSON, len(body.Invitations))
	var ps []invitation.CreateParams
	var at []int // the item of each of ps
	for i, b := range body.Invitations {
		p, invalid := b.params(orgID, x.principal)
		if len(invalid) > 0 {
			out[i] = bulkItemError(i, invalidRequest(x.api, invalid, h.cfg.Invitations.ValidateCreate(p)))
			continue
		}
		ps, at = append(ps, p), append(at, i)
	}
	if len(ps) > 0 {
		res, err := h.cfg.Invitations.CreateMany(x.ctx(), orgID, ps)
		if err != nil {
			return err
		}
		now := h.cfg.Invitations.Now()
		for j, r := range res {
			i := at[j]
			if r.Err != nil {
				out[i] = bulkItemError(i, inWireTerms(x.api, r.Err))
				continue
			}
			v := invitation.NewView(r.Invitation, now)
			v.Token = h.cfg.Invitations.Token(r.Invitation)
			out[i] = bulkItemJSON{Index: i, Status: http.StatusOK, Result: &v}
		}
	}
	return x.result(out)
}

// bulkItemError is the outcome of item i that failed with err, in wire
// terms.
func bulkItemError(i int, err error) bulkItemJSON {
	f := classify(err)
	item := bulkItemJSON{Index: i, Status: f.kind.status, Error: f.detail, Type: ProblemTypePrefix + f.kind.slug,
		Title: f.kind.title, Detail: f.detail, RetryAfter: int(f.retryAfter / time.Second)}
	if len(f.fields) > 0 {
		item.Errors = fieldsJSON(f.fields)
	}
	return item
}

// roleIDs parses the assignedRoleIds of a create, naming each entry that
// is not a UUID; the nil UUID stands in for it, so the domain's verdict on
// the rest can be merged (see invalidRequest). Past the most a create may
// assign, nothing is parsed: the domain refuses the count.
func roleIDs(raw []string) ([]uuid.UUID, []store.FieldError) {
	if raw == nil {
		return nil, nil
	}
	ids := make([]uuid.UUID, len(raw))
	if len(raw) > invitation.MaxAssignedRoles {
		return ids, nil
	}
	var invalid []store.FieldError
	for i, s := range raw {
		id, ok := parseUUID(s)
		if !ok {
			invalid = append(invalid, field(store.Indexed("assignedRoleIds", i), "must be a UUID"))
		}
		ids[i] = id
	}
	return ids, invalid
}

func (h *Handler) getInvitation(x *exchange) error {
	orgID, id, err := h.invitationTarget(x)
	if err != nil {
		return err
	}
	inv, err := h.cfg.Invitations.Get(x.ctx(), orgID, id)
	if err != nil {
		return err
	}
	return h.invitationResult(x, inv, false)
}

func (h *Handler) deleteInvitation(x *exchange) error {
	orgID, id, err := h.invitationTarget(x)
	if err != nil {
		return err
	}
	if err := h.cfg.Invitations.Delete(x.ctx(), orgID, id); err != nil {
		return err
	}
	x.writeJSON(http.StatusOK, "application/json", emptyEnvelopeJSON{Status: http.StatusOK, RequestID: x.id})
	return nil
}

func (h *Handler) revokeInvitation(x *exchange) error {
	orgID, id, err := h.invitationTarget(x)
	if err != nil {
		return err
	}
	inv, err := h.cfg.Invitations.Revoke(x.ctx(), orgID, id)
	if err != nil {
		return err
	}
	return h.invitationResult(x, inv, false)
}

func (h *Handler) resendInvitation(x *exchange) error {
	orgID, id, err := h.invitationTarget(x)
	if err != nil {
		return err
	}
	inv, err := h.cfg.Invitations.Resend(x.ctx(), orgID, id)
	if err != nil {
		return err
	}
	return h.invitationResult(x, inv, true)
}

// acceptInvitation accepts by token. The token is the credential for the
// invitation, so no organization is authorized; the principal's verified
// email, when it has one, is the accepting address.
func (h *Handler) acceptInvitation(x *exchange) error {
	var body tokenJSON
	if err := x.decode(&body); err != nil {
		return err
	}
	addr, err := h.acceptingEmail(x, body, invitation.ErrEmailMismatch)
	if err != nil {
		return err
	}
	inv, err := h.cfg.Invitations.Accept(x.ctx(), body.Token, addr,
		acceptHooks[invitation.AcceptHook](x, "AcceptInvitation", h.cfg.AcceptInvitation)...)
	if err != nil {
		return err
	}
	return h.invitationResult(x, inv, false)
}

// tokenJSON is the body of the routes that act by token: an accept, a
// redemption.
type tokenJSON struct {
	Token string `json:"token"`
	Email string `json:"email"`
}

// acceptingEmail checks the token of body and returns the email it acts
// for: the principal's verified email when it has one, else the body's.
// A body email that names another address than the principal's fails
// with mismatch, wrapped.
func (h *Handler) acceptingEmail(x *exchange, body tokenJSON, mismatch error) (string, error) {
	if body.Token == "" {
		return "", &store.ValidationError{Fields: []store.FieldError{field("token", "is required")}}
	}
	addr := body.Email
	if p := x.principal.Email; p != "" {
		if addr != "" {
			// The body's email is checked as any email that enters
			// (422 when the policy refuses it) and compared in its
			// normal form: strings.EqualFold would take the Kelvin
			// sign for k.
			norm, err := h.cfg.Invitations.NormalizeEmail(addr)
			if err != nil {
				return "", err
			}
			// A principal's email the policy refuses is refused by
			// the service, as when the body has none.
			if pnorm, err := h.cfg.Invitations.NormalizeEmail(p); err == nil && norm != pnorm {
				return "", fmt.Errorf("httpadapter: body email differs from the principal's: %w", mismatch)
			}
		}
		addr = p
	}
	return addr, nil
}
