// Package link implements join links: an organization shares one link
// that many people redeem, each with their own email, up to a cap on uses,
// until it expires or is revoked. Each redemption is recorded, for the
// application to turn into a membership (in the same transaction if it
// wants, see RedeemHook) and as an audit of who joined through the link.
//
// A link assigns roles as an organization invitation does (through the
// invitation.Service of the organization's invitations, its role catalog
// included), may restrict the email domains that redeem it, and is bound
// by the organization's domain policy (invitation.Config.AllowedDomains)
// as email invitations are. Its token is signed like an invitation's but
// with a kind of its own, so neither ever passes for the other.
//
// A link's effective status at an instant is revoked once revoked,
// exhausted once every use is taken, expired at or after ExpireAt, and
// active otherwise.
package link

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/internal/email"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
)

// Status is the effective status of a link.
type Status string

// Statuses, derived by Link.EffectiveStatus.
const (
	StatusActive    Status = "active"
	StatusExhausted Status = "exhausted"
	StatusExpired   Status = "expired"
	StatusRevoked   Status = "revoked"
)

// Link is a shareable join link of an organization.
type Link struct {
	ID             uuid.UUID
	OrganizationID uuid.UUID
	// Role and AssignedRoles are what each redemption assigns, resolved
	// at create as an organization invitation's are (see
	// invitation.CreateParams): a snapshot.
	Role          string
	AssignedRoles []invitation.Role
	// MaxUses is the most redemptions the link takes; Uses how many it
	// has had. Uses never exceeds MaxUses.
	MaxUses int
	Uses    int
	// AllowedDomains, when not empty, are the only email domains that may
	// redeem the link: normalised, without duplicates.
	AllowedDomains []string
	// Nonce is the random value the token is signed over.
	Nonce     []byte
	CreatedAt time.Time
	ExpireAt  time.Time
	RevokedAt *time.Time
}

// EffectiveStatus returns the status of l at now.
func (l Link) EffectiveStatus(now time.Time) Status {
	switch {
	case l.RevokedAt != nil:
		return StatusRevoked
	case l.Uses >= l.MaxUses:
		return StatusExhausted
	case !now.Before(l.ExpireAt):
		return StatusExpired
	}
	return StatusActive
}

// Redemption records that a person with Email joined through a link.
type Redemption struct {
	ID             uuid.UUID
	LinkID         uuid.UUID
	OrganizationID uuid.UUID
	// Email is normalised, as invitation emails are.
	Email string
	// Role and AssignedRoles are the link's at the redemption: what the
	// person is to get.
	Role          string
	AssignedRoles []invitation.Role
	RedeemedAt    time.Time
}

// Errors of Redeem beyond those of every domain (store.ErrInvalidToken,
// store.ErrUnavailable, ...). Each wraps the store error of its class, so
// errors.Is(err, store.ErrConflict) holds for the 409s.
var (
	// ErrRevoked reports a redemption of a revoked link, or a second
	// revoke.
	ErrRevoked = fmt.Errorf("invitekit: link revoked: %w", store.ErrRevoked)
	// ErrExhausted reports a redemption of a link whose uses are all
	// taken.
	ErrExhausted = fmt.Errorf("invitekit: link has no uses left: %w", store.ErrConflict)
	// ErrExpired reports a redemption of an expired link.
	ErrExpired = fmt.Errorf("invitekit: link expired: %w", store.ErrExpired)
	// ErrAlreadyRedeemed reports a second redemption of a link with one
	// email.
	ErrAlreadyRedeemed = fmt.Errorf("invitekit: this email already redeemed the link: %w", store.ErrAlreadyExists)
	// ErrDomainNotAllowed reports a redemption by an email whose domain
	// the link's AllowedDomains, or the organization's domain policy, do
	// not allow.
	ErrDomainNotAllowed = errors.New("invitekit: the email's domain may not redeem this link")
)

// redeem takes one use of l at now for addr, which has redeemed it before
// when redeemed is set.
func (l *Link) redeem(now time.Time, addr string, redeemed bool) error {
	if !email.DomainIn(addr, l.AllowedDomains) {
		return ErrDomainNotAllowed
	}
	switch l.EffectiveStatus(now) {
	case StatusRevoked:
		return ErrRevoked
	case StatusExpired:
		return ErrExpired
	}
	if redeemed {
		return ErrAlreadyRedeemed
	}
	if l.Uses >= l.MaxUses {
		return ErrExhausted
	}
	l.Uses++
	return nil
}

// revoke moves l to revoked at now.
func (l *Link) revoke(now time.Time) error {
	if l.RevokedAt != nil {
		return ErrRevoked
	}
	l.RevokedAt = &now
	return nil
}
