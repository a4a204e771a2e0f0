package postgresstore_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/postgresstore"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/storetest"
)

// racers is how many goroutines race for one record, split evenly over two
// instances.
const racers = 50

// signingKey is the token key every instance of a deployment shares.
var signingKey = bytes.Repeat([]byte{9}, 32)

// instance is one application process: its own pool, store and services.
type instance struct {
	store *postgresstore.Store
	orgs  *invitation.Service
	guest *guest.Service
}

func newInstance(t *testing.T, schema string, clock func() time.Time, params ...string) instance {
	t.Helper()
	s := openStore(t, schema, params...)
	orgs, err := invitation.NewService(invitation.Config{Store: s, Keys: [][]byte{signingKey}, Clock: clock})
	require.NoError(t, err)
	guests, err := guest.NewService(guest.Config{Store: s, Keys: [][]byte{signingKey}, Clock: clock})
	require.NoError(t, err)
	return instance{store: s, orgs: orgs, guest: guests}
}

// race runs f on racers goroutines released at once, each given its index
// and the instance it runs on (alternately), and returns their errors.
func race(instances [2]instance, f func(i int, in instance) error) []error {
	return storetest.Race(racers, func(i int) error { return f(i, instances[i%2]) })
}

// countRows returns how many rows of table in schema belong to the
// organization and email.
func countRows(t *testing.T, schema, table, orgColumn string, org uuid.UUID, email string) int {
	t.Helper()
	var n int
	err := admin.QueryRow(context.Background(), "SELECT count(*) FROM "+pgx.Identifier{schema, table}.Sanitize()+
		" WHERE "+orgColumn+" = $1 AND email = $2", org, email).Scan(&n)
	require.NoError(t, err)
	return n
}

// TestTwoInstances runs the races of storetest with the racers split
// over two stores of separate pools on one schema, as two application
// processes would.
func TestTwoInstances(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	clock := storetest.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	in := [2]instance{newInstance(t, schema, clock.Now), newInstance(t, schema, clock.Now)}
	ctx := context.Background()
	const email = "race@example.com"

	t.Run("InvitationAccepts", func(t *testing.T) {
		inv, err := in[0].orgs.Create(ctx, invitation.CreateParams{OrganizationID: uuid.New(), Email: email, Role: "admin"})
		require.NoError(t, err)
		tok := in[0].orgs.Token(inv)
		storetest.OneWinner(t, race(in, func(_ int, in instance) error {
			_, err := in.orgs.Accept(ctx, tok, email)
			return err
		}), store.ErrAlreadyAccepted)
		got, err := in[1].orgs.Get(ctx, inv.OrganizationID, inv.ID)
		require.NoError(t, err)
		assert.Equal(t, invitation.StatusAccepted, got.Status)
	})

	// 200 people redeem a link of 50 uses, alternately through each
	// instance: exactly 50 succeed.
	t.Run("LinkRedemptions", func(t *testing.T) {
		storetest.LinkRedeemRace(t, 200, 50, in[0].store, in[1].store)
	})

	t.Run("GuestAccepts", func(t *testing.T) {
		inv, err := in[0].guest.Create(ctx, guest.CreateParams{HostOrganizationID: uuid.New(), Email: email, ExpiredAt: clock.Now().Add(time.Hour)})
		require.NoError(t, err)
		tok := in[0].guest.Token(inv)
		storetest.OneWinner(t, race(in, func(i int, in instance) error {
			if i%4 < 2 {
				_, err := in.guest.AcceptByGuest(ctx, tok)
				return err
			}
			_, err := in.guest.AcceptBySystem(ctx, inv.HostOrganizationID, inv.ID)
			return err
		}), store.ErrAlreadyAccepted)
		got, err := in[1].guest.Get(ctx, inv.HostOrganizationID, inv.ID)
		require.NoError(t, err)
		assert.NotEqual(t, guest.StatusSent, got.Status)
	})

	t.Run("InvitationCreates", func(t *testing.T) {
		org := uuid.New()
		storetest.OneWinner(t, race(in, func(_ int, in instance) error {
			_, err := in.orgs.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: email, Role: "admin"})
			return err
		}), store.ErrAlreadyExists)
		assert.Equal(t, 1, countRows(t, schema, "invitations", "organization_id", org, email))
	})

	t.Run("GuestCreates", func(t *testing.T) {
		host := uuid.New()
		storetest.OneWinner(t, race(in, func(_ int, in instance) error {
			_, err := in.guest.Create(ctx, guest.CreateParams{HostOrganizationID: host, Email: email, ExpiredAt: clock.Now().Add(time.Hour)})
			return err
		}), store.ErrAlreadyExists)
		assert.Equal(t, 1, countRows(t, schema, "guest_invitations", "host_organization_id", host, email))
	})

	// An expired invitation holds the unique index's claim until a write
	// releases it: the racers all try to release it and insert, and still
	// only one wins.
	t.Run("InvitationCreatesAfterExpiry", func(t *testing.T) {
		org := uuid.New()
		_, err := in[0].orgs.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: email, Role: "admin"})
		require.NoError(t, err)
		clock.Advance(invitation.DefaultTTL)
		storetest.OneWinner(t, race(in, func(_ int, in instance) error {
			_, err := in.orgs.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: email, Role: "admin"})
			return err
		}), store.ErrAlreadyExists)
		assert.Equal(t, 2, countRows(t, schema, "invitations", "organization_id", org, email))
	})

	// Limits are counted in the database under the organization's lock:
	// two instances together admit exactly the limit.
	for _, limits := range []store.Limits{{MaxOpen: 10}, {CreatesPerHour: 10}} {
		t.Run(fmt.Sprintf("Limits%+v", limits), func(t *testing.T) {
			var limited [2]*invitation.Service
			var guests [2]*guest.Service
			for i := range in {
				var err error
				limited[i], err = invitation.NewService(invitation.Config{Store: in[i].store, Keys: [][]byte{signingKey}, Clock: clock.Now, Limits: &limits})
				require.NoError(t, err)
				guests[i], err = guest.NewService(guest.Config{Store: in[i].store, Keys: [][]byte{signingKey}, Clock: clock.Now, Limits: &limits})
				require.NoError(t, err)
			}
			org := uuid.New()
			errs := storetest.Race(racers, func(i int) error {
				email := fmt.Sprintf("racer%d@example.com", i)
				if i%4 < 2 {
					_, err := limited[i%2].Create(ctx, invitation.CreateParams{OrganizationID: org, Email: email, Role: "admin"})
					return err
				}
				_, err := guests[i%2].Create(ctx, guest.CreateParams{HostOrganizationID: org, Email: email, ExpiredAt: clock.Now().Add(time.Hour)})
				return err
			})
			wins := map[bool]int{}
			for i, err := range errs {
				if err == nil {
					wins[i%4 < 2]++
					continue
				}
				assert.ErrorIs(t, err, store.ErrLimitExceeded)
			}
			assert.Equal(t, map[bool]int{true: 10, false: 10}, wins,
				"each kind admits exactly its limit of the organization's creates, from both instances")
		})
	}

	t.Run("SweepsOnBothInstances", func(t *testing.T) {
		org := uuid.New()
		var ids []uuid.UUID
		for i := range 40 {
			inv, err := in[i%2].orgs.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: fmt.Sprintf("s%d@example.com", i), Role: "admin"})
			require.NoError(t, err)
			ids = append(ids, inv.ID)
		}
		clock.Advance(invitation.DefaultTTL)
		var sweepers [2]*invitation.Service
		for i := range in {
			var err error
			sweepers[i], err = invitation.NewService(invitation.Config{Store: in[i].store, Keys: [][]byte{signingKey}, Clock: clock.Now, SweepBatch: 3})
			require.NoError(t, err)
		}
		for _, err := range storetest.Race(4, func(i int) error {
			for {
				res, err := sweepers[i%2].Sweep(ctx)
				if err != nil || res.Expired == 0 {
					return err
				}
			}
		}) {
			require.NoError(t, err)
		}
		evs, err := in[0].store.ListEvents(ctx, event.ListQuery{OrganizationID: org, Types: []event.Type{event.InvitationExpired}, Limit: 100})
		require.NoError(t, err)
		seen := map[uuid.UUID]int{}
		for _, ev := range evs {
			seen[ev.InvitationID]++
		}
		assert.Len(t, evs, len(ids), "one expired event per invitation")
		for _, id := range ids {
			assert.Equal(t, 1, seen[id])
		}
	})

	t.Run("GuestCreatesAfterExpiry", func(t *testing.T) {
		host := uuid.New()
		_, err := in[0].guest.Create(ctx, guest.CreateParams{HostOrganizationID: host, Email: email, ExpiredAt: clock.Now().Add(time.Hour)})
		require.NoError(t, err)
		clock.Advance(time.Hour)
		storetest.OneWinner(t, race(in, func(_ int, in instance) error {
			_, err := in.guest.Create(ctx, guest.CreateParams{HostOrganizationID: host, Email: email, ExpiredAt: clock.Now().Add(time.Hour)})
			return err
		}), store.ErrAlreadyExists)
		assert.Equal(t, 2, countRows(t, schema, "guest_invitations", "host_organization_id", host, email))
	})
}
