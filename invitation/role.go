package invitation

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/store"
)

// RoleType says who defines a role.
type RoleType string

// Role types, as ClickHouse's API names them.
const (
	// RoleTypeSystem is a predefined role every organization has.
	RoleTypeSystem RoleType = "system"
	// RoleTypeCustom is a role an organization defined itself.
	RoleTypeCustom RoleType = "custom"
)

// Valid reports whether t is RoleTypeSystem or RoleTypeCustom.
func (t RoleType) Valid() bool { return t == RoleTypeSystem || t == RoleTypeCustom }

// Role is a role an invitation assigns: the invitee gets it on accept.
type Role struct {
	ID   uuid.UUID
	Name string
	Type RoleType
}

// MaxAssignedRoles is the most role IDs one create may assign.
const MaxAssignedRoles = 100

// The IDs of the two system roles. They are part of the API: clients send
// them in assignedRoleIds, stores keep them, and they never change.
var (
	AdminRoleID     = uuid.MustParse("4ed62b13-c60b-41f4-bffc-88e44a58ab51")
	DeveloperRoleID = uuid.MustParse("5274393a-d57d-4c25-a879-fc5e3eea8e54")
)

// The system role names: the values of the deprecated role field that
// assign a role.
const (
	RoleAdmin     = "admin"
	RoleDeveloper = "developer"
)

// systemRoles returns the system roles, admin first: where an invitation
// assigns both, its deprecated role is admin, the broader one.
func systemRoles() [2]Role {
	return [2]Role{
		{ID: AdminRoleID, Name: RoleAdmin, Type: RoleTypeSystem},
		{ID: DeveloperRoleID, Name: RoleDeveloper, Type: RoleTypeSystem},
	}
}

// systemRole returns the system role with id.
func systemRole(id uuid.UUID) (Role, bool) {
	for _, r := range systemRoles() {
		if r.ID == id {
			return r, true
		}
	}
	return Role{}, false
}

// LegacyAssignedRoles returns the roles assigned by an invitation created
// with only the deprecated role: the system role of that name (admin or
// developer), or none (nil) for any other role an application's
// Config.ValidateRole allows. Create assigns them, and the SQL stores read
// them for invitations stored by releases that kept only the role, so
// both agree.
//
// Store-author API: application code never needs it.
func LegacyAssignedRoles(role string) []Role {
	for _, r := range systemRoles() {
		if r.Name == role {
			return []Role{r}
		}
	}
	return nil
}

// legacyRole returns the deprecated role of an invitation created with
// assigned roles only: the name of the first system role among them, in
// the order of systemRoles, or "" when they hold none, as ClickHouse's
// role field has no value for custom roles.
func legacyRole(roles []Role) string {
	for _, sys := range systemRoles() {
		for _, r := range roles {
			if r.ID == sys.ID {
				return sys.Name
			}
		}
	}
	return ""
}

// RoleCatalog tells which roles an organization can assign: an
// application's own roles, which invitekit does not keep. Set it in
// Config.Roles. Every organization also has the two system roles
// (AdminRoleID, DeveloperRoleID), which the Service resolves itself: a
// catalog is never asked about them and cannot rename them, so that the
// deprecated role and its system role ID always assign the same role.
type RoleCatalog interface {
	// Roles returns the roles of organization orgID among ids, keyed by
	// ID. An ID orgID has no role with is left out of the map, which is
	// not an error: Create answers it with a *store.ValidationError naming
	// the ID. An error means the catalog could not answer; Create fails
	// with it, wrapped. ids holds at least one ID, at most
	// MaxAssignedRoles, no duplicates and no system role ID. Each role
	// returned must have its key as ID, a name and a valid type.
	Roles(ctx context.Context, orgID uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]Role, error)
}

// RoleCatalogFunc is a function that is a RoleCatalog.
type RoleCatalogFunc func(ctx context.Context, orgID uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]Role, error)

// Roles implements RoleCatalog.
func (f RoleCatalogFunc) Roles(ctx context.Context, orgID uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]Role, error) {
	return f(ctx, orgID, ids)
}

// ErrInvalidCatalogRole reports a role a RoleCatalog returned that breaks
// its contract. It is the application's fault, not the client's.
var ErrInvalidCatalogRole = errors.New("invitekit: role catalog returned an invalid role")

// checkRoleIDs adds to verr what is wrong with ids regardless of any
// catalog.
func checkRoleIDs(verr *store.ValidationError, ids []uuid.UUID) {
	if len(ids) > MaxAssignedRoles {
		verr.Add(FieldAssignedRoleIDs, "must hold at most "+strconv.Itoa(MaxAssignedRoles)+" role IDs")
		return
	}
	for i, id := range ids {
		if id == uuid.Nil {
			verr.Add(store.Indexed(FieldAssignedRoleIDs, i), "must be a role ID, not the nil UUID")
		}
	}
}

// resolveRoles returns the roles ids assign in orgID, in the order of ids
// with duplicates dropped (a role is assigned or not; sending it twice
// means it once). The system roles resolve without the catalog, the
// others through it; an ID neither knows is a *store.ValidationError
// naming its first position.
func (s *Service) resolveRoles(ctx context.Context, orgID uuid.UUID, ids []uuid.UUID) ([]Role, error) {
	first := make(map[uuid.UUID]int, len(ids))
	var ask []uuid.UUID
	for i, id := range ids {
		if _, dup := first[id]; dup {
			continue
		}
		first[id] = i
		if _, ok := systemRole(id); !ok {
			ask = append(ask, id)
		}
	}
	known, err := s.lookUp(ctx, orgID, ask)
	if err != nil {
		return nil, err
	}
	var verr store.ValidationError
	roles := make([]Role, 0, len(first))
	for i, id := range ids {
		if first[id] != i {
			continue
		}
		r, ok := systemRole(id)
		if !ok {
			r, ok = known[id]
		}
		if !ok {
			verr.Add(store.Indexed(FieldAssignedRoleIDs, i), "is not a role of the organization")
			continue
		}
		roles = append(roles, r)
	}
	return roles, verr.Err()
}

// lookUp asks the catalog about ids and checks its answer. Without a
// catalog, or with no ID to ask about, every ID is unknown.
func (s *Service) lookUp(ctx context.Context, orgID uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]Role, error) {
	if s.roles == nil || len(ids) == 0 {
		return nil, nil
	}
	known, err := s.roles.Roles(ctx, orgID, ids)
	if err != nil {
		return nil, fmt.Errorf("invitation: create: role catalog: %w", err)
	}
	for _, id := range ids {
		r, ok := known[id]
		if ok && (r.ID != id || r.Name == "" || !r.Type.Valid()) {
			return nil, fmt.Errorf("invitation: create: %w: %s: %+v", ErrInvalidCatalogRole, id, r)
		}
	}
	return known, nil
}
