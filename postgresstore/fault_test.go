package postgresstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/postgresstore"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/storetest"
)

// killBackends terminates every server connection of the pool whose
// application_name is app, from the admin pool, and waits until those are
// gone. (The store may open new ones meanwhile, to retry.)
func killBackends(t *testing.T, app string) {
	t.Helper()
	ctx := context.Background()
	var killed []int32
	err := admin.QueryRow(ctx, `SELECT coalesce(array_agg(pid) FILTER (WHERE pg_terminate_backend(pid)), '{}')
		FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&killed)
	require.NoError(t, err)
	require.NotEmpty(t, killed, "the store had connections to kill")
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)", killed).Scan(&n))
		return n == 0
	}, 10*time.Second, 10*time.Millisecond)
}

// faultSetup opens an instance whose connections are named app, in a new
// schema, with one pending invitation created at clock's now.
func faultSetup(t *testing.T, prefix string) (in instance, inv invitation.Invitation, app, schema string, clock *storetest.Clock) {
	t.Helper()
	app = randomName(prefix)
	clock = storetest.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	schema = newSchema(t)
	in = newInstance(t, schema, clock.Now, "application_name="+app)
	inv, err := in.orgs.Create(context.Background(), invitation.CreateParams{OrganizationID: uuid.New(), Email: "a@example.com", Role: "admin"})
	require.NoError(t, err)
	return in, inv, app, schema, clock
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
// transaction holds the row lock and the caller's update runs: the killed
// attempt leaves nothing behind (its COMMIT was never sent, so it cannot
// have committed), and the store runs the transaction again on a new
// connection, which applies the update exactly once.
func TestConnectionKilledInsideUpdate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in, inv, app, schema, clock := faultSetup(t, "invitekit_fault_")
	table := func(name string) string { return pgx.Identifier{schema, name}.Sanitize() }
	// storetest.Change records its change as an invitation.resent event.
	changeEvents := func() int {
		var n int
		require.NoError(t, admin.QueryRow(ctx, "SELECT count(*) FROM "+table("events")+" WHERE type = $1",
			string(event.InvitationResent)).Scan(&n))
		return n
	}

	calls := 0
	got, err := in.store.UpdateInvitation(ctx, inv.OrganizationID, inv.ID, clock.Now(), store.Limits{}, storetest.Change(func(i *invitation.Invitation) error {
		calls++
		if calls == 1 {
			killBackends(t, app)
		} else {
			// The retry: the killed attempt left nothing behind.
			var status string
			require.NoError(t, admin.QueryRow(ctx, "SELECT status FROM "+table("invitations")+" WHERE id = $1", inv.ID).Scan(&status))
			assert.Equal(t, "pending", status, "the killed transaction left nothing behind")
			assert.Zero(t, changeEvents(), "nor an event")
		}
		now := clock.Now()
		i.Status = invitation.StatusRevoked
		i.RevokedAt = &now
		return nil
	}))
	require.NoError(t, err, "the transaction ran again on a new connection")
	assert.Equal(t, 2, calls, "the killed attempt and the retry")
	assert.Equal(t, invitation.StatusRevoked, got.Status)
	assert.Equal(t, 1, changeEvents(), "applied once")

	_, err = in.orgs.Revoke(ctx, inv.OrganizationID, inv.ID)
	assert.ErrorIs(t, err, store.ErrRevoked, "the next call sees the one revoke")
}

// TestConnectionKilledOnEveryAttempt kills the store's connection inside
// every attempt of an update: the store gives up after its retries with
// store.ErrUnavailable, and nothing of it is stored.
func TestConnectionKilledOnEveryAttempt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in, inv, app, schema, clock := faultSetup(t, "invitekit_fault_")

	calls := 0
	_, err := in.store.UpdateInvitation(ctx, inv.OrganizationID, inv.ID, clock.Now(), store.Limits{}, storetest.Change(func(i *invitation.Invitation) error {
		calls++
		killBackends(t, app)
		now := clock.Now()
		i.Status = invitation.StatusRevoked
		i.RevokedAt = &now
		return nil
	}))
	require.Error(t, err)
	t.Logf("update on a connection killed every time: %v", err)
	assert.ErrorIs(t, err, store.ErrUnavailable)
	assert.Greater(t, calls, 1, "retried")
	assert.False(t, errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrAlreadyExists), "got %v", err)

	var status string
	err = admin.QueryRow(ctx, "SELECT status FROM "+pgx.Identifier{schema, "invitations"}.Sanitize()+" WHERE id = $1", inv.ID).Scan(&status)
	require.NoError(t, err)
	assert.Equal(t, "pending", status, "the killed transactions left nothing behind")

	got, err := in.orgs.Revoke(ctx, inv.OrganizationID, inv.ID)
	require.NoError(t, err, "the next call gets a new connection")
	assert.Equal(t, invitation.StatusRevoked, got.Status)
}

// TestConnectionKilledWhileWaiting kills the store's connections while a
// create waits for a row lock an expired invitation's claim is held under:
// the killed attempt inserts and releases nothing, and the create runs
// again, waits for the lock again and succeeds once the lock is gone, the
// new invitation holding the only claim.
func TestConnectionKilledWhileWaiting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	old, _, app, schema, clock := faultSetup(t, "invitekit_fault_")
	p := invitation.CreateParams{OrganizationID: uuid.New(), Email: "a@example.com", Role: "admin"}
	prev, err := old.orgs.Create(ctx, p)
	require.NoError(t, err)
	clock.Advance(invitation.DefaultTTL)

	table := pgx.Identifier{schema, "invitations"}.Sanitize()
	lock, err := admin.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = lock.Rollback(ctx) }()
	_, err = lock.Exec(ctx, "SELECT 1 FROM "+table+" WHERE id = $1 FOR UPDATE", prev.ID)
	require.NoError(t, err)

	var wg sync.WaitGroup
	var createErr error
	wg.Go(func() { _, createErr = old.orgs.Create(ctx, p) })
	waitsForLock := func() bool { return backends(t, app, "Lock") == 1 }
	require.Eventually(t, waitsForLock, 10*time.Second, 10*time.Millisecond, "the create waits for the lock")
	killBackends(t, app)
	require.Eventually(t, waitsForLock, 10*time.Second, 10*time.Millisecond, "the create runs again and waits again")

	claims := func() (rows, claimed int) {
		err := admin.QueryRow(ctx, "SELECT count(*), count(*) FILTER (WHERE open_claim) FROM "+table+
			" WHERE organization_id = $1", p.OrganizationID).Scan(&rows, &claimed)
		require.NoError(t, err)
		return rows, claimed
	}
	rows, claimed := claims()
	assert.Equal(t, 1, rows, "the killed attempt inserted nothing")
	assert.Equal(t, 1, claimed, "nor released the old claim")

	require.NoError(t, lock.Rollback(ctx))
	wg.Wait()
	require.NoError(t, createErr, "a killed connection fails no create that did not commit")
	rows, claimed = claims()
	assert.Equal(t, 2, rows)
	assert.Equal(t, 1, claimed, "the new invitation holds the only claim")
	var oldClaims bool
	require.NoError(t, admin.QueryRow(ctx, "SELECT open_claim FROM "+table+" WHERE id = $1", prev.ID).Scan(&oldClaims))
	assert.False(t, oldClaims)
}

// TestConnectionKilledInsideAcceptHook kills the store's connections while
// an accept hook writes in the store's transaction: the hook's statement
// fails in the hook's words, but the transaction is lost with its
// connection, so the accept runs again (hook included) on a new connection
// and commits the hook's row and the accept once.
func TestConnectionKilledInsideAcceptHook(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in, inv, app, schema, _ := faultSetup(t, "invitekit_fault_")
	members := pgx.Identifier{schema, "hook_members"}.Sanitize()
	_, err := admin.Exec(ctx, "CREATE TABLE "+members+" (invitation_id uuid PRIMARY KEY)")
	require.NoError(t, err)

	calls := 0
	_, err = in.orgs.Accept(ctx, in.orgs.Token(inv), "a@example.com", func(ctx context.Context, accepted invitation.Invitation) error {
		calls++
		tx, ok := postgresstore.Tx(ctx)
		require.True(t, ok)
		if calls == 1 {
			killBackends(t, app)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+members+" VALUES ($1)", accepted.ID); err != nil {
			return fmt.Errorf("add member: %w", err)
		}
		return nil
	})
	require.NoError(t, err, "the accept ran again on a new connection")
	assert.Equal(t, 2, calls, "the killed attempt and the retry")
	var n int
	require.NoError(t, admin.QueryRow(ctx, "SELECT count(*) FROM "+members).Scan(&n))
	assert.Equal(t, 1, n, "the hook's row, once")

	calls = 0
	_, err = in.orgs.Accept(ctx, in.orgs.Token(inv), "a@example.com", func(ctx context.Context, _ invitation.Invitation) error {
		calls++
		killBackends(t, app)
		tx, _ := postgresstore.Tx(ctx)
		_, err := tx.Exec(ctx, "SELECT 1")
		return err
	})
	assert.ErrorIs(t, err, store.ErrAlreadyAccepted, "the next accept sees the one accept")
	assert.Zero(t, calls)
}

// TestDeadlockIsRetried makes the store's update transaction one half of a
// real deadlock with another session: PostgreSQL aborts the store's side,
// the store runs the transaction again and it succeeds.
func TestDeadlockIsRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	app := randomName("invitekit_deadlock_")
	schema := newSchema(t)
	s := openStore(t, schema, "application_name="+app)
	table := pgx.Identifier{schema, "invitations"}.Sanitize()
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	t1 := t0.Add(2 * time.Hour)
	org := uuid.New()
	inv := func(expireAt time.Time) invitation.Invitation {
		return invitation.Invitation{ID: uuid.New(), OrganizationID: org, Email: "a@example.com", Role: "admin",
			Status: invitation.StatusPending, Nonce: make([]byte, 16), CreatedAt: t0, SentAt: t0, ExpireAt: expireAt}
	}
	// x holds the open claim and has expired by t1; y is expired too, and
	// reopening it has to release x's claim.
	x, y := inv(t0.Add(time.Hour)), inv(t1)
	require.NoError(t, s.CreateInvitation(ctx, x, t0, storetest.NewEvent(event.InvitationCreated)))
	require.NoError(t, s.CreateInvitation(ctx, y, t1, storetest.NewEvent(event.InvitationCreated)))

	other, err := admin.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = other.Rollback(ctx) }()
	// The other session checks for deadlocks long after the store's
	// session does, so PostgreSQL aborts the store's side, whichever
	// session a loaded machine schedules first.
	_, err = other.Exec(ctx, "SET LOCAL deadlock_timeout = '10s'")
	require.NoError(t, err)
	_, err = other.Exec(ctx, "SELECT 1 FROM "+table+" WHERE id = $1 FOR UPDATE", x.ID)
	require.NoError(t, err)

	// The other session waits for y, which the store has locked, once the
	// store waits for x: the cycle. The store's deadlock check runs first
	// and aborts its own transaction.
	otherDone := make(chan error, 1)
	go func() {
		if err := waitForLockWait(ctx, app); err != nil {
			otherDone <- err
			return
		}
		_, err := other.Exec(ctx, "SELECT 1 FROM "+table+" WHERE id = $1 FOR UPDATE", y.ID)
		if err == nil {
			err = other.Rollback(ctx)
		}
		otherDone <- err
	}()

	calls := 0
	got, err := s.UpdateInvitation(ctx, org, y.ID, t1, store.Limits{}, storetest.Change(func(i *invitation.Invitation) error {
		calls++
		i.ExpireAt = t1.Add(time.Hour)
		return nil
	}))
	require.NoError(t, <-otherDone)
	require.NoError(t, err)
	// The deadlocked attempt and the retry, and one more for each retry
	// that found y still locked by the other session (between its lock
	// of y and its rollback): a row found locked is waited for outside
	// the transaction (FOR UPDATE NOWAIT), so the updater runs again.
	assert.GreaterOrEqual(t, calls, 2, "the deadlocked attempt and the retry")
	assert.Equal(t, t1.Add(time.Hour), got.ExpireAt)

	var xClaims, yClaims bool
	require.NoError(t, admin.QueryRow(ctx, "SELECT (SELECT open_claim FROM "+table+" WHERE id = $1), (SELECT open_claim FROM "+
		table+" WHERE id = $2)", x.ID, y.ID).Scan(&xClaims, &yClaims))
	assert.False(t, xClaims)
	assert.True(t, yClaims)
}

// waitForLockWait waits until a connection of application app waits for a
// lock. Unlike backends it may run outside the test's goroutine.
func waitForLockWait(ctx context.Context, app string) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = $1 AND wait_event_type = 'Lock'`, app).Scan(&n)
		if err != nil || n > 0 {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return errors.New("the store never waited for the lock")
}

// TestDeadlineBeforeCommitRollsBack ends the caller's context while its
// update runs: the call fails with the context's error, and nothing of it
// is committed, neither the change nor its event.
func TestDeadlineBeforeCommitRollsBack(t *testing.T) {
	t.Parallel()
	clock := storetest.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	schema := newSchema(t)
	in := newInstance(t, schema, clock.Now)
	inv, err := in.orgs.Create(context.Background(), invitation.CreateParams{OrganizationID: uuid.New(), Email: "a@example.com", Role: "admin"})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = in.store.UpdateInvitation(ctx, inv.OrganizationID, inv.ID, clock.Now(), store.Limits{}, storetest.Change(func(i *invitation.Invitation) error {
		<-ctx.Done()
		i.Status = invitation.StatusRevoked
		return nil
	}))
	require.ErrorIs(t, err, context.DeadlineExceeded)

	var status string
	var events int
	require.NoError(t, admin.QueryRow(context.Background(), "SELECT status, (SELECT count(*) FROM "+pgx.Identifier{schema, "events"}.Sanitize()+
		" WHERE type = $2) FROM "+pgx.Identifier{schema, "invitations"}.Sanitize()+" WHERE id = $1", inv.ID, string(event.InvitationResent)).Scan(&status, &events))
	assert.Equal(t, "pending", status)
	assert.Zero(t, events)
}
