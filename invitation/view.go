package invitation

import (
	"encoding/json"
	"time"

	"github.com/invitekit/invitekit/internal/service"
)

// View is an invitation in its API shape: the documented ClickHouse fields
// (role, id, email, createdAt, expireAt, assignedRoles) first, then the
// additive ones. It is the result of the HTTP routes and the data of
// events. Times are RFC 3339 strings in UTC.
type View struct {
	// Role is deprecated upstream but still read by clients (ClickHouse's
	// Terraform provider): present whenever the invitation has one, left
	// out when it assigns custom roles only, as the role enum has no value
	// for them.
	Role      string `json:"role,omitempty"`
	ID        string `json:"id"`
	Email     string `json:"email"`
	CreatedAt string `json:"createdAt"`
	ExpireAt  string `json:"expireAt"`
	// AssignedRoles is always an array, empty when none.
	AssignedRoles []AssignedRole `json:"assignedRoles"`

	OrganizationID string `json:"organizationId"`
	// Status is the effective status: pending, accepted, revoked or
	// expired.
	Status     Status  `json:"status"`
	InviterID  *string `json:"inviterId"`
	SentAt     string  `json:"sentAt"`
	AcceptedAt *string `json:"acceptedAt"`
	RevokedAt  *string `json:"revokedAt"`
	// Metadata is the application's JSON object given at create, null
	// when none.
	Metadata json.RawMessage `json:"metadata"`
	// Token is set only where the invitation is being sent: the results
	// of create and resend. Events never carry it.
	Token string `json:"token,omitempty"`
}

// NewView returns inv's API shape, its status evaluated at now, without a
// token.
func NewView(inv Invitation, now time.Time) View {
	v := View{
		Role:           inv.Role,
		ID:             inv.ID.String(),
		Email:          inv.Email,
		CreatedAt:      service.Timestamp(inv.CreatedAt),
		ExpireAt:       service.Timestamp(inv.ExpireAt),
		OrganizationID: inv.OrganizationID.String(),
		Status:         inv.EffectiveStatus(now),
		SentAt:         service.Timestamp(inv.SentAt),
		AcceptedAt:     service.TimestampOrNull(inv.AcceptedAt),
		RevokedAt:      service.TimestampOrNull(inv.RevokedAt),
		Metadata:       inv.Metadata,
	}
	v.AssignedRoles = make([]AssignedRole, len(inv.AssignedRoles))
	for i, r := range inv.AssignedRoles {
		v.AssignedRoles[i] = AssignedRole{RoleID: r.ID.String(), RoleName: r.Name, RoleType: r.Type}
	}
	if inv.InviterID != "" {
		v.InviterID = &inv.InviterID
	}
	return v
}

// AssignedRole is a Role in its API shape, ClickHouse's AssignedRole.
type AssignedRole struct {
	RoleID   string   `json:"roleId"`
	RoleName string   `json:"roleName"`
	RoleType RoleType `json:"roleType"`
}
