package postgresstore_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/postgresstore"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/storetest"
)

// The benchmarks measure the store alone, with invitations the services
// would have built, on one schema they share; run them with
//
//	INVITEKIT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//		go test -run '^$' -bench . ./postgresstore/
//
// BenchmarkInsertBaseline is a bare pgx INSERT of the row CreateInvitation
// writes, into the same table, for the ratio the store costs over the
// driver.

var (
	benchCtx = context.Background()
	benchT0  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	benchNow = benchT0.Add(time.Hour)
)

// callers are the numbers of concurrent callers each benchmark runs with.
var callers = []int{1, 16}

// bench is the state the benchmarks share: one schema, one store on a pool
// big enough for every caller, and organizations already filled with rows.
var bench struct {
	once   sync.Once
	err    error
	schema string
	pool   *pgxpool.Pool
	store  *postgresstore.Store
	filled map[int]uuid.UUID // rows -> organization (and guest host) holding that many
}

// benchStore returns the shared store, creating its schema on first use.
func benchStore(b *testing.B) *postgresstore.Store {
	b.Helper()
	u := testURL(b)
	bench.once.Do(func() {
		bench.schema = randomName("invitekit_bench_")
		bench.filled = map[int]uuid.UUID{}
		bench.pool, bench.err = pgxpool.New(benchCtx, withParams(u, "pool_max_conns=16"))
		if bench.err != nil {
			return
		}
		bench.store, bench.err = postgresstore.New(benchCtx, bench.pool, postgresstore.WithSchema(bench.schema))
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.store
}

// dropBenchSchema drops the schema the benchmarks loaded, if any.
func dropBenchSchema() {
	if bench.pool == nil {
		return
	}
	bench.pool.Close()
	if bench.schema != "" {
		if _, err := admin.Exec(benchCtx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{bench.schema}.Sanitize()+" CASCADE"); err != nil {
			fmt.Fprintln(os.Stderr, "drop benchmark schema:", err)
		}
	}
}

func benchInvitation(org uuid.UUID, i int) invitation.Invitation {
	at := benchT0.Add(time.Duration(i) * time.Microsecond)
	return invitation.Invitation{
		ID: uuid.Must(uuid.NewV7()), OrganizationID: org, Email: fmt.Sprintf("user%d@example.com", i),
		Role: "developer", Status: invitation.StatusPending, Nonce: make([]byte, 16),
		CreatedAt: at, SentAt: at, ExpireAt: at.Add(7 * 24 * time.Hour),
	}
}

func benchGuest(host uuid.UUID, i int) guest.Invitation {
	at := benchT0.Add(time.Duration(i) * time.Microsecond)
	return guest.Invitation{
		ID: uuid.Must(uuid.NewV7()), HostOrganizationID: host, Email: fmt.Sprintf("guest%d@example.com", i),
		FirstInvitationSentAt: at, LastInvitationSentAt: at, ExpiredAt: at.Add(7 * 24 * time.Hour),
		Status: guest.StatusSent, CreatedAt: at, UpdatedAt: at, Nonce: make([]byte, 16),
	}
}

// copyInvitations bulk-loads n organization invitations of org with COPY,
// as open ones are stored (open_claim set).
func copyInvitations(b *testing.B, org uuid.UUID, n int) []invitation.Invitation {
	b.Helper()
	invs := make([]invitation.Invitation, n)
	src := pgx.CopyFromSlice(n, func(i int) ([]any, error) {
		invs[i] = benchInvitation(org, i)
		inv := invs[i]
		return []any{inv.ID, inv.OrganizationID, inv.Email, inv.Role, inv.InviterID, string(inv.Status), inv.Nonce,
			inv.CreatedAt, inv.SentAt, inv.ExpireAt, inv.AcceptedAt, inv.RevokedAt, true}, nil
	})
	_, err := bench.pool.CopyFrom(benchCtx, pgx.Identifier{bench.schema, "invitations"},
		[]string{"id", "organization_id", "email", "role", "inviter_id", "status", "nonce", "created_at", "sent_at",
			"expire_at", "accepted_at", "revoked_at", "open_claim"}, src)
	if err != nil {
		b.Fatal(err)
	}
	return invs
}

func copyGuests(b *testing.B, host uuid.UUID, n int) {
	b.Helper()
	src := pgx.CopyFromSlice(n, func(i int) ([]any, error) {
		inv := benchGuest(host, i)
		return []any{inv.ID, inv.HostOrganizationID, inv.Email, inv.FirstInvitationSentAt, inv.LastInvitationSentAt,
			inv.ExpiredAt, string(inv.Status), inv.Archived, inv.CreatedAt, inv.UpdatedAt, inv.Nonce, true}, nil
	})
	_, err := bench.pool.CopyFrom(benchCtx, pgx.Identifier{bench.schema, "guest_invitations"},
		[]string{"id", "host_organization_id", "email", "first_invitation_sent_at", "last_invitation_sent_at", "expired_at",
			"status", "archived", "created_at", "updated_at", "nonce", "open_claim"}, src)
	if err != nil {
		b.Fatal(err)
	}
}

// filledOrg returns an organization that holds rows invitations of both
// kinds, loading them on first use, outside any timing.
func filledOrg(b *testing.B, rows int) uuid.UUID {
	b.Helper()
	benchStore(b)
	if org, ok := bench.filled[rows]; ok {
		return org
	}
	org := uuid.New()
	start := time.Now()
	copyInvitations(b, org, rows)
	copyGuests(b, org, rows)
	// What autovacuum would do to a table this size: statistics, and a
	// visibility map for index-only scans.
	if _, err := bench.pool.Exec(benchCtx, "VACUUM ANALYZE "+pgx.Identifier{bench.schema, "invitations"}.Sanitize()+", "+
		pgx.Identifier{bench.schema, "guest_invitations"}.Sanitize()); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d rows of each kind in %v", rows, time.Since(start).Round(time.Millisecond))
	bench.filled[rows] = org
	return org
}

// forCallers runs f as one sub-benchmark per number of callers.
func forCallers(b *testing.B, f func(b *testing.B, n int)) {
	for _, n := range callers {
		b.Run(fmt.Sprintf("callers=%d", n), func(b *testing.B) { f(b, n) })
	}
}

func BenchmarkCreateInvitation(b *testing.B) {
	s := benchStore(b)
	forCallers(b, func(b *testing.B, n int) {
		org := uuid.New()
		storetest.Callers(b, n, func(i int) error {
			return s.CreateInvitation(benchCtx, benchInvitation(org, i), benchNow, storetest.NewEvent(event.InvitationCreated))
		})
	})
}

// BenchmarkInsertBaseline inserts the row CreateInvitation writes with one
// bare pgx Exec on the same pool and table.
func BenchmarkInsertBaseline(b *testing.B) {
	benchStore(b)
	insert := "INSERT INTO " + pgx.Identifier{bench.schema, "invitations"}.Sanitize() + ` (id, organization_id, email, role,
		inviter_id, status, nonce, created_at, sent_at, expire_at, accepted_at, revoked_at, open_claim)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`
	forCallers(b, func(b *testing.B, n int) {
		org := uuid.New()
		storetest.Callers(b, n, func(i int) error {
			inv := benchInvitation(org, i)
			_, err := bench.pool.Exec(benchCtx, insert, inv.ID, inv.OrganizationID, inv.Email, inv.Role, inv.InviterID,
				string(inv.Status), inv.Nonce, inv.CreatedAt, inv.SentAt, inv.ExpireAt, inv.AcceptedAt, inv.RevokedAt, true)
			return err
		})
	})
}

func BenchmarkCreateGuestInvitation(b *testing.B) {
	s := benchStore(b)
	forCallers(b, func(b *testing.B, n int) {
		host := uuid.New()
		storetest.Callers(b, n, func(i int) error {
			return s.CreateGuestInvitation(benchCtx, benchGuest(host, i), benchNow, storetest.NewEvent(event.GuestInvitationCreated))
		})
	})
}

// BenchmarkAcceptInvitation is the store's part of Service.Accept: the
// row-locking update transaction (the service also reads the invitation
// by ID first, one GetInvitation more).
func BenchmarkAcceptInvitation(b *testing.B) {
	s := benchStore(b)
	forCallers(b, func(b *testing.B, n int) {
		org := uuid.New()
		invs := copyInvitations(b, org, b.N)
		accept := func(inv *invitation.Invitation) error {
			inv.Status = invitation.StatusAccepted
			inv.AcceptedAt = &benchNow
			return nil
		}
		storetest.Callers(b, n, func(i int) error {
			_, err := s.UpdateInvitation(benchCtx, org, invs[i].ID, benchNow, store.Limits{}, storetest.Change(accept))
			return err
		})
	})
}

// BenchmarkListInvitations reads a keyset page of 50 from the middle of an
// organization's list.
func BenchmarkListInvitations(b *testing.B) {
	for _, rows := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			s := benchStore(b)
			// The cursor sits at the middle row's creation time: the page
			// holds the 50 rows created just before it.
			q := invitation.ListQuery{
				OrganizationID: filledOrg(b, rows), Now: benchNow, Limit: 50,
				After: &store.Cursor{CreatedAt: benchT0.Add(time.Duration(rows/2) * time.Microsecond)},
			}
			forCallers(b, func(b *testing.B, n int) {
				storetest.Callers(b, n, func(int) error {
					page, err := s.ListInvitations(benchCtx, q)
					if err == nil && len(page) != 50 {
						err = fmt.Errorf("page of %d", len(page))
					}
					return err
				})
			})
		})
	}
}

// BenchmarkListGuestInvitations reads the first page of 20, newest first,
// with the total, as the guest list route does by default.
func BenchmarkListGuestInvitations(b *testing.B) {
	for _, rows := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			s := benchStore(b)
			q := guest.ListQuery{
				HostOrganizationID: filledOrg(b, rows), Now: benchNow, OrderBy: guest.OrderByCreatedAt,
				Order: store.Desc, Limit: 20,
			}
			forCallers(b, func(b *testing.B, n int) {
				storetest.Callers(b, n, func(int) error {
					page, total, err := s.ListGuestInvitations(benchCtx, q)
					if err == nil && (len(page) != 20 || total != rows) {
						err = fmt.Errorf("page of %d, total %d", len(page), total)
					}
					return err
				})
			})
		})
	}
}

// BenchmarkSweep records the expiry of 1,000,000 expired invitations of
// 1,000 organizations, loaded with SQL into a schema of their own, through
// invitation.Service.Sweep called until it has nothing left: each call one
// transaction of SweepBatch (500) invitations and their events. It reports
// the invitations expired per second and the peak Go heap, which stays
// that of one batch however many there are. Run it alone:
//
//	INVITEKIT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//		go test -run '^$' -bench Sweep -benchtime 1x ./postgresstore/
func BenchmarkSweep(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("INVITEKIT_SWEEP_N"); v != "" {
		// A smaller backlog, for a profile.
		fmt.Sscan(v, &n)
	}
	for b.Loop() {
		b.StopTimer()
		schema := newSchema(b)
		s := openStore(b, schema)
		created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		table := pgx.Identifier{schema, "invitations"}.Sanitize()
		// IDs grow with creation, as UUIDv7s do.
		_, err := admin.Exec(benchCtx, `INSERT INTO `+table+` (id, organization_id, email, role, inviter_id, status, nonce,
			created_at, sent_at, expire_at, open_claim, assigned_roles, expiry_recorded)
			SELECT (lpad(to_hex(i), 16, '0') || substr(md5(i::text), 1, 16))::uuid,
				('00000000-0000-4000-8000-' || lpad((i % 1000)::text, 12, '0'))::uuid,
				'user' || i || '@example.com', 'developer', '', 'pending', decode(md5(i::text), 'hex'),
				$2::timestamptz + i * interval '1 microsecond', $2::timestamptz + i * interval '1 microsecond',
				$3::timestamptz + i * interval '1 microsecond',
				true, '[]', false
			FROM generate_series(0, $1 - 1) AS i`, n, created, created.Add(7*24*time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := admin.Exec(benchCtx, "VACUUM ANALYZE "+table); err != nil {
			b.Fatal(err)
		}
		now := created.Add(8 * 24 * time.Hour)
		svc, err := invitation.NewService(invitation.Config{Store: s, Keys: [][]byte{signingKey},
			Clock: func() time.Time { return now }})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		total, peak, err := storetest.SweepAll(benchCtx, svc.Sweep)
		took := time.Since(start)
		b.StopTimer()
		if err != nil || total.Expired != n {
			b.Fatalf("swept %+v: %v", total, err)
		}
		var events int
		if err := admin.QueryRow(benchCtx, "SELECT count(*) FROM "+pgx.Identifier{schema, "events"}.Sanitize()+
			" WHERE type = 'invitation.expired'").Scan(&events); err != nil || events != n {
			b.Fatalf("%d expired events, want %d: %v", events, n, err)
		}
		b.ReportMetric(float64(n)/took.Seconds(), "invitations/s")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		b.StartTimer()
	}
}

// BenchmarkRedeem compares join-link redemptions with invitation creates,
// both through their services.
func BenchmarkRedeem(b *testing.B) {
	storetest.BenchmarkRedeem(b, benchStore(b))
}
