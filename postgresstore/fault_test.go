package postgresstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
)

// killBackends terminates every server connection of the pool whose
// application_name is app, from the admin pool, and waits until they are
// gone.
func killBackends(t *testing.T, app string) {
	t.Helper()
	ctx := context.Background()
	var killed int
	err := admin.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
		FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&killed)
	require.NoError(t, err)
	require.Positive(t, killed, "the store had connections to kill")
	require.Eventually(t, func() bool { return backends(t, app, "") == 0 }, 10*time.Second, 10*time.Millisecond)
}

// backends counts the server connections of application app, only those
// waiting for waitType when it is not empty.
func backends(t *testing.T, app, waitType string) int {
	t.Helper()
	var n int
	err := admin.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
		WHERE application_name = $1 AND ($2 = '' OR wait_event_type = $2)`, app, waitType).Scan(&n)
	require.NoError(t, err)
	return n
}

// TestConnectionKilledInsideUpdate kills the store's connections while its
// transaction holds the row lock and the caller's update runs: the write
// fails, nothing of it is stored, and the next call works.
func TestConnectionKilledInsideUpdate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	app := randomName("invitekit_fault_")
	clock := &fakeClock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	schema := newSchema(t)
	in := newInstance(t, schema, clock.Now, "application_name="+app)
	inv, err := in.orgs.Create(ctx, invitation.CreateParams{OrganizationID: uuid.New(), Email: "a@example.com", Role: "admin"})
	require.NoError(t, err)

	calls := 0
	_, err = in.store.UpdateInvitation(ctx, inv.OrganizationID, inv.ID, clock.Now(), func(i *invitation.Invitation) error {
		calls++
		killBackends(t, app)
		now := clock.Now()
		i.Status = invitation.StatusRevoked
		i.RevokedAt = &now
		return nil
	})
	require.Error(t, err)
	t.Logf("update on a killed connection: %v", err)
	assert.Equal(t, 1, calls, "a write that may have reached the server is not retried")
	assert.False(t, errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrAlreadyExists), "got %v", err)

	var status string
	err = admin.QueryRow(ctx, "SELECT status FROM "+pgx.Identifier{schema, "invitations"}.Sanitize()+" WHERE id = $1", inv.ID).Scan(&status)
	require.NoError(t, err)
	assert.Equal(t, "pending", status, "the killed transaction left nothing behind")

	got, err := in.orgs.Revoke(ctx, inv.OrganizationID, inv.ID)
	require.NoError(t, err, "the next call gets a new connection")
	assert.Equal(t, invitation.StatusRevoked, got.Status)
}

// TestConnectionKilledWhileWaiting kills the store's connections while a
// create waits for a row lock an expired invitation's claim is held under:
// the create fails without inserting or releasing anything, and succeeds
// once the lock is gone.
func TestConnectionKilledWhileWaiting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	app := randomName("invitekit_fault_")
	clock := &fakeClock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	schema := newSchema(t)
	in := newInstance(t, schema, clock.Now, "application_name="+app)
	p := invitation.CreateParams{OrganizationID: uuid.New(), Email: "a@example.com", Role: "admin"}
	old, err := in.orgs.Create(ctx, p)
	require.NoError(t, err)
	clock.Advance(invitation.DefaultTTL)

	table := pgx.Identifier{schema, "invitations"}.Sanitize()
	lock, err := admin.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = lock.Rollback(ctx) }()
	_, err = lock.Exec(ctx, "SELECT 1 FROM "+table+" WHERE id = $1 FOR UPDATE", old.ID)
	require.NoError(t, err)

	var wg sync.WaitGroup
	var createErr error
	wg.Go(func() { _, createErr = in.orgs.Create(ctx, p) })
	require.Eventually(t, func() bool { return backends(t, app, "Lock") == 1 }, 10*time.Second, 10*time.Millisecond,
		"the create waits for the lock")
	killBackends(t, app)
	wg.Wait()
	require.Error(t, createErr)
	t.Logf("create on a killed connection: %v", createErr)
	require.NoError(t, lock.Rollback(ctx))

	claims := func() (rows, claimed int) {
		err := admin.QueryRow(ctx, "SELECT count(*), count(*) FILTER (WHERE claims_open) FROM "+table+
			" WHERE org_id = $1", p.OrganizationID).Scan(&rows, &claimed)
		require.NoError(t, err)
		return rows, claimed
	}
	rows, claimed := claims()
	assert.Equal(t, 1, rows, "nothing inserted")
	assert.Equal(t, 1, claimed, "the old claim was not released")

	_, err = in.orgs.Create(ctx, p)
	require.NoError(t, err, "the next call gets a new connection")
	rows, claimed = claims()
	assert.Equal(t, 2, rows)
	assert.Equal(t, 1, claimed, "the new invitation holds the only claim")
	var oldClaims bool
	require.NoError(t, admin.QueryRow(ctx, "SELECT claims_open FROM "+table+" WHERE id = $1", old.ID).Scan(&oldClaims))
	assert.False(t, oldClaims)
}
