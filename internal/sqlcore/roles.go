package sqlcore

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/invitation"
)

// storedRole is one entry of the assigned_roles column, a JSON array. Its
// names are the column's own, so renaming a Go field cannot change what
// is stored.
type storedRole struct {
	ID   uuid.UUID           `json:"id"`
	Name string              `json:"name"`
	Type invitation.RoleType `json:"type"`
}

// encRoles encodes assigned roles as a JSON array, "[]" for none: NULL is
// left to the rows of earlier releases (see legacyRoles).
func encRoles(_ *Dialect, roles []invitation.Role) any {
	out := make([]storedRole, len(roles))
	for i, r := range roles {
		out[i] = storedRole(r)
	}
	// Marshalling UUIDs and strings cannot fail.
	b, _ := json.Marshal(out)
	return string(b)
}

func destRoles(_ *Dialect, p *[]invitation.Role) any { return rolesDest{p} }

// rolesDest scans the assigned_roles column: nil for NULL, else a non-nil
// slice, empty for "[]".
type rolesDest struct{ p *[]invitation.Role }

func (d rolesDest) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*d.p = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("sqlcore: cannot scan %T into assigned roles", src)
	}
	var stored []storedRole
	if err := json.Unmarshal(b, &stored); err != nil {
		return fmt.Errorf("sqlcore: assigned roles: %w", err)
	}
	roles := make([]invitation.Role, len(stored))
	for i, r := range stored {
		roles[i] = invitation.Role(r)
	}
	*d.p = roles
	return nil
}
