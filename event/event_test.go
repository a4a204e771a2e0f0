package event_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/store"
)

func TestEventJSONShape(t *testing.T) {
	t.Parallel()
	actor := "key-1"
	ev := event.Event{
		ID:             uuid.MustParse("01900000-0000-7000-8000-000000000001"),
		Type:           event.InvitationAccepted,
		OrganizationID: uuid.MustParse("0b5f8a34-1111-4c1e-9d55-3f2f6a1e2b7c"),
		InvitationID:   uuid.MustParse("01900000-0000-7000-8000-000000000002"),
		ActorID:        &actor,
		OccurredAt:     time.Date(2026, 11, 22, 10, 0, 0, 123456000, time.UTC),
		Data:           json.RawMessage(`{"status":"accepted"}`),
	}
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"01900000-0000-7000-8000-000000000001","type":"invitation.accepted",
		"organizationId":"0b5f8a34-1111-4c1e-9d55-3f2f6a1e2b7c","invitationId":"01900000-0000-7000-8000-000000000002",
		"actorId":"key-1","occurredAt":"2026-11-22T10:00:00.123456Z","data":{"status":"accepted"}}`, string(b))

	ev.ActorID = nil
	b, err = json.Marshal(ev)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"actorId":null`, "no actor is null, not absent")

	var back event.Event
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, ev, back, "the JSON round-trips")
}

func TestTypes(t *testing.T) {
	t.Parallel()
	assert.Len(t, event.Types, 16)
	for _, typ := range event.Types {
		assert.True(t, typ.Valid(), typ)
	}
	assert.False(t, event.Type("invitation.nope").Valid())
	assert.False(t, event.Type("").Valid())
}

func TestActor(t *testing.T) {
	t.Parallel()
	assert.Nil(t, event.Actor(context.Background()))
	got := event.Actor(event.WithActor(context.Background(), "user-7"))
	require.NotNil(t, got)
	assert.Equal(t, "user-7", *got)
}

func TestLogValidatesBeforeReading(t *testing.T) {
	t.Parallel()
	log := event.NewLog(memstore.New())
	for name, tc := range map[string]struct {
		opts  event.ListOptions
		field string
	}{
		"unknown type":   {event.ListOptions{Types: []event.Type{event.InvitationCreated, "x"}}, event.FieldTypes},
		"bad cursor":     {event.ListOptions{Cursor: "not-a-cursor"}, event.FieldCursor},
		"limit too big":  {event.ListOptions{Limit: event.MaxLimit + 1}, event.FieldLimit},
		"negative limit": {event.ListOptions{Limit: -1}, event.FieldLimit},
	} {
		_, err := log.List(context.Background(), uuid.New(), tc.opts)
		var verr *store.ValidationError
		require.True(t, errors.As(err, &verr), name)
		require.Len(t, verr.Fields, 1, name)
		assert.Equal(t, tc.field, verr.Fields[0].Field, name)
		assert.Equal(t, err, tc.opts.Validate(), name)
	}
	assert.NoError(t, event.ListOptions{Types: []event.Type{event.InvitationCreated}, Limit: 5}.Validate())
}

// fakeStore returns the events it holds, as a store would, and records the
// query it was asked.
type fakeStore struct {
	evs  []event.Event
	last event.ListQuery
}

func (f *fakeStore) ListEvents(_ context.Context, q event.ListQuery) ([]event.Event, error) {
	f.last = q
	var out []event.Event
	for _, ev := range f.evs {
		if q.Matches(ev) && len(out) < q.Limit {
			out = append(out, ev)
		}
	}
	return out, nil
}

func TestLogPages(t *testing.T) {
	t.Parallel()
	org := uuid.New()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := &fakeStore{}
	for i := 5; i > 0; i-- { // newest first, as stores return them
		f.evs = append(f.evs, event.Event{ID: uuid.New(), Type: event.InvitationCreated, OrganizationID: org, OccurredAt: t0.Add(time.Duration(i) * time.Second)})
	}
	log := event.NewLog(f)
	ctx := context.Background()
	p, err := log.List(ctx, org, event.ListOptions{Limit: 2, Types: []event.Type{event.InvitationCreated, event.InvitationCreated}})
	require.NoError(t, err)
	assert.Equal(t, f.evs[:2], p.Events)
	assert.Equal(t, []event.Type{event.InvitationCreated}, f.last.Types, "each type once")
	var all []event.Event
	for opts := (event.ListOptions{Limit: 2}); ; {
		p, err := log.List(ctx, org, opts)
		require.NoError(t, err)
		all = append(all, p.Events...)
		if p.Next == "" {
			break
		}
		opts.Cursor = p.Next
	}
	assert.Equal(t, f.evs, all)
}

// An organization's events, newest first: every change an invitation went
// through, and who made it.
func ExampleLog() {
	s := memstore.New()
	orgs, err := invitation.NewService(invitation.Config{Store: s, Keys: [][]byte{bytes.Repeat([]byte{1}, 32)}})
	if err != nil {
		panic(err)
	}
	ctx := event.WithActor(context.Background(), "key-1") // the HTTP adapter does this per request
	org := uuid.New()
	inv, err := orgs.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "ada@example.com", Role: "admin"})
	if err != nil {
		panic(err)
	}
	if _, err := orgs.Revoke(ctx, org, inv.ID); err != nil {
		panic(err)
	}
	page, err := event.NewLog(s).List(context.Background(), org, event.ListOptions{})
	if err != nil {
		panic(err)
	}
	for _, ev := range page.Events {
		fmt.Println(ev.Type, *ev.ActorID)
	}
	// Output:
	// invitation.revoked key-1
	// invitation.created key-1
}
