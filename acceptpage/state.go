package acceptpage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
)

// State is what the page says about an invitation.
type State string

// The states of the page. Each answer has one; the template switches on it.
const (
	// StateOpen: the invitation can be accepted; the page shows the form.
	StateOpen State = "open"
	// StateAccepted: this request accepted it.
	StateAccepted State = "accepted"
	// StateAlreadyAccepted: it was accepted before (by anyone).
	StateAlreadyAccepted State = "already-accepted"
	// StateRevoked: the organization revoked it.
	StateRevoked State = "revoked"
	// StateWithdrawn: the host archived the guest invitation.
	StateWithdrawn State = "withdrawn"
	// StateExpired: its expiry passed before anyone accepted it.
	StateExpired State = "expired"
	// StateInvalid: the link's token is missing, mistyped, forged,
	// replaced by a newer email, or its invitation was deleted. Which one
	// is never said, so a token reveals nothing.
	StateInvalid State = "invalid"
	// StateForbidden: a form posted from another site.
	StateForbidden State = "forbidden"
	// StateUnavailable: the store did not answer; try again.
	StateUnavailable State = "unavailable"
	// StateError: anything else; Problem may say more.
	StateError State = "error"
)

// status is the HTTP status the page answers a state with, so that
// programs reading the page (and tests) need not parse it.
func (s State) status() int {
	switch s {
	case StateOpen, StateAccepted:
		return http.StatusOK
	case StateAlreadyAccepted, StateRevoked, StateWithdrawn:
		return http.StatusConflict
	case StateExpired:
		return http.StatusGone
	case StateInvalid:
		return http.StatusNotFound
	case StateForbidden:
		return http.StatusForbidden
	case StateUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// Kind is the kind of invitation a page shows.
type Kind string

// The kinds of invitation.
const (
	KindOrganization Kind = "organization"
	KindGuest        Kind = "guest"
)

// Page is what the template gets. Fields that do not apply are zero.
type Page struct {
	State State
	Kind  Kind
	// OrganizationName names the inviting (or host) organization; empty
	// when Config.Names is nil or does not know it.
	OrganizationName string
	// InviterName names who sent an organization invitation; may be empty.
	InviterName string
	// Email is the address the invitation was sent to.
	Email string
	// Role is the role an organization invitation grants.
	Role string
	// ExpiresAt is when the invitation stops being acceptable.
	ExpiresAt time.Time
	// AcceptedAt is when it was accepted, for the accepted states.
	AcceptedAt *time.Time
	// Token goes back in the form's hidden field.
	Token string
	// AskEmail: the form asks for the accepting email (Config.Email is
	// nil and this is an organization invitation).
	AskEmail bool
	// EnteredEmail is what the visitor typed, to show it again.
	EnteredEmail string
	// Problem says why the last POST did not accept, when it did not.
	Problem string
}

// inspect reads what tok stands for, changing nothing. An unknown token is
// a page in StateInvalid, not an error; errors are the store's or Names'.
func (h *Handler) inspect(ctx context.Context, tok string) (Page, error) {
	if tok == "" || len(tok) > maxTokenLen {
		return Page{State: StateInvalid}, nil
	}
	if h.cfg.Invitations != nil {
		inv, err := h.cfg.Invitations.Inspect(ctx, tok)
		if err == nil {
			p := h.invitationPage(inv)
			p.Token = tok
			return p, h.name(ctx, &p, inv.OrganizationID, inv.InviterID)
		}
		if !errors.Is(err, store.ErrInvalidToken) {
			return Page{}, err
		}
	}
	if h.cfg.Guests != nil {
		inv, err := h.cfg.Guests.Inspect(ctx, tok)
		if err == nil {
			p := h.guestPage(inv)
			p.Token = tok
			return p, h.name(ctx, &p, inv.HostOrganizationID, "")
		}
		if !errors.Is(err, store.ErrInvalidToken) {
			return Page{}, err
		}
	}
	return Page{State: StateInvalid}, nil
}

// invitationPage is inv as the page shows it, without names.
func (h *Handler) invitationPage(inv invitation.Invitation) Page {
	p := Page{Kind: KindOrganization, Email: inv.Email, Role: inv.Role, ExpiresAt: inv.ExpireAt, AcceptedAt: inv.AcceptedAt}
	switch inv.EffectiveStatus(h.cfg.Invitations.Now()) {
	case invitation.StatusPending:
		p.State = StateOpen
	case invitation.StatusAccepted:
		p.State = StateAlreadyAccepted
	case invitation.StatusRevoked:
		p.State = StateRevoked
	default:
		p.State = StateExpired
	}
	return p
}

// guestPage is inv as the page shows it, without names.
func (h *Handler) guestPage(inv guest.Invitation) Page {
	p := Page{Kind: KindGuest, Email: inv.Email, ExpiresAt: inv.ExpiredAt, AcceptedAt: inv.AcceptedAt}
	switch now := h.cfg.Guests.Now(); {
	case inv.Status != guest.StatusSent:
		p.State = StateAlreadyAccepted
	case inv.Archived:
		p.State = StateWithdrawn
	case inv.Expired(now):
		p.State = StateExpired
	default:
		p.State = StateOpen
	}
	return p
}

// name fills in the names of the organization and, when inviterID is
// set, of the inviter. Names that Config.Names does not know stay empty.
func (h *Handler) name(ctx context.Context, p *Page, org uuid.UUID, inviterID string) error {
	if h.cfg.Names == nil {
		return nil
	}
	var err error
	if p.OrganizationName, err = known(h.cfg.Names.OrganizationName(ctx, org)); err != nil {
		return fmt.Errorf("acceptpage: Config.Names.OrganizationName: %w", err)
	}
	if inviterID == "" {
		return nil
	}
	if p.InviterName, err = known(h.cfg.Names.InviterName(ctx, org, inviterID)); err != nil {
		return fmt.Errorf("acceptpage: Config.Names.InviterName: %w", err)
	}
	return nil
}

// known turns a not-found answer of Names into no name.
func known(name string, err error) (string, error) {
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return name, err
}
