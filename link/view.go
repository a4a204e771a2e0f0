package link

import (
	"time"

	"github.com/invitekit/invitekit/internal/service"
	"github.com/invitekit/invitekit/invitation"
)

// View is a link in its API shape, camelCase as the organization
// invitations' (DESIGN section 9): the result of the link routes and the
// data of invite_link.created and invite_link.revoked events. Times are
// RFC 3339 in UTC.
type View struct {
	ID             string `json:"id"`
	OrganizationID string `json:"organizationId"`
	// Role is left out when the link assigns custom roles only, as on an
	// invitation.
	Role          string                    `json:"role,omitempty"`
	AssignedRoles []invitation.AssignedRole `json:"assignedRoles"`
	MaxUses       int                       `json:"maxUses"`
	Uses          int                       `json:"uses"`
	// AllowedDomains is always an array, empty when any domain may
	// redeem.
	AllowedDomains []string `json:"allowedDomains"`
	CreatedAt      string   `json:"createdAt"`
	ExpireAt       string   `json:"expireAt"`
	RevokedAt      *string  `json:"revokedAt"`
	Status         Status   `json:"status"`
	// Token is what people redeem the link with; events never carry it.
	Token string `json:"token,omitempty"`
}

// NewView returns l's API shape, its status evaluated at now, without a
// token.
func NewView(l Link, now time.Time) View {
	v := View{
		ID:             l.ID.String(),
		OrganizationID: l.OrganizationID.String(),
		Role:           l.Role,
		AssignedRoles:  assignedRoles(l.AssignedRoles),
		MaxUses:        l.MaxUses,
		Uses:           l.Uses,
		AllowedDomains: l.AllowedDomains,
		CreatedAt:      service.Timestamp(l.CreatedAt),
		ExpireAt:       service.Timestamp(l.ExpireAt),
		RevokedAt:      service.TimestampOrNull(l.RevokedAt),
		Status:         l.EffectiveStatus(now),
	}
	if v.AllowedDomains == nil {
		v.AllowedDomains = []string{}
	}
	return v
}

// RedemptionView is a redemption in its API shape: the result of the
// redeem and redemptions routes and the data of invite_link.redeemed
// events.
type RedemptionView struct {
	ID             string                    `json:"id"`
	LinkID         string                    `json:"linkId"`
	OrganizationID string                    `json:"organizationId"`
	Email          string                    `json:"email"`
	Role           string                    `json:"role,omitempty"`
	AssignedRoles  []invitation.AssignedRole `json:"assignedRoles"`
	RedeemedAt     string                    `json:"redeemedAt"`
}

// NewRedemptionView returns r's API shape.
func NewRedemptionView(r Redemption) RedemptionView {
	return RedemptionView{
		ID:             r.ID.String(),
		LinkID:         r.LinkID.String(),
		OrganizationID: r.OrganizationID.String(),
		Email:          r.Email,
		Role:           r.Role,
		AssignedRoles:  assignedRoles(r.AssignedRoles),
		RedeemedAt:     service.Timestamp(r.RedeemedAt),
	}
}

func assignedRoles(rs []invitation.Role) []invitation.AssignedRole {
	out := make([]invitation.AssignedRole, len(rs))
	for i, r := range rs {
		out[i] = invitation.AssignedRole{RoleID: r.ID.String(), RoleName: r.Name, RoleType: r.Type}
	}
	return out
}
