package sqlitestore

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/storetest"
)

// noLimits lets a benchmark make more creates an hour in one organization
// than the default limits allow; it measures the create path without
// them, as it did before there were any.
var noLimits = &store.Limits{}

// Run with: go test -run '^$' -bench . ./sqlitestore/
//
// Every benchmark uses a file store with the default options, as an
// application would; BenchmarkBaselineInsert is the floor Create is held
// to: the same row, inserted by a bare prepared statement.

// benchInvitation returns the n-th invitation of org, created at now.
func benchInvitation(org uuid.UUID, n int, now time.Time) invitation.Invitation {
	inv := newInvitation(org, fmt.Sprintf("user%07d@example.com", n), now)
	inv.Nonce = make([]byte, 16)
	rand.Read(inv.Nonce)
	return inv
}

// bareInsertSQL is the insert an application would write by hand, without
// invitekit: the baseline of BenchmarkCreate.
const bareInsertSQL = `INSERT INTO invitations (id, organization_id, email, role, inviter_id, status, nonce,
	created_at, sent_at, expire_at, accepted_at, revoked_at, open_claim) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`

func bareInsertArgs(inv invitation.Invitation) []any {
	return []any{inv.ID[:], inv.OrganizationID[:], inv.Email, inv.Role, inv.InviterID, string(inv.Status), inv.Nonce,
		inv.CreatedAt.UnixMicro(), inv.SentAt.UnixMicro(), inv.ExpireAt.UnixMicro(), nil, nil}
}

func BenchmarkCreate(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "bench.db")
	s := openStore(b, path)
	org, now := uuid.New(), time.Now().UTC().Truncate(time.Microsecond)
	n := 0
	for b.Loop() {
		if err := s.CreateInvitation(ctx, benchInvitation(org, n, now), now, storetest.NewEvent(event.InvitationCreated)); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.StopTimer()
	reportFileSize(b, s, path, n)
}

func BenchmarkBaselineInsert(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "bench.db")
	s := openStore(b, path) // the same schema and connection settings
	stmt, err := s.drv.write.db.PrepareContext(ctx, bareInsertSQL)
	require.NoError(b, err)
	defer stmt.Close()
	org, now := uuid.New(), time.Now().UTC().Truncate(time.Microsecond)
	n := 0
	for b.Loop() {
		inv := benchInvitation(org, n, now)
		if _, err := stmt.ExecContext(ctx, bareInsertArgs(inv)...); err != nil {
			b.Fatal(err)
		}
		n++
	}
}

// reportFileSize reports the database's size per invitation, after a
// checkpoint has moved the log into the file.
func reportFileSize(b *testing.B, s *Store, path string, n int) {
	b.Helper()
	if n == 0 {
		return
	}
	_, err := s.drv.write.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	require.NoError(b, err)
	fi, err := os.Stat(path)
	require.NoError(b, err)
	b.ReportMetric(float64(fi.Size())/float64(n), "bytes/invitation")
}

func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, filepath.Join(b.TempDir(), "bench.db"))
	org, now := uuid.New(), time.Now().UTC().Truncate(time.Microsecond)
	ids := make([]uuid.UUID, 1000)
	for i := range ids {
		inv := benchInvitation(org, i, now)
		require.NoError(b, s.CreateInvitation(ctx, inv, now, storetest.NewEvent(event.InvitationCreated)))
		ids[i] = inv.ID
	}
	i := 0
	for b.Loop() {
		if _, err := s.GetInvitation(ctx, org, ids[i%len(ids)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkAccept accepts invitations through invitation.Service: a token
// check, a find and an update transaction.
func BenchmarkAccept(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, filepath.Join(b.TempDir(), "bench.db"))
	svc, err := invitation.NewService(invitation.Config{Store: s, Keys: [][]byte{bytes.Repeat([]byte{7}, 32)}, Limits: noLimits})
	require.NoError(b, err)
	org := uuid.New()
	type pending struct{ token, email string }
	todo := make([]pending, b.N)
	for i := range todo {
		email := fmt.Sprintf("user%07d@example.com", i)
		inv, err := svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: email, Role: "member"})
		require.NoError(b, err)
		todo[i] = pending{svc.Token(inv), email}
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := svc.Accept(ctx, todo[i].token, todo[i].email); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListPage reads pages of 50, each after a random cursor, from one
// organization's invitations. A keyset page is one index seek, so its cost
// should barely grow with the organization.
func BenchmarkListPage(b *testing.B) {
	for _, rows := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			if rows > 1_000 && testing.Short() {
				b.Skip("builds a database of a million invitations")
			}
			db, err := listDB(rows)
			require.NoError(b, err)
			b.Logf("%d rows built in %v", rows, db.built.Round(time.Millisecond))
			s := openStore(b, db.path)
			ctx := context.Background()
			i := 0
			for b.Loop() {
				after := db.cursors[i%len(db.cursors)]
				page, err := s.ListInvitations(ctx, invitation.ListQuery{OrganizationID: db.org, Now: db.now, After: &after, Limit: 50})
				if err != nil || len(page) != 50 {
					b.Fatal(len(page), err)
				}
				i++
			}
			b.ReportMetric(float64(db.size)/float64(rows), "bytes/invitation")
		})
	}
}

// listDatabase is a database of one organization's invitations, built
// once per test binary run for each size.
type listDatabase struct {
	path    string
	org     uuid.UUID
	now     time.Time
	cursors []store.Cursor // random positions with at least 50 older rows
	size    int64
	built   time.Duration // how long building took
}

var (
	listDBsMu sync.Mutex
	listDBs   = map[int]*listDatabase{}
	// benchDir holds the list databases; TestMain removes it.
	benchDir string
)

func listDB(rows int) (*listDatabase, error) {
	listDBsMu.Lock()
	defer listDBsMu.Unlock()
	if db, ok := listDBs[rows]; ok {
		return db, nil
	}
	if benchDir == "" {
		dir, err := os.MkdirTemp("", "sqlitestore-bench-")
		if err != nil {
			return nil, err
		}
		benchDir = dir
	}
	db, err := buildListDB(filepath.Join(benchDir, fmt.Sprintf("list-%d.db", rows)), rows)
	if err != nil {
		return nil, err
	}
	listDBs[rows] = db
	return db, nil
}

// buildListDB inserts rows invitations, one millisecond apart, in a single
// transaction through a prepared statement: a million take seconds, not
// minutes.
func buildListDB(path string, rows int) (*listDatabase, error) {
	ctx := context.Background()
	began := time.Now()
	s, err := Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	db := &listDatabase{path: path, org: uuid.New(), now: time.Now().UTC().Truncate(time.Microsecond)}
	start := db.now.Add(-time.Duration(rows) * time.Millisecond)
	keys := make([]store.Cursor, 0, rows)
	tx, err := s.drv.write.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, bareInsertSQL)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		created := start.Add(time.Duration(i) * time.Millisecond)
		inv := benchInvitation(db.org, i, created)
		inv.ExpireAt = db.now.Add(invitation.DefaultTTL)
		if _, err := stmt.ExecContext(ctx, bareInsertArgs(inv)...); err != nil {
			return nil, err
		}
		keys = append(keys, store.Cursor{CreatedAt: inv.CreatedAt, ID: inv.ID})
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	if _, err := s.drv.write.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return nil, err
	}
	for range 1000 {
		db.cursors = append(db.cursors, keys[50+mrand.IntN(rows-50)])
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	db.size = fi.Size()
	db.built = time.Since(began)
	return db, nil
}

// BenchmarkSweep records the expiry of 1,000,000 expired invitations of
// 1,000 organizations, loaded directly into a file store, through
// invitation.Service.Sweep called until it has nothing left: each call one
// transaction of SweepBatch (500) invitations and their events. It reports
// the invitations expired per second and the peak Go heap, which stays
// that of one batch however many there are. Run it alone:
//
//	go test -run '^$' -bench Sweep -benchtime 1x ./sqlitestore/
func BenchmarkSweep(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("INVITEKIT_SWEEP_N"); v != "" {
		// A smaller backlog, for a profile.
		fmt.Sscan(v, &n)
	}
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		s := openStore(b, filepath.Join(b.TempDir(), "sweep.db"))
		created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		loadExpired(b, s, n, created)
		now := created.Add(8 * 24 * time.Hour)
		svc, err := invitation.NewService(invitation.Config{Store: s, Keys: [][]byte{bytes.Repeat([]byte{7}, 32)},
			Clock: func() time.Time { return now }})
		require.NoError(b, err)
		b.StartTimer()
		start := time.Now()
		total, peak, err := storetest.SweepAll(ctx, svc.Sweep)
		took := time.Since(start)
		b.StopTimer()
		require.NoError(b, err)
		require.Equal(b, n, total.Expired)
		var events int
		require.NoError(b, s.drv.read.db.QueryRowContext(ctx, "SELECT count(*) FROM events WHERE type = 'invitation.expired'").Scan(&events))
		require.Equal(b, n, events, "one expired event per invitation")
		b.ReportMetric(float64(n)/took.Seconds(), "invitations/s")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		require.NoError(b, s.Close())
		b.StartTimer()
	}
}

// loadExpired inserts n pending invitations of 1,000 organizations,
// created a microsecond apart from created on and expired a week later,
// with SQL alone: the services would take minutes to make them. Their IDs
// grow with their creation, as UUIDv7s do (the time first, then random
// bytes), so that rows created together share pages as they would.
func loadExpired(b *testing.B, s *Store, n int, created time.Time) {
	b.Helper()
	_, err := s.drv.write.db.ExecContext(context.Background(), `
		WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ?)
		INSERT INTO invitations (id, organization_id, email, role, inviter_id, status, nonce, created_at, sent_at,
			expire_at, open_claim, assigned_roles, expiry_recorded)
		SELECT CAST(unhex(printf('%016x', ? + i)) || randomblob(8) AS BLOB), CAST(printf('org-%012d', i % 1000) AS BLOB),
			'user' || i || '@example.com', 'developer', '', 'pending', randomblob(16), ? + i, ? + i, ? + i, 1, '[]', 0
		FROM seq`, n, created.UnixMicro(), created.UnixMicro(), created.UnixMicro(), created.Add(7*24*time.Hour).UnixMicro())
	require.NoError(b, err)
}

// BenchmarkRedeem compares join-link redemptions with invitation creates,
// both through their services, on a file store.
func BenchmarkRedeem(b *testing.B) {
	storetest.BenchmarkRedeem(b, openStore(b, filepath.Join(b.TempDir(), "bench.db")))
}
