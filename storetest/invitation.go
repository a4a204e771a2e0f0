package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
)

// newInvitation returns a pending invitation of org for email, created at
// the harness clock's time, with every field the store keeps set.
func (h *harness) newInvitation(org uuid.UUID, email string) invitation.Invitation {
	now := h.clock.Now()
	return invitation.Invitation{
		ID:             uuid.Must(uuid.NewV7()),
		OrganizationID: org,
		Email:          email,
		Role:           "developer",
		AssignedRoles: []invitation.Role{
			{ID: uuid.MustParse("0190f5a2-0000-7000-8000-0000000000c1"), Name: "Billing viewer", Type: invitation.RoleTypeCustom},
			{ID: invitation.DeveloperRoleID, Name: "developer", Type: invitation.RoleTypeSystem},
		},
		InviterID: "user-42",
		Status:    invitation.StatusPending,
		Nonce:     []byte("0123456789abcdef"),
		CreatedAt: now,
		SentAt:    now,
		ExpireAt:  now.Add(7 * 24 * time.Hour),
	}
}

// createInvitation stores inv and fails the test on error.
func (h *harness) createInvitation(inv invitation.Invitation) invitation.Invitation {
	h.t.Helper()
	require.NoError(h.t, h.createInv(h.ctx, inv, h.clock.Now()))
	return inv
}

var errUpdater = errors.New("storetest: updater refused")

var invitationTests = []test{
	{"InvitationRoundTrip", func(t *testing.T, h *harness) {
		inv := h.newInvitation(newOrg(), "round@example.com")
		inv.Status = invitation.StatusAccepted
		inv.AcceptedAt = ptr(start.Add(time.Hour + 7*time.Microsecond))
		inv.RevokedAt = ptr(time.Date(2099, 12, 31, 23, 59, 59, 999999000, time.UTC))
		inv.SentAt = start.Add(time.Minute)
		inv.Nonce = []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 255}
		h.createInvitation(inv)

		got, err := h.istore.GetInvitation(h.ctx, inv.OrganizationID, inv.ID)
		require.NoError(t, err)
		assert.Equal(t, inv, got)
		found, err := h.istore.FindInvitation(h.ctx, inv.ID)
		require.NoError(t, err)
		assert.Equal(t, inv, found)
	}},
	{"InvitationOptionalFieldsRoundTrip", func(t *testing.T, h *harness) {
		inv := h.newInvitation(newOrg(), "bare@example.com")
		inv.InviterID = ""
		h.createInvitation(inv)
		got, err := h.istore.GetInvitation(h.ctx, inv.OrganizationID, inv.ID)
		require.NoError(t, err)
		assert.Equal(t, inv, got)
		assert.Nil(t, got.AcceptedAt)
		assert.Nil(t, got.RevokedAt)
	}},
	{"InvitationAssignedRolesRoundTrip", func(t *testing.T, h *harness) {
		// Order is kept, names are kept byte for byte, and an invitation
		// that assigns none reads back with none, whatever its role: only
		// rows of earlier releases derive roles from the role.
		many := h.newInvitation(newOrg(), "roles@example.com")
		many.AssignedRoles = nil
		for i := range invitation.MaxAssignedRoles {
			many.AssignedRoles = append(many.AssignedRoles, invitation.Role{
				ID: uuid.New(), Name: fmt.Sprintf("Rôle \"%d\" <ü>", i), Type: invitation.RoleTypeCustom})
		}
		none := h.newInvitation(newOrg(), "none@example.com")
		none.Role, none.AssignedRoles = "admin", nil
		custom := h.newInvitation(newOrg(), "custom@example.com")
		custom.Role = ""
		custom.AssignedRoles = custom.AssignedRoles[:1]
		for _, inv := range []invitation.Invitation{many, none, custom} {
			h.createInvitation(inv)
			got, err := h.istore.GetInvitation(h.ctx, inv.OrganizationID, inv.ID)
			require.NoError(t, err)
			assert.Equal(t, inv, got, inv.Email)
			list, err := h.istore.ListInvitations(h.ctx, invitation.ListQuery{OrganizationID: inv.OrganizationID, Now: h.clock.Now(), Limit: 10})
			require.NoError(t, err)
			assert.Equal(t, []invitation.Invitation{inv}, list, inv.Email)
		}
		updated, err := h.updateInv(h.ctx, many.OrganizationID, many.ID, h.clock.Now(), func(i *invitation.Invitation) error {
			assert.Equal(t, many.AssignedRoles, i.AssignedRoles, "the updater sees the stored roles")
			i.Status, i.RevokedAt = invitation.StatusRevoked, ptr(h.clock.Now())
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, many.AssignedRoles, updated.AssignedRoles, "an update keeps the roles")
	}},
	{"InvitationNotFound", func(t *testing.T, h *harness) {
		org, id := newOrg(), uuid.New()
		_, err := h.istore.GetInvitation(h.ctx, org, id)
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = h.istore.FindInvitation(h.ctx, id)
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = h.updateInv(h.ctx, org, id, h.clock.Now(), func(*invitation.Invitation) error {
			t.Error("updater called for a missing invitation")
			return nil
		})
		assert.ErrorIs(t, err, store.ErrNotFound)
		assert.ErrorIs(t, h.deleteInv(h.ctx, org, id), store.ErrNotFound)
	}},
	{"InvitationTenantIsolation", func(t *testing.T, h *harness) {
		orgA, orgB := newOrg(), newOrg()
		inv := h.createInvitation(h.newInvitation(orgA, "tenant@example.com"))

		_, err := h.istore.GetInvitation(h.ctx, orgB, inv.ID)
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = h.updateInv(h.ctx, orgB, inv.ID, h.clock.Now(), func(i *invitation.Invitation) error {
			t.Error("updater called through another organization")
			i.Role = "admin"
			return nil
		})
		assert.ErrorIs(t, err, store.ErrNotFound)
		assert.ErrorIs(t, h.deleteInv(h.ctx, orgB, inv.ID), store.ErrNotFound)
		list, err := h.istore.ListInvitations(h.ctx, invitation.ListQuery{OrganizationID: orgB, Now: h.clock.Now(), Limit: 10})
		require.NoError(t, err)
		assert.Empty(t, list)

		got, err := h.istore.GetInvitation(h.ctx, orgA, inv.ID)
		require.NoError(t, err, "the owner still sees it")
		assert.Equal(t, inv, got, "nothing changed through the other organization")
	}},
	{"InvitationDuplicateID", func(t *testing.T, h *harness) {
		inv := h.createInvitation(h.newInvitation(newOrg(), "dup@example.com"))
		other := h.newInvitation(newOrg(), "other@example.com")
		other.ID = inv.ID
		assert.ErrorIs(t, h.createInv(h.ctx, other, h.clock.Now()), store.ErrAlreadyExists)
	}},
	{"InvitationOneOpenPerEmail", func(t *testing.T, h *harness) {
		org := newOrg()
		first := h.createInvitation(h.newInvitation(org, "one@example.com"))
		now := h.clock.Now()
		err := h.createInv(h.ctx, h.newInvitation(org, "one@example.com"), now)
		assert.ErrorIs(t, err, store.ErrAlreadyExists, "a second open invitation for the same email")

		h.createInvitation(h.newInvitation(newOrg(), "one@example.com"))
		h.createInvitation(h.newInvitation(org, "two@example.com"))

		// Once the first has expired it no longer blocks: at the boundary
		// instant it is already expired.
		h.clock.Set(first.ExpireAt)
		second := h.createInvitation(h.newInvitation(org, "one@example.com"))

		// A final invitation does not block either.
		_, err = h.updateInv(h.ctx, org, second.ID, h.clock.Now(), func(i *invitation.Invitation) error {
			i.Status = invitation.StatusRevoked
			i.RevokedAt = ptr(h.clock.Now())
			return nil
		})
		require.NoError(t, err)
		h.createInvitation(h.newInvitation(org, "one@example.com"))
	}},
	{"InvitationUpdate", func(t *testing.T, h *harness) {
		inv := h.createInvitation(h.newInvitation(newOrg(), "update@example.com"))
		later := start.Add(time.Hour)
		want := inv
		want.Status = invitation.StatusAccepted
		want.AcceptedAt = &later
		want.Role = "admin"
		want.Nonce = []byte("fedcba9876543210")
		want.SentAt = later
		want.ExpireAt = later.Add(time.Hour)

		got, err := h.updateInv(h.ctx, inv.OrganizationID, inv.ID, later, func(i *invitation.Invitation) error {
			assert.Equal(t, inv, *i, "the updater sees the stored invitation")
			i.Status, i.AcceptedAt, i.Role, i.Nonce = want.Status, want.AcceptedAt, want.Role, want.Nonce
			i.SentAt, i.ExpireAt = want.SentAt, want.ExpireAt
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, want, got)
		stored, err := h.istore.GetInvitation(h.ctx, inv.OrganizationID, inv.ID)
		require.NoError(t, err)
		assert.Equal(t, want, stored)
	}},
	{"InvitationUpdateKeepsIdentity", func(t *testing.T, h *harness) {
		inv := h.createInvitation(h.newInvitation(newOrg(), "identity@example.com"))
		got, err := h.updateInv(h.ctx, inv.OrganizationID, inv.ID, h.clock.Now(), func(i *invitation.Invitation) error {
			i.ID, i.OrganizationID, i.Email, i.CreatedAt = uuid.New(), uuid.New(), "else@example.com", start.Add(-time.Hour)
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, inv, got, "ID, organization, email and creation time never change")
		stored, err := h.istore.GetInvitation(h.ctx, inv.OrganizationID, inv.ID)
		require.NoError(t, err)
		assert.Equal(t, inv, stored)
	}},
	{"InvitationUpdaterErrorWritesNothing", func(t *testing.T, h *harness) {
		inv := h.createInvitation(h.newInvitation(newOrg(), "rollback@example.com"))
		_, err := h.updateInv(h.ctx, inv.OrganizationID, inv.ID, h.clock.Now(), func(i *invitation.Invitation) error {
			i.Status = invitation.StatusRevoked
			i.Role = "changed"
			return errUpdater
		})
		assert.ErrorIs(t, err, errUpdater)
		got, err := h.istore.GetInvitation(h.ctx, inv.OrganizationID, inv.ID)
		require.NoError(t, err)
		assert.Equal(t, inv, got)
	}},
	{"InvitationDelete", func(t *testing.T, h *harness) {
		inv := h.createInvitation(h.newInvitation(newOrg(), "delete@example.com"))
		keep := h.createInvitation(h.newInvitation(inv.OrganizationID, "keep@example.com"))
		require.NoError(t, h.deleteInv(h.ctx, inv.OrganizationID, inv.ID))
		_, err := h.istore.GetInvitation(h.ctx, inv.OrganizationID, inv.ID)
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = h.istore.FindInvitation(h.ctx, inv.ID)
		assert.ErrorIs(t, err, store.ErrNotFound)
		assert.ErrorIs(t, h.deleteInv(h.ctx, inv.OrganizationID, inv.ID), store.ErrNotFound)

		list, err := h.istore.ListInvitations(h.ctx, invitation.ListQuery{OrganizationID: inv.OrganizationID, Now: h.clock.Now(), Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, []invitation.Invitation{keep}, list)
		// The deleted invitation no longer blocks its email.
		h.createInvitation(h.newInvitation(inv.OrganizationID, "delete@example.com"))
	}},
	{"InvitationExpiryBoundary", func(t *testing.T, h *harness) {
		created, err := h.orgs.Create(h.ctx, invitation.CreateParams{OrganizationID: newOrg(), Email: "edge@example.com", Role: "admin"})
		require.NoError(t, err)
		statusAt := func(now time.Time, s invitation.Status) []invitation.Invitation {
			list, err := h.istore.ListInvitations(h.ctx, invitation.ListQuery{OrganizationID: created.OrganizationID, Status: s, Now: now, Limit: 10})
			require.NoError(t, err)
			return list
		}
		just := created.ExpireAt.Add(-time.Microsecond)
		assert.Len(t, statusAt(just, invitation.StatusPending), 1, "pending a microsecond before expiry")
		assert.Empty(t, statusAt(just, invitation.StatusExpired))
		assert.Empty(t, statusAt(created.ExpireAt, invitation.StatusPending), "now == expireAt is expired")
		assert.Len(t, statusAt(created.ExpireAt, invitation.StatusExpired), 1)

		tok := h.orgs.Token(created)
		h.clock.Set(created.ExpireAt)
		_, err = h.orgs.Accept(h.ctx, tok, "edge@example.com")
		assert.ErrorIs(t, err, store.ErrExpired)
		h.clock.Set(just)
		accepted, err := h.orgs.Accept(h.ctx, tok, "edge@example.com")
		require.NoError(t, err)
		assert.Equal(t, invitation.StatusAccepted, accepted.Status)
		assert.Equal(t, just, *accepted.AcceptedAt)
	}},
	{"InvitationsForEmail", func(t *testing.T, h *harness) {
		email := uuid.NewString() + "@example.com"
		var want []invitation.Invitation
		for range 4 {
			h.clock.Advance(time.Second)
			want = append([]invitation.Invitation{h.createInvitation(h.newInvitation(newOrg(), email))}, want...)
		}
		// Neither an accepted, nor an expired, nor another email's
		// invitation is listed.
		accepted := h.newInvitation(newOrg(), email)
		accepted.Status = invitation.StatusAccepted
		h.createInvitation(accepted)
		expired := h.newInvitation(newOrg(), email)
		expired.ExpireAt = h.clock.Now()
		h.createInvitation(expired)
		h.createInvitation(h.newInvitation(want[0].OrganizationID, "x"+email))

		got, err := h.istore.ListInvitationsForEmail(h.ctx, email, h.clock.Now(), 10)
		require.NoError(t, err)
		assert.Equal(t, want, got, "open ones, newest first")
		got, err = h.istore.ListInvitationsForEmail(h.ctx, email, h.clock.Now(), 2)
		require.NoError(t, err)
		assert.Equal(t, want[:2], got)
	}},
}

// ctxErr asserts that err reports the cancellation of a context.
func ctxErr(t *testing.T, err error, op string) {
	t.Helper()
	assert.True(t, errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded),
		"%s with a canceled context returned %v", op, err)
}
