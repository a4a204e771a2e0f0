package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
)

// racers is how many goroutines race for one record.
const racers = 50

// race runs f on racers goroutines released at once.
func race(f func(i int) error) []error { return Race(racers, f) }

var invitationConcurrencyTests = []test{
	{"InvitationConcurrentCreates", func(t *testing.T, h *harness) {
		org := newOrg()
		errs := race(func(int) error {
			_, err := h.orgs.Create(h.ctx, invitation.CreateParams{OrganizationID: org, Email: "race@example.com", Role: "admin"})
			return err
		})
		OneWinner(t, errs, store.ErrAlreadyExists)
		list, err := h.istore.ListInvitations(h.ctx, invitation.ListQuery{OrganizationID: org, Now: h.clock.Now(), Limit: 100})
		require.NoError(t, err)
		assert.Len(t, list, 1)
	}},
	{"InvitationConcurrentAccepts", func(t *testing.T, h *harness) {
		inv, err := h.orgs.Create(h.ctx, invitation.CreateParams{OrganizationID: newOrg(), Email: "race@example.com", Role: "admin"})
		require.NoError(t, err)
		tok := h.orgs.Token(inv)
		errs := race(func(int) error {
			_, err := h.orgs.Accept(h.ctx, tok, "race@example.com")
			return err
		})
		OneWinner(t, errs, store.ErrAlreadyAccepted)
		got, err := h.orgs.Get(h.ctx, inv.OrganizationID, inv.ID)
		require.NoError(t, err)
		assert.Equal(t, invitation.StatusAccepted, got.Status)
	}},
	{"InvitationNoLostUpdates", func(t *testing.T, h *harness) {
		inv := h.createInvitation(h.newInvitation(newOrg(), "counter@example.com"))
		errs := race(func(int) error {
			_, err := h.updateInv(h.ctx, inv.OrganizationID, inv.ID, h.clock.Now(), func(i *invitation.Invitation) error {
				i.InviterID += "x"
				return nil
			})
			return err
		})
		for _, err := range errs {
			require.NoError(t, err)
		}
		got, err := h.istore.GetInvitation(h.ctx, inv.OrganizationID, inv.ID)
		require.NoError(t, err)
		assert.Equal(t, "user-42"+strings.Repeat("x", racers), got.InviterID, "every update applied to the state the last one left")
	}},
}

var guestConcurrencyTests = []test{
	{"GuestConcurrentCreates", func(t *testing.T, h *harness) {
		host := newOrg()
		errs := race(func(int) error {
			_, err := h.guest.Create(h.ctx, guest.CreateParams{HostOrganizationID: host, Email: "race@example.com", ExpiredAt: start.Add(time.Hour)})
			return err
		})
		OneWinner(t, errs, store.ErrAlreadyExists)
	}},
	{"GuestConcurrentAccepts", func(t *testing.T, h *harness) {
		inv, err := h.guest.Create(h.ctx, guest.CreateParams{HostOrganizationID: newOrg(), Email: "race@example.com", ExpiredAt: start.Add(time.Hour)})
		require.NoError(t, err)
		tok := h.guest.Token(inv)
		errs := race(func(i int) error {
			// Half present the token, half accept by ID: one wins in all.
			if i%2 == 0 {
				_, err := h.guest.AcceptByGuest(h.ctx, tok)
				return err
			}
			_, err := h.guest.AcceptBySystem(h.ctx, inv.HostOrganizationID, inv.ID)
			return err
		})
		OneWinner(t, errs, store.ErrAlreadyAccepted)
	}},
}

var invitationLifecycleTests = []test{
	{"InvitationContextCanceled", func(t *testing.T, h *harness) {
		inv := h.createInvitation(h.newInvitation(newOrg(), "ctx@example.com"))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		now := h.clock.Now()
		noop := func(*invitation.Invitation) error { return nil }

		ctxErr(t, h.createInv(ctx, h.newInvitation(newOrg(), "new@example.com"), now), "CreateInvitation")
		_, err := h.istore.GetInvitation(ctx, inv.OrganizationID, inv.ID)
		ctxErr(t, err, "GetInvitation")
		_, err = h.istore.FindInvitation(ctx, inv.ID)
		ctxErr(t, err, "FindInvitation")
		_, err = h.updateInv(ctx, inv.OrganizationID, inv.ID, now, noop)
		ctxErr(t, err, "UpdateInvitation")
		ctxErr(t, h.deleteInv(ctx, inv.OrganizationID, inv.ID), "DeleteInvitation")
		_, err = h.istore.ListInvitations(ctx, invitation.ListQuery{OrganizationID: inv.OrganizationID, Now: now, Limit: 1})
		ctxErr(t, err, "ListInvitations")
		_, err = h.istore.ListInvitationsForEmail(ctx, inv.Email, now, 1)
		ctxErr(t, err, "ListInvitationsForEmail")

		// Nothing was changed by the canceled calls.
		got, err := h.istore.GetInvitation(h.ctx, inv.OrganizationID, inv.ID)
		require.NoError(t, err)
		assert.Equal(t, inv, got)
	}},
	{"InvitationClose", func(t *testing.T, h *harness) {
		inv := h.createInvitation(h.newInvitation(newOrg(), "close@example.com"))
		require.NoError(t, h.close())
		now := h.clock.Now()
		closed := closedCheck(t)

		closed("CreateInvitation", h.createInv(h.ctx, h.newInvitation(newOrg(), "new@example.com"), now))
		_, err := h.istore.GetInvitation(h.ctx, inv.OrganizationID, inv.ID)
		closed("GetInvitation", err)
		_, err = h.istore.FindInvitation(h.ctx, inv.ID)
		closed("FindInvitation", err)
		_, err = h.updateInv(h.ctx, inv.OrganizationID, inv.ID, now, func(*invitation.Invitation) error {
			t.Error("updater called on a closed store")
			return nil
		})
		closed("UpdateInvitation", err)
		closed("DeleteInvitation", h.deleteInv(h.ctx, inv.OrganizationID, inv.ID))
		_, err = h.istore.ListInvitations(h.ctx, invitation.ListQuery{OrganizationID: inv.OrganizationID, Now: now, Limit: 1})
		closed("ListInvitations", err)
		_, err = h.istore.ListInvitationsForEmail(h.ctx, inv.Email, now, 1)
		closed("ListInvitationsForEmail", err)

		assert.NoError(t, h.close(), "Close may be called again")
	}},
}

var guestLifecycleTests = []test{
	{"GuestContextCanceled", func(t *testing.T, h *harness) {
		g := h.createGuest(h.newGuest(newOrg(), "ctx@example.com"))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		now := h.clock.Now()
		noop := func(*guest.Invitation) error { return nil }

		ctxErr(t, h.createGuestAt(ctx, h.newGuest(newOrg(), "new@example.com"), now), "CreateGuestInvitation")
		_, err := h.gstore.GetGuestInvitation(ctx, g.HostOrganizationID, g.ID)
		ctxErr(t, err, "GetGuestInvitation")
		_, err = h.gstore.FindGuestInvitation(ctx, g.ID)
		ctxErr(t, err, "FindGuestInvitation")
		_, err = h.updateGuest(ctx, g.HostOrganizationID, g.ID, now, noop)
		ctxErr(t, err, "UpdateGuestInvitation")
		ctxErr(t, h.deleteGuest(ctx, g.HostOrganizationID, g.ID), "DeleteGuestInvitation")
		_, _, err = h.gstore.ListGuestInvitations(ctx, guest.ListQuery{
			HostOrganizationID: g.HostOrganizationID, Now: now, OrderBy: guest.OrderByCreatedAt, Order: store.Desc, Limit: 1,
		})
		ctxErr(t, err, "ListGuestInvitations")

		// Nothing was changed by the canceled calls.
		got, err := h.gstore.GetGuestInvitation(h.ctx, g.HostOrganizationID, g.ID)
		require.NoError(t, err)
		assert.Equal(t, g, got)
	}},
	{"GuestClose", func(t *testing.T, h *harness) {
		g := h.createGuest(h.newGuest(newOrg(), "close@example.com"))
		require.NoError(t, h.close())
		now := h.clock.Now()
		closed := closedCheck(t)

		closed("CreateGuestInvitation", h.createGuestAt(h.ctx, h.newGuest(newOrg(), "new@example.com"), now))
		_, err := h.gstore.GetGuestInvitation(h.ctx, g.HostOrganizationID, g.ID)
		closed("GetGuestInvitation", err)
		_, err = h.gstore.FindGuestInvitation(h.ctx, g.ID)
		closed("FindGuestInvitation", err)
		_, err = h.updateGuest(h.ctx, g.HostOrganizationID, g.ID, now, func(*guest.Invitation) error {
			t.Error("updater called on a closed store")
			return nil
		})
		closed("UpdateGuestInvitation", err)
		closed("DeleteGuestInvitation", h.deleteGuest(h.ctx, g.HostOrganizationID, g.ID))
		_, _, err = h.gstore.ListGuestInvitations(h.ctx, guest.ListQuery{
			HostOrganizationID: g.HostOrganizationID, Now: now, OrderBy: guest.OrderByCreatedAt, Order: store.Desc, Limit: 1,
		})
		closed("ListGuestInvitations", err)

		assert.NoError(t, h.close(), "Close may be called again")
	}},
}

// closedCheck returns an assertion that an operation failed with
// store.ErrClosed.
func closedCheck(t *testing.T) func(op string, err error) {
	return func(op string, err error) {
		t.Helper()
		assert.ErrorIs(t, err, store.ErrClosed, "%s after Close", op)
	}
}
