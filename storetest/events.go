package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/outbox"
	"github.com/invitekit/invitekit/store"
)

// EventStore is a store of both domains with its event log and outbox,
// under test.
type EventStore interface {
	Backend
	event.Store
	outbox.Store
}

// RunEventStore runs every conformance test of the event log and the
// outbox (event.Store, outbox.Store, and the events invitation.Store and
// guest.Store append), as RunInvitationStore does for invitation.Store.
func RunEventStore(t *testing.T, newStore func(t *testing.T) EventStore) {
	t.Helper()
	run(t, [][]test{eventTests, outboxTests, lifecycleTests(), linkEventTests}, func(t *testing.T) *harness {
		s := newStore(t)
		require.NotNil(t, s, "newStore returned nil")
		h := newHarness(t, s, s, s.Close)
		h.events = s
		return h
	})
}

// events returns the events of org, newest first.
func (h *harness) eventsOf(org uuid.UUID, types ...event.Type) []event.Event {
	h.t.Helper()
	evs, err := h.events.ListEvents(h.ctx, event.ListQuery{OrganizationID: org, Types: types, Limit: 1000})
	require.NoError(h.t, err)
	return evs
}

func eventTypes(evs []event.Event) []event.Type {
	out := make([]event.Type, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type
	}
	return out
}

// claimAll claims every due event as owner, for a minute.
func (h *harness) claimAll(owner string) []outbox.Delivery {
	h.t.Helper()
	ds, err := h.events.ClaimEvents(h.ctx, owner, h.clock.Now(), time.Minute, 1000)
	require.NoError(h.t, err)
	return ds
}

func (h *harness) settle(owner string, d outbox.Delivery, state outbox.State) {
	h.t.Helper()
	require.NoError(h.t, h.events.SettleEvent(h.ctx, owner, outbox.Outcome{
		EventID: d.Event.ID, State: state, NextAttemptAt: h.clock.Now(),
	}))
}

var errHook = errors.New("storetest: the application's write failed")

var eventTests = []test{
	{"EventsRecordEveryChange", func(t *testing.T, h *harness) {
		org := newOrg()
		ctx := event.WithActor(h.ctx, "key-1")
		inv, err := h.orgs.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "ada@example.com", Role: "admin"})
		require.NoError(t, err)
		h.clock.Advance(time.Second)
		inv, err = h.orgs.Resend(ctx, org, inv.ID)
		require.NoError(t, err)
		h.clock.Advance(time.Second)
		_, err = h.orgs.Accept(h.ctx, h.orgs.Token(inv), "ada@example.com")
		require.NoError(t, err)
		h.clock.Advance(time.Second)
		require.NoError(t, h.orgs.Delete(ctx, org, inv.ID))
		other, err := h.orgs.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "bob@example.com", Role: "admin"})
		require.NoError(t, err)
		_, err = h.orgs.Revoke(ctx, org, other.ID)
		require.NoError(t, err)

		evs := h.eventsOf(org)
		assert.Equal(t, []event.Type{event.InvitationRevoked, event.InvitationCreated, event.InvitationDeleted,
			event.InvitationAccepted, event.InvitationResent, event.InvitationCreated}, eventTypes(evs), "newest first")
		for _, ev := range evs {
			assert.Equal(t, org, ev.OrganizationID)
			assert.NotContains(t, string(ev.Data), `"token"`, "events never carry a token")
		}
		accepted := evs[3]
		assert.Nil(t, accepted.ActorID, "the accept ran without an actor")
		require.NotNil(t, evs[0].ActorID)
		assert.Equal(t, "key-1", *evs[0].ActorID)
		assert.Equal(t, inv.ID, accepted.InvitationID)
		assert.Equal(t, start.Add(2*time.Second), accepted.OccurredAt)
		var data invitation.View
		require.NoError(t, json.Unmarshal(accepted.Data, &data))
		assert.Equal(t, invitation.StatusAccepted, data.Status, "data is the invitation after the change")
		assert.Equal(t, inv.ID.String(), data.ID)
		assert.Equal(t, []invitation.AssignedRole{{RoleID: invitation.AdminRoleID.String(), RoleName: "admin", RoleType: invitation.RoleTypeSystem}},
			data.AssignedRoles, "data carries the assigned roles")
		var deleted invitation.View
		require.NoError(t, json.Unmarshal(evs[2].Data, &deleted))
		assert.Equal(t, invitation.StatusAccepted, deleted.Status, "a deletion carries the deleted invitation")
	}},
	{"GuestEventsRecordEveryChange", func(t *testing.T, h *harness) {
		host := newOrg()
		g, err := h.guest.Create(h.ctx, guest.CreateParams{HostOrganizationID: host, Email: "gus@example.com", ExpiredAt: start.Add(time.Hour)})
		require.NoError(t, err)
		_, err = h.guest.SetArchived(h.ctx, host, g.ID, false)
		require.NoError(t, err)
		assert.Len(t, h.eventsOf(host), 1, "a change that changes nothing records nothing")
		_, err = h.guest.SetArchived(h.ctx, host, g.ID, true)
		require.NoError(t, err)
		_, err = h.guest.SetArchived(h.ctx, host, g.ID, false)
		require.NoError(t, err)
		g, err = h.guest.Resend(h.ctx, host, g.ID, nil)
		require.NoError(t, err)
		_, err = h.guest.AcceptByGuest(h.ctx, h.guest.Token(g))
		require.NoError(t, err)
		require.NoError(t, h.guest.Delete(h.ctx, host, g.ID))

		evs := h.eventsOf(host)
		assert.Equal(t, []event.Type{event.GuestInvitationDeleted, event.GuestInvitationAccepted, event.GuestInvitationResent,
			event.GuestInvitationUnarchived, event.GuestInvitationArchived, event.GuestInvitationCreated}, eventTypes(evs))
		var data guest.View
		require.NoError(t, json.Unmarshal(evs[1].Data, &data))
		assert.Equal(t, guest.StatusAcceptedByGuest, data.Status, "data.status says who accepted")
		assert.Empty(t, data.InvitationToken, "events never carry a token")
	}},
	{"EventRoundTrip", func(t *testing.T, h *harness) {
		org := newOrg()
		inv := h.newInvitation(org, "ada@example.com")
		actor := "user \"1\" ü"
		ev := event.Event{ID: uuid.Must(uuid.NewV7()), Type: event.InvitationCreated, OrganizationID: org, InvitationID: inv.ID,
			ActorID: &actor, OccurredAt: start, Data: json.RawMessage(`{"b": 1,  "a":[true, null, "\u00fc"]}`)}
		require.NoError(t, h.istore.CreateInvitation(h.ctx, inv, start, ev))
		assert.Equal(t, []event.Event{ev}, h.eventsOf(org), "every field, the data byte for byte")
	}},
	{"FailingUpdaterLeavesNoEvent", func(t *testing.T, h *harness) {
		org := newOrg()
		inv := h.createInvitation(h.newInvitation(org, "ada@example.com"))
		before := h.eventsOf(org)
		_, err := h.istore.UpdateInvitation(h.ctx, org, inv.ID, h.clock.Now(), store.Limits{}, func(_ context.Context, i *invitation.Invitation) (event.Event, error) {
			i.Status = invitation.StatusRevoked
			return NewEvent(event.InvitationRevoked), errUpdater
		})
		require.ErrorIs(t, err, errUpdater)
		assert.Equal(t, before, h.eventsOf(org))
		got, err := h.istore.GetInvitation(h.ctx, org, inv.ID)
		require.NoError(t, err)
		assert.Equal(t, invitation.StatusPending, got.Status)

		err = h.istore.DeleteInvitation(h.ctx, org, inv.ID, func(invitation.Invitation) (event.Event, error) { return event.Event{}, errUpdater })
		require.ErrorIs(t, err, errUpdater)
		_, err = h.istore.GetInvitation(h.ctx, org, inv.ID)
		assert.NoError(t, err, "a refused deletion removes nothing")
		assert.Equal(t, before, h.eventsOf(org))
	}},
	{"FailingAcceptHookLeavesInvitationPending", func(t *testing.T, h *harness) {
		org := newOrg()
		inv, err := h.orgs.Create(h.ctx, invitation.CreateParams{OrganizationID: org, Email: "ada@example.com", Role: "admin"})
		require.NoError(t, err)
		var seen invitation.Invitation
		_, err = h.orgs.Accept(h.ctx, h.orgs.Token(inv), "ada@example.com", func(_ context.Context, i invitation.Invitation) error {
			seen = i
			return errHook
		})
		require.ErrorIs(t, err, errHook)
		assert.Equal(t, invitation.StatusAccepted, seen.Status, "the hook sees the accepted invitation")
		got, err := h.orgs.Get(h.ctx, org, inv.ID)
		require.NoError(t, err)
		assert.Equal(t, invitation.StatusPending, got.Status)
		assert.Equal(t, []event.Type{event.InvitationCreated}, eventTypes(h.eventsOf(org)))

		calls := 0
		_, err = h.orgs.Accept(h.ctx, h.orgs.Token(inv), "ada@example.com", func(context.Context, invitation.Invitation) error {
			calls++
			return nil
		})
		require.NoError(t, err, "the token still works")
		assert.Equal(t, 1, calls)
		assert.Equal(t, []event.Type{event.InvitationAccepted, event.InvitationCreated}, eventTypes(h.eventsOf(org)))

		host := newOrg()
		g, err := h.guest.Create(h.ctx, guest.CreateParams{HostOrganizationID: host, Email: "gus@example.com", ExpiredAt: start.Add(time.Hour)})
		require.NoError(t, err)
		refuse := func(context.Context, guest.Invitation) error { return errHook }
		_, err = h.guest.AcceptByGuest(h.ctx, h.guest.Token(g), refuse)
		require.ErrorIs(t, err, errHook)
		_, err = h.guest.AcceptBySystem(h.ctx, host, g.ID, refuse)
		require.ErrorIs(t, err, errHook)
		got2, err := h.guest.Get(h.ctx, host, g.ID)
		require.NoError(t, err)
		assert.Equal(t, guest.StatusSent, got2.Status)
		assert.Equal(t, []event.Type{event.GuestInvitationCreated}, eventTypes(h.eventsOf(host)))
	}},
	{"PanickingHookLeavesStoreUsable", func(t *testing.T, h *harness) {
		org := newOrg()
		inv, err := h.orgs.Create(h.ctx, invitation.CreateParams{OrganizationID: org, Email: "ada@example.com", Role: "admin"})
		require.NoError(t, err)
		assert.Panics(t, func() {
			_, _ = h.orgs.Accept(h.ctx, h.orgs.Token(inv), "ada@example.com", func(context.Context, invitation.Invitation) error {
				panic("the application's bug")
			})
		})
		got, err := h.orgs.Revoke(h.ctx, org, inv.ID)
		require.NoError(t, err, "the store writes after the panic")
		assert.Equal(t, invitation.StatusRevoked, got.Status)
		assert.Equal(t, []event.Type{event.InvitationRevoked, event.InvitationCreated}, eventTypes(h.eventsOf(org)),
			"nothing of the panicked accept was recorded")
	}},
	{"NegativeLimitsReturnNothing", func(t *testing.T, h *harness) {
		org := newOrg()
		_, err := h.orgs.Create(h.ctx, invitation.CreateParams{OrganizationID: org, Email: "ada@example.com", Role: "admin"})
		require.NoError(t, err)
		evs, err := h.events.ListEvents(h.ctx, event.ListQuery{OrganizationID: org, Limit: -1})
		require.NoError(t, err)
		assert.Empty(t, evs)
		dead, err := h.events.ListDeadEvents(h.ctx, nil, -1)
		require.NoError(t, err)
		assert.Empty(t, dead)
		claimed, err := h.events.ClaimEvents(h.ctx, "r1", h.clock.Now(), time.Minute, -1)
		require.NoError(t, err)
		assert.Empty(t, claimed)
	}},
	{"ConcurrentAcceptsRecordOneEvent", func(t *testing.T, h *harness) {
		org := newOrg()
		inv, err := h.orgs.Create(h.ctx, invitation.CreateParams{OrganizationID: org, Email: "ada@example.com", Role: "admin"})
		require.NoError(t, err)
		tok := h.orgs.Token(inv)
		errs := Race(50, func(int) error {
			_, err := h.orgs.Accept(h.ctx, tok, "ada@example.com")
			return err
		})
		OneWinner(t, errs, store.ErrAlreadyAccepted)
		assert.Len(t, h.eventsOf(org, event.InvitationAccepted), 1)
	}},
	{"EventInstantsFollowCommitOrder", func(t *testing.T, h *harness) {
		// A clock that moves on at every reading: concurrent changes read
		// it in one order and take the invitation's lock in another.
		ticking := NewClock(start)
		orgs, err := invitation.NewService(invitation.Config{Store: h.istore, Keys: [][]byte{key},
			Clock: func() time.Time {
				ticking.Advance(time.Microsecond)
				now := ticking.Now()
				runtime.Gosched() // let another change read the clock before this one locks
				return now
			}})
		require.NoError(t, err)
		org := newOrg()
		inv, err := orgs.Create(h.ctx, invitation.CreateParams{OrganizationID: org, Email: "ada@example.com", Role: "admin"})
		require.NoError(t, err)
		for _, err := range Race(20, func(int) error {
			_, err := orgs.Resend(h.ctx, org, inv.ID)
			return err
		}) {
			require.NoError(t, err)
		}
		// Delivery order is commit order: drain it.
		var delivered []event.Event
		for {
			ds, err := h.events.ClaimEvents(h.ctx, "r1", ticking.Now(), time.Minute, 10)
			require.NoError(t, err)
			if len(ds) == 0 {
				break
			}
			require.Len(t, ds, 1, "one event of the invitation at a time")
			delivered = append(delivered, ds[0].Event)
			require.NoError(t, h.events.SettleEvent(h.ctx, "r1", outbox.Outcome{EventID: ds[0].Event.ID, State: outbox.StateDelivered}))
		}
		require.Len(t, delivered, 21)
		for i := 1; i < len(delivered); i++ {
			assert.True(t, delivered[i-1].OccurredAt.Before(delivered[i].OccurredAt),
				"event %d of the commit order happened after event %d", i-1, i)
		}
	}},
	{"ListEventsPagesFiltersAndIsolates", func(t *testing.T, h *harness) {
		org, other := newOrg(), newOrg()
		for i := range 5 {
			inv, err := h.orgs.Create(h.ctx, invitation.CreateParams{OrganizationID: org, Email: fmt.Sprintf("u%d@example.com", i), Role: "admin"})
			require.NoError(t, err)
			if i%2 == 0 {
				_, err = h.orgs.Revoke(h.ctx, org, inv.ID)
				require.NoError(t, err)
			}
		}
		_, err := h.orgs.Create(h.ctx, invitation.CreateParams{OrganizationID: other, Email: "x@example.com", Role: "admin"})
		require.NoError(t, err)

		all := h.eventsOf(org)
		require.Len(t, all, 8, "only the organization's own events")
		for i := 1; i < len(all); i++ {
			newer := store.Cursor{CreatedAt: all[i-1].OccurredAt, ID: all[i-1].ID}
			assert.True(t, newer.Before(all[i].OccurredAt, all[i].ID), "newest first at %d", i)
		}
		assert.Len(t, h.eventsOf(org, event.InvitationRevoked), 3)
		assert.Len(t, h.eventsOf(org, event.InvitationRevoked, event.InvitationCreated), 8)

		var paged []event.Event
		q := event.ListQuery{OrganizationID: org, Limit: 3}
		for {
			page, err := h.events.ListEvents(h.ctx, q)
			require.NoError(t, err)
			paged = append(paged, page...)
			if len(page) < q.Limit {
				break
			}
			last := page[len(page)-1]
			q.After = &store.Cursor{CreatedAt: last.OccurredAt, ID: last.ID}
		}
		assert.Equal(t, all, paged, "keyset pages neither repeat nor skip")
	}},
}

var outboxTests = []test{
	{"ClaimsFollowEachInvitationsOrder", func(t *testing.T, h *harness) {
		org := newOrg()
		a, err := h.orgs.Create(h.ctx, invitation.CreateParams{OrganizationID: org, Email: "a@example.com", Role: "admin"})
		require.NoError(t, err)
		b, err := h.orgs.Create(h.ctx, invitation.CreateParams{OrganizationID: org, Email: "b@example.com", Role: "admin"})
		require.NoError(t, err)
		_, err = h.orgs.Resend(h.ctx, org, a.ID)
		require.NoError(t, err)
		_, err = h.orgs.Revoke(h.ctx, org, a.ID)
		require.NoError(t, err)

		first := h.claimAll("r1")
		require.Len(t, first, 2, "one event per invitation at a time")
		assert.Equal(t, event.InvitationCreated, first[0].Event.Type)
		assert.Equal(t, a.ID, first[0].Event.InvitationID)
		assert.Equal(t, b.ID, first[1].Event.InvitationID)
		assert.Zero(t, first[0].Attempts, "a claim is not an attempt")
		assert.Empty(t, h.claimAll("r2"), "leased events are not claimed twice")

		h.settle("r1", first[0], outbox.StateDelivered)
		next := h.claimAll("r2")
		require.Len(t, next, 1)
		assert.Equal(t, event.InvitationResent, next[0].Event.Type, "the next of a, in order")
		h.settle("r2", next[0], outbox.StateDelivered)
		last := h.claimAll("r2")
		require.Len(t, last, 1)
		assert.Equal(t, event.InvitationRevoked, last[0].Event.Type)
	}},
	{"PendingRetryHoldsBackLaterEvents", func(t *testing.T, h *harness) {
		org := newOrg()
		a, err := h.orgs.Create(h.ctx, invitation.CreateParams{OrganizationID: org, Email: "a@example.com", Role: "admin"})
		require.NoError(t, err)
		_, err = h.orgs.Revoke(h.ctx, org, a.ID)
		require.NoError(t, err)
		d := h.claimAll("r1")
		require.Len(t, d, 1)
		require.NoError(t, h.events.SettleEvent(h.ctx, "r1", outbox.Outcome{EventID: d[0].Event.ID, State: outbox.StatePending,
			Acked: []string{"mail"}, NextAttemptAt: start.Add(time.Minute), Attempts: 1, Error: "receiver down"}))
		assert.Empty(t, h.claimAll("r1"), "not due yet, and the revocation waits for it")
		h.clock.Advance(time.Minute)
		again := h.claimAll("r1")
		require.Len(t, again, 1)
		assert.Equal(t, d[0].Event, again[0].Event)
		assert.Equal(t, 1, again[0].Attempts, "as settled")
		assert.Equal(t, []string{"mail"}, again[0].Acked)
		assert.Equal(t, "receiver down", again[0].LastError)

		h.settle("r1", again[0], outbox.StateDead)
		next := h.claimAll("r1")
		require.Len(t, next, 1, "a dead event no longer holds back its successors")
		assert.Equal(t, event.InvitationRevoked, next[0].Event.Type)
	}},
	{"ExpiredLeaseIsClaimedAgain", func(t *testing.T, h *harness) {
		org := newOrg()
		_, err := h.orgs.Create(h.ctx, invitation.CreateParams{OrganizationID: org, Email: "a@example.com", Role: "admin"})
		require.NoError(t, err)
		d := h.claimAll("crashed")
		require.Len(t, d, 1)
		h.clock.Advance(time.Minute)
		again := h.claimAll("r2")
		require.Len(t, again, 1, "the crashed relay's lease ran out")
		err = h.events.SettleEvent(h.ctx, "crashed", outbox.Outcome{EventID: d[0].Event.ID, State: outbox.StateDelivered})
		assert.ErrorIs(t, err, outbox.ErrLeaseLost)
		h.settle("r2", again[0], outbox.StateDelivered)
		err = h.events.SettleEvent(h.ctx, "r2", outbox.Outcome{EventID: d[0].Event.ID, State: outbox.StateDelivered})
		assert.ErrorIs(t, err, outbox.ErrLeaseLost, "a settled event is settled once")
		err = h.events.SettleEvent(h.ctx, "r2", outbox.Outcome{EventID: uuid.New(), State: outbox.StateDelivered})
		assert.ErrorIs(t, err, store.ErrNotFound)
	}},
	{"ConcurrentClaimsNeverShareAnEvent", func(t *testing.T, h *harness) {
		org := newOrg()
		for i := range 40 {
			_, err := h.orgs.Create(h.ctx, invitation.CreateParams{OrganizationID: org, Email: fmt.Sprintf("u%d@example.com", i), Role: "admin"})
			require.NoError(t, err)
		}
		claimed := make([][]outbox.Delivery, 8)
		errs := Race(8, func(i int) error {
			var err error
			claimed[i], err = h.events.ClaimEvents(h.ctx, fmt.Sprint("r", i), h.clock.Now(), time.Minute, 7)
			return err
		})
		seen := map[uuid.UUID]int{}
		for i, err := range errs {
			require.NoError(t, err)
			for _, d := range claimed[i] {
				seen[d.Event.ID]++
			}
		}
		assert.Len(t, seen, 40, "every event claimed")
		for id, n := range seen {
			assert.Equal(t, 1, n, "event %s claimed once", id)
		}
	}},
	{"DeadEventsListAndRetry", func(t *testing.T, h *harness) {
		org := newOrg()
		for i := range 3 {
			_, err := h.orgs.Create(h.ctx, invitation.CreateParams{OrganizationID: org, Email: fmt.Sprintf("u%d@example.com", i), Role: "admin"})
			require.NoError(t, err)
			h.clock.Advance(time.Second)
		}
		ds := h.claimAll("r1")
		require.Len(t, ds, 3)
		for _, d := range ds {
			h.settle("r1", d, outbox.StateDead)
		}
		dead, err := h.events.ListDeadEvents(h.ctx, nil, 2)
		require.NoError(t, err)
		require.Len(t, dead, 2)
		assert.Equal(t, ds[0].Event, dead[0].Event, "oldest first")
		assert.Equal(t, outbox.StateDead, dead[0].State)
		rest, err := h.events.ListDeadEvents(h.ctx, &store.Cursor{CreatedAt: dead[1].Event.OccurredAt, ID: dead[1].Event.ID}, 2)
		require.NoError(t, err)
		require.Len(t, rest, 1)
		assert.Equal(t, ds[2].Event, rest[0].Event)

		require.NoError(t, h.events.RetryEvent(h.ctx, ds[1].Event.ID, h.clock.Now()))
		assert.ErrorIs(t, h.events.RetryEvent(h.ctx, ds[1].Event.ID, h.clock.Now()), store.ErrNotFound, "no longer dead")
		assert.ErrorIs(t, h.events.RetryEvent(h.ctx, uuid.New(), h.clock.Now()), store.ErrNotFound)
		again := h.claimAll("r1")
		require.Len(t, again, 1)
		assert.Equal(t, ds[1].Event, again[0].Event)
		assert.Zero(t, again[0].Attempts, "a retried event starts counting again")
	}},
	{"ListenerWakesOnCommit", func(t *testing.T, h *harness) {
		l, ok := h.events.(outbox.Listener)
		if !ok {
			t.Skip("the store does not implement outbox.Listener")
		}
		ctx, cancel := context.WithCancel(h.ctx)
		defer cancel()
		ch, err := l.ListenEvents(ctx)
		require.NoError(t, err)
		_, err = h.orgs.Create(h.ctx, invitation.CreateParams{OrganizationID: newOrg(), Email: "a@example.com", Role: "admin"})
		require.NoError(t, err)
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("no wake-up within 10s of a commit")
		}
	}},
}
