// Package guest implements guest invitations: a host organization invites a
// guest by email, the guest accepts with the invitation token (or the host
// accepts on the guest's behalf), and the host can archive, unarchive and
// resend invitations.
//
// The package holds the rules (validation, expiry, status transitions,
// signed tokens) and a Service that applies them on top of any Store. Stores
// live in their own packages (memstore, sqlitestore, postgresstore); the
// HTTP adapter in httpadapter exposes the Service over the documented
// /guest-invitations routes.
//
// Status moves from sent to accepted_by_guest or accepted_by_system, both
// final. An invitation is expired while it is sent and the clock is at or
// after ExpiredAt; an expired or archived invitation cannot be accepted.
package guest

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/store"
)

// Status is the stored status of a guest invitation.
type Status string

// Statuses.
const (
	StatusSent             Status = "sent"
	StatusAcceptedByGuest  Status = "accepted_by_guest"
	StatusAcceptedBySystem Status = "accepted_by_system"
)

// Valid reports whether s is one of the three statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusSent, StatusAcceptedByGuest, StatusAcceptedBySystem:
		return true
	}
	return false
}

// Invitation is a guest invitation. Every documented field of the API is
// here, except invitation_token, which Service.Token derives from Nonce and
// expired, which Expired derives from the clock.
type Invitation struct {
	ID                 uuid.UUID
	HostOrganizationID uuid.UUID
	// Email is trimmed and lowercase.
	Email                 string
	FirstInvitationSentAt time.Time
	LastInvitationSentAt  time.Time
	ExpiredAt             time.Time
	Status                Status
	Archived              bool
	CreatedAt             time.Time
	UpdatedAt             time.Time
	AcceptedAt            *time.Time
	ArchivedAt            *time.Time
	ParentOrganizationID  *uuid.UUID
	// ParentOrganizationName is the Directory's name for
	// ParentOrganizationID at creation, nil without a Directory.
	ParentOrganizationName *string
	// Nonce is the random value the current token is signed over. Resend
	// replaces it, which invalidates every earlier token.
	Nonce []byte
	// Metadata is the application's JSON object given at create, in its
	// stored form (see CreateParams.Metadata); nil when none. Events and accept hooks
	// carry it.
	Metadata json.RawMessage
	// ExpiryRecorded is whether Sweep has recorded that the invitation
	// expired at ExpiredAt (its guest_invitation.expired event): each
	// expiry is recorded once. A Resend that moves the expiry clears it.
	ExpiryRecorded bool
}

// Expired reports whether inv is sent and now is at or after ExpiredAt.
func (inv Invitation) Expired(now time.Time) bool {
	return inv.Status == StatusSent && !now.Before(inv.ExpiredAt)
}

// Open reports whether inv can be accepted at now: sent, unexpired and not
// archived. At most one invitation per host organization and email is open
// at any instant.
func (inv Invitation) Open(now time.Time) bool {
	return inv.Status == StatusSent && !inv.Archived && now.Before(inv.ExpiredAt)
}

// ErrArchived reports an attempt to accept or resend an archived
// invitation. It wraps store.ErrConflict. The errors every domain shares
// (store.ErrExpired, store.ErrAlreadyAccepted, store.ErrInvalidToken, ...)
// live in package store.
var ErrArchived = fmt.Errorf("invitekit: guest invitation archived: %w", store.ErrConflict)

// acceptable returns why inv cannot be accepted or resent at now, or nil.
func (inv Invitation) acceptable(now time.Time) error {
	switch {
	case inv.Status != StatusSent:
		return store.ErrAlreadyAccepted
	case inv.Archived:
		return ErrArchived
	case inv.Expired(now):
		return store.ErrExpired
	}
	return nil
}

func (inv *Invitation) accept(now time.Time, by Status) error {
	if err := inv.acceptable(now); err != nil {
		return err
	}
	inv.Status = by
	inv.AcceptedAt = &now
	inv.UpdatedAt = now
	return nil
}

func (inv *Invitation) setArchived(now time.Time, archived bool) {
	if inv.Archived == archived {
		return
	}
	inv.Archived = archived
	inv.ArchivedAt = nil
	if archived {
		inv.ArchivedAt = &now
	}
	inv.UpdatedAt = now
}

// resend rotates the nonce and moves the last sent time and, when expiredAt
// is set, the expiry. An expired invitation given no new expiry is revived
// until revive, the configured default.
func (inv *Invitation) resend(now time.Time, expiredAt *time.Time, revive time.Time, nonce []byte) error {
	switch {
	case inv.Status != StatusSent:
		return store.ErrAlreadyAccepted
	case inv.Archived:
		return ErrArchived
	}
	switch {
	case expiredAt != nil:
		inv.ExpiredAt = *expiredAt
	case inv.Expired(now):
		inv.ExpiredAt = revive
	}
	if !inv.ExpiredAt.After(now) {
		return store.ErrExpired
	}
	inv.ExpiryRecorded = false
	inv.Nonce = nonce
	inv.LastInvitationSentAt = now
	inv.UpdatedAt = now
	return nil
}
