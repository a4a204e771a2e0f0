package httpadapter

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/invitation"
)

// otherKeyAuth authenticates a request as otherKeyID.
var otherKeyAuth = map[string]string{"Authorization": "Bearer " + otherKey}

// listEvents gets a page of org's events with query (without "?").
func (f *fixture) listEvents(org uuid.UUID, query string) response {
	f.t.Helper()
	path := eventsPath(org)
	if query != "" {
		path += "?" + query
	}
	return f.do(request{method: http.MethodGet, path: path})
}

// decodeEvents reads the result of an events response as event.Event,
// refusing members the type does not have, and checks that each event is
// byte for byte its own JSON: the route adds nothing and drops nothing.
func decodeEvents(t *testing.T, r response) []event.Event {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	var env struct {
		Result []json.RawMessage `json:"result"`
	}
	require.NoError(t, json.Unmarshal(r.raw, &env))
	out := make([]event.Event, len(env.Result))
	for i, raw := range env.Result {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&out[i]))
		again, err := json.Marshal(out[i])
		require.NoError(t, err)
		assert.JSONEq(t, string(raw), string(again))
	}
	return out
}

func eventTypeList(evs []event.Event) []event.Type {
	out := make([]event.Type, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type
	}
	return out
}

// TestEventsRecordEveryChange makes every kind of change over HTTP, on
// every store, and reads them back from the events route: newest first,
// each attributed to the principal that made it, its data the invitation
// without a token.
func TestEventsRecordEveryChange(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, options{store: b.open})
			org := uuid.New()
			step := func() { f.clock.Advance(time.Minute) }

			a := f.createInvitation(org, "ada@example.com")
			aItem := orgPath(org) + "/" + str(a, "id")
			step()
			r := f.do(request{method: http.MethodPost, path: aItem + "/resend"})
			require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
			token := str(r.result(), "token")
			step()
			bInv := f.createInvitation(org, "bob@example.com")
			bItem := orgPath(org) + "/" + str(bInv, "id")
			step()
			require.Equal(t, http.StatusOK, f.do(request{method: http.MethodPost, path: bItem + "/revoke"}).status)
			step()
			r = f.do(request{method: http.MethodPost, path: "/v1/invitations/accept", auth: noAuth, header: otherKeyAuth,
				body: map[string]string{"token": token, "email": "ada@example.com"}})
			require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
			step()
			require.Equal(t, http.StatusOK, f.do(request{method: http.MethodDelete, path: bItem}).status)
			step()
			g := f.createGuest(org, "gus@example.com")
			f.createInvitation(uuid.New(), "elsewhere@example.com")

			evs := decodeEvents(t, f.listEvents(org, ""))
			assert.Equal(t, []event.Type{
				event.GuestInvitationCreated, event.InvitationDeleted, event.InvitationAccepted, event.InvitationRevoked,
				event.InvitationCreated, event.InvitationResent, event.InvitationCreated,
			}, eventTypeList(evs), "newest first, no other organization's")
			require.Len(t, evs, 7)
			ids := []string{str(g, "id"), str(bInv, "id"), str(a, "id"), str(bInv, "id"), str(bInv, "id"), str(a, "id"), str(a, "id")}
			for i, ev := range evs {
				assert.Equal(t, ids[i], ev.InvitationID.String(), "event %d", i)
				assert.Equal(t, org, ev.OrganizationID)
				require.NotNil(t, ev.ActorID, "event %d has an actor", i)
				want := keyID
				if ev.Type == event.InvitationAccepted {
					want = otherKeyID
				}
				assert.Equal(t, want, *ev.ActorID, "event %d (%s)", i, ev.Type)
				assert.Equal(t, t0.Add(time.Duration(6-i)*time.Minute), ev.OccurredAt, "event %d", i)
				var data map[string]any
				require.NoError(t, json.Unmarshal(ev.Data, &data))
				assert.Equal(t, ids[i], str(data, "id"))
				assert.NotContains(t, data, "token")
				assert.NotContains(t, data, "invitation_token")
				if i > 0 {
					assert.Equal(t, org.String(), str(data, "organizationId"), "organization invitations are camelCase")
				}
			}
			var accepted, deleted, guestData map[string]any
			require.NoError(t, json.Unmarshal(evs[2].Data, &accepted))
			require.NoError(t, json.Unmarshal(evs[1].Data, &deleted))
			require.NoError(t, json.Unmarshal(evs[0].Data, &guestData))
			assert.Equal(t, "accepted", str(accepted, "status"))
			assert.Equal(t, "revoked", str(deleted, "status"), "a deletion carries the invitation as it was")
			assert.Equal(t, org.String(), str(guestData, "host_organization_id"), "guest invitations are snake_case")
		})
	}
}

// TestEventsPageWithLink follows the Link header through a filtered list,
// under a mount prefix.
func TestEventsPageWithLink(t *testing.T) {
	t.Parallel()
	const prefix = "/api"
	f := newFixture(t, options{prefix: prefix})
	org := uuid.New()
	var ids []string
	for _, e := range []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com"} {
		inv := f.createInvitation(org, e)
		ids = append(ids, str(inv, "id"))
		f.clock.Advance(time.Second)
		// Events of another type between them, which the filter skips.
		require.Equal(t, http.StatusOK, f.do(request{method: http.MethodPost, path: orgPath(org) + "/" + str(inv, "id") + "/revoke"}).status)
		f.clock.Advance(time.Second)
	}

	var seen []string
	path := eventsPath(org) + "?limit=2&type=invitation.created"
	for pages := 1; ; pages++ {
		require.LessOrEqual(t, pages, 3)
		r := f.do(request{method: http.MethodGet, path: path})
		evs := decodeEvents(t, r)
		for _, ev := range evs {
			assert.Equal(t, event.InvitationCreated, ev.Type)
			seen = append(seen, ev.InvitationID.String())
		}
		link := r.header.Get("Link")
		if link == "" {
			assert.Equal(t, 3, pages)
			break
		}
		assert.Len(t, evs, 2, "a page before the last is full")
		next := nextLink(t, link)
		require.True(t, strings.HasPrefix(next, prefix+eventsPath(org)+"?"), "Link %q keeps the mount prefix", link)
		q := mustParseQuery(t, next)
		assert.Equal(t, []string{"invitation.created"}, q["type"], "Link keeps the filter")
		assert.Equal(t, "2", q.Get("limit"))
		path = strings.TrimPrefix(next, prefix)
	}
	assert.Equal(t, []string{ids[4], ids[3], ids[2], ids[1], ids[0]}, seen, "newest first, each once")

	// Without a limit a page holds event.DefaultLimit events.
	for range 15 {
		f.createInvitation(org, uuid.NewString()[:8]+"@example.com")
	}
	r := f.listEvents(org, "")
	assert.Len(t, decodeEvents(t, r), event.DefaultLimit)
	assert.NotEmpty(t, r.header.Get("Link"))
}

// TestEventsTypeFilter checks the type parameter: repeated for several
// types, and a comma inside a value is no separator.
func TestEventsTypeFilter(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	org := uuid.New()
	inv := f.createInvitation(org, "ada@example.com")
	f.clock.Advance(time.Second)
	require.Equal(t, http.StatusOK, f.do(request{method: http.MethodPost, path: orgPath(org) + "/" + str(inv, "id") + "/resend"}).status)
	f.clock.Advance(time.Second)
	f.createGuest(org, "gus@example.com")

	tests := []struct {
		query string
		want  []event.Type
	}{
		{"", []event.Type{event.GuestInvitationCreated, event.InvitationResent, event.InvitationCreated}},
		{"type=invitation.created", []event.Type{event.InvitationCreated}},
		{"type=invitation.created&type=guest_invitation.created", []event.Type{event.GuestInvitationCreated, event.InvitationCreated}},
		{"type=invitation.resent&type=invitation.resent", []event.Type{event.InvitationResent}},
		{"type=invitation.accepted", []event.Type{}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := f.listEvents(org, tt.query)
			assert.Equal(t, tt.want, eventTypeList(decodeEvents(t, r)))
			if len(tt.want) == 0 {
				assert.Equal(t, "[]", string(mustResult(t, r)), "an empty page is an empty array, not null")
			}
		})
	}
	r := f.listEvents(org, "type=invitation.created,invitation.resent")
	assertProblem(t, r, http.StatusUnprocessableEntity, "validation-failed")
	assert.Equal(t, []string{"type"}, r.fieldNames(), "a comma separates nothing: one unknown type")
}

// mustResult returns the raw result member of an envelope.
func mustResult(t *testing.T, r response) json.RawMessage {
	t.Helper()
	var env struct {
		Result json.RawMessage `json:"result"`
	}
	require.NoError(t, json.Unmarshal(r.raw, &env))
	return env.Result
}

// TestEventsBadQuery checks that invalid parameters are answered as the
// invitation list answers them, naming each field as the API spells it.
func TestEventsBadQuery(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	org := uuid.New()
	f.createInvitation(org, "ada@example.com")
	tests := []struct {
		query  string
		status int
		fields []string
	}{
		{"limit=0", 422, []string{"limit"}},
		{"limit=101", 422, []string{"limit"}},
		{"limit=-1", 422, []string{"limit"}},
		{"limit=x", 400, []string{"limit"}},
		{"limit=99999999999999999999", 422, []string{"limit"}},
		{"cursor=nope", 422, []string{"cursor"}},
		{"cursor=" + validCursor + "x", 422, []string{"cursor"}},
		{"type=nope", 422, []string{"type"}},
		{"type=", 422, []string{"type"}},
		{"type=invitation.created&type=nope&type=other", 422, []string{"type"}},
		{"limit=0&type=nope&cursor=nope", 422, []string{"limit", "type", "cursor"}},
		{"limit=x&type=nope", 400, []string{"limit"}},
		{"cursor=%zz", 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := f.listEvents(org, tt.query)
			slug := "validation-failed"
			if tt.status == 400 {
				slug = "invalid-request"
			}
			assertProblem(t, r, tt.status, slug)
			if tt.fields != nil {
				assert.ElementsMatch(t, tt.fields, r.fieldNames(), "%s", r.raw)
			}
		})
	}
	r := f.listEvents(org, "cursor="+validCursor)
	assert.Equal(t, http.StatusOK, r.status, "a well-formed cursor is fine: %s", r.raw)
}

// TestEventsAuthorization checks that the route is the invitation list's
// in its authorization: credentials, the organization hook, and one
// organization's events only.
func TestEventsAuthorization(t *testing.T) {
	t.Parallel()
	f := newFixture(t, options{config: func(c *Config) {
		c.AuthorizeOrganization = func(_ context.Context, _ Principal, org uuid.UUID) error {
			if org == forbiddenOrg {
				return ErrForbidden
			}
			return nil
		}
	}})
	mine, theirs := uuid.New(), forbiddenOrg
	f.createInvitation(mine, "ada@example.com")
	_, err := f.inv.Create(context.Background(), invitation.CreateParams{OrganizationID: theirs, Email: "eve@example.com", Role: "admin"})
	require.NoError(t, err)

	assertProblem(t, f.listEvents(theirs, ""), http.StatusForbidden, "forbidden")
	assertProblem(t, f.do(request{method: http.MethodGet, path: eventsPath(mine), auth: noAuth}), http.StatusUnauthorized, "unauthenticated")
	assertProblem(t, f.do(request{method: http.MethodGet, path: "/v1/organizations/nope/events"}), http.StatusBadRequest, "invalid-request")
	evs := decodeEvents(t, f.listEvents(mine, ""))
	require.Len(t, evs, 1)
	assert.Equal(t, mine, evs[0].OrganizationID)
	assert.Empty(t, decodeEvents(t, f.listEvents(uuid.New(), "")), "an organization with no events has none")
}

// TestEventsRouteAbsent checks that without Config.Events the route is
// absent as a nil service's routes are (404), and that other methods on
// the route are 405 with Allow.
func TestEventsRouteAbsent(t *testing.T) {
	t.Parallel()
	org := uuid.New()
	f := newFixture(t, options{noEvents: true})
	assertProblem(t, f.listEvents(org, ""), http.StatusNotFound, "not-found")

	g := newFixture(t)
	r := g.do(request{method: http.MethodPost, path: eventsPath(org), body: `{}`})
	assertProblem(t, r, http.StatusMethodNotAllowed, "method-not-allowed")
	assert.Equal(t, "GET, HEAD", r.header.Get("Allow"))
}
