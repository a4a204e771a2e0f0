package postgresstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/link"
	"github.com/invitekit/invitekit/postgresstore"
	"github.com/invitekit/invitekit/storetest"
)

// The application's membership row and the accept commit together, or
// neither does.
func TestAcceptHookWritesInTheStoresTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := newSchema(t)
	in := newInstance(t, schema, time.Now)
	memberships := pgx.Identifier{schema, "memberships"}.Sanitize()
	_, err := admin.Exec(ctx, "CREATE TABLE "+memberships+" (organization_id uuid, email text, UNIQUE (organization_id, email))")
	require.NoError(t, err)
	addMember := func(ctx context.Context, inv invitation.Invitation) error {
		tx, ok := postgresstore.Tx(ctx)
		if !ok {
			return errors.New("no transaction in the hook's context")
		}
		_, err := tx.Exec(ctx, "INSERT INTO "+memberships+" VALUES ($1, $2)", inv.OrganizationID, inv.Email)
		return err
	}
	members := func(org uuid.UUID) int {
		var n int
		require.NoError(t, admin.QueryRow(ctx, "SELECT count(*) FROM "+memberships+" WHERE organization_id = $1", org).Scan(&n))
		return n
	}

	org := uuid.New()
	inv, err := in.orgs.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "ada@example.com", Role: "admin"})
	require.NoError(t, err)
	_, err = in.orgs.Accept(ctx, in.orgs.Token(inv), "ada@example.com", addMember, func(context.Context, invitation.Invitation) error {
		return errors.New("refused after the membership was written")
	})
	require.Error(t, err)
	assert.Zero(t, members(org), "the membership rolled back with the accept")
	got, err := in.orgs.Get(ctx, org, inv.ID)
	require.NoError(t, err)
	assert.Equal(t, invitation.StatusPending, got.Status)

	_, err = in.orgs.Accept(ctx, in.orgs.Token(inv), "ada@example.com", addMember)
	require.NoError(t, err)
	assert.Equal(t, 1, members(org), "the membership committed with the accept")
	evs, err := in.store.ListEvents(ctx, event.ListQuery{OrganizationID: org, Types: []event.Type{event.InvitationAccepted}, Limit: 10})
	require.NoError(t, err)
	assert.Len(t, evs, 1)

	// A link's redemption and the membership commit together too.
	links, err := link.NewService(link.Config{Store: in.store, Invitations: in.orgs, Keys: [][]byte{signingKey}})
	require.NoError(t, err)
	lorg := uuid.New()
	l, err := links.Create(ctx, link.CreateParams{OrganizationID: lorg, Role: "developer", MaxUses: 1})
	require.NoError(t, err)
	joins := func(ctx context.Context, _ link.Link, r link.Redemption) error {
		return addMember(ctx, invitation.Invitation{OrganizationID: r.OrganizationID, Email: r.Email})
	}
	_, err = links.Redeem(ctx, links.Token(l), "ada@example.com", joins, func(context.Context, link.Link, link.Redemption) error {
		return errors.New("refused after the membership was written")
	})
	require.Error(t, err)
	assert.Zero(t, members(lorg), "the membership rolled back with the redemption")
	_, err = links.Redeem(ctx, links.Token(l), "ada@example.com", joins)
	require.NoError(t, err, "the use was not taken by the refused redemption")
	assert.Equal(t, 1, members(lorg), "the membership committed with the redemption")

	_, ok := postgresstore.Tx(ctx)
	assert.False(t, ok, "no transaction outside a hook")
}

// A relay on one instance hears the commits of another, and keeps hearing
// them after its listening connection is killed.
func TestListenerHearsOtherInstancesAndSurvivesAKilledConnection(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	schema := newSchema(t)
	// a's connections have a name of their own, so that the kill below
	// reaches its listener and no other test's (the conformance suite's
	// listeners run in parallel).
	app := "listen_" + schema
	a, b := newInstance(t, schema, time.Now, "application_name="+app), newInstance(t, schema, time.Now)
	ch, err := a.store.ListenEvents(ctx)
	require.NoError(t, err)
	create := func() {
		_, err := b.orgs.Create(ctx, invitation.CreateParams{OrganizationID: uuid.New(), Email: "ada@example.com", Role: "admin"})
		require.NoError(t, err)
	}
	await := func(msg string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal(msg)
		}
	}
	create()
	await("no wake-up for another instance's commit")

	other := newSchema(t)
	c := newInstance(t, other, time.Now)
	_, err = c.orgs.Create(ctx, invitation.CreateParams{OrganizationID: uuid.New(), Email: "ada@example.com", Role: "admin"})
	require.NoError(t, err)
	select {
	case <-ch:
		t.Fatal("woken by a commit in another schema")
	case <-time.After(200 * time.Millisecond):
	}

	var killed int
	require.NoError(t, admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE query = 'LISTEN invitekit_events' AND application_name = $1`, app+" invitekit-listen").Scan(&killed))
	require.Positive(t, killed)
	await("no wake-up after the listening connection was killed and replaced")
	create()
	await("no wake-up for a commit after the reconnect")
}

// A write that commits while Close runs leaves no notification connection
// behind.
func TestCloseLeavesNoNotifyConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := newSchema(t)
	app := randomName("invitekit_close_")
	s, err := postgresstore.Open(ctx, withParams(testURL(t), "application_name="+app), postgresstore.WithSchema(schema))
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Microsecond)
	inv := invitation.Invitation{ID: uuid.New(), OrganizationID: uuid.New(), Email: "a@example.com", Role: "admin",
		Status: invitation.StatusPending, CreatedAt: now, SentAt: now, ExpireAt: now.Add(time.Hour)}
	lock, err := admin.Begin(ctx)
	require.NoError(t, err)
	_, err = lock.Exec(ctx, "LOCK TABLE "+pgx.Identifier{schema, "invitations"}.Sanitize()+" IN ACCESS EXCLUSIVE MODE")
	require.NoError(t, err)
	created := make(chan error, 1)
	go func() {
		created <- s.CreateInvitation(ctx, inv, now, storetest.NewEvent(event.InvitationCreated))
	}()
	require.Eventually(t, func() bool { return backends(t, app, "Lock") == 1 }, 10*time.Second, 10*time.Millisecond,
		"the create waits for the table lock")
	closed := make(chan struct{})
	go func() { _ = s.Close(); close(closed) }()
	time.Sleep(100 * time.Millisecond) // Close is under way, waiting for the create
	require.NoError(t, lock.Commit(ctx))
	require.NoError(t, <-created)
	<-closed
	assert.Eventually(t, func() bool {
		var n int
		require.NoError(t, admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE $1", app+"%").Scan(&n))
		return n == 0
	}, 5*time.Second, 20*time.Millisecond, "every connection of the closed store is gone")
}
