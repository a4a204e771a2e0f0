package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/store"
)

// newGuest returns a sent guest invitation of host for email, created at the
// harness clock's time.
func (h *harness) newGuest(host uuid.UUID, email string) guest.Invitation {
	now := h.clock.Now()
	return guest.Invitation{
		ID:                    uuid.Must(uuid.NewV7()),
		HostOrganizationID:    host,
		Email:                 email,
		FirstInvitationSentAt: now,
		LastInvitationSentAt:  now,
		ExpiredAt:             now.Add(30 * 24 * time.Hour),
		Status:                guest.StatusSent,
		CreatedAt:             now,
		UpdatedAt:             now,
		Nonce:                 []byte("fedcba9876543210"),
	}
}

func (h *harness) createGuest(inv guest.Invitation) guest.Invitation {
	h.t.Helper()
	require.NoError(h.t, h.createGuestAt(h.ctx, inv, h.clock.Now()))
	return inv
}

var guestTests = []test{
	{"GuestRoundTrip", func(t *testing.T, h *harness) {
		inv := h.newGuest(newOrg(), "guest@example.com")
		inv.Status = guest.StatusAcceptedByGuest
		inv.LastInvitationSentAt = start.Add(time.Hour)
		inv.UpdatedAt = start.Add(2 * time.Hour)
		inv.AcceptedAt = ptr(start.Add(2*time.Hour + time.Microsecond))
		inv.Archived = true
		inv.ArchivedAt = ptr(time.Date(2099, 1, 2, 3, 4, 5, 6000, time.UTC))
		inv.ParentOrganizationID = ptr(uuid.New())
		inv.ParentOrganizationName = ptr("Parent Ltd — ünïcode")
		h.createGuest(inv)

		got, err := h.gstore.GetGuestInvitation(h.ctx, inv.HostOrganizationID, inv.ID)
		require.NoError(t, err)
		assert.Equal(t, inv, got)
		found, err := h.gstore.FindGuestInvitation(h.ctx, inv.ID)
		require.NoError(t, err)
		assert.Equal(t, inv, found)
	}},
	{"GuestNullsRoundTrip", func(t *testing.T, h *harness) {
		inv := h.createGuest(h.newGuest(newOrg(), "nulls@example.com"))
		got, err := h.gstore.GetGuestInvitation(h.ctx, inv.HostOrganizationID, inv.ID)
		require.NoError(t, err)
		assert.Equal(t, inv, got)
		assert.Nil(t, got.AcceptedAt)
		assert.Nil(t, got.ArchivedAt)
		assert.Nil(t, got.ParentOrganizationID)
		assert.Nil(t, got.ParentOrganizationName)
	}},
	{"GuestNotFound", func(t *testing.T, h *harness) {
		host, id := newOrg(), uuid.New()
		_, err := h.gstore.GetGuestInvitation(h.ctx, host, id)
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = h.gstore.FindGuestInvitation(h.ctx, id)
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = h.updateGuest(h.ctx, host, id, h.clock.Now(), func(*guest.Invitation) error {
			t.Error("updater called for a missing invitation")
			return nil
		})
		assert.ErrorIs(t, err, store.ErrNotFound)
		assert.ErrorIs(t, h.deleteGuest(h.ctx, host, id), store.ErrNotFound)
	}},
	{"GuestTenantIsolation", func(t *testing.T, h *harness) {
		hostA, hostB := newOrg(), newOrg()
		inv := h.createGuest(h.newGuest(hostA, "tenant@example.com"))

		_, err := h.gstore.GetGuestInvitation(h.ctx, hostB, inv.ID)
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = h.updateGuest(h.ctx, hostB, inv.ID, h.clock.Now(), func(g *guest.Invitation) error {
			t.Error("updater called through another organization")
			g.Archived = true
			return nil
		})
		assert.ErrorIs(t, err, store.ErrNotFound)
		assert.ErrorIs(t, h.deleteGuest(h.ctx, hostB, inv.ID), store.ErrNotFound)
		items, total, err := h.gstore.ListGuestInvitations(h.ctx, guest.ListQuery{
			HostOrganizationID: hostB, Now: h.clock.Now(), OrderBy: guest.OrderByCreatedAt, Order: store.Desc, Limit: 10,
		})
		require.NoError(t, err)
		assert.Empty(t, items)
		assert.Zero(t, total)

		got, err := h.gstore.GetGuestInvitation(h.ctx, hostA, inv.ID)
		require.NoError(t, err)
		assert.Equal(t, inv, got)
	}},
	{"GuestDuplicateID", func(t *testing.T, h *harness) {
		inv := h.createGuest(h.newGuest(newOrg(), "dup@example.com"))
		other := h.newGuest(newOrg(), "other@example.com")
		other.ID = inv.ID
		assert.ErrorIs(t, h.createGuestAt(h.ctx, other, h.clock.Now()), store.ErrAlreadyExists)
	}},
	{"GuestOneOpenPerEmail", func(t *testing.T, h *harness) {
		host := newOrg()
		first := h.createGuest(h.newGuest(host, "one@example.com"))
		err := h.createGuestAt(h.ctx, h.newGuest(host, "one@example.com"), h.clock.Now())
		assert.ErrorIs(t, err, store.ErrAlreadyExists)
		h.createGuest(h.newGuest(newOrg(), "one@example.com"))

		// An archived invitation does not block a new one...
		_, err = h.updateGuest(h.ctx, host, first.ID, h.clock.Now(), func(g *guest.Invitation) error {
			g.Archived, g.ArchivedAt = true, ptr(h.clock.Now())
			return nil
		})
		require.NoError(t, err)
		second := h.createGuest(h.newGuest(host, "one@example.com"))

		// ...but cannot be unarchived while the new one is open.
		_, err = h.updateGuest(h.ctx, host, first.ID, h.clock.Now(), func(g *guest.Invitation) error {
			g.Archived, g.ArchivedAt = false, nil
			return nil
		})
		assert.ErrorIs(t, err, store.ErrAlreadyExists)
		got, err := h.gstore.GetGuestInvitation(h.ctx, host, first.ID)
		require.NoError(t, err)
		assert.True(t, got.Archived, "a refused update writes nothing")

		// Expired (at the boundary instant) and accepted ones do not block.
		h.clock.Set(second.ExpiredAt)
		third := h.createGuest(h.newGuest(host, "one@example.com"))
		_, err = h.updateGuest(h.ctx, host, third.ID, h.clock.Now(), func(g *guest.Invitation) error {
			g.Status, g.AcceptedAt = guest.StatusAcceptedBySystem, ptr(h.clock.Now())
			return nil
		})
		require.NoError(t, err)
		h.createGuest(h.newGuest(host, "one@example.com"))
	}},
	{"GuestUpdate", func(t *testing.T, h *harness) {
		inv := h.createGuest(h.newGuest(newOrg(), "update@example.com"))
		later := start.Add(time.Hour)
		want := inv
		want.Status = guest.StatusAcceptedBySystem
		want.AcceptedAt = &later
		want.Archived, want.ArchivedAt = true, &later
		want.LastInvitationSentAt = later
		want.ExpiredAt = later.Add(time.Hour)
		want.UpdatedAt = later
		want.Nonce = []byte("0000000000000000")

		got, err := h.updateGuest(h.ctx, inv.HostOrganizationID, inv.ID, later, func(g *guest.Invitation) error {
			assert.Equal(t, inv, *g, "the updater sees the stored invitation")
			id, host, email, created, first := g.ID, g.HostOrganizationID, g.Email, g.CreatedAt, g.FirstInvitationSentAt
			*g = want
			g.ID, g.HostOrganizationID, g.Email, g.CreatedAt, g.FirstInvitationSentAt = id, host, email, created, first
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, want, got)
		stored, err := h.gstore.GetGuestInvitation(h.ctx, inv.HostOrganizationID, inv.ID)
		require.NoError(t, err)
		assert.Equal(t, want, stored)
	}},
	{"GuestUpdateKeepsIdentity", func(t *testing.T, h *harness) {
		inv := h.createGuest(h.newGuest(newOrg(), "identity@example.com"))
		got, err := h.updateGuest(h.ctx, inv.HostOrganizationID, inv.ID, h.clock.Now(), func(g *guest.Invitation) error {
			g.ID, g.HostOrganizationID, g.Email, g.CreatedAt = uuid.New(), uuid.New(), "else@example.com", start.Add(-time.Hour)
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, inv, got)
	}},
	{"GuestUpdaterErrorWritesNothing", func(t *testing.T, h *harness) {
		inv := h.createGuest(h.newGuest(newOrg(), "rollback@example.com"))
		_, err := h.updateGuest(h.ctx, inv.HostOrganizationID, inv.ID, h.clock.Now(), func(g *guest.Invitation) error {
			g.Archived = true
			return errUpdater
		})
		assert.ErrorIs(t, err, errUpdater)
		got, err := h.gstore.GetGuestInvitation(h.ctx, inv.HostOrganizationID, inv.ID)
		require.NoError(t, err)
		assert.Equal(t, inv, got)
	}},
	{"GuestDelete", func(t *testing.T, h *harness) {
		inv := h.createGuest(h.newGuest(newOrg(), "delete@example.com"))
		require.NoError(t, h.deleteGuest(h.ctx, inv.HostOrganizationID, inv.ID))
		_, err := h.gstore.GetGuestInvitation(h.ctx, inv.HostOrganizationID, inv.ID)
		assert.ErrorIs(t, err, store.ErrNotFound)
		assert.ErrorIs(t, h.deleteGuest(h.ctx, inv.HostOrganizationID, inv.ID), store.ErrNotFound)
		h.createGuest(h.newGuest(inv.HostOrganizationID, "delete@example.com"))
	}},
	{"GuestExpiryBoundary", func(t *testing.T, h *harness) {
		host := newOrg()
		created, err := h.guest.Create(h.ctx, guest.CreateParams{
			HostOrganizationID: host, Email: "edge@example.com", ExpiredAt: start.Add(time.Hour),
		})
		require.NoError(t, err)
		expiredAt := func(now time.Time, expired bool) int {
			_, total, err := h.gstore.ListGuestInvitations(h.ctx, guest.ListQuery{
				HostOrganizationID: host, Expired: &expired, Now: now,
				OrderBy: guest.OrderByCreatedAt, Order: store.Desc, Limit: 10,
			})
			require.NoError(t, err)
			return total
		}
		just := created.ExpiredAt.Add(-time.Microsecond)
		assert.Equal(t, 0, expiredAt(just, true))
		assert.Equal(t, 1, expiredAt(just, false))
		assert.Equal(t, 1, expiredAt(created.ExpiredAt, true), "now == expired_at is expired")
		assert.Equal(t, 0, expiredAt(created.ExpiredAt, false))

		tok := h.guest.Token(created)
		h.clock.Set(created.ExpiredAt)
		_, err = h.guest.AcceptByGuest(h.ctx, tok)
		assert.ErrorIs(t, err, store.ErrExpired)
		h.clock.Set(just)
		accepted, err := h.guest.AcceptByGuest(h.ctx, tok)
		require.NoError(t, err)
		assert.Equal(t, guest.StatusAcceptedByGuest, accepted.Status)
	}},
}
