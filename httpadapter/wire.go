package httpadapter

import (
	"errors"
	"strings"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/link"
	"github.com/invitekit/invitekit/store"
)

// wireNames maps the field names of the domains' validation errors (the Go
// names of their params and options fields, their Field constants) to the
// names each API spells them with: camelCase on the organization routes,
// snake_case on the guest routes. It is the only place the adapter
// translates them. A name it does not hold is already a wire name: the
// adapter's own field errors (headers, query syntax, unparsable body
// members) are written in wire terms.
var wireNames = map[api]map[string]string{
	orgAPI: {
		invitation.FieldOrganizationID: "organizationId",
		invitation.FieldEmail:          "email",
		invitation.FieldRole:           "role",
		// An entry is named by its index: "AssignedRoleIDs[2]" is
		// "assignedRoleIds[2]" (see wireName).
		invitation.FieldAssignedRoleIDs: "assignedRoleIds",
		invitation.FieldStatus:          "status",
		invitation.FieldCursor:          "cursor",
		invitation.FieldLimit:           "limit",
		invitation.FieldMetadata:        "metadata",
		invitation.FieldInvitations:     "invitations",
		// The events route's other fields, event.FieldCursor and
		// event.FieldLimit, are spelt as the invitation list's, which
		// already maps them: "Cursor" and "Limit".
		event.FieldTypes: "type",
		// The link routes' own fields; the rest (OrganizationID, Role,
		// AssignedRoleIDs, Email, Cursor, Limit) are spelt as the
		// invitations', which already maps them. An entry of
		// allowedDomains is named by its index.
		link.FieldMaxUses:        "maxUses",
		link.FieldExpireAt:       "expireAt",
		link.FieldAllowedDomains: "allowedDomains",
	},
	guestAPI: {
		// The host is the Target-Organization-ID of the request; the
		// documented field that shows it is host_organization_id.
		guest.FieldHostOrganizationID:   "host_organization_id",
		guest.FieldEmail:                "email",
		guest.FieldExpiredAt:            "expired_at",
		guest.FieldParentOrganizationID: "parent_organization_id",
		guest.FieldStatuses:             "statuses",
		guest.FieldOrderBy:              "order_by",
		guest.FieldOrder:                "order",
		guest.FieldLimit:                "limit",
		guest.FieldOffset:               "offset",
		guest.FieldCursor:               "cursor",
		guest.FieldMetadata:             "metadata",
	},
}

// inWireTerms returns err with the field names of its *store.ValidationError,
// if it has one, spelt as api a spells them; any other error unchanged.
func inWireTerms(a api, err error) error {
	var verr *store.ValidationError
	if !errors.As(err, &verr) {
		return err
	}
	out := &store.ValidationError{Fields: make([]store.FieldError, len(verr.Fields))}
	for i, f := range verr.Fields {
		f.Field = wireName(a, f.Field)
		out.Fields[i] = f
	}
	return out
}

// wireName returns the domain field name as api a spells it. The name of
// an array entry, "Field[3]", keeps its index.
func wireName(a api, name string) string {
	base, index := name, ""
	if i := strings.IndexByte(name, '['); i > 0 {
		base, index = name[:i], name[i:]
	}
	if wire, ok := wireNames[a][base]; ok {
		return wire + index
	}
	return name
}

// invalidRequest answers a request in which the adapter found invalid
// values itself (own, in wire terms) together with the domain's verdict on
// the rest (verdict, from a pure Validate method): one 422 naming every
// invalid field, so a client fixes them all in one round, and the
// operation does not run. Where both name a field, the adapter's message
// wins: the domain saw only a stand-in for the value the client sent.
func invalidRequest(a api, own []store.FieldError, verdict error) error {
	return (&store.ValidationError{Fields: own}).Merge(inWireTerms(a, verdict))
}
