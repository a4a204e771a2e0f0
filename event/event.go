// Package event defines the events invitekit records: one per state change
// of an invitation, appended by the store in the same transaction as the
// change, so there is no change without its event and no event without its
// change.
//
// An Event has one JSON shape everywhere: in the events route of the HTTP
// adapter, in the body of a webhook, and here in Go. Its Data is the
// invitation in its API shape at the moment of the change (camelCase for
// organization invitations, snake_case for guest invitations), never with a
// token.
//
// The outbox package delivers events to subscribers; Log lists an
// organization's events, newest first, as an audit log.
package event

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Type names what happened.
type Type string

// The event types. For guest invitations the organization of an event is
// the host organization. The expired types are recorded by the services'
// Sweep, once per expiry, without an actor. The invite_link types are
// the events of join links (package link): their InvitationID is the
// link's ID, and the Data of invite_link.redeemed is the redemption.
const (
	InvitationCreated  Type = "invitation.created"
	InvitationResent   Type = "invitation.resent"
	InvitationAccepted Type = "invitation.accepted"
	InvitationRevoked  Type = "invitation.revoked"
	InvitationDeleted  Type = "invitation.deleted"
	InvitationExpired  Type = "invitation.expired"

	GuestInvitationCreated    Type = "guest_invitation.created"
	GuestInvitationResent     Type = "guest_invitation.resent"
	GuestInvitationAccepted   Type = "guest_invitation.accepted"
	GuestInvitationArchived   Type = "guest_invitation.archived"
	GuestInvitationUnarchived Type = "guest_invitation.unarchived"
	GuestInvitationDeleted    Type = "guest_invitation.deleted"
	GuestInvitationExpired    Type = "guest_invitation.expired"

	InviteLinkCreated  Type = "invite_link.created"
	InviteLinkRedeemed Type = "invite_link.redeemed"
	InviteLinkRevoked  Type = "invite_link.revoked"
)

// Types lists every event type, in the order of the constants.
var Types = []Type{
	InvitationCreated, InvitationResent, InvitationAccepted, InvitationRevoked, InvitationDeleted, InvitationExpired,
	GuestInvitationCreated, GuestInvitationResent, GuestInvitationAccepted, GuestInvitationArchived,
	GuestInvitationUnarchived, GuestInvitationDeleted, GuestInvitationExpired,
	InviteLinkCreated, InviteLinkRedeemed, InviteLinkRevoked,
}

// Valid reports whether t is one of Types.
func (t Type) Valid() bool {
	for _, k := range Types {
		if t == k {
			return true
		}
	}
	return false
}

// Event is one state change. Its JSON is
//
//	{"id": ..., "type": ..., "organizationId": ..., "invitationId": ...,
//	 "actorId": ... or null, "occurredAt": RFC 3339, "data": {...}}
type Event struct {
	// ID is a UUIDv7; subscribers use it as the idempotency key, since
	// delivery is at least once.
	ID   uuid.UUID `json:"id"`
	Type Type      `json:"type"`
	// OrganizationID is the organization the invitation belongs to: the
	// inviting organization, or the host organization of a guest
	// invitation.
	OrganizationID uuid.UUID `json:"organizationId"`
	// InvitationID is the invitation (or link) the event is about.
	InvitationID uuid.UUID `json:"invitationId"`
	// ActorID is the authenticated principal that made the change (see
	// WithActor), nil where there was none.
	ActorID *string `json:"actorId"`
	// OccurredAt is the instant of the change, in UTC with microsecond
	// precision.
	OccurredAt time.Time `json:"occurredAt"`
	// Data is the invitation in its API shape after the change (before
	// it, for a deletion), without its token.
	Data json.RawMessage `json:"data"`
}

type actorKey struct{}

// WithActor returns a context that attributes the changes made with it to
// the principal id: services record it as the ActorID of their events.
// The HTTP adapter does this for every authenticated request.
func WithActor(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, actorKey{}, id)
}

// Actor returns the principal WithActor put in ctx, or nil.
func Actor(ctx context.Context) *string {
	if id, ok := ctx.Value(actorKey{}).(string); ok {
		return &id
	}
	return nil
}
