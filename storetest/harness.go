package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/link"
	"github.com/invitekit/invitekit/outbox"
	"github.com/invitekit/invitekit/store"
)

// start is the fake clock's first reading: microsecond precision, like
// every time the services hand a store.
var start = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

// key is the token signing key of the suite's services.
var key = bytes.Repeat([]byte{7}, 32)

// harness is one subtest's store, clock and services. Only the domain
// under test has its store and service.
type harness struct {
	t      *testing.T
	ctx    context.Context
	istore invitation.Store
	gstore guest.Store
	close  func() error
	clock  *Clock
	orgs   *invitation.Service
	guest  *guest.Service
	// lstore and links are the link store and service, in the link
	// suite.
	lstore link.Store
	links  *link.Service
	// events is the store's event log and outbox, in the event suite.
	events interface {
		event.Store
		outbox.Store
	}
}

func newHarness(t *testing.T, is invitation.Store, gs guest.Store, close func() error) *harness {
	t.Helper()
	h := &harness{t: t, ctx: context.Background(), istore: is, gstore: gs, close: close, clock: NewClock(start)}
	var err error
	if is != nil {
		h.orgs, err = invitation.NewService(invitation.Config{Store: is, Keys: [][]byte{key}, Clock: h.clock.Now})
		require.NoError(t, err)
	}
	if gs != nil {
		h.guest, err = guest.NewService(guest.Config{Store: gs, Keys: [][]byte{key}, Clock: h.clock.Now})
		require.NoError(t, err)
	}
	return h
}

// test is one behaviour of the contract.
type test struct {
	name string
	run  func(t *testing.T, h *harness)
}

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }

// newOrg returns a fresh organization ID.
func newOrg() uuid.UUID { return uuid.New() }

// sameList asserts that got lists exactly want, in order; an empty list may
// be nil or not, as callers cannot tell the two apart by ranging.
func sameList[T any](t *testing.T, want, got []T, msgAndArgs ...any) {
	t.Helper()
	if len(want) == 0 {
		assert.Empty(t, got, msgAndArgs...)
		return
	}
	assert.Equal(t, want, got, msgAndArgs...)
}

// The store calls of tests that are about records, not events: each
// records a plain event (see NewEvent, Change, Deleted).

func (h *harness) createInv(ctx context.Context, inv invitation.Invitation, now time.Time) error {
	return h.istore.CreateInvitation(ctx, inv, now, NewEvent(event.InvitationCreated))
}

func (h *harness) updateInv(ctx context.Context, org, id uuid.UUID, now time.Time, f func(*invitation.Invitation) error) (invitation.Invitation, error) {
	return h.istore.UpdateInvitation(ctx, org, id, now, store.Limits{}, Change(f))
}

func (h *harness) deleteInv(ctx context.Context, org, id uuid.UUID) error {
	return h.istore.DeleteInvitation(ctx, org, id, Deleted[invitation.Invitation])
}

func (h *harness) createGuestAt(ctx context.Context, inv guest.Invitation, now time.Time) error {
	return h.gstore.CreateGuestInvitation(ctx, inv, now, NewEvent(event.GuestInvitationCreated))
}

func (h *harness) updateGuest(ctx context.Context, host, id uuid.UUID, now time.Time, f func(*guest.Invitation) error) (guest.Invitation, error) {
	return h.gstore.UpdateGuestInvitation(ctx, host, id, now, store.Limits{}, Change(f))
}

func (h *harness) deleteGuest(ctx context.Context, host, id uuid.UUID) error {
	return h.gstore.DeleteGuestInvitation(ctx, host, id, Deleted[guest.Invitation])
}

// mustJSON returns v's JSON.
func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
