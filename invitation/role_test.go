package invitation_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
)

var (
	adminRole     = invitation.Role{ID: invitation.AdminRoleID, Name: "admin", Type: invitation.RoleTypeSystem}
	developerRole = invitation.Role{ID: invitation.DeveloperRoleID, Name: "developer", Type: invitation.RoleTypeSystem}
	billingRole   = invitation.Role{ID: uuid.MustParse("0190f5a2-0000-7000-8000-0000000000b1"), Name: "Billing", Type: invitation.RoleTypeCustom}
	auditorRole   = invitation.Role{ID: uuid.MustParse("0190f5a2-0000-7000-8000-0000000000b2"), Name: "Auditor", Type: invitation.RoleTypeCustom}
)

// catalog is a RoleCatalog of org's custom roles that records what it is
// asked.
type catalog struct {
	mu    sync.Mutex
	asked [][]uuid.UUID
	err   error
	roles map[uuid.UUID]invitation.Role
}

func newCatalog(roles ...invitation.Role) *catalog {
	c := &catalog{roles: map[uuid.UUID]invitation.Role{}}
	for _, r := range roles {
		c.roles[r.ID] = r
	}
	return c
}

func (c *catalog) Roles(_ context.Context, orgID uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]invitation.Role, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked = append(c.asked, slices.Clone(ids))
	if c.err != nil {
		return nil, c.err
	}
	out := map[uuid.UUID]invitation.Role{}
	for _, id := range ids {
		if r, ok := c.roles[id]; ok && orgID == org {
			out[id] = r
		}
	}
	return out, nil
}

func withCatalog(c invitation.RoleCatalog) func(*invitation.Config) {
	return func(cfg *invitation.Config) { cfg.Roles = c }
}

// The system role IDs are part of the API: clients hard-code them.
func TestSystemRoleIDsAreStable(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "4ed62b13-c60b-41f4-bffc-88e44a58ab51", invitation.AdminRoleID.String())
	assert.Equal(t, "5274393a-d57d-4c25-a879-fc5e3eea8e54", invitation.DeveloperRoleID.String())
	assert.Equal(t, []invitation.Role{adminRole}, invitation.LegacyAssignedRoles("admin"))
	assert.Equal(t, []invitation.Role{developerRole}, invitation.LegacyAssignedRoles("developer"))
	assert.Nil(t, invitation.LegacyAssignedRoles("member"))
	assert.Nil(t, invitation.LegacyAssignedRoles(""))
}

// TestCreateAssignsRoles covers the rules of CreateParams, with the
// default catalog and with an application's.
func TestCreateAssignsRoles(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		catalog  bool
		role     string
		ids      []uuid.UUID
		wantRole string
		want     []invitation.Role
		// asked is what the catalog must have been asked, nil for nothing.
		asked []uuid.UUID
	}{
		{"role admin only", false, "admin", nil, "admin", []invitation.Role{adminRole}, nil},
		{"role developer only", false, "developer", nil, "developer", []invitation.Role{developerRole}, nil},
		{"an application's role only", false, "member", nil, "member", nil, nil},
		{"role only with a catalog", true, "admin", nil, "admin", []invitation.Role{adminRole}, nil},
		{"empty IDs are not given", false, "developer", []uuid.UUID{}, "developer", []invitation.Role{developerRole}, nil},
		{"system ID only", false, "", []uuid.UUID{invitation.DeveloperRoleID}, "developer", []invitation.Role{developerRole}, nil},
		{"both system IDs: admin is the role", false, "", []uuid.UUID{invitation.DeveloperRoleID, invitation.AdminRoleID},
			"admin", []invitation.Role{developerRole, adminRole}, nil},
		{"custom IDs only: no role", true, "", []uuid.UUID{auditorRole.ID, billingRole.ID},
			"", []invitation.Role{auditorRole, billingRole}, []uuid.UUID{auditorRole.ID, billingRole.ID}},
		{"custom and system IDs", true, "", []uuid.UUID{billingRole.ID, invitation.DeveloperRoleID},
			"developer", []invitation.Role{billingRole, developerRole}, []uuid.UUID{billingRole.ID}},
		{"duplicates count once", true, "", []uuid.UUID{billingRole.ID, invitation.AdminRoleID, billingRole.ID, invitation.AdminRoleID},
			"admin", []invitation.Role{billingRole, adminRole}, []uuid.UUID{billingRole.ID}},
		{"both: IDs assign, role is kept as given", true, "developer", []uuid.UUID{invitation.AdminRoleID, billingRole.ID},
			"developer", []invitation.Role{adminRole, billingRole}, []uuid.UUID{billingRole.ID}},
		{"both: an application's role is checked and kept", false, "viewer", []uuid.UUID{invitation.AdminRoleID},
			"viewer", []invitation.Role{adminRole}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cat := newCatalog(billingRole, auditorRole)
			var mutate []func(*invitation.Config)
			if c.catalog {
				mutate = append(mutate, withCatalog(cat))
			}
			f := newFixture(t, mutate...)
			inv, err := f.svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "a@example.com", Role: c.role, AssignedRoleIDs: c.ids})
			require.NoError(t, err)
			assert.Equal(t, c.wantRole, inv.Role)
			assert.Equal(t, c.want, inv.AssignedRoles)
			got, err := f.svc.Get(ctx, org, inv.ID)
			require.NoError(t, err)
			assert.Equal(t, inv, got, "the roles are stored")
			if c.asked == nil {
				assert.Empty(t, cat.asked, "system roles resolve without the catalog")
			} else {
				assert.Equal(t, [][]uuid.UUID{c.asked}, cat.asked, "one lookup, without duplicates or system IDs")
			}
		})
	}
}

func TestCreateRefusesRoles(t *testing.T) {
	t.Parallel()
	tooMany := make([]uuid.UUID, invitation.MaxAssignedRoles+1)
	for i := range tooMany {
		tooMany[i] = invitation.AdminRoleID
	}
	cases := []struct {
		name   string
		p      invitation.CreateParams
		fields []string
		// pure says ValidateCreate finds it too, without the catalog.
		pure bool
	}{
		{"neither", invitation.CreateParams{}, []string{invitation.FieldRole}, true},
		{"neither, empty IDs", invitation.CreateParams{AssignedRoleIDs: []uuid.UUID{}}, []string{invitation.FieldRole}, true},
		{"nil ID", invitation.CreateParams{AssignedRoleIDs: []uuid.UUID{invitation.AdminRoleID, uuid.Nil}}, []string{"AssignedRoleIDs[1]"}, true},
		{"too many", invitation.CreateParams{AssignedRoleIDs: tooMany}, []string{invitation.FieldAssignedRoleIDs}, true},
		{"bad role with IDs", invitation.CreateParams{Role: "Admin!", AssignedRoleIDs: []uuid.UUID{invitation.AdminRoleID}}, []string{invitation.FieldRole}, true},
		{"unknown ID", invitation.CreateParams{AssignedRoleIDs: []uuid.UUID{invitation.AdminRoleID, uuid.New()}}, []string{"AssignedRoleIDs[1]"}, false},
		{"unknown IDs, each named once", invitation.CreateParams{AssignedRoleIDs: func() []uuid.UUID {
			u, v := uuid.New(), uuid.New()
			return []uuid.UUID{u, billingRole.ID, u, v}
		}()}, []string{"AssignedRoleIDs[0]", "AssignedRoleIDs[3]"}, false},
		{"another organization's role", invitation.CreateParams{OrganizationID: uuid.New(), AssignedRoleIDs: []uuid.UUID{billingRole.ID}},
			[]string{"AssignedRoleIDs[0]"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, withCatalog(newCatalog(billingRole)))
			if c.p.OrganizationID == uuid.Nil {
				c.p.OrganizationID = org
			}
			c.p.Email = "a@example.com"
			_, err := f.svc.Create(ctx, c.p)
			var verr *store.ValidationError
			require.ErrorAs(t, err, &verr)
			var fields []string
			for _, fe := range verr.Fields {
				fields = append(fields, fe.Field)
				assert.NotEmpty(t, fe.Message)
			}
			assert.Equal(t, c.fields, fields)
			if c.pure {
				assert.Equal(t, err, f.svc.ValidateCreate(c.p), "ValidateCreate is what Create checks")
			} else {
				assert.NoError(t, f.svc.ValidateCreate(c.p), "ValidateCreate does not ask the catalog")
			}
			page, err := f.svc.List(ctx, c.p.OrganizationID, invitation.ListOptions{})
			require.NoError(t, err)
			assert.Empty(t, page.Invitations, "nothing invalid was stored")
		})
	}
}

// Without a catalog an organization has only the system roles.
func TestDefaultCatalogKnowsOnlySystemRoles(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, err := f.svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "a@example.com", AssignedRoleIDs: []uuid.UUID{billingRole.ID}})
	var verr *store.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, []store.FieldError{{Field: "AssignedRoleIDs[0]", Message: "is not a role of the organization"}}, verr.Fields)
}

func TestCatalogFailure(t *testing.T) {
	t.Parallel()
	errDown := errors.New("roles service down")
	cat := newCatalog(billingRole)
	cat.err = errDown
	f := newFixture(t, withCatalog(cat))
	_, err := f.svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "a@example.com", AssignedRoleIDs: []uuid.UUID{billingRole.ID}})
	require.ErrorIs(t, err, errDown, "the catalog's error, wrapped")
	var verr *store.ValidationError
	assert.False(t, errors.As(err, &verr), "a failing catalog is not the client's fault")

	// A catalog that breaks its contract fails the create the same way.
	for name, bad := range map[string]invitation.Role{
		"another ID": {ID: auditorRole.ID, Name: "Billing", Type: invitation.RoleTypeCustom},
		"no name":    {ID: billingRole.ID, Type: invitation.RoleTypeCustom},
		"bad type":   {ID: billingRole.ID, Name: "Billing", Type: "root"},
	} {
		f := newFixture(t, withCatalog(invitation.RoleCatalogFunc(func(context.Context, uuid.UUID, []uuid.UUID) (map[uuid.UUID]invitation.Role, error) {
			return map[uuid.UUID]invitation.Role{billingRole.ID: bad}, nil
		})))
		_, err := f.svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "a@example.com", AssignedRoleIDs: []uuid.UUID{billingRole.ID}})
		assert.ErrorIs(t, err, invitation.ErrInvalidCatalogRole, name)
		assert.False(t, errors.As(err, &verr), name)
	}
	page, err := f.svc.List(ctx, org, invitation.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, page.Invitations, "nothing was stored")
}

// The roles are a snapshot: a catalog that changes later changes nothing
// an invitation shows or an accept hook sees, and events carry them.
func TestAssignedRolesSnapshot(t *testing.T) {
	t.Parallel()
	cat := newCatalog(billingRole)
	f := newFixture(t, withCatalog(cat))
	inv, err := f.svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "a@example.com",
		AssignedRoleIDs: []uuid.UUID{billingRole.ID, invitation.AdminRoleID}})
	require.NoError(t, err)
	want := []invitation.Role{billingRole, adminRole}

	cat.mu.Lock()
	cat.roles[billingRole.ID] = invitation.Role{ID: billingRole.ID, Name: "Renamed", Type: invitation.RoleTypeCustom}
	cat.mu.Unlock()
	inv, err = f.svc.Resend(ctx, org, inv.ID)
	require.NoError(t, err)
	assert.Equal(t, want, inv.AssignedRoles)

	var seen []invitation.Role
	accepted, err := f.svc.Accept(ctx, f.svc.Token(inv), "a@example.com", func(_ context.Context, inv invitation.Invitation) error {
		seen = inv.AssignedRoles
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, want, seen, "the accept hook sees the roles to grant")
	assert.Equal(t, want, accepted.AssignedRoles)
	assert.Len(t, cat.asked, 1, "only the create asked the catalog")

	evs, err := f.store.ListEvents(ctx, event.ListQuery{OrganizationID: org, Limit: 10})
	require.NoError(t, err)
	require.Len(t, evs, 3)
	wantView := []invitation.AssignedRole{
		{RoleID: billingRole.ID.String(), RoleName: "Billing", RoleType: "custom"},
		{RoleID: invitation.AdminRoleID.String(), RoleName: "admin", RoleType: "system"},
	}
	for _, ev := range evs {
		var data invitation.View
		require.NoError(t, json.Unmarshal(ev.Data, &data))
		assert.Equal(t, wantView, data.AssignedRoles, ev.Type)
		assert.Equal(t, "admin", data.Role, ev.Type)
	}
}

// The view always has assignedRoles, and has role only when there is one.
func TestViewRoles(t *testing.T) {
	t.Parallel()
	f := newFixture(t, withCatalog(newCatalog(billingRole)))
	custom, err := f.svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "a@example.com", AssignedRoleIDs: []uuid.UUID{billingRole.ID}})
	require.NoError(t, err)
	member, err := f.svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "b@example.com", Role: "member"})
	require.NoError(t, err)

	members := func(inv invitation.Invitation) map[string]json.RawMessage {
		b, err := json.Marshal(invitation.NewView(inv, f.now))
		require.NoError(t, err)
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(b, &m))
		return m
	}
	m := members(custom)
	assert.NotContains(t, m, "role", "no system role: role is left out")
	assert.JSONEq(t, `[{"roleId":"`+billingRole.ID.String()+`","roleName":"Billing","roleType":"custom"}]`, string(m["assignedRoles"]))
	m = members(member)
	assert.JSONEq(t, `"member"`, string(m["role"]))
	assert.JSONEq(t, `[]`, string(m["assignedRoles"]), "none is an empty array, never null")
}
