// Package invitation implements organization invitations: an organization
// invites an email address to join it with roles, and only a user with that
// email can accept.
//
// The package holds the rules (validation, expiry, status transitions,
// signed tokens) and a Service that applies them on top of any Store. Stores
// live in their own packages (memstore, sqlitestore, postgresstore); the
// HTTP adapter in httpadapter exposes the Service over the documented
// routes.
//
// A stored invitation is pending, accepted or revoked. Its effective status
// at a given instant is expired when it is pending and the instant is at or
// after ExpireAt. Accepted and revoked are final.
package invitation

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/store"
)

// Status is the status of an invitation.
type Status string

// Statuses. Pending, Accepted and Revoked are stored; Expired is only ever
// derived, by EffectiveStatus.
const (
	StatusPending  Status = "pending"
	StatusAccepted Status = "accepted"
	StatusRevoked  Status = "revoked"
	StatusExpired  Status = "expired"
)

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusAccepted, StatusRevoked, StatusExpired:
		return true
	}
	return false
}

// Invitation is an invitation of an email address to an organization.
type Invitation struct {
	ID             uuid.UUID
	OrganizationID uuid.UUID
	// Email is trimmed and lowercase.
	Email string
	// Role is ClickHouse's deprecated single role, frozen at create (see
	// CreateParams); empty when the invitation assigns custom roles only.
	Role string
	// AssignedRoles are the roles the invitee gets on accept, as the
	// catalog described them at create: a snapshot, in the order the
	// create gave them, nil when none.
	AssignedRoles []Role
	// InviterID optionally names who sent the invitation, in the caller's
	// own terms (a user ID, an API key ID).
	InviterID string
	// Status is the stored status: pending, accepted or revoked.
	Status Status
	// Nonce is the random value the current token is signed over. Resend
	// replaces it, which invalidates every earlier token.
	Nonce     []byte
	CreatedAt time.Time
	// SentAt is when the invitation was last sent: CreatedAt, or the time of
	// the last Resend.
	SentAt     time.Time
	ExpireAt   time.Time
	AcceptedAt *time.Time
	RevokedAt  *time.Time
	// Metadata is the application's JSON object given at create, in its
	// stored form (see CreateParams.Metadata); nil when none. Events and accept hooks
	// carry it, so an application can hand it on to the membership.
	Metadata json.RawMessage
	// ExpiryRecorded is whether Sweep has recorded that the invitation
	// expired at ExpireAt (its invitation.expired event): each expiry is
	// recorded once. A Resend that revives the invitation clears it.
	ExpiryRecorded bool
}

// EffectiveStatus returns the status at now: StatusExpired when the
// invitation is pending and now is at or after ExpireAt, the stored status
// otherwise.
func (inv Invitation) EffectiveStatus(now time.Time) Status {
	if inv.Status == StatusPending && !now.Before(inv.ExpireAt) {
		return StatusExpired
	}
	return inv.Status
}

// Open reports whether the invitation can still be accepted at now: pending
// and not expired. At most one invitation per organization and email is open
// at any instant.
func (inv Invitation) Open(now time.Time) bool {
	return inv.EffectiveStatus(now) == StatusPending
}

// ErrEmailMismatch reports an accept by a user whose email is not the one
// invited. The errors every domain shares (store.ErrExpired,
// store.ErrAlreadyAccepted, store.ErrRevoked, store.ErrInvalidToken, ...)
// live in package store.
var ErrEmailMismatch = errors.New("invitekit: invitation is addressed to another email")

// finalErr returns the error for changing inv, or nil when it is still
// pending.
func (inv Invitation) finalErr() error {
	switch inv.Status {
	case StatusAccepted:
		return store.ErrAlreadyAccepted
	case StatusRevoked:
		return store.ErrRevoked
	}
	return nil
}

// accept moves a pending, unexpired invitation to accepted at now.
func (inv *Invitation) accept(now time.Time, email string) error {
	if err := inv.finalErr(); err != nil {
		return err
	}
	if !inv.Open(now) {
		return store.ErrExpired
	}
	if inv.Email != email {
		return ErrEmailMismatch
	}
	inv.Status = StatusAccepted
	inv.AcceptedAt = &now
	return nil
}

// revoke moves a pending invitation, expired or not, to revoked at now.
func (inv *Invitation) revoke(now time.Time) error {
	if err := inv.finalErr(); err != nil {
		return err
	}
	inv.Status = StatusRevoked
	inv.RevokedAt = &now
	return nil
}

// resend gives a pending invitation a new nonce, sent time and expiry. An
// expired one is revived: it is open again until its new expiry, which a
// later Sweep records once more when it passes.
func (inv *Invitation) resend(now time.Time, ttl time.Duration, nonce []byte) error {
	if err := inv.finalErr(); err != nil {
		return err
	}
	inv.Nonce = nonce
	inv.SentAt = now
	inv.ExpireAt = now.Add(ttl)
	inv.ExpiryRecorded = false
	return nil
}
