package httpadapter

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invitation"
)

// billingID is a custom role of the organizations of rolesFixture.
var billingID = uuid.MustParse("0190f5a2-0000-7000-8000-0000000000b1")

// rolesFixture is a fixture whose role catalog gives every organization
// one custom role, Billing.
func rolesFixture(t *testing.T) *fixture {
	return newFixture(t, options{roles: invitation.RoleCatalogFunc(
		func(_ context.Context, _ uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]invitation.Role, error) {
			out := map[uuid.UUID]invitation.Role{}
			if slices.Contains(ids, billingID) {
				out[billingID] = invitation.Role{ID: billingID, Name: "Billing", Type: invitation.RoleTypeCustom}
			}
			return out, nil
		})})
}

// The JSON of the assigned roles.
var (
	adminJSON     = `{"roleId":"4ed62b13-c60b-41f4-bffc-88e44a58ab51","roleName":"admin","roleType":"system"}`
	developerJSON = `{"roleId":"5274393a-d57d-4c25-a879-fc5e3eea8e54","roleName":"developer","roleType":"system"}`
	billingJSON   = `{"roleId":"` + billingID.String() + `","roleName":"Billing","roleType":"custom"}`
)

// rawResult returns the members of a response's result, undecoded.
func rawResult(t *testing.T, r response) map[string]json.RawMessage {
	t.Helper()
	var env map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(r.raw, &env), "%s", r.raw)
	var result map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(env["result"], &result), "%s", r.raw)
	return result
}

// TestCreateLikeClickHouseCLI sends what ClickHouse's CLI sends: role IDs
// and no role. The result has exactly the documented members, in the
// envelope real clients read.
func TestCreateLikeClickHouseCLI(t *testing.T) {
	t.Parallel()
	f := rolesFixture(t)
	org := uuid.New()
	r := f.do(request{method: http.MethodPost, path: orgPath(org),
		body: `{"email": "Ada@Example.com", "assignedRoleIds": ["` + billingID.String() + `"]}`})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, float64(200), r.json["status"])
	assert.NotEmpty(t, str(r.json, "requestId"))

	res := rawResult(t, r)
	members := make([]string, 0, len(res))
	for name := range res {
		members = append(members, name)
	}
	slices.Sort(members)
	assert.Equal(t, []string{"acceptedAt", "assignedRoles", "createdAt", "email", "expireAt", "id", "inviterId",
		"metadata", "organizationId", "revokedAt", "sentAt", "status", "token"}, members, "no role: the invitation assigns a custom role only")
	assert.JSONEq(t, `[`+billingJSON+`]`, string(res["assignedRoles"]))
	assert.JSONEq(t, `"ada@example.com"`, string(res["email"]))
	assert.JSONEq(t, `"pending"`, string(res["status"]))

	// With a system role among the IDs, the deprecated role follows it.
	r = f.do(request{method: http.MethodPost, path: orgPath(org),
		body: `{"email": "bob@example.com", "assignedRoleIds": ["` + billingID.String() + `", "` + invitation.DeveloperRoleID.String() + `"]}`})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	res = rawResult(t, r)
	assert.JSONEq(t, `"developer"`, string(res["role"]))
	assert.JSONEq(t, `[`+billingJSON+`,`+developerJSON+`]`, string(res["assignedRoles"]))
}

// TestCreateRoleRules covers role only, both, duplicates and the default
// catalog over HTTP.
func TestCreateRoleRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		catalog   bool
		body      string
		wantRole  string // "" when role must be absent
		wantRoles string
	}{
		{"role only", false, `{"email":"a@example.com","role":"admin"}`, "admin", `[` + adminJSON + `]`},
		{"role only, with a catalog", true, `{"email":"a@example.com","role":"developer"}`, "developer", `[` + developerJSON + `]`},
		{"an application's role", false, `{"email":"a@example.com","role":"member"}`, "member", `[]`},
		{"both: IDs assign, role is kept", true,
			`{"email":"a@example.com","role":"developer","assignedRoleIds":["` + invitation.AdminRoleID.String() + `","` + billingID.String() + `"]}`,
			"developer", `[` + adminJSON + `,` + billingJSON + `]`},
		{"empty IDs are not given", false, `{"email":"a@example.com","role":"admin","assignedRoleIds":[]}`, "admin", `[` + adminJSON + `]`},
		{"null IDs are not given", false, `{"email":"a@example.com","role":"admin","assignedRoleIds":null}`, "admin", `[` + adminJSON + `]`},
		{"default catalog, system ID, any case, twice", false,
			`{"email":"a@example.com","assignedRoleIds":["` + strings.ToUpper(invitation.AdminRoleID.String()) + `","` + invitation.AdminRoleID.String() + `"]}`,
			"admin", `[` + adminJSON + `]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if tt.catalog {
				f = rolesFixture(t)
			}
			r := f.do(request{method: http.MethodPost, path: orgPath(uuid.New()), body: tt.body})
			require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
			res := rawResult(t, r)
			if tt.wantRole == "" {
				assert.NotContains(t, res, "role")
			} else {
				assert.JSONEq(t, `"`+tt.wantRole+`"`, string(res["role"]))
			}
			assert.JSONEq(t, tt.wantRoles, string(res["assignedRoles"]))
		})
	}
}

// TestCreateRejectsRoleIDs: every refusal is a 422 naming the field, or
// the entry, at fault, and stores nothing.
func TestCreateRejectsRoleIDs(t *testing.T) {
	t.Parallel()
	tooMany := make([]string, invitation.MaxAssignedRoles+1)
	for i := range tooMany {
		tooMany[i] = invitation.AdminRoleID.String()
	}
	many, err := json.Marshal(tooMany)
	require.NoError(t, err)
	admin := invitation.AdminRoleID.String()
	tests := []struct {
		name   string
		body   string
		status int
		fields []string
	}{
		{"neither role nor IDs", `{"email":"a@example.com"}`, 422, []string{"role"}},
		{"neither, empty IDs", `{"email":"a@example.com","assignedRoleIds":[]}`, 422, []string{"role"}},
		{"unknown ID", `{"email":"a@example.com","assignedRoleIds":["` + admin + `","` + uuid.NewString() + `"]}`, 422, []string{"assignedRoleIds[1]"}},
		{"not a UUID", `{"email":"a@example.com","assignedRoleIds":["` + admin + `","admin"]}`, 422, []string{"assignedRoleIds[1]"}},
		{"braced UUID", `{"email":"a@example.com","assignedRoleIds":["{` + admin + `}"]}`, 422, []string{"assignedRoleIds[0]"}},
		{"null entry", `{"email":"a@example.com","assignedRoleIds":[null]}`, 422, []string{"assignedRoleIds[0]"}},
		{"nil UUID", `{"email":"a@example.com","assignedRoleIds":["00000000-0000-0000-0000-000000000000"]}`, 422, []string{"assignedRoleIds[0]"}},
		{"not a UUID, with other invalid fields", `{"email":"nope","role":"Admin!","assignedRoleIds":["x"]}`, 422,
			[]string{"email", "assignedRoleIds[0]", "role"}},
		{"too many", `{"email":"a@example.com","assignedRoleIds":` + string(many) + `}`, 422, []string{"assignedRoleIds"}},
		{"a number entry", `{"email":"a@example.com","assignedRoleIds":[1]}`, 400, nil},
		{"not an array", `{"email":"a@example.com","assignedRoleIds":"` + admin + `"}`, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := rolesFixture(t)
			org := uuid.New()
			r := f.do(request{method: http.MethodPost, path: orgPath(org), body: tt.body})
			if tt.status == 422 {
				assertProblem(t, r, 422, "validation-failed")
				assert.Equal(t, tt.fields, r.fieldNames())
				assert.Contains(t, str(r.json, "error"), tt.fields[0], "the message names the field too")
			} else {
				assertProblem(t, r, tt.status, "invalid-request")
			}
			list := f.do(request{method: http.MethodGet, path: orgPath(org)})
			require.Equal(t, http.StatusOK, list.status)
			assert.Empty(t, list.json["result"], "nothing was stored")
		})
	}
}

// A catalog that fails is the server's fault: a 500 whose cause is logged,
// not a 422.
func TestCreateCatalogFailure(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{roles: invitation.RoleCatalogFunc(
		func(context.Context, uuid.UUID, []uuid.UUID) (map[uuid.UUID]invitation.Role, error) {
			return nil, errors.New("roles backend down")
		})})
	r := f.do(request{method: http.MethodPost, path: orgPath(uuid.New()),
		body: `{"email":"a@example.com","assignedRoleIds":["` + billingID.String() + `"]}`})
	assertProblem(t, r, http.StatusInternalServerError, "internal")
	assert.NotContains(t, string(r.raw), "roles backend down")
	assert.Contains(t, f.logs.String(), "roles backend down")
}

// Every read of an invitation renders its assigned roles: get, list,
// resend, revoke, accept and the events.
func TestReadsRenderAssignedRoles(t *testing.T) {
	t.Parallel()
	f := rolesFixture(t)
	org := uuid.New()
	want := `[` + billingJSON + `,` + adminJSON + `]`
	created := f.do(request{method: http.MethodPost, path: orgPath(org),
		body: `{"email":"ada@example.com","assignedRoleIds":["` + billingID.String() + `","` + invitation.AdminRoleID.String() + `"]}`})
	require.Equal(t, http.StatusOK, created.status, "%s", created.raw)
	assert.JSONEq(t, want, string(rawResult(t, created)["assignedRoles"]), "create")
	item := orgPath(org) + "/" + str(created.result(), "id")

	got := f.do(request{method: http.MethodGet, path: item})
	require.Equal(t, http.StatusOK, got.status)
	assert.JSONEq(t, want, string(rawResult(t, got)["assignedRoles"]), "get")
	assert.JSONEq(t, `"admin"`, string(rawResult(t, got)["role"]), "get: role derived from the system role")

	list := f.do(request{method: http.MethodGet, path: orgPath(org)})
	require.Equal(t, http.StatusOK, list.status)
	var env struct{ Result []map[string]json.RawMessage }
	require.NoError(t, json.Unmarshal(list.raw, &env))
	require.Len(t, env.Result, 1)
	assert.JSONEq(t, want, string(env.Result[0]["assignedRoles"]), "list")

	resent := f.do(request{method: http.MethodPost, path: item + "/resend"})
	require.Equal(t, http.StatusOK, resent.status, "%s", resent.raw)
	assert.JSONEq(t, want, string(rawResult(t, resent)["assignedRoles"]), "resend")

	accepted := f.do(request{method: http.MethodPost, path: "/v1/invitations/accept",
		body: map[string]string{"token": str(resent.result(), "token"), "email": "ada@example.com"}})
	require.Equal(t, http.StatusOK, accepted.status, "%s", accepted.raw)
	assert.JSONEq(t, want, string(rawResult(t, accepted)["assignedRoles"]), "accept")

	other := f.do(request{method: http.MethodPost, path: orgPath(org), body: `{"email":"bob@example.com","role":"developer"}`})
	require.Equal(t, http.StatusOK, other.status)
	revoked := f.do(request{method: http.MethodPost, path: orgPath(org) + "/" + str(other.result(), "id") + "/revoke"})
	require.Equal(t, http.StatusOK, revoked.status)
	assert.JSONEq(t, `[`+developerJSON+`]`, string(rawResult(t, revoked)["assignedRoles"]), "revoke")

	evs := f.do(request{method: http.MethodGet, path: eventsPath(org)})
	require.Equal(t, http.StatusOK, evs.status, "%s", evs.raw)
	var events struct {
		Result []struct {
			Type string
			Data map[string]json.RawMessage
		}
	}
	require.NoError(t, json.Unmarshal(evs.raw, &events))
	require.Len(t, events.Result, 5)
	for _, ev := range events.Result {
		assert.Contains(t, ev.Data, "assignedRoles", ev.Type)
	}
}

// TestClickHouseCurrentClientCompatibility reads the organization routes'
// responses as a client generated from ClickHouse's current document
// would: every member it documents, assignedRoles included, is there and
// has its documented shape.
func TestClickHouseCurrentClientCompatibility(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/clickhouse-invitations-current.openapi.json")
	require.NoError(t, err)
	clickhouse := &oaDoc{lenient: true}
	require.NoError(t, json.Unmarshal(raw, &clickhouse.root))
	schema, err := clickhouse.resolve("#/components/schemas/Invitation")
	require.NoError(t, err)
	role, err := clickhouse.resolve("#/components/schemas/AssignedRole")
	require.NoError(t, err)

	f := newFixture(t)
	org := uuid.New()
	created := f.do(request{method: http.MethodPost, path: orgPath(org),
		body: `{"email":"ada@example.com","assignedRoleIds":["` + invitation.DeveloperRoleID.String() + `"]}`})
	require.Equal(t, http.StatusOK, created.status, "%s", created.raw)
	item := orgPath(org) + "/" + str(created.result(), "id")
	for _, step := range []struct {
		method, path string
		r            response
	}{
		{http.MethodPost, orgPath(org), created},
		{http.MethodGet, item, f.do(request{method: http.MethodGet, path: item})},
		{http.MethodGet, orgPath(org), f.do(request{method: http.MethodGet, path: orgPath(org)})},
	} {
		require.Equal(t, http.StatusOK, step.r.status)
		assert.NoError(t, clickhouse.checkResponse(step.method, step.path, step.r.status, step.r.header, step.r.raw))
	}
	result := created.result()
	for name := range obj(schema["properties"]) {
		assert.Contains(t, result, name, "a member of ClickHouse's Invitation")
	}
	roles, _ := result["assignedRoles"].([]any)
	require.Len(t, roles, 1)
	for name := range obj(role["properties"]) {
		assert.Contains(t, obj(roles[0]), name, "a member of ClickHouse's AssignedRole")
	}
}
