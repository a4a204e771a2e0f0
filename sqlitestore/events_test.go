package sqlitestore

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/link"
)

// The application's membership row and the accept commit together, or
// neither does, in the file the store writes.
func TestAcceptHookWritesInTheStoresTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, filepath.Join(t.TempDir(), "x.db"))
	_, err := s.drv.write.db.ExecContext(ctx, "CREATE TABLE memberships (organization_id BLOB, email TEXT, UNIQUE (organization_id, email))")
	require.NoError(t, err)
	keys := [][]byte{bytes.Repeat([]byte{7}, 32)}
	orgs, err := invitation.NewService(invitation.Config{Store: s, Keys: keys})
	require.NoError(t, err)
	guests, err := guest.NewService(guest.Config{Store: s, Keys: keys})
	require.NoError(t, err)
	insert := func(ctx context.Context, org uuid.UUID, email string) error {
		conn, ok := Tx(ctx)
		if !ok {
			return errors.New("no transaction in the hook's context")
		}
		_, err := conn.ExecContext(ctx, "INSERT INTO memberships VALUES ($1, $2)", org[:], email)
		return err
	}
	members := func(org uuid.UUID) int {
		var n int
		require.NoError(t, s.drv.read.db.QueryRowContext(ctx, "SELECT count(*) FROM memberships WHERE organization_id = $1", org[:]).Scan(&n))
		return n
	}
	refuse := errors.New("refused after the membership was written")

	org := uuid.New()
	inv, err := orgs.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "ada@example.com", Role: "admin"})
	require.NoError(t, err)
	addMember := func(ctx context.Context, inv invitation.Invitation) error {
		return insert(ctx, inv.OrganizationID, inv.Email)
	}
	_, err = orgs.Accept(ctx, orgs.Token(inv), "ada@example.com", addMember, func(context.Context, invitation.Invitation) error { return refuse })
	require.ErrorIs(t, err, refuse)
	assert.Zero(t, members(org), "the membership rolled back with the accept")
	_, err = orgs.Accept(ctx, orgs.Token(inv), "ada@example.com", addMember)
	require.NoError(t, err)
	assert.Equal(t, 1, members(org), "the membership committed with the accept")

	host := uuid.New()
	g, err := guests.Create(ctx, guest.CreateParams{HostOrganizationID: host, Email: "gus@example.com", ExpiredAt: guests.Now().Add(24 * 3600e9)})
	require.NoError(t, err)
	addGuest := func(ctx context.Context, g guest.Invitation) error { return insert(ctx, g.HostOrganizationID, g.Email) }
	_, err = guests.AcceptBySystem(ctx, host, g.ID, addGuest, func(context.Context, guest.Invitation) error { return refuse })
	require.ErrorIs(t, err, refuse)
	assert.Zero(t, members(host))
	_, err = guests.AcceptByGuest(ctx, guests.Token(g), addGuest)
	require.NoError(t, err)
	assert.Equal(t, 1, members(host))
	evs, err := s.ListEvents(ctx, event.ListQuery{OrganizationID: host, Limit: 10})
	require.NoError(t, err)
	assert.Len(t, evs, 2, "created and accepted, nothing of the refused accept")

	// A link's redemption and the membership commit together too.
	links, err := link.NewService(link.Config{Store: s, Invitations: orgs, Keys: keys})
	require.NoError(t, err)
	lorg := uuid.New()
	l, err := links.Create(ctx, link.CreateParams{OrganizationID: lorg, Role: "developer", MaxUses: 1})
	require.NoError(t, err)
	joins := func(ctx context.Context, _ link.Link, r link.Redemption) error {
		return insert(ctx, r.OrganizationID, r.Email)
	}
	_, err = links.Redeem(ctx, links.Token(l), "ada@example.com", joins, func(context.Context, link.Link, link.Redemption) error { return refuse })
	require.ErrorIs(t, err, refuse)
	assert.Zero(t, members(lorg), "the membership rolled back with the redemption")
	_, err = links.Redeem(ctx, links.Token(l), "ada@example.com", joins)
	require.NoError(t, err, "the use was not taken by the refused redemption")
	assert.Equal(t, 1, members(lorg), "the membership committed with the redemption")

	_, ok := Tx(ctx)
	assert.False(t, ok, "no transaction outside a hook")
}
