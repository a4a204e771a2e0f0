package httpadapter

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/store"
)

// The organization headers of the guest routes.
const (
	RequesterHeader = "Requester-Organization-ID"
	TargetHeader    = "Target-Organization-ID"
)

// guestJSONSize is about the size of one guest invitation's JSON with its
// token and no metadata. A list reserves this much per item up front, so
// its buffer grows once, not once per doubling.
const guestJSONSize = 768

// appendGuestList appends the documented list response of res,
// {"items":[...],"total_items":N}, byte for byte as json.Marshal writes it
// for a struct of those two members, each item with its token and expired
// evaluated at res.Now: the one instant the page was read at.
func appendGuestList(dst []byte, res guest.ListResult) ([]byte, error) {
	dst = slices.Grow(dst, len(res.Items)*guestJSONSize+48)
	dst = append(dst, `{"items":[`...)
	for i := range res.Items {
		if i > 0 {
			dst = append(dst, ',')
		}
		// By index: an Item is too large to copy per iteration for nothing.
		item := &res.Items[i]
		var err error
		if dst, err = appendGuestView(dst, item.Invitation, item.Token, res.Now); err != nil {
			return dst, err
		}
	}
	dst = append(dst, `],"total_items":`...)
	dst = strconv.AppendInt(dst, int64(res.TotalItems), 10)
	return append(dst, '}'), nil
}

// guestResult answers status with one invitation, expired evaluated at one
// instant. Every guest route that answers with one invitation answers
// through here, so the rule for requests across organizations holds in
// one place: such a response leaves out invitation_token. The token is
// the guest's credential (whoever holds it accepts as the guest) and a
// requester may not read it, as it may not GET the invitation (list and
// get are for the organization itself only); a connected requester sees
// the outcome of the change it made, not the secret the target sends.
// Requests of the organization itself get the documented body, token
// included.
func (h *Handler) guestResult(x *exchange, status int, inv guest.Invitation) error {
	now := h.cfg.Guests.Now()
	var token string // empty: AppendViewJSON leaves invitation_token out
	if !x.crossOrganization {
		token = h.cfg.Guests.Token(inv)
	}
	return x.renderJSON(status, "application/json", func(dst []byte) ([]byte, error) {
		return appendGuestView(dst, inv, token, now)
	})
}

// appendGuestView is guest.AppendViewJSON with its one failure, metadata
// that is not JSON (a damaged store), said in the adapter's terms.
func appendGuestView(dst []byte, inv guest.Invitation, token string, now time.Time) ([]byte, error) {
	dst, err := guest.AppendViewJSON(dst, inv, token, now)
	if err != nil {
		return dst, fmt.Errorf("httpadapter: rendering guest invitation %s: %w", inv.ID, err)
	}
	return dst, nil
}

// scope says which requests may cross organizations.
type scope int

const (
	// selfOnly requests (list, get) need requester == target.
	selfOnly scope = iota
	// connected requests may act on another organization when
	// AuthorizeConnection allows the pair.
	connected
)

// guestTarget reads the organization headers, authorizes the principal for
// the requester and, across organizations, for the connection, and returns
// the target: the host organization whose invitations the request acts on.
func (h *Handler) guestTarget(x *exchange, sc scope) (uuid.UUID, error) {
	var fields []store.FieldError
	requester := headerUUID(x.r, RequesterHeader, &fields)
	target := headerUUID(x.r, TargetHeader, &fields)
	if len(fields) > 0 {
		return uuid.Nil, badRequest("missing or malformed organization headers", fields...)
	}
	if err := h.authorizeOrganization(x, requester); err != nil {
		return uuid.Nil, err
	}
	if requester == target {
		return target, nil
	}
	if sc == selfOnly {
		return uuid.Nil, forbidden("this request is allowed for the organization itself only: " +
			RequesterHeader + " must equal " + TargetHeader)
	}
	if h.cfg.AuthorizeConnection == nil {
		return uuid.Nil, forbidden("the requester organization is not authorized for the target organization")
	}
	if err := h.cfg.AuthorizeConnection(x.ctx(), x.principal, requester, target); err != nil {
		return uuid.Nil, fmt.Errorf("httpadapter: AuthorizeConnection: %w", err)
	}
	x.crossOrganization = true
	return target, nil
}

func headerUUID(r *http.Request, name string, fields *[]store.FieldError) uuid.UUID {
	v := r.Header.Get(name)
	if v == "" {
		*fields = append(*fields, field(name, "is required"))
		return uuid.Nil
	}
	id, ok := parseUUID(v)
	if !ok {
		*fields = append(*fields, field(name, "must be a UUID"))
	}
	return id
}

// guestItem reads and authorizes the headers, then reads the path's id.
func (h *Handler) guestItem(x *exchange, sc scope) (host, id uuid.UUID, err error) {
	if host, err = h.guestTarget(x, sc); err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	if id, err = x.pathUUID("id"); err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	return host, id, nil
}

func (h *Handler) createGuest(x *exchange) error {
	host, err := h.guestTarget(x, connected)
	if err != nil {
		return err
	}
	var body struct {
		Email                string          `json:"email"`
		ExpiredAt            *string         `json:"expired_at"`
		ParentOrganizationID *string         `json:"parent_organization_id"`
		Metadata             json.RawMessage `json:"metadata"`
	}
	if err := x.decode(&body); err != nil {
		return err
	}
	var invalid []store.FieldError
	expiredAt := parseTimeField("expired_at", body.ExpiredAt, &invalid)
	parent := parseUUIDField("parent_organization_id", body.ParentOrganizationID, &invalid)
	p := guest.CreateParams{HostOrganizationID: host, Email: body.Email, ParentOrganizationID: parent, Metadata: body.Metadata}
	if expiredAt != nil {
		p.ExpiredAt = *expiredAt
	}
	if len(invalid) > 0 {
		return invalidRequest(x.api, invalid, h.cfg.Guests.ValidateCreate(p))
	}
	inv, err := h.cfg.Guests.Create(x.ctx(), p)
	if err != nil {
		return err
	}
	x.w.Header().Set("Location", x.requestPath()+"/"+inv.ID.String())
	return h.guestResult(x, http.StatusCreated, inv)
}

func (h *Handler) listGuests(x *exchange) error {
	host, err := h.guestTarget(x, selfOnly)
	if err != nil {
		return err
	}
	q := x.query()
	opts := guest.ListOptions{
		Expired:  q.bool("expired"),
		Archived: q.bool("archived"),
	}
	opts.Limit, _ = q.limit(guest.MaxLimit)
	opts.Offset, _ = q.int("offset")
	opts.Cursor, _ = q.str("cursor")
	for _, s := range q.values["statuses"] {
		opts.Statuses = append(opts.Statuses, guest.Status(s))
	}
	orderBy, _ := q.str("order_by")
	order, _ := q.str("order")
	opts.OrderBy, opts.Order = guest.OrderBy(orderBy), store.Direction(order)
	// The service reads an empty search as no search; the documented
	// bounds say a given one is 1 to 255 characters.
	email, given := q.str("email")
	if given && email == "" {
		q.invalid = append(q.invalid, field("email", "must be 1 to 255 characters"))
	}
	opts.Email = email
	if err := q.err(); err != nil {
		return err
	}
	if len(q.invalid) > 0 {
		return invalidRequest(x.api, q.invalid, opts.Validate())
	}
	res, err := h.cfg.Guests.List(x.ctx(), host, opts)
	if err != nil {
		return err
	}
	x.linkNextGuests(res.Next)
	return x.renderJSON(http.StatusOK, "application/json", func(dst []byte) ([]byte, error) {
		return appendGuestList(dst, res)
	})
}

// linkNextGuests sets the Link header of a guest list page that has a next
// one, whose cursor is next: the request's own path and query with the
// cursor replaced and the offset dropped, since a cursor page takes no
// offset. Every page that has a next one links it, offset pages included,
// so a client moves from offsets to the cursor by following the link.
func (x *exchange) linkNextGuests(next string) {
	if next == "" {
		return
	}
	q := x.r.URL.Query()
	q.Del("offset")
	q.Set("cursor", next)
	x.w.Header().Set("Link", "<"+x.requestPath()+"?"+q.Encode()+`>; rel="next"`)
}

func (h *Handler) getGuest(x *exchange) error {
	host, id, err := h.guestItem(x, selfOnly)
	if err != nil {
		return err
	}
	inv, err := h.cfg.Guests.Get(x.ctx(), host, id)
	if err != nil {
		return err
	}
	return h.guestResult(x, http.StatusOK, inv)
}

// patchGuest archives or unarchives: archived is the only member the
// route changes, and it is required.
func (h *Handler) patchGuest(x *exchange) error {
	host, id, err := h.guestItem(x, connected)
	if err != nil {
		return err
	}
	var body struct {
		Archived *bool `json:"archived"`
	}
	if err := x.decode(&body); err != nil {
		return err
	}
	if body.Archived == nil {
		return &store.ValidationError{Fields: []store.FieldError{field("archived", "is required")}}
	}
	inv, err := h.cfg.Guests.SetArchived(x.ctx(), host, id, *body.Archived)
	if err != nil {
		return err
	}
	return h.guestResult(x, http.StatusOK, inv)
}

// resendGuest takes an optional body with a new expired_at.
func (h *Handler) resendGuest(x *exchange) error {
	host, id, err := h.guestItem(x, connected)
	if err != nil {
		return err
	}
	var body struct {
		ExpiredAt *string `json:"expired_at"`
	}
	if err := x.decodeOptional(&body); err != nil && !errors.Is(err, errNoBody) {
		return err
	}
	var invalid []store.FieldError
	expiredAt := parseTimeField("expired_at", body.ExpiredAt, &invalid)
	if len(invalid) > 0 {
		return &store.ValidationError{Fields: invalid}
	}
	inv, err := h.cfg.Guests.Resend(x.ctx(), host, id, expiredAt)
	if err != nil {
		return err
	}
	return h.guestResult(x, http.StatusOK, inv)
}

func (h *Handler) acceptGuestBySystem(x *exchange) error {
	host, id, err := h.guestItem(x, connected)
	if err != nil {
		return err
	}
	inv, err := h.cfg.Guests.AcceptBySystem(x.ctx(), host, id,
		acceptHooks[guest.AcceptHook](x, "AcceptGuestInvitation", h.cfg.AcceptGuestInvitation)...)
	if err != nil {
		return err
	}
	return h.guestResult(x, http.StatusOK, inv)
}

// acceptGuestByToken accepts as the guest. The token is the credential for
// the invitation, so the organization headers are not needed.
func (h *Handler) acceptGuestByToken(x *exchange) error {
	var body struct {
		InvitationToken string `json:"invitation_token"`
	}
	if err := x.decode(&body); err != nil {
		return err
	}
	if body.InvitationToken == "" {
		return &store.ValidationError{Fields: []store.FieldError{field("invitation_token", "is required")}}
	}
	inv, err := h.cfg.Guests.AcceptByGuest(x.ctx(), body.InvitationToken,
		acceptHooks[guest.AcceptHook](x, "AcceptGuestInvitation", h.cfg.AcceptGuestInvitation)...)
	if err != nil {
		return err
	}
	return h.guestResult(x, http.StatusOK, inv)
}
