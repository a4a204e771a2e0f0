package httpadapter

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// TestOpenAPIMatchesRoutes checks, for every combination of services, that
// the served document lists exactly the operations of the route table, and
// that the mux routes each documented operation to its own pattern.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts options
		// want is how many operations the document must have.
		want int
	}{
		{"both services, links and events", options{}, 23},
		{"no events", options{noEvents: true}, 22},
		{"no links", options{noLinks: true}, 17},
		{"organizations only", options{noGuest: true}, 16},
		{"guests only", options{noOrg: true}, 9},
		{"events only", options{noOrg: true, noGuest: true}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tt.opts)
			r := f.do(request{method: http.MethodGet, path: "/openapi.json", auth: noAuth})
			require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
			assert.Equal(t, "3.1.0", r.json["openapi"])

			var documented []string
			for path, item := range obj(r.json["paths"]) {
				for method := range obj(item) {
					if isOperation(method) {
						documented = append(documented, strings.ToUpper(method)+" "+path)
					}
				}
			}
			var served []string
			for _, rt := range f.handler.routes {
				served = append(served, rt.method+" "+rt.path)
			}
			slices.Sort(documented)
			slices.Sort(served)
			assert.Equal(t, served, documented)
			assert.Len(t, documented, tt.want)

			for _, op := range documented {
				method, path, _ := strings.Cut(op, " ")
				concrete := pathParam.ReplaceAllString(path, uuid.NewString())
				req := httptest.NewRequest(method, concrete, nil)
				_, pattern := f.handler.mux.Handler(req)
				assert.Equal(t, op, pattern, "the mux must route %s %s to its documented operation", method, concrete)
			}
		})
	}
}

func TestOpenAPIServerURLUnderPrefix(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"", "/api/invites"} {
		f := newFixture(t, options{prefix: prefix})
		r := f.do(request{method: http.MethodGet, path: "/openapi.json", auth: noAuth})
		require.Equal(t, http.StatusOK, r.status)
		servers, _ := r.json["servers"].([]any)
		require.Len(t, servers, 1)
		want := prefix
		if want == "" {
			want = "/"
		}
		assert.Equal(t, want, str(obj(servers[0]), "url"))
	}
}

// TestSchemaCheckerRejects shows that the checker the end-to-end tests rely
// on does reject responses that break the document.
func TestSchemaCheckerRejects(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	problemHeader := http.Header{"Content-Type": {"application/problem+json"}}
	goodGuest := `{"id":"0190f0a0-0000-7000-8000-000000000001","host_organization_id":"0190f0a0-0000-7000-8000-000000000002",` +
		`"email":"g@example.com","first_invitation_sent_at":"2030-01-01T00:00:00Z","last_invitation_sent_at":"2030-01-01T00:00:00Z",` +
		`"expired_at":"2030-01-02T00:00:00Z","expired":false,"status":"sent","invitation_token":"0123456789abc","archived":false,` +
		`"created_at":"2030-01-01T00:00:00Z","updated_at":"2030-01-01T00:00:00Z","accepted_at":null,"archived_at":null,` +
		`"parent_organization_id":null,"parent_organization_name":null,"metadata":null}`
	path := "/guest-invitations/0190f0a0-0000-7000-8000-000000000001"
	require.NoError(t, doc.checkResponse(http.MethodGet, path, 200, jsonHeader, []byte(goodGuest)))

	type rejected struct {
		name   string
		method string
		path   string
		status int
		header http.Header
		body   string
	}
	tests := []rejected{
		{"missing member", http.MethodGet, path, 200, jsonHeader, strings.Replace(goodGuest, `"expired":false,`, "", 1)},
		{"undocumented member", http.MethodGet, path, 200, jsonHeader, strings.Replace(goodGuest, `{`, `{"extra":1,`, 1)},
		{"wrong type", http.MethodGet, path, 200, jsonHeader, strings.Replace(goodGuest, `"expired":false`, `"expired":"no"`, 1)},
		{"not in enum", http.MethodGet, path, 200, jsonHeader, strings.Replace(goodGuest, `"sent"`, `"lost"`, 1)},
		{"not a uuid", http.MethodGet, path, 200, jsonHeader, strings.Replace(goodGuest, `"0190f0a0-0000-7000-8000-000000000002"`, `"x"`, 1)},
		{"not UTC", http.MethodGet, path, 200, jsonHeader, strings.Replace(goodGuest, `"2030-01-02T00:00:00Z"`, `"2030-01-02T00:00:00+01:00"`, 1)},
		{"null where not nullable", http.MethodGet, path, 200, jsonHeader, strings.Replace(goodGuest, `"created_at":"2030-01-01T00:00:00Z"`, `"created_at":null`, 1)},
		{"too short", http.MethodGet, path, 200, jsonHeader, strings.Replace(goodGuest, `"0123456789abc"`, `"short"`, 1)},
		{"undocumented status", http.MethodGet, path, 418, problemHeader, `{}`},
		{"undocumented content type", http.MethodGet, path, 200, http.Header{"Content-Type": {"text/plain"}}, goodGuest},
		{"missing header", http.MethodPost, "/guest-invitations", 201, jsonHeader, goodGuest},
		{"wrong error shape", http.MethodGet, path, 404, problemHeader, `{"status":404,"error":"x"}`},
		{"unrouted success", http.MethodPut, path, 200, jsonHeader, `{}`},
		{"not JSON", http.MethodGet, path, 200, jsonHeader, `<html>`},
	}
	events := "/v1/organizations/0190f0a0-0000-7000-8000-000000000002/events"
	guestData := strings.Replace(goodGuest, `"invitation_token":"0123456789abc",`, "", 1)
	goodEvents := `{"status":200,"requestId":"0190f0a0-0000-7000-8000-000000000009","result":[{"id":"0190f0a0-0000-7000-8000-000000000003",` +
		`"type":"guest_invitation.created","organizationId":"0190f0a0-0000-7000-8000-000000000002",` +
		`"invitationId":"0190f0a0-0000-7000-8000-000000000001","actorId":"key-1","occurredAt":"2030-01-01T00:00:00Z","data":` + guestData + `}]}`
	require.NoError(t, doc.checkResponse(http.MethodGet, events, 200, jsonHeader, []byte(goodEvents)))
	tests = append(tests, []rejected{
		{"event of unknown type", http.MethodGet, events, 200, jsonHeader, strings.Replace(goodEvents, `"guest_invitation.created"`, `"guest_invitation.lost"`, 1)},
		{"event data with a guest token", http.MethodGet, events, 200, jsonHeader, strings.Replace(goodEvents, guestData, goodGuest, 1)},
		{"event data of neither shape", http.MethodGet, events, 200, jsonHeader, strings.Replace(goodEvents, guestData, `{"id":"x"}`, 1)},
		{"event without actorId", http.MethodGet, events, 200, jsonHeader, strings.Replace(goodEvents, `"actorId":"key-1",`, "", 1)},
		{"refusal of a route without hooks", http.MethodPost, "/guest-invitations", 402, problemHeader, `{}`},
	}...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Error(t, doc.checkResponse(tt.method, tt.path, tt.status, tt.header, []byte(tt.body)))
		})
	}
}

// TestClickHouseClientCompatibility checks the organization routes'
// responses against ClickHouse's own OpenAPI document (a JSON copy of the
// extract in the design's spec folder), as a client generated from it
// would read them: our additive members are allowed, nothing it documents
// may be missing or differ.
func TestClickHouseClientCompatibility(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/clickhouse-invitations.openapi.json")
	require.NoError(t, err)
	clickhouse := &oaDoc{lenient: true}
	require.NoError(t, json.Unmarshal(raw, &clickhouse.root))

	f := newFixture(t)
	org := uuid.New()
	check := func(method, path string, r response) {
		t.Helper()
		assert.NoError(t, clickhouse.checkResponse(method, path, r.status, r.header, r.raw))
	}
	created := f.do(request{method: http.MethodPost, path: orgPath(org), body: map[string]string{"email": "ada@example.com", "role": "developer"}})
	require.Equal(t, http.StatusOK, created.status)
	check(http.MethodPost, orgPath(org), created)
	// The extract marks nothing required, so ask for its members by name:
	// all of them, assignedRoles included.
	schema, err := clickhouse.resolve("#/components/schemas/Invitation")
	require.NoError(t, err)
	for name := range obj(schema["properties"]) {
		assert.Contains(t, created.result(), name)
	}
	for _, name := range []string{"status", "requestId", "result"} {
		assert.Contains(t, created.json, name)
	}
	item := orgPath(org) + "/" + str(created.result(), "id")
	check(http.MethodGet, item, f.do(request{method: http.MethodGet, path: item}))
	check(http.MethodGet, orgPath(org), f.do(request{method: http.MethodGet, path: orgPath(org)}))
	check(http.MethodDelete, item, f.do(request{method: http.MethodDelete, path: item}))

	bad := "/v1/organizations/not-a-uuid/invitations"
	r := f.do(request{method: http.MethodGet, path: bad})
	require.Equal(t, http.StatusBadRequest, r.status)
	check(http.MethodGet, bad, r)
}
