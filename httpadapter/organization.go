package httpadapter

import (
	"fmt"
	"net/http"

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

func (h *Handler) createInvitation(x *exchange) error {
	orgID, err := h.organization(x)
	if err != nil {
		return err
	}
	var body struct {
		Email           string   `json:"email"`
		Role            string   `json:"role"`
		AssignedRoleIDs []string `json:"assignedRoleIds"`
	}
	if err := x.decode(&body); err != nil {
		return err
	}
	ids, invalid := roleIDs(body.AssignedRoleIDs)
	p := invitation.CreateParams{
		OrganizationID:  orgID,
		Email:           body.Email,
		Role:            body.Role,
		AssignedRoleIDs: ids,
		InviterID:       x.principal.ID,
	}
	if len(invalid) > 0 {
		return invalidRequest(x.api, invalid, h.cfg.Invitations.ValidateCreate(p))
	}
	inv, err := h.cfg.Invitations.Create(x.ctx(), p)
	if err != nil {
		return err
	}
	return h.invitationResult(x, inv, true)
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
	var body struct {
		Token string `json:"token"`
		Email string `json:"email"`
	}
	if err := x.decode(&body); err != nil {
		return err
	}
	if body.Token == "" {
		return &store.ValidationError{Fields: []store.FieldError{field("token", "is required")}}
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
				return err
			}
			// A principal's email the policy refuses is refused by
			// Accept, as when the body has none.
			if pnorm, err := h.cfg.Invitations.NormalizeEmail(p); err == nil && norm != pnorm {
				return fmt.Errorf("httpadapter: body email differs from the principal's: %w", invitation.ErrEmailMismatch)
			}
		}
		addr = p
	}
	inv, err := h.cfg.Invitations.Accept(x.ctx(), body.Token, addr,
		acceptHooks[invitation.AcceptHook](x, "AcceptInvitation", h.cfg.AcceptInvitation)...)
	if err != nil {
		return err
	}
	return h.invitationResult(x, inv, false)
}
