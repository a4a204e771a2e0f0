package guest

import (
	"encoding/json"
	"time"

	"github.com/invitekit/invitekit/internal/service"
)

// View is a guest invitation in its API shape: every documented field, in
// the documented order, nullable ones as null. It is the body of the HTTP
// routes and the data of events. Times are RFC 3339 strings in UTC.
//
// AppendViewJSON writes the same JSON without building a View; a member
// added, renamed or moved here must be added, renamed or moved there too
// (its test compares the two).
type View struct {
	ID                    string `json:"id"`
	HostOrganizationID    string `json:"host_organization_id"`
	Email                 string `json:"email"`
	FirstInvitationSentAt string `json:"first_invitation_sent_at"`
	LastInvitationSentAt  string `json:"last_invitation_sent_at"`
	ExpiredAt             string `json:"expired_at"`
	Expired               bool   `json:"expired"`
	Status                Status `json:"status"`
	// InvitationToken is on every read of the documented API; events
	// never carry it.
	InvitationToken        string  `json:"invitation_token,omitempty"`
	Archived               bool    `json:"archived"`
	CreatedAt              string  `json:"created_at"`
	UpdatedAt              string  `json:"updated_at"`
	AcceptedAt             *string `json:"accepted_at"`
	ArchivedAt             *string `json:"archived_at"`
	ParentOrganizationID   *string `json:"parent_organization_id"`
	ParentOrganizationName *string `json:"parent_organization_name"`
	// Metadata is the application's JSON object given at create, null
	// when none (additive: the documented API has no such field).
	Metadata json.RawMessage `json:"metadata"`
}

// NewView returns inv's API shape, expired evaluated at now, without a
// token.
func NewView(inv Invitation, now time.Time) View {
	v := View{
		ID:                     inv.ID.String(),
		HostOrganizationID:     inv.HostOrganizationID.String(),
		Email:                  inv.Email,
		FirstInvitationSentAt:  service.Timestamp(inv.FirstInvitationSentAt),
		LastInvitationSentAt:   service.Timestamp(inv.LastInvitationSentAt),
		ExpiredAt:              service.Timestamp(inv.ExpiredAt),
		Expired:                inv.Expired(now),
		Status:                 inv.Status,
		Archived:               inv.Archived,
		CreatedAt:              service.Timestamp(inv.CreatedAt),
		UpdatedAt:              service.Timestamp(inv.UpdatedAt),
		AcceptedAt:             service.TimestampOrNull(inv.AcceptedAt),
		ArchivedAt:             service.TimestampOrNull(inv.ArchivedAt),
		ParentOrganizationName: inv.ParentOrganizationName,
		Metadata:               inv.Metadata,
	}
	if inv.ParentOrganizationID != nil {
		id := inv.ParentOrganizationID.String()
		v.ParentOrganizationID = &id
	}
	return v
}
