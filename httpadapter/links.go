package httpadapter

import (
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/link"
	"github.com/invitekit/invitekit/store"
)

// The join link routes (package link), in the organization routes' style:
// the same authorization, envelope, errors and paging. Every route is
// registered through inLinkTerms, so that its errors speak of links.

// linkView is l's API shape, its status evaluated at now, with its token:
// a link is shared, so every read of it shows what to share.
func (h *Handler) linkView(l link.Link, now time.Time) link.View {
	v := link.NewView(l, now)
	v.Token = h.cfg.Links.Token(l)
	return v
}

// linkResult answers 200 with one link.
func (h *Handler) linkResult(x *exchange, l link.Link) error {
	return x.result(h.linkView(l, h.cfg.Links.Now()))
}

// linkTarget reads and authorizes the organization, then reads the link
// ID, both from the path.
func (h *Handler) linkTarget(x *exchange) (orgID, id uuid.UUID, err error) {
	if orgID, err = h.organization(x); err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	if id, err = x.pathUUID("linkId"); err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	return orgID, id, nil
}

// linkCreateJSON is the body of a link create.
type linkCreateJSON struct {
	Role            string   `json:"role"`
	AssignedRoleIDs []string `json:"assignedRoleIds"`
	MaxUses         int      `json:"maxUses"`
	ExpireAt        *string  `json:"expireAt"`
	AllowedDomains  []string `json:"allowedDomains"`
}

// params returns the create of b for orgID, and the invalid values the
// adapter found in it itself.
func (b linkCreateJSON) params(orgID uuid.UUID) (link.CreateParams, []store.FieldError) {
	ids, invalid := roleIDs(b.AssignedRoleIDs)
	p := link.CreateParams{
		OrganizationID:  orgID,
		Role:            b.Role,
		AssignedRoleIDs: ids,
		MaxUses:         b.MaxUses,
		AllowedDomains:  b.AllowedDomains,
	}
	if t := parseTimeField("expireAt", b.ExpireAt, &invalid); t != nil {
		p.ExpireAt = *t
	}
	return p, invalid
}

func (h *Handler) createLink(x *exchange) error {
	orgID, err := h.organization(x)
	if err != nil {
		return err
	}
	var body linkCreateJSON
	if err := x.decode(&body); err != nil {
		return err
	}
	p, invalid := body.params(orgID)
	if len(invalid) > 0 {
		// link.Service has no pure validation to merge, as its roles and
		// domains are checked against the organization's catalog and
		// policy: the 422 names what the adapter found.
		return invalidRequest(x.api, invalid, nil)
	}
	l, err := h.cfg.Links.Create(x.ctx(), p)
	if err != nil {
		return err
	}
	return h.linkResult(x, l)
}

// linkPage reads the paging parameters of the link lists, limit and
// cursor, as the events route reads them.
func linkPage(x *exchange) (link.ListOptions, error) {
	q := x.query()
	cursor, _ := q.str("cursor")
	limit, _ := q.limit(link.MaxLimit)
	if err := q.err(); err != nil {
		return link.ListOptions{}, err
	}
	opts := link.ListOptions{Cursor: cursor, Limit: limit}
	if len(q.invalid) > 0 {
		return opts, invalidRequest(x.api, q.invalid, opts.Validate())
	}
	return opts, nil
}

func (h *Handler) listLinks(x *exchange) error {
	orgID, err := h.organization(x)
	if err != nil {
		return err
	}
	opts, err := linkPage(x)
	if err != nil {
		return err
	}
	page, err := h.cfg.Links.List(x.ctx(), orgID, opts)
	if err != nil {
		return err
	}
	x.linkNext(page.Next)
	out := make([]link.View, len(page.Links))
	for i, l := range page.Links {
		out[i] = h.linkView(l, page.Now)
	}
	return x.result(out)
}

func (h *Handler) getLink(x *exchange) error {
	orgID, id, err := h.linkTarget(x)
	if err != nil {
		return err
	}
	l, err := h.cfg.Links.Get(x.ctx(), orgID, id)
	if err != nil {
		return err
	}
	return h.linkResult(x, l)
}

func (h *Handler) revokeLink(x *exchange) error {
	orgID, id, err := h.linkTarget(x)
	if err != nil {
		return err
	}
	l, err := h.cfg.Links.Revoke(x.ctx(), orgID, id)
	if err != nil {
		return err
	}
	return h.linkResult(x, l)
}

func (h *Handler) listRedemptions(x *exchange) error {
	orgID, id, err := h.linkTarget(x)
	if err != nil {
		return err
	}
	opts, err := linkPage(x)
	if err != nil {
		return err
	}
	page, err := h.cfg.Links.ListRedemptions(x.ctx(), orgID, id, opts)
	if err != nil {
		return err
	}
	x.linkNext(page.Next)
	out := make([]link.RedemptionView, len(page.Redemptions))
	for i, r := range page.Redemptions {
		out[i] = link.NewRedemptionView(r)
	}
	return x.result(out)
}

// redeemLink redeems by token, as acceptInvitation accepts: the token is
// the credential for the link, so no organization is authorized, and the
// principal's verified email, when it has one, is the redeeming address.
func (h *Handler) redeemLink(x *exchange) error {
	var body tokenJSON
	if err := x.decode(&body); err != nil {
		return err
	}
	addr, err := h.acceptingEmail(x, body, errRedeemerMismatch)
	if err != nil {
		return err
	}
	r, err := h.cfg.Links.Redeem(x.ctx(), body.Token, addr, redeemHooks(x, h.cfg.RedeemLink)...)
	if err != nil {
		return err
	}
	return x.result(link.NewRedemptionView(r))
}
