package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
)

// The claim tests check "at most one open invitation per organization and
// email" across time: whether an invitation is open depends on the now of
// each call, so an invitation that was open when written may have expired
// since, and must then block nothing. A store that records which
// invitation holds an email (as the SQL stores do, in a unique index that
// cannot read the clock) has to release such stale holds as it goes; these
// are the paths where it must.

// Times of the claim tests: an invitation created at start that expires at
// hour1 has expired by hour2.
var (
	hour1 = start.Add(time.Hour)
	hour2 = start.Add(2 * time.Hour)
	hour3 = start.Add(3 * time.Hour)
	hour4 = start.Add(4 * time.Hour)
)

// invitationExpiring returns h.newInvitation with ExpireAt set.
func (h *harness) invitationExpiring(org uuid.UUID, email string, expireAt time.Time) invitation.Invitation {
	inv := h.newInvitation(org, email)
	inv.ExpireAt = expireAt
	return inv
}

// guestExpiring returns h.newGuest with ExpiredAt set.
func (h *harness) guestExpiring(host uuid.UUID, email string, expiredAt time.Time) guest.Invitation {
	inv := h.newGuest(host, email)
	inv.ExpiredAt = expiredAt
	return inv
}

// reopenInvitation is a resend: the invitation is sent again and lives
// two more hours.
func reopenInvitation(now time.Time) func(*invitation.Invitation) error {
	return func(i *invitation.Invitation) error {
		i.SentAt, i.ExpireAt = now, now.Add(2*time.Hour)
		return nil
	}
}

// reopenGuest is a resend: the invitation is sent again and lives two more
// hours.
func reopenGuest(now time.Time) func(*guest.Invitation) error {
	return func(g *guest.Invitation) error {
		g.LastInvitationSentAt, g.ExpiredAt, g.UpdatedAt = now, now.Add(2*time.Hour), now
		return nil
	}
}

func unarchive(g *guest.Invitation) error {
	g.Archived, g.ArchivedAt = false, nil
	return nil
}

var invitationClaimTests = []test{
	{"InvitationCreateAfterHolderExpired", func(t *testing.T, h *harness) {
		org, email := newOrg(), "claim@example.com"
		first := h.createInvitation(h.invitationExpiring(org, email, hour1))
		h.clock.Set(hour2)
		h.createInvitation(h.newInvitation(org, email))
		err := h.createInv(h.ctx, h.newInvitation(org, email), h.clock.Now())
		assert.ErrorIs(t, err, store.ErrAlreadyExists, "the new open invitation blocks the next one")
		got, err := h.istore.GetInvitation(h.ctx, org, first.ID)
		require.NoError(t, err)
		assert.Equal(t, first, got, "the expired invitation is unchanged")
	}},
	{"InvitationReopenAfterHolderExpired", func(t *testing.T, h *harness) {
		org, email := newOrg(), "reopen@example.com"
		old := h.createInvitation(h.invitationExpiring(org, email, hour1))
		h.clock.Set(hour2)
		newer := h.createInvitation(h.invitationExpiring(org, email, hour3))

		_, err := h.updateInv(h.ctx, org, old.ID, hour2, reopenInvitation(hour2))
		assert.ErrorIs(t, err, store.ErrAlreadyExists, "reopening while the newer one is open")
		got, err := h.istore.GetInvitation(h.ctx, org, old.ID)
		require.NoError(t, err)
		assert.Equal(t, old, got, "a refused update writes nothing")

		// Once the newer one has expired, the old one can open again, and
		// then blocks a create.
		h.clock.Set(hour4)
		reopened, err := h.updateInv(h.ctx, org, old.ID, hour4, reopenInvitation(hour4))
		require.NoError(t, err)
		assert.Equal(t, hour4.Add(2*time.Hour), reopened.ExpireAt)
		err = h.createInv(h.ctx, h.newInvitation(org, email), hour4)
		assert.ErrorIs(t, err, store.ErrAlreadyExists, "the reopened invitation blocks a new one")
		got, err = h.istore.GetInvitation(h.ctx, org, newer.ID)
		require.NoError(t, err)
		assert.Equal(t, newer, got, "the expired invitation is unchanged")
	}},
}

var guestClaimTests = []test{
	{"GuestCreateAfterHolderExpired", func(t *testing.T, h *harness) {
		host, email := newOrg(), "claim@example.com"
		first := h.createGuest(h.guestExpiring(host, email, hour1))
		h.clock.Set(hour2)
		h.createGuest(h.newGuest(host, email))
		err := h.createGuestAt(h.ctx, h.newGuest(host, email), h.clock.Now())
		assert.ErrorIs(t, err, store.ErrAlreadyExists, "the new open invitation blocks the next one")
		got, err := h.gstore.GetGuestInvitation(h.ctx, host, first.ID)
		require.NoError(t, err)
		assert.Equal(t, first, got, "the expired invitation is unchanged")
	}},
	{"GuestReviveExpired", func(t *testing.T, h *harness) {
		host, email := newOrg(), "revive@example.com"
		old := h.createGuest(h.guestExpiring(host, email, hour1))
		h.clock.Set(hour2)
		revived, err := h.updateGuest(h.ctx, host, old.ID, hour2, reopenGuest(hour2))
		require.NoError(t, err, "no other invitation of the email is open")
		assert.True(t, revived.Open(hour2))
		err = h.createGuestAt(h.ctx, h.newGuest(host, email), hour2)
		assert.ErrorIs(t, err, store.ErrAlreadyExists, "the revived invitation blocks a new one")
	}},
	{"GuestReviveAfterHolderExpired", func(t *testing.T, h *harness) {
		host, email := newOrg(), "revive@example.com"
		old := h.createGuest(h.guestExpiring(host, email, hour1))
		h.clock.Set(hour2)
		newer := h.createGuest(h.guestExpiring(host, email, hour3))

		_, err := h.updateGuest(h.ctx, host, old.ID, hour2, reopenGuest(hour2))
		assert.ErrorIs(t, err, store.ErrAlreadyExists, "reviving while the newer one is open")
		got, err := h.gstore.GetGuestInvitation(h.ctx, host, old.ID)
		require.NoError(t, err)
		assert.Equal(t, old, got, "a refused update writes nothing")

		h.clock.Set(hour4)
		_, err = h.updateGuest(h.ctx, host, old.ID, hour4, reopenGuest(hour4))
		require.NoError(t, err, "the newer one has expired")
		err = h.createGuestAt(h.ctx, h.newGuest(host, email), hour4)
		assert.ErrorIs(t, err, store.ErrAlreadyExists, "the revived invitation blocks a new one")
		got, err = h.gstore.GetGuestInvitation(h.ctx, host, newer.ID)
		require.NoError(t, err)
		assert.Equal(t, newer, got, "the expired invitation is unchanged")
	}},
	{"GuestUnarchiveAfterHolderExpired", func(t *testing.T, h *harness) {
		host, email := newOrg(), "unarchive@example.com"
		archived := h.guestExpiring(host, email, hour3)
		archived.Archived, archived.ArchivedAt = true, ptr(start)
		h.createGuest(archived)
		h.createGuest(h.guestExpiring(host, email, hour1))

		_, err := h.updateGuest(h.ctx, host, archived.ID, start, unarchive)
		assert.ErrorIs(t, err, store.ErrAlreadyExists, "unarchiving while the other is open")
		h.clock.Set(hour2)
		_, err = h.updateGuest(h.ctx, host, archived.ID, hour2, unarchive)
		require.NoError(t, err, "the other has expired")
		err = h.createGuestAt(h.ctx, h.newGuest(host, email), hour2)
		assert.ErrorIs(t, err, store.ErrAlreadyExists, "the unarchived invitation blocks a new one")
	}},
	{"GuestUnarchiveAfterHolderAccepted", func(t *testing.T, h *harness) {
		host, email := newOrg(), "unarchive@example.com"
		archived := h.newGuest(host, email)
		archived.Archived, archived.ArchivedAt = true, ptr(start)
		h.createGuest(archived)
		other := h.createGuest(h.newGuest(host, email))

		_, err := h.updateGuest(h.ctx, host, other.ID, start, func(g *guest.Invitation) error {
			g.Status, g.AcceptedAt = guest.StatusAcceptedBySystem, ptr(start)
			return nil
		})
		require.NoError(t, err)
		_, err = h.updateGuest(h.ctx, host, archived.ID, start, unarchive)
		require.NoError(t, err, "the other is accepted")
		err = h.createGuestAt(h.ctx, h.newGuest(host, email), start)
		assert.ErrorIs(t, err, store.ErrAlreadyExists, "the unarchived invitation blocks a new one")
	}},
}
