package storetest

// The lifecycle tests: metadata, limits, revival on resend, sweeps and
// purges, on both domains through their services, as a store serves them.
// Each behaviour is written once over a lifecycle, the domain's calls in
// common terms, and run for both domains.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
)

// life is how long the invitations of the lifecycle tests stay open.
const life = time.Hour

// lifecycleConfig is what the tests configure of a domain's service.
type lifecycleConfig struct {
	limits    *store.Limits
	limitsFor func(context.Context, uuid.UUID) (store.Limits, error)
	retention time.Duration
	batch     int
}

// record is an invitation as the lifecycle tests look at it.
type record struct {
	ID             uuid.UUID
	Open           bool
	Final          bool
	ExpireAt       time.Time
	ExpiryRecorded bool
	Metadata       json.RawMessage
	Token          string
}

// lifecycle is one domain's service in the terms of the tests.
type lifecycle struct {
	// create creates an invitation of org for email that stays open for
	// life, with metadata.
	create func(ctx context.Context, org uuid.UUID, email string, metadata json.RawMessage) (record, error)
	get    func(ctx context.Context, org, id uuid.UUID) (record, error)
	// resend resends, which revives an expired invitation for life.
	resend func(ctx context.Context, org, id uuid.UUID) (record, error)
	// finish makes the invitation final (accepted, or revoked).
	finish func(ctx context.Context, org, id uuid.UUID) error
	sweep  func(ctx context.Context) (store.SweepResult, error)
	// purge is the store's purge.
	purge func(ctx context.Context, before time.Time, limit int) (int, error)
	// view decodes an event's data.
	view func(data []byte) (record, error)
}

// domain is a domain as the lifecycle tests run it.
type domain struct {
	name             string
	created, expired event.Type
	service          func(h *harness, cfg lifecycleConfig) lifecycle
}

var domains = []domain{
	{name: "Invitation", created: event.InvitationCreated, expired: event.InvitationExpired, service: invitationLifecycle},
	{name: "Guest", created: event.GuestInvitationCreated, expired: event.GuestInvitationExpired, service: guestLifecycle},
}

func invitationLifecycle(h *harness, cfg lifecycleConfig) lifecycle {
	svc, err := invitation.NewService(invitation.Config{Store: h.istore, Keys: [][]byte{key}, Clock: h.clock.Now, TTL: life,
		Limits: cfg.limits, LimitsFor: cfg.limitsFor, Retention: cfg.retention, SweepBatch: cfg.batch})
	require.NoError(h.t, err)
	rec := func(inv invitation.Invitation) record {
		return record{ID: inv.ID, Open: inv.Open(h.clock.Now()), Final: inv.Status != invitation.StatusPending,
			ExpireAt: inv.ExpireAt, ExpiryRecorded: inv.ExpiryRecorded, Metadata: inv.Metadata, Token: svc.Token(inv)}
	}
	recErr := func(inv invitation.Invitation, err error) (record, error) {
		if err != nil {
			return record{}, err
		}
		return rec(inv), nil
	}
	return lifecycle{
		create: func(ctx context.Context, org uuid.UUID, email string, metadata json.RawMessage) (record, error) {
			return recErr(svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: email, Role: "admin", Metadata: metadata}))
		},
		get: func(ctx context.Context, org, id uuid.UUID) (record, error) { return recErr(svc.Get(ctx, org, id)) },
		resend: func(ctx context.Context, org, id uuid.UUID) (record, error) {
			return recErr(svc.Resend(ctx, org, id))
		},
		finish: func(ctx context.Context, org, id uuid.UUID) error {
			_, err := svc.Revoke(ctx, org, id)
			return err
		},
		sweep: svc.Sweep,
		purge: h.istore.PurgeInvitations,
		view: func(data []byte) (record, error) {
			var v invitation.View
			if err := json.Unmarshal(data, &v); err != nil {
				return record{}, err
			}
			expireAt, err := time.Parse(time.RFC3339Nano, v.ExpireAt)
			return record{ID: uuid.MustParse(v.ID), Open: v.Status == invitation.StatusPending, ExpireAt: expireAt,
				Final: v.Status == invitation.StatusAccepted || v.Status == invitation.StatusRevoked, Metadata: v.Metadata}, err
		},
	}
}

func guestLifecycle(h *harness, cfg lifecycleConfig) lifecycle {
	svc, err := guest.NewService(guest.Config{Store: h.gstore, Keys: [][]byte{key}, Clock: h.clock.Now, DefaultExpiry: life,
		Limits: cfg.limits, LimitsFor: cfg.limitsFor, Retention: cfg.retention, SweepBatch: cfg.batch})
	require.NoError(h.t, err)
	rec := func(inv guest.Invitation) record {
		return record{ID: inv.ID, Open: inv.Open(h.clock.Now()), Final: inv.Status != guest.StatusSent,
			ExpireAt: inv.ExpiredAt, ExpiryRecorded: inv.ExpiryRecorded, Metadata: inv.Metadata, Token: svc.Token(inv)}
	}
	recErr := func(inv guest.Invitation, err error) (record, error) {
		if err != nil {
			return record{}, err
		}
		return rec(inv), nil
	}
	return lifecycle{
		create: func(ctx context.Context, org uuid.UUID, email string, metadata json.RawMessage) (record, error) {
			return recErr(svc.Create(ctx, guest.CreateParams{HostOrganizationID: org, Email: email,
				ExpiredAt: h.clock.Now().Add(life), Metadata: metadata}))
		},
		get: func(ctx context.Context, org, id uuid.UUID) (record, error) { return recErr(svc.Get(ctx, org, id)) },
		resend: func(ctx context.Context, org, id uuid.UUID) (record, error) {
			return recErr(svc.Resend(ctx, org, id, nil))
		},
		finish: func(ctx context.Context, org, id uuid.UUID) error {
			_, err := svc.AcceptBySystem(ctx, org, id)
			return err
		},
		sweep: svc.Sweep,
		purge: h.gstore.PurgeGuestInvitations,
		view: func(data []byte) (record, error) {
			var v guest.View
			if err := json.Unmarshal(data, &v); err != nil {
				return record{}, err
			}
			expireAt, err := time.Parse(time.RFC3339Nano, v.ExpiredAt)
			return record{ID: uuid.MustParse(v.ID), Open: v.Status == guest.StatusSent && !v.Expired && !v.Archived,
				ExpireAt: expireAt, Final: v.Status != guest.StatusSent, Metadata: v.Metadata}, err
		},
	}
}

// lifecycleTests are the tests of every domain, named after it.
func lifecycleTests() []test {
	var out []test
	for _, d := range domains {
		for _, lt := range domainLifecycleTests {
			out = append(out, test{d.name + lt.name, func(t *testing.T, h *harness) { lt.run(t, h, d) }})
		}
	}
	out = append(out, invitationOnlyLifecycleTests...)
	return append(out, guestOnlyLifecycleTests...)
}

// domainTest is a lifecycle test of one domain.
type domainTest struct {
	name string
	run  func(t *testing.T, h *harness, d domain)
}

// metadata is a JSON object with what a store could mangle: order, nesting,
// escapes, non-ASCII text, numbers that are not float64-exact.
const metadata = `{"z":1,"a":[true,null,{"n":12345678901234567890}],"text":"\u00e9\u2028\"\\\/x","team":{"id":"t-7"}}`

var domainLifecycleTests = []domainTest{
	{"MetadataRoundTrip", func(t *testing.T, h *harness, d domain) {
		svc := d.service(h, lifecycleConfig{})
		org := newOrg()
		spaced := json.RawMessage(" {\"z\" : 1, \"a\": [true, null, {\"n\": 12345678901234567890}],\n \"text\":\"\\u00e9\\u2028\\\"\\\\\\/x\", \"team\": {\"id\": \"t-7\"}} ")
		created, err := svc.create(h.ctx, org, "meta@example.com", spaced)
		require.NoError(t, err)
		assert.Equal(t, metadata, string(created.Metadata), "stored compact, escapes and order as given")
		got, err := svc.get(h.ctx, org, created.ID)
		require.NoError(t, err)
		assert.Equal(t, metadata, string(got.Metadata), "read back byte for byte")
		_, err = svc.resend(h.ctx, org, created.ID)
		require.NoError(t, err)
		got, err = svc.get(h.ctx, org, created.ID)
		require.NoError(t, err)
		assert.Equal(t, metadata, string(got.Metadata), "a change keeps it")
		evs := h.eventsOf(org)
		require.Len(t, evs, 2)
		for _, ev := range evs {
			v, err := svc.view(ev.Data)
			require.NoError(t, err)
			assert.Equal(t, metadata, string(v.Metadata), "%s carries it", ev.Type)
		}

		none, err := svc.create(h.ctx, org, "none@example.com", json.RawMessage("null"))
		require.NoError(t, err)
		got, err = svc.get(h.ctx, org, none.ID)
		require.NoError(t, err)
		assert.Nil(t, got.Metadata, "JSON null is none")

		for name, bad := range map[string]string{
			"array": `[1]`, "string": `"x"`, "not JSON": `{"a":}`, "twice": `{"a":1,"b":{"c":1,"c":2}}`,
			"too large": `{"a":"` + string(make([]byte, 0)) + fmt.Sprintf("%04097d", 0) + `"}`,
		} {
			_, err := svc.create(h.ctx, org, "bad@example.com", json.RawMessage(bad))
			var verr *store.ValidationError
			if assert.ErrorAs(t, err, &verr, name) {
				assert.Equal(t, "Metadata", verr.Fields[0].Field, name)
			}
		}
	}},
	{"LimitsExactUnderConcurrentCreates", func(t *testing.T, h *harness, d domain) {
		for _, tc := range []struct {
			name   string
			limits store.Limits
			which  store.Limit
		}{
			{"open", store.Limits{MaxOpen: 10}, store.LimitMaxOpen},
			{"rate", store.Limits{CreatesPerHour: 10}, store.LimitCreatesPerHour},
		} {
			svc := d.service(h, lifecycleConfig{limits: &tc.limits})
			org := newOrg()
			errs := race(func(i int) error {
				_, err := svc.create(h.ctx, org, fmt.Sprintf("racer%d@example.com", i), nil)
				return err
			})
			wins := 0
			for _, err := range errs {
				if err == nil {
					wins++
					continue
				}
				var lerr *store.LimitError
				if assert.ErrorAs(t, err, &lerr, tc.name) {
					assert.Equal(t, tc.which, lerr.Limit, tc.name)
					assert.Equal(t, 10, lerr.Max, tc.name)
				}
				assert.ErrorIs(t, err, store.ErrLimitExceeded, tc.name)
			}
			assert.Equal(t, 10, wins, "%s: exactly the limit succeeds of %d concurrent creates", tc.name, racers)
			assert.Len(t, h.eventsOf(org, d.created), 10, "%s: one created event per create that succeeded", tc.name)
		}
	}},
	{"OpenLimit", func(t *testing.T, h *harness, d domain) {
		svc := d.service(h, lifecycleConfig{limits: &store.Limits{MaxOpen: 2}})
		org, other := newOrg(), newOrg()
		first, err := svc.create(h.ctx, org, "a@example.com", nil)
		require.NoError(t, err)
		h.clock.Advance(time.Minute)
		second, err := svc.create(h.ctx, org, "b@example.com", nil)
		require.NoError(t, err)
		_, err = svc.create(h.ctx, other, "a@example.com", nil)
		require.NoError(t, err, "another organization has places of its own")

		h.clock.Advance(time.Minute)
		_, err = svc.create(h.ctx, org, "c@example.com", nil)
		var lerr *store.LimitError
		require.ErrorAs(t, err, &lerr)
		assert.Equal(t, store.LimitMaxOpen, lerr.Limit)
		assert.Equal(t, first.ExpireAt.Sub(h.clock.Now()), lerr.RetryAfter, "until the soonest open invitation expires")

		require.NoError(t, svc.finish(h.ctx, org, second.ID))
		_, err = svc.create(h.ctx, org, "c@example.com", nil)
		require.NoError(t, err, "a final invitation frees its place")

		// The first expires: its place is free, and reviving it needs one.
		h.clock.Set(first.ExpireAt)
		fourth, err := svc.create(h.ctx, org, "d@example.com", nil)
		require.NoError(t, err, "an expired invitation frees its place")
		_, err = svc.resend(h.ctx, org, first.ID)
		require.ErrorAs(t, err, &lerr, "reviving at the limit is refused")
		assert.Equal(t, store.LimitMaxOpen, lerr.Limit)
		got, err := svc.get(h.ctx, org, first.ID)
		require.NoError(t, err)
		assert.False(t, got.Open, "the refused revive changed nothing")
		assert.Equal(t, first.Token, got.Token, "the refused revive rotated no token")

		require.NoError(t, svc.finish(h.ctx, org, fourth.ID))
		revived, err := svc.resend(h.ctx, org, first.ID)
		require.NoError(t, err, "with a place free, the revive goes through")
		assert.True(t, revived.Open)
	}},
	{"RateLimit", func(t *testing.T, h *harness, d domain) {
		svc := d.service(h, lifecycleConfig{limits: &store.Limits{CreatesPerHour: 3}})
		org := newOrg()
		first := h.clock.Now()
		for i := range 3 {
			_, err := svc.create(h.ctx, org, fmt.Sprintf("u%d@example.com", i), nil)
			require.NoError(t, err)
			h.clock.Advance(10 * time.Minute)
		}
		_, err := svc.create(h.ctx, org, "late@example.com", nil)
		var lerr *store.LimitError
		require.ErrorAs(t, err, &lerr)
		assert.Equal(t, store.LimitCreatesPerHour, lerr.Limit)
		assert.Equal(t, first.Add(time.Hour).Sub(h.clock.Now()), lerr.RetryAfter, "until the oldest create leaves the hour")

		// A refused create counts for nothing, finished ones still count.
		got, err := svc.create(h.ctx, newOrg(), "elsewhere@example.com", nil)
		require.NoError(t, err, "another organization's window is its own: %v", got)
		h.clock.Set(first.Add(time.Hour))
		_, err = svc.create(h.ctx, org, "late@example.com", nil)
		require.NoError(t, err, "an hour after the first create, the window has room")
		_, err = svc.create(h.ctx, org, "later@example.com", nil)
		assert.ErrorIs(t, err, store.ErrLimitExceeded, "and room for one only")
	}},
	{"LimitsPerOrganization", func(t *testing.T, h *harness, d domain) {
		small, big := newOrg(), newOrg()
		asked := 0
		var mu sync.Mutex
		svc := d.service(h, lifecycleConfig{limitsFor: func(_ context.Context, org uuid.UUID) (store.Limits, error) {
			mu.Lock()
			defer mu.Unlock()
			asked++
			if org == small {
				return store.Limits{MaxOpen: 1}, nil
			}
			return store.Limits{}, nil
		}})
		for i := range 3 {
			_, err := svc.create(h.ctx, big, fmt.Sprintf("u%d@example.com", i), nil)
			require.NoError(t, err, "no limits for big")
		}
		_, err := svc.create(h.ctx, small, "a@example.com", nil)
		require.NoError(t, err)
		_, err = svc.create(h.ctx, small, "b@example.com", nil)
		assert.ErrorIs(t, err, store.ErrLimitExceeded)
		assert.Equal(t, 5, asked, "asked once per create")

		failing := errors.New("plans service down")
		svc = d.service(h, lifecycleConfig{limitsFor: func(context.Context, uuid.UUID) (store.Limits, error) { return store.Limits{}, failing }})
		_, err = svc.create(h.ctx, big, "c@example.com", nil)
		assert.ErrorIs(t, err, failing, "the hook's error fails the create")
		assert.Len(t, h.eventsOf(big, d.created), 3, "and nothing was created")
	}},
	{"ReviveOnResend", func(t *testing.T, h *harness, d domain) {
		svc := d.service(h, lifecycleConfig{})
		org := newOrg()
		inv, err := svc.create(h.ctx, org, "back@example.com", nil)
		require.NoError(t, err)
		h.clock.Set(inv.ExpireAt)
		expired, err := svc.get(h.ctx, org, inv.ID)
		require.NoError(t, err)
		require.False(t, expired.Open)

		revived, err := svc.resend(h.ctx, org, inv.ID)
		require.NoError(t, err)
		assert.True(t, revived.Open, "open again")
		assert.Equal(t, h.clock.Now().Add(life), revived.ExpireAt, "for a new life from now")
		assert.NotEqual(t, inv.Token, revived.Token, "with a new token")
		got, err := svc.get(h.ctx, org, inv.ID)
		require.NoError(t, err)
		assert.Equal(t, revived, got, "stored")

		// Its email is held again: a second open invitation is refused.
		_, err = svc.create(h.ctx, org, "back@example.com", nil)
		assert.ErrorIs(t, err, store.ErrAlreadyExists)

		// Expired again while another invitation holds the email, it
		// cannot be revived.
		h.clock.Set(revived.ExpireAt)
		newer, err := svc.create(h.ctx, org, "back@example.com", nil)
		require.NoError(t, err)
		_, err = svc.resend(h.ctx, org, inv.ID)
		assert.ErrorIs(t, err, store.ErrAlreadyExists)
		got, err = svc.get(h.ctx, org, inv.ID)
		require.NoError(t, err)
		assert.Equal(t, revived.Token, got.Token, "the refused revive changed nothing")

		// A final invitation is never revived.
		require.NoError(t, svc.finish(h.ctx, org, newer.ID))
		h.clock.Set(newer.ExpireAt)
		_, err = svc.resend(h.ctx, org, newer.ID)
		assert.ErrorIs(t, err, store.ErrConflict)
	}},
	{"SweepRecordsEachExpiryOnce", func(t *testing.T, h *harness, d domain) {
		svc := d.service(h, lifecycleConfig{batch: 7})
		orgs := []uuid.UUID{newOrg(), newOrg(), newOrg()}
		var expiring []record
		for i := range 30 {
			inv, err := svc.create(h.ctx, orgs[i%3], fmt.Sprintf("e%d@example.com", i), nil)
			require.NoError(t, err)
			expiring = append(expiring, inv)
		}
		final, err := svc.create(h.ctx, orgs[0], "final@example.com", nil)
		require.NoError(t, err)
		require.NoError(t, svc.finish(h.ctx, orgs[0], final.ID))
		h.clock.Advance(life / 2)
		later, err := svc.create(h.ctx, orgs[1], "later@example.com", nil)
		require.NoError(t, err)

		res, err := svc.sweep(h.ctx)
		require.NoError(t, err)
		assert.Equal(t, store.SweepResult{}, res, "nothing has expired yet")

		h.clock.Set(expiring[0].ExpireAt)
		var mu sync.Mutex
		var total store.SweepResult
		errs := Race(4, func(int) error {
			for {
				res, err := svc.sweep(h.ctx)
				if err != nil {
					return err
				}
				mu.Lock()
				total.Expired += res.Expired
				mu.Unlock()
				if res.Expired == 0 {
					return nil
				}
			}
		})
		for _, err := range errs {
			require.NoError(t, err)
		}
		assert.Equal(t, len(expiring), total.Expired, "four sweepers recorded each expiry once between them")
		perInvitation := map[uuid.UUID]int{}
		for _, org := range orgs {
			for _, ev := range h.eventsOf(org, d.expired) {
				perInvitation[ev.InvitationID]++
				assert.Nil(t, ev.ActorID, "an expiry has no actor")
				assert.Equal(t, h.clock.Now(), ev.OccurredAt)
				v, err := svc.view(ev.Data)
				require.NoError(t, err)
				assert.False(t, v.Open, "the event shows the invitation expired")
			}
		}
		assert.Len(t, perInvitation, len(expiring))
		for _, inv := range expiring {
			assert.Equal(t, 1, perInvitation[inv.ID], "one %s event for %s", d.expired, inv.ID)
			got, err := svc.get(h.ctx, orgs[0], inv.ID)
			if err == nil {
				assert.True(t, got.ExpiryRecorded)
			}
		}
		assert.Zero(t, perInvitation[final.ID], "a final invitation does not expire")
		assert.Zero(t, perInvitation[later.ID], "an open invitation does not expire")
		res, err = svc.sweep(h.ctx)
		require.NoError(t, err)
		assert.Equal(t, store.SweepResult{}, res, "a second sweep finds nothing")

		// A revived invitation's next expiry is recorded once more.
		revived, err := svc.resend(h.ctx, orgs[0], expiring[0].ID)
		require.NoError(t, err)
		assert.False(t, revived.ExpiryRecorded)
		h.clock.Set(revived.ExpireAt)
		for more := true; more; {
			res, err := svc.sweep(h.ctx)
			require.NoError(t, err)
			more = res.More
		}
		n := 0
		for _, ev := range h.eventsOf(orgs[0], d.expired) {
			if ev.InvitationID == revived.ID {
				n++
			}
		}
		assert.Equal(t, 2, n, "each expiry of a revived invitation is recorded")
	}},
	{"SweepIsBounded", func(t *testing.T, h *harness, d domain) {
		svc := d.service(h, lifecycleConfig{batch: 5})
		org := newOrg()
		for i := range 12 {
			_, err := svc.create(h.ctx, org, fmt.Sprintf("b%d@example.com", i), nil)
			require.NoError(t, err)
		}
		h.clock.Advance(life)
		var got []store.SweepResult
		for range 4 {
			res, err := svc.sweep(h.ctx)
			require.NoError(t, err)
			got = append(got, res)
		}
		assert.Equal(t, []store.SweepResult{{Expired: 5, More: true}, {Expired: 5, More: true}, {Expired: 2}, {}}, got,
			"each call does at most a batch, and says whether more is left")
	}},
	{"PurgeAfterRetention", func(t *testing.T, h *harness, d domain) {
		const retention = 24 * time.Hour
		svc := d.service(h, lifecycleConfig{retention: retention, batch: 2})
		org := newOrg()
		finished, err := svc.create(h.ctx, org, "finished@example.com", nil)
		require.NoError(t, err)
		require.NoError(t, svc.finish(h.ctx, org, finished.ID))
		expired, err := svc.create(h.ctx, org, "expired@example.com", nil)
		require.NoError(t, err)
		open, err := svc.create(h.ctx, org, "open@example.com", nil)
		require.NoError(t, err)

		// Past the retention, with the expiry not yet recorded: the
		// final one goes, the expired one must first have its event.
		h.clock.Advance(retention + life + time.Minute)
		_, err = svc.resend(h.ctx, org, open.ID) // revived: open now
		require.NoError(t, err)
		n, err := svc.purge(h.ctx, h.clock.Now().Add(-retention), 10)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		_, err = svc.get(h.ctx, org, finished.ID)
		assert.ErrorIs(t, err, store.ErrNotFound, "a final invitation is purged after the retention")
		_, err = svc.get(h.ctx, org, expired.ID)
		require.NoError(t, err, "an expired invitation is kept until its expiry is recorded")

		res, err := svc.sweep(h.ctx)
		require.NoError(t, err)
		assert.Equal(t, store.SweepResult{Expired: 1, Purged: 1}, res, "a sweep records the expiry, then purges")
		_, err = svc.get(h.ctx, org, expired.ID)
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = svc.get(h.ctx, org, open.ID)
		assert.NoError(t, err, "an open invitation is never purged")
		assert.Len(t, h.eventsOf(org, d.expired), 1, "the events of a purged invitation stay")
		n, err = svc.purge(h.ctx, h.clock.Now(), 10)
		require.NoError(t, err)
		assert.Zero(t, n, "nothing else has ended")

		keep := d.service(h, lifecycleConfig{})
		h.clock.Advance(365 * 24 * time.Hour)
		for more := true; more; {
			res, err := keep.sweep(h.ctx)
			require.NoError(t, err)
			assert.Zero(t, res.Purged, "without a retention nothing is purged")
			more = res.More
		}
		_, err = svc.get(h.ctx, org, open.ID)
		assert.NoError(t, err)
	}},
}

// invitationOnlyLifecycleTests are about CreateMany, which only
// organization invitations have.
var invitationOnlyLifecycleTests = []test{
	{"InvitationCreateManyPartial", func(t *testing.T, h *harness) {
		svc, err := invitation.NewService(invitation.Config{Store: h.istore, Keys: [][]byte{key}, Clock: h.clock.Now,
			Limits: &store.Limits{MaxOpen: 4}})
		require.NoError(t, err)
		org := newOrg()
		held, err := svc.Create(h.ctx, invitation.CreateParams{OrganizationID: org, Email: "held@example.com", Role: "admin"})
		require.NoError(t, err)
		item := func(email string) invitation.CreateParams {
			return invitation.CreateParams{Email: email, Role: "developer", Metadata: json.RawMessage(`{"row":"` + email + `"}`)}
		}
		res, err := svc.CreateMany(h.ctx, org, []invitation.CreateParams{
			item("a@example.com"),
			item("held@example.com"), // held by an open invitation
			item("not an email"),
			item("a@example.com"), // held by the first item
			item("b@example.com"),
			{OrganizationID: newOrg(), Email: "c@example.com", Role: "admin"}, // another organization's
			item("c@example.com"),
			item("d@example.com"), // past MaxOpen: held, a, b, c are open
		})
		require.NoError(t, err)
		require.Len(t, res, 8)
		for _, i := range []int{0, 4, 6} {
			if assert.NoError(t, res[i].Err, "item %d", i) {
				got, err := svc.Get(h.ctx, org, res[i].Invitation.ID)
				require.NoError(t, err)
				assert.Equal(t, res[i].Invitation, got, "item %d is stored as returned", i)
			}
		}
		assert.ErrorIs(t, res[1].Err, store.ErrAlreadyExists)
		assert.ErrorIs(t, res[3].Err, store.ErrAlreadyExists, "an earlier item holds the email")
		var verr *store.ValidationError
		if assert.ErrorAs(t, res[2].Err, &verr) {
			assert.Equal(t, invitation.FieldEmail, verr.Fields[0].Field)
		}
		if assert.ErrorAs(t, res[5].Err, &verr) {
			assert.Equal(t, invitation.FieldOrganizationID, verr.Fields[0].Field)
		}
		var lerr *store.LimitError
		if assert.ErrorAs(t, res[7].Err, &lerr) {
			assert.Equal(t, store.LimitMaxOpen, lerr.Limit)
			assert.Equal(t, held.ExpireAt.Sub(h.clock.Now()), lerr.RetryAfter)
		}
		page, err := svc.List(h.ctx, org, invitation.ListOptions{})
		require.NoError(t, err)
		assert.Len(t, page.Invitations, 4, "held and the three created: nothing else was written")
		created := h.eventsOf(org, event.InvitationCreated)
		assert.Len(t, created, 4, "an event for each created invitation only")

		_, err = svc.CreateMany(h.ctx, org, nil)
		assert.ErrorAs(t, err, &verr, "no item")
		_, err = svc.CreateMany(h.ctx, org, make([]invitation.CreateParams, invitation.MaxBulk+1))
		if assert.ErrorAs(t, err, &verr, "too many items") {
			assert.Equal(t, invitation.FieldInvitations, verr.Fields[0].Field)
		}
	}},
	{"InvitationCreateManyOneTenant", func(t *testing.T, h *harness) {
		now := h.clock.Now()
		a, b := h.newInvitation(newOrg(), "a@example.com"), h.newInvitation(newOrg(), "b@example.com")
		_, err := h.istore.CreateInvitations(h.ctx, []invitation.Invitation{a, b}, now,
			[]event.Event{NewEvent(event.InvitationCreated), NewEvent(event.InvitationCreated)}, store.Limits{})
		assert.Error(t, err, "a batch holds one organization's invitations")
		_, err = h.istore.GetInvitation(h.ctx, a.OrganizationID, a.ID)
		assert.ErrorIs(t, err, store.ErrNotFound, "and nothing of it is stored")
		errs, err := h.istore.CreateInvitations(h.ctx, nil, now, nil, store.Limits{MaxOpen: 1})
		assert.NoError(t, err)
		assert.Empty(t, errs)
	}},
}

var guestOnlyLifecycleTests = []test{
	{"GuestUnarchiveRespectsOpenLimit", func(t *testing.T, h *harness) {
		svc, err := guest.NewService(guest.Config{Store: h.gstore, Keys: [][]byte{key}, Clock: h.clock.Now,
			Limits: &store.Limits{MaxOpen: 1}})
		require.NoError(t, err)
		host := newOrg()
		first, err := svc.Create(h.ctx, guest.CreateParams{HostOrganizationID: host, Email: "a@example.com", ExpiredAt: h.clock.Now().Add(life)})
		require.NoError(t, err)
		_, err = svc.SetArchived(h.ctx, host, first.ID, true)
		require.NoError(t, err)
		_, err = svc.Create(h.ctx, guest.CreateParams{HostOrganizationID: host, Email: "b@example.com", ExpiredAt: h.clock.Now().Add(life)})
		require.NoError(t, err, "an archived invitation is not open")
		_, err = svc.SetArchived(h.ctx, host, first.ID, false)
		assert.ErrorIs(t, err, store.ErrLimitExceeded, "unarchiving opens it again: refused at the limit")
		got, err := svc.Get(h.ctx, host, first.ID)
		require.NoError(t, err)
		assert.True(t, got.Archived, "the refused unarchive changed nothing")
	}},
	{"GuestSweepRecordsArchivedExpiries", func(t *testing.T, h *harness) {
		host := newOrg()
		g, err := h.guest.Create(h.ctx, guest.CreateParams{HostOrganizationID: host, Email: "a@example.com", ExpiredAt: h.clock.Now().Add(life)})
		require.NoError(t, err)
		_, err = h.guest.SetArchived(h.ctx, host, g.ID, true)
		require.NoError(t, err)
		h.clock.Advance(life)
		res, err := h.guest.Sweep(h.ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, res.Expired, "an archived invitation expires too: its expired field turns true")
		evs := h.eventsOf(host, event.GuestInvitationExpired)
		require.Len(t, evs, 1)
		var v guest.View
		require.NoError(t, json.Unmarshal(evs[0].Data, &v))
		assert.True(t, v.Expired)
		assert.True(t, v.Archived)
	}},
}
