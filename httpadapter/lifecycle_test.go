package httpadapter

// End-to-end tests of the invitation lifecycle over HTTP: bulk create,
// metadata, per-organization limits, revive on resend, and Sweep.

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
)

// withLimits gives both services limits for every organization.
func withLimits(l store.Limits) options {
	return options{
		invitations: func(c *invitation.Config) { c.Limits = &l },
		guests:      func(c *guest.Config) { c.Limits = &l },
	}
}

// bulkPath is the bulk create path of organization org.
func bulkPath(org uuid.UUID) string { return orgPath(org) + "/bulk" }

// bulk posts items to org's bulk create and returns the response, which
// must be a 200, and its items.
func (f *fixture) bulk(org uuid.UUID, items ...any) (response, []map[string]any) {
	f.t.Helper()
	r := f.do(request{method: http.MethodPost, path: bulkPath(org), body: map[string]any{"invitations": items}})
	require.Equal(f.t, http.StatusOK, r.status, "bulk: %s", r.raw)
	list, ok := r.json["result"].([]any)
	require.True(f.t, ok, "result is an array: %s", r.raw)
	out := make([]map[string]any, len(list))
	for i, item := range list {
		out[i] = item.(map[string]any)
	}
	return r, out
}

// itemFields lists the field members of a bulk item's errors.
func itemFields(item map[string]any) []string {
	var out []string
	list, _ := item["errors"].([]any)
	for _, e := range list {
		out = append(out, str(e.(map[string]any), "field"))
	}
	return out
}

// rawAt returns the JSON text at path in the JSON document raw, byte for
// byte as the document spells it: a string steps into an object's member,
// an int into an array's entry.
func rawAt(t *testing.T, raw []byte, path ...any) string {
	t.Helper()
	cur := json.RawMessage(raw)
	for _, step := range path {
		switch s := step.(type) {
		case string:
			var m map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(cur, &m), "%v in %s", path, raw)
			v, ok := m[s]
			require.True(t, ok, "member %q of %v is missing in %s", s, path, raw)
			cur = v
		case int:
			var a []json.RawMessage
			require.NoError(t, json.Unmarshal(cur, &a), "%v in %s", path, raw)
			require.Less(t, s, len(a), "%v in %s", path, raw)
			cur = a[s]
		default:
			t.Fatalf("bad path step %v", step)
		}
	}
	return string(cur)
}

// assertLimited checks a 429 of either API: its problem and a Retry-After
// of exactly retry, whole seconds, at least one.
func assertLimited(t *testing.T, r response, retry time.Duration) {
	t.Helper()
	assertProblem(t, r, http.StatusTooManyRequests, "limit-exceeded")
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After %q is an integer", r.header.Get("Retry-After"))
	assert.GreaterOrEqual(t, secs, 1)
	assert.Equal(t, int(retry/time.Second), secs, "Retry-After")
	assert.NotEmpty(t, str(r.json, "detail"))
}

// eventsOf lists org's events of type typ, newest first.
func (f *fixture) eventsOf(org uuid.UUID, typ event.Type) []event.Event {
	f.t.Helper()
	return decodeEvents(f.t, f.listEvents(org, "limit=100&type="+string(typ)))
}

// eventIDs lists the invitations of evs.
func eventIDs(evs []event.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.InvitationID.String()
	}
	return out
}

// listedEmails lists the emails of org's invitations, newest first.
func (f *fixture) listedEmails(org uuid.UUID) []string {
	f.t.Helper()
	r := f.do(request{method: http.MethodGet, path: orgPath(org)})
	require.Equal(f.t, http.StatusOK, r.status, "%s", r.raw)
	var out []string
	for _, v := range r.json["result"].([]any) {
		out = append(out, str(v.(map[string]any), "email"))
	}
	return out
}

// onEveryBackend runs test, in parallel, on a fixture with opts over each
// store: the stores count the limits and record the expiries themselves.
func onEveryBackend(t *testing.T, opts options, test func(t *testing.T, f *fixture)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			o := opts
			o.store = b.open
			test(t, newFixture(t, o))
		})
	}
}

// TestBulkCreateMixedBatch sends one batch whose items meet every outcome
// an item can have, and checks each outcome, that the created invitations
// are usable, and that exactly they were written, with their events.
func TestBulkCreateMixedBatch(t *testing.T) {
	t.Parallel()
	onEveryBackend(t, options{invitations: func(c *invitation.Config) { c.Limits = &store.Limits{MaxOpen: 3} }}, func(t *testing.T, f *fixture) {
		org := uuid.New()
		f.createInvitation(org, "taken@example.com")
		f.clock.Advance(time.Minute)

		_, items := f.bulk(org,
			map[string]any{"email": " Ada@Example.com", "role": "admin", "metadata": map[string]any{"team": "core"}},
			map[string]any{"email": "TAKEN@example.com", "role": "admin"},
			map[string]any{"email": "ada@example.com", "role": "developer"},
			map[string]any{"email": "not an email", "role": "admin"},
			map[string]any{"email": "cy@example.com", "assignedRoleIds": []string{invitation.AdminRoleID.String(), "nope"}},
			map[string]any{"email": "dee@example.com", "role": "admin", "metadata": "not an object"},
			map[string]any{"email": "bob@example.com", "assignedRoleIds": []string{invitation.DeveloperRoleID.String()}},
			map[string]any{"email": "eve@example.com", "role": "admin"},
			map[string]any{"email": "fay@example.com", "role": "admin"},
		)
		require.Len(t, items, 9, "one outcome per item")

		want := []struct {
			status int
			slug   string
			fields []string
		}{
			{200, "", nil},
			{409, "already-exists", nil}, // an open invitation from before
			{409, "already-exists", nil}, // the first item opened it
			{422, "validation-failed", []string{"email"}},
			{422, "validation-failed", []string{"assignedRoleIds[1]"}},
			{422, "validation-failed", []string{"metadata"}},
			// The 409s took no place: this is the third open invitation.
			{200, "", nil},
			{429, "limit-exceeded", nil},
			{429, "limit-exceeded", nil},
		}
		for i, w := range want {
			item := items[i]
			assert.Equal(t, float64(i), item["index"], "item %d", i)
			assert.Equal(t, float64(w.status), item["status"], "item %d: %v", i, item)
			if w.status == http.StatusOK {
				assert.NotContains(t, item, "error", "item %d", i)
				continue
			}
			assert.NotContains(t, item, "result", "item %d", i)
			assert.Equal(t, ProblemTypePrefix+w.slug, str(item, "type"), "item %d", i)
			assert.NotEmpty(t, str(item, "title"), "item %d", i)
			assert.NotEmpty(t, str(item, "detail"), "item %d", i)
			assert.Equal(t, str(item, "detail"), str(item, "error"), "item %d", i)
			assert.Equal(t, w.fields, itemFields(item), "item %d", i)
			if w.status == http.StatusTooManyRequests {
				// The soonest open invitation, created a minute before the
				// batch, expires one TTL after its create.
				assert.Equal(t, float64((invitation.DefaultTTL-time.Minute)/time.Second), item["retryAfter"], "item %d", i)
			} else {
				assert.NotContains(t, item, "retryAfter", "item %d", i)
			}
		}

		ada, _ := items[0]["result"].(map[string]any)
		require.NotNil(t, ada)
		assert.Equal(t, "ada@example.com", str(ada, "email"))
		assert.Equal(t, "pending", str(ada, "status"))
		assert.Equal(t, keyID, str(ada, "inviterId"))
		assert.Equal(t, org.String(), str(ada, "organizationId"))
		assert.Equal(t, map[string]any{"team": "core"}, ada["metadata"])
		assert.Equal(t, f.clock.Now().Add(invitation.DefaultTTL).Format(time.RFC3339Nano), str(ada, "expireAt"))
		bob, _ := items[6]["result"].(map[string]any)
		require.NotNil(t, bob)
		assert.Nil(t, bob["metadata"])
		assert.Equal(t, []any{map[string]any{"roleId": invitation.DeveloperRoleID.String(), "roleName": "developer", "roleType": "system"}},
			bob["assignedRoles"])
		assert.NotEqual(t, str(ada, "token"), str(bob, "token"))

		// Exactly the created items were written, each with its event.
		assert.ElementsMatch(t, []string{"taken@example.com", "ada@example.com", "bob@example.com"}, f.listedEmails(org))
		created := f.eventsOf(org, event.InvitationCreated)
		require.Len(t, created, 3)
		assert.ElementsMatch(t, []string{str(ada, "id"), str(bob, "id")}, eventIDs(created[:2]), "one event per created item")
		for _, ev := range created[:2] {
			require.NotNil(t, ev.ActorID)
			assert.Equal(t, keyID, *ev.ActorID)
			assert.Equal(t, f.clock.Now(), ev.OccurredAt)
		}

		// The token a batch returns accepts.
		r := f.do(request{method: http.MethodPost, path: "/v1/invitations/accept", body: map[string]string{"token": str(ada, "token"), "email": "ada@example.com"}})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		assert.Equal(t, "accepted", str(r.result(), "status"))
		assert.Equal(t, str(ada, "id"), str(r.result(), "id"))

		// The accept freed a place: the next batch creates one more.
		_, items = f.bulk(org, map[string]any{"email": "eve@example.com", "role": "admin"}, map[string]any{"email": "fay@example.com", "role": "admin"})
		assert.Equal(t, []any{float64(200), float64(429)}, []any{items[0]["status"], items[1]["status"]})
	})
}

// TestBulkCreateRequestErrors checks the errors that refuse a whole bulk
// request, and that none of them writes anything.
func TestBulkCreateRequestErrors(t *testing.T) {
	t.Parallel()
	// Each key acts for its own organization only.
	mine := uuid.New()
	f := newFixture(t, options{config: func(c *Config) {
		c.AuthorizeOrganization = func(_ context.Context, p Principal, org uuid.UUID) error {
			if (p.ID == keyID) != (org == mine) {
				return ErrForbidden
			}
			return nil
		}
	}})
	item := map[string]string{"email": "ada@example.com", "role": "admin"}
	items := func(n int) map[string]any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]string{"email": "user" + strconv.Itoa(i) + "@example.com", "role": "admin"}
		}
		return map[string]any{"invitations": out}
	}

	tests := []struct {
		name   string
		req    request
		status int
		slug   string
		fields []string
	}{
		{"no items", request{body: `{"invitations":[]}`}, 422, "validation-failed", []string{"invitations"}},
		{"no invitations member", request{body: `{}`}, 422, "validation-failed", []string{"invitations"}},
		{"null invitations", request{body: `{"invitations":null}`}, 422, "validation-failed", []string{"invitations"}},
		{"one item too many", request{body: items(invitation.MaxBulk + 1)}, 422, "validation-failed", []string{"invitations"}},
		{"malformed JSON", request{body: `{"invitations":[{"email":"ada@example.com",`}, 400, "invalid-request", nil},
		{"an item's member of the wrong type", request{body: `{"invitations":[{"email":"ada@example.com","role":"admin"},{"email":5}]}`}, 400, "invalid-request", []string{"invitations.email"}},
		{"invitations not an array", request{body: `{"invitations":{"email":"ada@example.com"}}`}, 400, "invalid-request", []string{"invitations"}},
		{"no content type", request{body: map[string]any{"invitations": []any{item}}, contentType: "-"}, 415, "unsupported-media-type", nil},
		{"no credentials", request{body: map[string]any{"invitations": []any{item}}, auth: noAuth}, 401, "unauthenticated", nil},
		{"another organization's key", request{body: map[string]any{"invitations": []any{item}}, auth: noAuth, header: otherKeyAuth}, 403, "forbidden", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.method, tt.req.path = http.MethodPost, bulkPath(mine)
			r := f.do(tt.req)
			assertProblem(t, r, tt.status, tt.slug)
			assert.Equal(t, tt.fields, r.fieldNames())
			assert.Equal(t, str(r.json, "detail"), str(r.json, "error"))
		})
	}
	r := f.do(request{method: http.MethodPost, path: bulkPath(mine), body: map[string]any{"invitations": []any{item}}, auth: noAuth})
	assert.Equal(t, challenge, r.header.Get("WWW-Authenticate"))
	assert.Empty(t, f.listedEmails(mine), "no refused request wrote anything")
	assert.Empty(t, f.eventsOf(mine, event.InvitationCreated))

	// The largest batch is fine, and written whole.
	_, out := f.bulk(mine, items(invitation.MaxBulk)["invitations"].([]any)...)
	require.Len(t, out, invitation.MaxBulk)
	for i, it := range out {
		assert.Equal(t, float64(200), it["status"], "item %d", i)
	}
	assert.Len(t, f.listedEmails(mine), invitation.MaxBulk)
}

// TestBulkCreateInvalidOnly checks a batch none of whose items can be
// created: a 200 that says why for each, and writes nothing.
func TestBulkCreateInvalidOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	org := uuid.New()
	_, items := f.bulk(org, map[string]any{"email": "x", "role": "admin"}, map[string]any{"email": "ada@example.com"})
	require.Len(t, items, 2)
	assert.Equal(t, []string{"email"}, itemFields(items[0]))
	assert.Equal(t, []string{"role"}, itemFields(items[1]))
	for _, it := range items {
		assert.Equal(t, float64(422), it["status"])
	}
	assert.Empty(t, f.listedEmails(org))
	assert.Empty(t, f.eventsOf(org, event.InvitationCreated))
}

// metadataAPI is one way to create an invitation with metadata, and the
// reads that show it.
type metadataAPI struct {
	name string
	// create creates an invitation of org for email whose body's
	// metadata member is the JSON text metadata (none when empty); it
	// returns the response and where in it the invitation is, or, when
	// refused, the outcome (in the response or its item).
	create func(f *fixture, org uuid.UUID, email, metadata string) (r response, at []any)
	// get reads invitation id of org; list reads org's invitations and
	// returns where the newest is.
	get  func(f *fixture, org uuid.UUID, id string) (r response, at []any)
	list func(f *fixture, org uuid.UUID) (r response, at []any)
	// created is the type of the event of a create.
	created event.Type
	// refused returns the status of a refused create and its field
	// names.
	refused func(t *testing.T, r response) (int, []string)
}

// withMetadata is a JSON object body of the members given as text, plus
// metadata when it is not empty.
func withMetadata(members, metadata string) string {
	if metadata == "" {
		return "{" + members + "}"
	}
	return "{" + members + `,"metadata":` + metadata + "}"
}

var metadataAPIs = []metadataAPI{
	{
		name: "organization create",
		create: func(f *fixture, org uuid.UUID, email, md string) (response, []any) {
			return f.do(request{method: http.MethodPost, path: orgPath(org), body: withMetadata(`"email":"`+email+`","role":"admin"`, md)}), []any{"result"}
		},
		get:     orgGet,
		list:    orgList,
		created: event.InvitationCreated,
		refused: func(t *testing.T, r response) (int, []string) { return r.status, r.fieldNames() },
	},
	{
		name: "organization bulk item",
		create: func(f *fixture, org uuid.UUID, email, md string) (response, []any) {
			// The item follows one that succeeds, so it is an item of a
			// real batch.
			body := `{"invitations":[{"email":"first-` + email + `","role":"admin"},` + withMetadata(`"email":"`+email+`","role":"admin"`, md) + "]}"
			r := f.do(request{method: http.MethodPost, path: bulkPath(org), body: body})
			require.Equal(f.t, http.StatusOK, r.status, "bulk: %s", r.raw)
			return r, []any{"result", 1, "result"}
		},
		get:     orgGet,
		list:    orgList,
		created: event.InvitationCreated,
		refused: func(t *testing.T, r response) (int, []string) {
			items, _ := r.json["result"].([]any)
			require.Len(t, items, 2, "%s", r.raw)
			assert.Equal(t, float64(200), items[0].(map[string]any)["status"], "the other item is created")
			item := items[1].(map[string]any)
			status, _ := item["status"].(float64)
			return int(status), itemFields(item)
		},
	},
	{
		name: "guest create",
		create: func(f *fixture, org uuid.UUID, email, md string) (response, []any) {
			members := `"email":"` + email + `","expired_at":"` + f.clock.Now().Add(48*time.Hour).Format(time.RFC3339) + `"`
			return f.do(request{method: http.MethodPost, path: "/guest-invitations", header: guestHeaders(org, org), body: withMetadata(members, md)}), nil
		},
		get: func(f *fixture, org uuid.UUID, id string) (response, []any) {
			return f.do(request{method: http.MethodGet, path: "/guest-invitations/" + id, header: guestHeaders(org, org)}), nil
		},
		list: func(f *fixture, org uuid.UUID) (response, []any) {
			return f.do(request{method: http.MethodGet, path: "/guest-invitations?order_by=created_at&order=desc", header: guestHeaders(org, org)}), []any{"items", 0}
		},
		created: event.GuestInvitationCreated,
		refused: func(t *testing.T, r response) (int, []string) { return r.status, r.fieldNames() },
	},
}

func orgGet(f *fixture, org uuid.UUID, id string) (response, []any) {
	return f.do(request{method: http.MethodGet, path: orgPath(org) + "/" + id}), []any{"result"}
}

func orgList(f *fixture, org uuid.UUID) (response, []any) {
	return f.do(request{method: http.MethodGet, path: orgPath(org)}), []any{"result", 0}
}

// TestMetadataRoundTrip creates invitations with and without metadata
// through each route that takes it, and reads the metadata back on create,
// get, list and in the create's event: compact, with its members in their
// order and its numbers as written, or null.
func TestMetadataRoundTrip(t *testing.T) {
	t.Parallel()
	// Whitespace everywhere JSON allows it, a member order no map keeps,
	// numbers no float64 keeps, text beyond ASCII.
	const given = "{ \"z\" : 1.50 ,\n\t\"a\" : [ 1 , { \"n\" : null } , \"caf\u00e9 \\\"q\\\"\" ] , \"big\" : 12345678901234567890 }"
	const compact = `{"z":1.50,"a":[1,{"n":null},"café \"q\""],"big":12345678901234567890}`
	for _, api := range metadataAPIs {
		t.Run(api.name, func(t *testing.T) {
			t.Parallel()
			tests := []struct {
				name     string
				metadata string
				want     string
			}{
				{"object", given, compact},
				{"empty object", `{}`, `{}`},
				{"absent", "", "null"},
				{"null", "null", "null"},
			}
			onEveryBackend(t, options{}, func(t *testing.T, f *fixture) {
				org := uuid.New()
				for i, tt := range tests {
					email := "user" + strconv.Itoa(i) + "@example.com"
					r, at := api.create(f, org, email, tt.metadata)
					require.Contains(t, []int{200, 201}, r.status, "%s: %s", tt.name, r.raw)
					assert.Equal(t, tt.want, rawAt(t, r.raw, append(slices.Clone(at), "metadata")...), "%s: create", tt.name)
					id := strings.Trim(rawAt(t, r.raw, append(slices.Clone(at), "id")...), `"`)

					r, at = api.get(f, org, id)
					require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
					assert.Equal(t, tt.want, rawAt(t, r.raw, append(at, "metadata")...), "%s: get", tt.name)

					r, at = api.list(f, org)
					require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
					require.Equal(t, `"`+id+`"`, rawAt(t, r.raw, append(slices.Clone(at), "id")...), "%s: the newest is listed first", tt.name)
					assert.Equal(t, tt.want, rawAt(t, r.raw, append(at, "metadata")...), "%s: list", tt.name)

					r = f.listEvents(org, "limit=1&type="+string(api.created))
					require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
					require.Equal(t, `"`+id+`"`, rawAt(t, r.raw, "result", 0, "invitationId"), "%s", tt.name)
					assert.Equal(t, tt.want, rawAt(t, r.raw, "result", 0, "data", "metadata"), "%s: event", tt.name)
				}
			})
		})
	}
}

// TestMetadataRefused sends metadata each route must refuse, naming the
// metadata field, and the largest it must take; whitespace does not
// count against the bound.
func TestMetadataRefused(t *testing.T) {
	t.Parallel()
	// member is an object of one member whose compact JSON is n bytes.
	member := func(n int) string { return `{"k":"` + strings.Repeat("x", n-len(`{"k":""}`)) + `"}` }
	// spaced is member(n) with whitespace that takes the text past the
	// bound.
	spaced := func(n int) string {
		pad := strings.Repeat(" ", 300)
		return "{" + pad + `"k"` + pad + ":" + pad + `"` + strings.Repeat("x", n-len(`{"k":""}`)) + `"` + pad + "}"
	}
	require.Len(t, member(guest.MaxMetadataBytes), guest.MaxMetadataBytes)
	require.Greater(t, len(spaced(guest.MaxMetadataBytes)), guest.MaxMetadataBytes+1000)

	tests := []struct {
		name     string
		metadata string
		ok       bool
	}{
		{"at the bound", member(guest.MaxMetadataBytes), true},
		{"at the bound once compact", spaced(guest.MaxMetadataBytes), true},
		{"a byte over the bound", member(guest.MaxMetadataBytes + 1), false},
		{"a byte over the bound once compact", spaced(guest.MaxMetadataBytes + 1), false},
		{"array", `[{"a":1}]`, false},
		{"string", `"{\"a\":1}"`, false},
		{"number", `42`, false},
		{"boolean", `true`, false},
		{"duplicate member", `{"a":1,"b":2,"a":3}`, false},
		{"duplicate member in a nested object", `{"a":{"b":1,"b":1}}`, false},
	}
	for _, api := range metadataAPIs {
		t.Run(api.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			org := uuid.New()
			for i, tt := range tests {
				email := "user" + strconv.Itoa(i) + "@example.com"
				r, at := api.create(f, org, email, tt.metadata)
				if tt.ok {
					require.Contains(t, []int{200, 201}, r.status, "%s: %s", tt.name, r.raw)
					got := rawAt(t, r.raw, append(at, "metadata")...)
					assert.Equal(t, member(guest.MaxMetadataBytes), got, "%s: kept compact", tt.name)
					continue
				}
				status, fields := api.refused(t, r)
				assert.Equal(t, http.StatusUnprocessableEntity, status, "%s: %s", tt.name, r.raw)
				assert.Equal(t, []string{"metadata"}, fields, "%s", tt.name)
			}
		})
	}
}

// limitAPI is one API's create, seen by the limits.
type limitAPI struct {
	name string
	// create creates an invitation of org for email; created is its
	// success status.
	create  func(f *fixture, org uuid.UUID, email string) response
	created int
	// lifetime is how long a created invitation is open.
	lifetime time.Duration
	// close ends the open invitation r created, freeing its place.
	close func(f *fixture, org uuid.UUID, r response)
	// count is how many invitations org has.
	count func(f *fixture, org uuid.UUID) int
}

var limitAPIs = []limitAPI{
	{
		name: "organization",
		create: func(f *fixture, org uuid.UUID, email string) response {
			return f.do(request{method: http.MethodPost, path: orgPath(org), body: map[string]string{"email": email, "role": "admin"}})
		},
		created:  http.StatusOK,
		lifetime: invitation.DefaultTTL,
		close: func(f *fixture, org uuid.UUID, r response) {
			rr := f.do(request{method: http.MethodPost, path: orgPath(org) + "/" + str(r.result(), "id") + "/revoke"})
			require.Equal(f.t, http.StatusOK, rr.status, "revoke: %s", rr.raw)
		},
		count: func(f *fixture, org uuid.UUID) int { return len(f.listedEmails(org)) },
	},
	{
		name: "guest",
		create: func(f *fixture, org uuid.UUID, email string) response {
			return f.do(request{method: http.MethodPost, path: "/guest-invitations", header: guestHeaders(org, org),
				body: map[string]any{"email": email, "expired_at": f.clock.Now().Add(48 * time.Hour).Format(time.RFC3339)}})
		},
		created:  http.StatusCreated,
		lifetime: 48 * time.Hour,
		close: func(f *fixture, org uuid.UUID, r response) {
			rr := f.do(request{method: http.MethodPatch, path: "/guest-invitations/" + str(r.json, "id"), header: guestHeaders(org, org), body: map[string]bool{"archived": true}})
			require.Equal(f.t, http.StatusOK, rr.status, "archive: %s", rr.raw)
		},
		count: func(f *fixture, org uuid.UUID) int {
			r := f.do(request{method: http.MethodGet, path: "/guest-invitations", header: guestHeaders(org, org)})
			require.Equal(f.t, http.StatusOK, r.status, "%s", r.raw)
			n, _ := r.json["total_items"].(float64)
			return int(n)
		},
	},
}

// TestLimitCreatesPerHour checks the creates-per-hour limit on each API:
// 429 with the Retry-After at which the oldest create of the hour leaves
// the window, which slides, and closing an invitation does not help.
func TestLimitCreatesPerHour(t *testing.T) {
	t.Parallel()
	for _, api := range limitAPIs {
		t.Run(api.name, func(t *testing.T) {
			t.Parallel()
			onEveryBackend(t, withLimits(store.Limits{CreatesPerHour: 2}), func(t *testing.T, f *fixture) {
				org := uuid.New()
				ok := func(email string) response {
					t.Helper()
					r := api.create(f, org, email)
					require.Equal(t, api.created, r.status, "%s: %s", email, r.raw)
					return r
				}
				a := ok("a@example.com")
				f.clock.Advance(10 * time.Minute)
				ok("b@example.com")
				f.clock.Advance(10 * time.Minute)

				// a's create leaves the window 40 minutes from now.
				assertLimited(t, api.create(f, org, "c@example.com"), 40*time.Minute)
				api.close(f, org, a)
				assertLimited(t, api.create(f, org, "c@example.com"), 40*time.Minute)
				assert.Equal(t, 2, api.count(f, org), "a refused create writes nothing")
				// Another organization's count is its own.
				r := api.create(f, uuid.New(), "other@example.com")
				require.Equal(t, api.created, r.status, "%s", r.raw)
				f.clock.Advance(40*time.Minute - time.Second)
				assertLimited(t, api.create(f, org, "c@example.com"), time.Second)

				f.clock.Advance(time.Second)
				ok("c@example.com")
				// b's create leaves the window 10 minutes from now.
				assertLimited(t, api.create(f, org, "d@example.com"), 10*time.Minute)
				assert.Equal(t, 3, api.count(f, org))
			})
		})
	}
}

// TestLimitMaxOpen checks the open invitations limit on each API: 429 with
// the Retry-After at which the soonest open invitation expires; closing
// one, or that expiry, frees a place.
func TestLimitMaxOpen(t *testing.T) {
	t.Parallel()
	for _, api := range limitAPIs {
		t.Run(api.name, func(t *testing.T) {
			t.Parallel()
			onEveryBackend(t, withLimits(store.Limits{MaxOpen: 2}), func(t *testing.T, f *fixture) {
				org := uuid.New()
				ok := func(email string) response {
					t.Helper()
					r := api.create(f, org, email)
					require.Equal(t, api.created, r.status, "%s: %s", email, r.raw)
					return r
				}
				a := ok("a@example.com")
				f.clock.Advance(time.Hour)
				ok("b@example.com")
				f.clock.Advance(time.Hour)

				r := api.create(f, org, "c@example.com")
				assertLimited(t, r, api.lifetime-2*time.Hour)
				assert.Contains(t, str(r.json, "detail"), "open invitations")
				assert.Equal(t, 2, api.count(f, org), "a refused create writes nothing")

				api.close(f, org, a)
				ok("c@example.com")
				// b expires first now, an hour after a would have.
				assertLimited(t, api.create(f, org, "d@example.com"), api.lifetime-time.Hour)
				f.clock.Advance(api.lifetime - time.Hour)
				ok("d@example.com")
				assert.Equal(t, 4, api.count(f, org))
			})
		})
	}
}

// TestLimitsForEachOrganization checks that LimitsFor decides for each
// organization: one is limited, another is not.
func TestLimitsForEachOrganization(t *testing.T) {
	t.Parallel()
	limited, free := uuid.New(), uuid.New()
	limitsFor := func(_ context.Context, org uuid.UUID) (store.Limits, error) {
		if org == limited {
			return store.Limits{MaxOpen: 1}, nil
		}
		return store.Limits{}, nil // no bound
	}
	f := newFixture(t, options{
		invitations: func(c *invitation.Config) { c.LimitsFor = limitsFor },
		guests:      func(c *guest.Config) { c.LimitsFor = limitsFor },
	})
	for _, api := range limitAPIs {
		t.Run(api.name, func(t *testing.T) {
			for i := range 5 {
				r := api.create(f, free, "user"+strconv.Itoa(i)+"@example.com")
				require.Equal(t, api.created, r.status, "%s", r.raw)
			}
			r := api.create(f, limited, "a@example.com")
			require.Equal(t, api.created, r.status, "%s", r.raw)
			assertLimited(t, api.create(f, limited, "b@example.com"), api.lifetime)
		})
	}
}

// TestOrganizationResendRevive checks the revive of an expired invitation
// by resend: open again for the configured TTL from now, with a new token,
// counted against the open invitations limit, and refused when another
// invitation for the email is open.
func TestOrganizationResendRevive(t *testing.T) {
	t.Parallel()
	const ttl = 48 * time.Hour
	opts := options{invitations: func(c *invitation.Config) {
		c.TTL = ttl
		c.Limits = &store.Limits{MaxOpen: 2}
	}}
	onEveryBackend(t, opts, func(t *testing.T, f *fixture) {
		org := uuid.New()
		accept := func(token string) response {
			return f.do(request{method: http.MethodPost, path: "/v1/invitations/accept", body: map[string]string{"token": token, "email": "ada@example.com"}})
		}
		ada := f.createInvitation(org, "ada@example.com")
		item := orgPath(org) + "/" + str(ada, "id")
		f.clock.Advance(ttl + time.Hour)

		// At the limit, the revive is refused and changes nothing.
		bob := f.createInvitation(org, "bob@example.com")
		cy := f.createInvitation(org, "cy@example.com")
		r := f.do(request{method: http.MethodPost, path: item + "/resend"})
		assertLimited(t, r, ttl)
		assertProblem(t, accept(str(ada, "token")), http.StatusGone, "expired")
		r = f.do(request{method: http.MethodGet, path: item})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		assert.Equal(t, "expired", str(r.result(), "status"))
		assert.Equal(t, str(ada, "sentAt"), str(r.result(), "sentAt"))
		// Resending an open invitation opens nothing: the limit does not
		// apply.
		r = f.do(request{method: http.MethodPost, path: orgPath(org) + "/" + str(bob, "id") + "/resend"})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		for _, inv := range []map[string]any{bob, cy} {
			r = f.do(request{method: http.MethodPost, path: orgPath(org) + "/" + str(inv, "id") + "/revoke"})
			require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		}

		// Another open invitation for the email: 409, nothing changed.
		// (Below the limit: when both refuse, the stores differ on which
		// answers.)
		f.clock.Advance(time.Minute)
		other := f.createInvitation(org, "ada@example.com")
		assertProblem(t, f.do(request{method: http.MethodPost, path: item + "/resend"}), http.StatusConflict, "already-exists")
		assertProblem(t, accept(str(ada, "token")), http.StatusGone, "expired")
		r = f.do(request{method: http.MethodPost, path: orgPath(org) + "/" + str(other, "id") + "/revoke"})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)

		f.clock.Advance(time.Minute)
		r = f.do(request{method: http.MethodPost, path: item + "/resend"})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		revived := r.result()
		now := f.clock.Now().Format(time.RFC3339Nano)
		assert.Equal(t, "pending", str(revived, "status"))
		assert.Equal(t, f.clock.Now().Add(ttl).Format(time.RFC3339Nano), str(revived, "expireAt"), "the configured TTL from now")
		assert.Equal(t, now, str(revived, "sentAt"))
		assert.Equal(t, str(ada, "createdAt"), str(revived, "createdAt"))
		assert.NotEqual(t, str(ada, "token"), str(revived, "token"))
		assertProblem(t, accept(str(ada, "token")), http.StatusNotFound, "invalid-token")
		evs := f.eventsOf(org, event.InvitationResent)
		require.NotEmpty(t, evs)
		assert.Equal(t, str(ada, "id"), evs[0].InvitationID.String())
		assert.Equal(t, `"pending"`, rawAt(t, evs[0].Data, "status"))
		r = f.do(request{method: http.MethodGet, path: orgPath(org) + "?status=pending"})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		pending, _ := r.json["result"].([]any)
		require.Len(t, pending, 1, "the revived invitation is the one pending: %s", r.raw)
		assert.Equal(t, str(ada, "id"), str(pending[0].(map[string]any), "id"))
		r = accept(str(revived, "token"))
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	})
}

// TestOrganizationResendFinal checks that a final invitation is never
// revived, however long ago it expired.
func TestOrganizationResendFinal(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	org := uuid.New()
	do := func(inv map[string]any, action string) {
		r := f.do(request{method: http.MethodPost, path: orgPath(org) + "/" + str(inv, "id") + "/" + action})
		require.Equal(t, http.StatusOK, r.status, "%s: %s", action, r.raw)
	}
	revoked := f.createInvitation(org, "revoked@example.com")
	do(revoked, "revoke")
	accepted := f.createInvitation(org, "accepted@example.com")
	r := f.do(request{method: http.MethodPost, path: "/v1/invitations/accept", body: map[string]string{"token": str(accepted, "token"), "email": "accepted@example.com"}})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	expiredRevoked := f.createInvitation(org, "late@example.com")

	resend := func(inv map[string]any, slug, what string) {
		t.Helper()
		assertProblem(t, f.do(request{method: http.MethodPost, path: orgPath(org) + "/" + str(inv, "id") + "/resend"}), http.StatusConflict, slug)
		assert.Empty(t, f.eventsOf(org, event.InvitationResent), "%s: no resend recorded", what)
	}
	resend(revoked, "revoked", "revoked")
	resend(accepted, "already-accepted", "accepted")

	// Past every expiry: still final, and one revoked after its expiry
	// passed is too.
	f.clock.Advance(invitation.DefaultTTL + time.Hour)
	do(expiredRevoked, "revoke")
	resend(revoked, "revoked", "revoked, past its expiry")
	resend(accepted, "already-accepted", "accepted, past its expiry")
	resend(expiredRevoked, "revoked", "revoked after it expired")
}

// TestGuestResendRevive checks the revive of expired guest invitations by
// resend, without a body, and the resends that refuse.
func TestGuestResendRevive(t *testing.T) {
	t.Parallel()
	onEveryBackend(t, options{}, func(t *testing.T, f *fixture) {
		host := uuid.New()
		h := guestHeaders(host, host)
		item := func(inv map[string]any) string { return "/guest-invitations/" + str(inv, "id") }

		late := f.createGuest(host, "late@example.com")
		archived := f.createGuest(host, "archived@example.com")
		r := f.do(request{method: http.MethodPatch, path: item(archived), header: h, body: map[string]bool{"archived": true}})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		accepted := f.createGuest(host, "accepted@example.com")
		r = f.do(request{method: http.MethodPost, path: item(accepted) + "/accept", header: h})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		blocked := f.createGuest(host, "blocked@example.com")
		f.clock.Advance(49 * time.Hour)
		f.createGuest(host, "blocked@example.com") // open beside the expired one

		tests := []struct {
			name   string
			inv    map[string]any
			status int
			slug   string
		}{
			{"archived", archived, 409, "archived"},
			{"accepted", accepted, 409, "already-accepted"},
			{"another open for the email", blocked, 409, "already-exists"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				assertProblem(t, f.do(request{method: http.MethodPost, path: item(tt.inv) + "/resend", header: h}), tt.status, tt.slug)
				r := f.do(request{method: http.MethodGet, path: item(tt.inv), header: h})
				require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
				assert.Equal(t, str(tt.inv, "invitation_token"), str(r.json, "invitation_token"), "the token did not rotate")
			})
		}

		// No body at all: revived for the default expiry.
		r = f.do(request{method: http.MethodPost, path: item(late) + "/resend", header: h, contentType: "-"})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		assert.Equal(t, false, r.json["expired"])
		assert.Equal(t, f.clock.Now().Add(guest.DefaultExpiry).Format(time.RFC3339Nano), str(r.json, "expired_at"))
		assert.Equal(t, f.clock.Now().Format(time.RFC3339Nano), str(r.json, "last_invitation_sent_at"))
		assert.Equal(t, str(late, "first_invitation_sent_at"), str(r.json, "first_invitation_sent_at"))
		r = f.do(request{method: http.MethodPost, path: "/guest-invitations/accept", body: map[string]string{"invitation_token": str(r.json, "invitation_token")}})
		require.Equal(t, http.StatusOK, r.status, "the revived token accepts: %s", r.raw)
	})
}

// TestGuestResendReviveConfiguredExpiry checks that a revive without a new
// expired_at uses Config.DefaultExpiry.
func TestGuestResendReviveConfiguredExpiry(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{guests: func(c *guest.Config) { c.DefaultExpiry = 3 * time.Hour }})
	host := uuid.New()
	late := f.createGuest(host, "late@example.com")
	f.clock.Advance(72 * time.Hour)
	r := f.do(request{method: http.MethodPost, path: "/guest-invitations/" + str(late, "id") + "/resend", header: guestHeaders(host, host)})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, f.clock.Now().Add(3*time.Hour).Format(time.RFC3339Nano), str(r.json, "expired_at"))
}

// TestGuestLimitOnReopen checks that the changes that open a guest
// invitation again, a resend that revives it and an unarchive, are
// refused at the open invitations limit and change nothing then.
func TestGuestLimitOnReopen(t *testing.T) {
	t.Parallel()
	onEveryBackend(t, withLimits(store.Limits{MaxOpen: 1}), func(t *testing.T, f *fixture) {
		host := uuid.New()
		h := guestHeaders(host, host)
		item := func(inv map[string]any) string { return "/guest-invitations/" + str(inv, "id") }
		get := func(inv map[string]any) map[string]any {
			r := f.do(request{method: http.MethodGet, path: item(inv), header: h})
			require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
			return r.json
		}
		patch := func(inv map[string]any, archived bool) response {
			return f.do(request{method: http.MethodPatch, path: item(inv), header: h, body: map[string]bool{"archived": archived}})
		}

		late := f.createGuest(host, "late@example.com")
		f.clock.Advance(48 * time.Hour)
		shelved := f.createGuest(host, "shelved@example.com")
		require.Equal(t, http.StatusOK, patch(shelved, true).status)
		open := f.createGuest(host, "open@example.com")
		f.clock.Advance(time.Hour)

		// The revive: 429, the token did not rotate, still expired.
		assertLimited(t, f.do(request{method: http.MethodPost, path: item(late) + "/resend", header: h}), 47*time.Hour)
		assertLimited(t, f.do(request{method: http.MethodPost, path: item(late) + "/resend", header: h,
			body: map[string]string{"expired_at": f.clock.Now().Add(time.Hour).Format(time.RFC3339)}}), 47*time.Hour)
		got := get(late)
		assert.Equal(t, str(late, "invitation_token"), str(got, "invitation_token"))
		assert.Equal(t, true, got["expired"])
		assert.Equal(t, str(late, "last_invitation_sent_at"), str(got, "last_invitation_sent_at"))

		// The unarchive: 429, still archived.
		assertLimited(t, patch(shelved, false), 47*time.Hour)
		got = get(shelved)
		assert.Equal(t, true, got["archived"])
		assert.NotNil(t, got["archived_at"])
		assert.Empty(t, f.eventsOf(host, event.GuestInvitationUnarchived))
		assert.Empty(t, f.eventsOf(host, event.GuestInvitationResent))

		// A resend of the open invitation opens nothing and is not limited.
		r := f.do(request{method: http.MethodPost, path: item(open) + "/resend", header: h})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)

		// Closing the open invitation frees the place, which one reopen takes.
		require.Equal(t, http.StatusOK, patch(open, true).status)
		r = patch(shelved, false)
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		assert.Equal(t, false, r.json["archived"])
		assertLimited(t, f.do(request{method: http.MethodPost, path: item(late) + "/resend", header: h}), 47*time.Hour)
		require.Equal(t, http.StatusOK, patch(shelved, true).status)
		r = f.do(request{method: http.MethodPost, path: item(late) + "/resend", header: h})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		assert.Equal(t, false, r.json["expired"])
		assert.NotEqual(t, str(late, "invitation_token"), str(r.json, "invitation_token"))
	})
}

// TestSweepOverHTTP runs Sweep on both services as the clock passes
// expiries and reads what it recorded on the events route: one expiry
// event per expired invitation, by no actor, none for final invitations,
// none twice, and a revived invitation's new expiry once more.
func TestSweepOverHTTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	onEveryBackend(t, options{}, func(t *testing.T, f *fixture) {
		org := uuid.New()
		h := guestHeaders(org, org)
		sweep := func(wantOrg, wantGuest int) {
			t.Helper()
			res, err := f.inv.Sweep(ctx)
			require.NoError(t, err)
			assert.Equal(t, wantOrg, res.Expired, "organization expiries recorded")
			gres, err := f.guests.Sweep(ctx)
			require.NoError(t, err)
			assert.Equal(t, wantGuest, gres.Expired, "guest expiries recorded")
		}

		a := f.createInvitation(org, "a@example.com")
		g1 := f.createGuest(org, "g1@example.com") // expires 48 hours from t0
		f.clock.Advance(time.Hour)
		b := f.createInvitation(org, "b@example.com")
		g2 := f.createGuest(org, "g2@example.com")
		r := f.do(request{method: http.MethodPatch, path: "/guest-invitations/" + str(g2, "id"), header: h, body: map[string]bool{"archived": true}})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		c := f.createInvitation(org, "c@example.com")
		r = f.do(request{method: http.MethodPost, path: orgPath(org) + "/" + str(c, "id") + "/revoke"})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		d := f.createInvitation(org, "d@example.com")
		r = f.do(request{method: http.MethodPost, path: "/v1/invitations/accept", body: map[string]string{"token": str(d, "token"), "email": "d@example.com"}})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		g3 := f.createGuest(org, "g3@example.com")
		r = f.do(request{method: http.MethodPost, path: "/guest-invitations/" + str(g3, "id") + "/accept", header: h})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		f.createInvitation(uuid.New(), "elsewhere@example.com")

		sweep(0, 0)
		assert.Empty(t, f.eventsOf(org, event.InvitationExpired), "nothing expired yet")

		// g1 expires at t0+48h exactly.
		f.clock.Set(t0.Add(48 * time.Hour))
		sweep(0, 1)
		f.clock.Advance(time.Hour) // g2 too, archived
		sweep(0, 1)
		f.clock.Set(t0.Add(invitation.DefaultTTL)) // a
		sweep(1, 0)
		firstSweep := f.clock.Now()
		f.clock.Advance(2 * time.Hour) // b, and the other organization's
		sweep(2, 0)
		sweep(0, 0)

		orgEvs := f.eventsOf(org, event.InvitationExpired)
		assert.Equal(t, []string{str(b, "id"), str(a, "id")}, eventIDs(orgEvs), "one event per expired invitation, none for final ones")
		guestEvs := f.eventsOf(org, event.GuestInvitationExpired)
		assert.Equal(t, []string{str(g2, "id"), str(g1, "id")}, eventIDs(guestEvs), "archived or not; none for the accepted one")
		for _, ev := range orgEvs {
			assert.Nil(t, ev.ActorID, "no one made an expiry")
			assert.Equal(t, org, ev.OrganizationID)
			assert.Equal(t, `"expired"`, rawAt(t, ev.Data, "status"))
			assert.Equal(t, `"`+ev.InvitationID.String()+`"`, rawAt(t, ev.Data, "id"))
		}
		assert.Equal(t, firstSweep, orgEvs[1].OccurredAt, "recorded at the sweep")
		for _, ev := range guestEvs {
			assert.Nil(t, ev.ActorID)
			assert.Equal(t, "true", rawAt(t, ev.Data, "expired"))
			assert.Equal(t, `"sent"`, rawAt(t, ev.Data, "status"))
		}
		assert.Equal(t, "true", rawAt(t, guestEvs[0].Data, "archived"))

		// Revived, a recorded expiry is recorded again when it passes again.
		r = f.do(request{method: http.MethodPost, path: orgPath(org) + "/" + str(a, "id") + "/resend"})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		r = f.do(request{method: http.MethodPost, path: "/guest-invitations/" + str(g1, "id") + "/resend", header: h})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		sweep(0, 0)
		f.clock.Advance(invitation.DefaultTTL)
		sweep(1, 1)
		sweep(0, 0)
		assert.Equal(t, []string{str(a, "id"), str(b, "id"), str(a, "id")}, eventIDs(f.eventsOf(org, event.InvitationExpired)))
		assert.Equal(t, []string{str(g1, "id"), str(g2, "id"), str(g1, "id")}, eventIDs(f.eventsOf(org, event.GuestInvitationExpired)))
	})
}

// TestRefusal429WithoutRetryAfter checks that an accept hook's own 429 (a
// Refusal) claims no Retry-After: only a limit knows when to come back,
// and "0" would tell clients to retry at once.
func TestRefusal429WithoutRetryAfter(t *testing.T) {
	t.Parallel()
	f, spy := hookFixture(t, nil)
	spy.set(func() error {
		return &Refusal{Status: http.StatusTooManyRequests, Detail: "the plan accepts no more members today"}
	})
	created := f.createInvitation(uuid.New(), "ada@example.com")
	r := f.do(request{method: http.MethodPost, path: "/v1/invitations/accept",
		body: map[string]string{"token": str(created, "token"), "email": "ada@example.com"}})
	assertProblem(t, r, http.StatusTooManyRequests, "accept-refused")
	assert.Empty(t, r.header.Values("Retry-After"))
}
