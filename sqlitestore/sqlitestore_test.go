package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/internal/migrate"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	t.Run("Memory", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, func(t *testing.T) storetest.EventStore {
			return openStore(t, ":memory:")
		})
	})
	// A file store runs reads and writes on separate pools.
	t.Run("File", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, func(t *testing.T) storetest.EventStore {
			return openStore(t, migratedFile(t))
		})
	})
	t.Run("New", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, func(t *testing.T) storetest.EventStore {
			db := openDB(t, migratedFile(t))
			s, err := New(context.Background(), db)
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
}

// templateDir holds a database file the migrations were applied to once;
// TestMain removes it.
var (
	templateDir string
	template    = sync.OnceValues(func() ([]byte, error) {
		dir, err := os.MkdirTemp("", "sqlitestore-template")
		if err != nil {
			return nil, err
		}
		templateDir = dir
		path := filepath.Join(dir, "template.db")
		s, err := Open(context.Background(), path)
		if err != nil {
			return nil, err
		}
		// Closing the last connection checkpoints the log into the file
		// and removes it, so the file alone is the whole database.
		if err := s.Close(); err != nil {
			return nil, err
		}
		return os.ReadFile(path)
	})
)

// migratedFile returns the path of a new database file of t's own, with
// every migration applied: a copy of one file migrated once. Migrating
// costs about 0.1 s under the race detector, and the conformance suite
// opens hundreds of stores; Open and its migrations have tests of their
// own.
func migratedFile(t testing.TB) string {
	t.Helper()
	body, err := template()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "invitekit.db")
	require.NoError(t, os.WriteFile(path, body, 0o600))
	return path
}

// openStore opens path and closes the store when t ends.
func openStore(t testing.TB, path string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// openDB opens path as New's documentation tells callers to.
func openDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

var t0 = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

func newInvitation(org uuid.UUID, email string, now time.Time) invitation.Invitation {
	return invitation.Invitation{
		ID: uuid.Must(uuid.NewV7()), OrganizationID: org, Email: email, Role: "admin", Status: invitation.StatusPending,
		Nonce: []byte("0123456789abcdef"), CreatedAt: now, SentAt: now, ExpireAt: now.Add(time.Hour),
	}
}

func newGuest(host uuid.UUID, email string, now time.Time) guest.Invitation {
	return guest.Invitation{
		ID: uuid.Must(uuid.NewV7()), HostOrganizationID: host, Email: email, Status: guest.StatusSent,
		FirstInvitationSentAt: now, LastInvitationSentAt: now, ExpiredAt: now.Add(time.Hour),
		CreatedAt: now, UpdatedAt: now, Nonce: []byte("0123456789abcdef"),
	}
}

func TestOpenMemoryIsPrivate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := openStore(t, ":memory:"), openStore(t, ":memory:")
	inv := newInvitation(uuid.New(), "a@example.com", t0)
	require.NoError(t, a.CreateInvitation(ctx, inv, t0, storetest.NewEvent(event.InvitationCreated)))

	_, err := b.FindInvitation(ctx, inv.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "each :memory: store is a database of its own")
	got, err := a.FindInvitation(ctx, inv.ID)
	require.NoError(t, err)
	assert.Equal(t, inv, got)
}

func TestOpenConfiguresEveryConnection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		opts        []Option
		synchronous int // PRAGMA synchronous: 1 NORMAL, 2 FULL
		busy        int
	}{
		{"Default", nil, 1, 5000},
		{"Options", []Option{WithSynchronous(SynchronousFull), WithBusyTimeout(1500 * time.Millisecond)}, 2, 1500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := openStore(t, filepath.Join(t.TempDir(), "x.db"), tc.opts...)
			for _, pool := range []struct {
				name      string
				db        *sql.DB
				conns     int
				queryOnly int
			}{{"write", s.drv.write.db, 1, 0}, {"read", s.drv.read.db, 4, 1}} {
				// Hold several connections at once, so each is a
				// different one.
				var conns []*sql.Conn
				for range pool.conns {
					c, err := pool.db.Conn(ctx)
					require.NoError(t, err)
					defer c.Close()
					conns = append(conns, c)
				}
				for i, c := range conns {
					for pragma, want := range map[string]any{
						"journal_mode": "wal", "busy_timeout": fmt.Sprint(tc.busy), "foreign_keys": "1",
						"synchronous": fmt.Sprint(tc.synchronous), "query_only": fmt.Sprint(pool.queryOnly),
					} {
						var got string
						require.NoError(t, c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got))
						assert.Equal(t, want, got, "%s pool, connection %d: %s", pool.name, i, pragma)
					}
				}
			}
		})
	}
}

func TestOpenRejectsBadOptions(t *testing.T) {
	t.Parallel()
	for name, opt := range map[string]Option{
		"Synchronous": WithSynchronous("OFF"),
		"BusyTimeout": WithBusyTimeout(-time.Second),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := Open(context.Background(), ":memory:", opt)
			assert.Error(t, err)
			assert.Nil(t, s)
		})
	}
}

func TestOpenPathIsAFileName(t *testing.T) {
	t.Parallel()
	// Characters an SQLite URI would read as syntax name a file like any
	// others.
	path := filepath.Join(t.TempDir(), "odd?name#with%25.db")
	s := openStore(t, path)
	require.NoError(t, s.CreateInvitation(context.Background(), newInvitation(uuid.New(), "a@example.com", t0), t0, storetest.NewEvent(event.InvitationCreated)))
	require.NoError(t, s.Close())
	_, err := os.Stat(path)
	assert.NoError(t, err)
}

func TestOpenFailsOnDirectory(t *testing.T) {
	t.Parallel()
	_, err := Open(context.Background(), t.TempDir())
	assert.Error(t, err)
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	inv := newInvitation(uuid.New(), "a@example.com", t0)
	g := newGuest(uuid.New(), "g@example.com", t0)
	s := openStore(t, path)
	require.NoError(t, s.CreateInvitation(ctx, inv, t0, storetest.NewEvent(event.InvitationCreated)))
	require.NoError(t, s.CreateGuestInvitation(ctx, g, t0, storetest.NewEvent(event.GuestInvitationCreated)))
	require.NoError(t, s.Close())

	s = openStore(t, path)
	got, err := s.GetInvitation(ctx, inv.OrganizationID, inv.ID)
	require.NoError(t, err)
	assert.Equal(t, inv, got)
	gotGuest, err := s.GetGuestInvitation(ctx, g.HostOrganizationID, g.ID)
	require.NoError(t, err)
	assert.Equal(t, g, gotGuest)
	assert.Equal(t, appliedVersions(t, s.drv.write.db), latestVersions(t), "reopening applies nothing twice")
}

// appliedVersions returns the versions recorded in db, in order.
func appliedVersions(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.Query(`SELECT version FROM ` + migrationsTable + ` ORDER BY version`)
	require.NoError(t, err)
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		require.NoError(t, rows.Scan(&v))
		vs = append(vs, v)
	}
	require.NoError(t, rows.Err())
	return vs
}

// latestVersions returns 1 to the latest version this build has.
func latestVersions(t *testing.T) []int {
	t.Helper()
	ms, err := migrate.Load(migrationFiles, "migrations")
	require.NoError(t, err)
	var vs []int
	for _, m := range ms {
		vs = append(vs, m.Version)
	}
	return vs
}

func TestConcurrentOpenOfNewFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.db")
	const openers = 8
	stores := make([]*Store, openers)
	errs := make([]error, openers)
	var wg sync.WaitGroup
	for i := range openers {
		wg.Go(func() { stores[i], errs[i] = Open(context.Background(), path) })
	}
	wg.Wait()
	for i := range openers {
		require.NoError(t, errs[i], "opener %d", i)
		t.Cleanup(func() { stores[i].Close() })
	}
	assert.Equal(t, latestVersions(t), appliedVersions(t, stores[0].drv.write.db), "each migration applied once")
	// Every opener sees one working schema.
	ctx := context.Background()
	for i, s := range stores {
		require.NoError(t, s.CreateInvitation(ctx, newInvitation(uuid.New(), "a@example.com", t0), t0, storetest.NewEvent(event.InvitationCreated)), "store %d", i)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.db")
	s := openStore(t, path)
	latest := len(latestVersions(t))
	_, err := s.drv.write.db.Exec(`INSERT INTO `+migrationsTable+` (version, name, applied_at) VALUES (?, 'future.sql', 0)`, latest+1)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	_, err = Open(context.Background(), path)
	var tooNew *store.SchemaTooNewError
	require.ErrorAs(t, err, &tooNew)
	t.Log(err)
	assert.Equal(t, latest+1, tooNew.Database)
	assert.Equal(t, latest, tooNew.Supported)
	assert.Contains(t, err.Error(), fmt.Sprintf("version %d", latest+1))
	assert.Contains(t, err.Error(), fmt.Sprintf("version %d", latest))
}

func TestNew(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "x.db"))
	s, err := New(ctx, db)
	require.NoError(t, err)
	inv := newInvitation(uuid.New(), "a@example.com", t0)
	require.NoError(t, s.CreateInvitation(ctx, inv, t0, storetest.NewEvent(event.InvitationCreated)))
	require.NoError(t, s.Close())
	assert.NoError(t, db.PingContext(ctx), "Close leaves the caller's database open")

	// A second New on the same database applies nothing and sees the data.
	s, err = New(ctx, db)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.FindInvitation(ctx, inv.ID)
	assert.NoError(t, err)
	assert.Equal(t, latestVersions(t), appliedVersions(t, db))

	_, err = New(ctx, nil)
	assert.Error(t, err)
}

// The suite races through one store; these race through separate stores on
// one file, as separate processes would, where only SQLite's locking and
// the unique index serialize the creates.
func TestConcurrentCreatesAcrossStores(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	stores := []*Store{openStore(t, path), openStore(t, path), openStore(t, path)}
	org := uuid.New()
	// An expired invitation holds a stale claim the racers must release.
	require.NoError(t, stores[0].CreateInvitation(ctx, newInvitation(org, "race@example.com", t0.Add(-2*time.Hour)), t0.Add(-2*time.Hour), storetest.NewEvent(event.InvitationCreated)))
	const racers = 50
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			errs[i] = stores[i%len(stores)].CreateInvitation(ctx, newInvitation(org, "race@example.com", t0), t0, storetest.NewEvent(event.InvitationCreated))
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
			continue
		}
		assert.ErrorIs(t, err, store.ErrAlreadyExists)
	}
	assert.Equal(t, 1, wins)
}

func TestListGuestEmailContainsIsLiteral(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, ":memory:")
	host := uuid.New()
	for _, email := range []string{"a_b@example.com", "axb@example.com", "100%@example.com", "1000@example.com"} {
		require.NoError(t, s.CreateGuestInvitation(ctx, newGuest(host, email, t0), t0, storetest.NewEvent(event.GuestInvitationCreated)))
	}
	for pattern, want := range map[string][]string{
		"_":  {"a_b@example.com"},
		"%":  {"100%@example.com"},
		"0%": {"100%@example.com"},
		"a_": {"a_b@example.com"},
	} {
		got, total, err := s.ListGuestInvitations(ctx, guest.ListQuery{
			HostOrganizationID: host, EmailContains: pattern, Now: t0,
			OrderBy: guest.OrderByEmail, Order: store.Asc, Limit: 10,
		})
		require.NoError(t, err)
		var emails []string
		for _, inv := range got {
			emails = append(emails, inv.Email)
		}
		assert.Equal(t, want, emails, pattern)
		assert.Equal(t, len(want), total, pattern)
	}
}

func TestMigrationsApplyEachInItsOwnTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "x.db"))
	ms := []migrate.Migration{
		{Version: 1, Name: "0001_one.sql", SQL: `CREATE TABLE one (x INTEGER);`},
		{Version: 2, Name: "0002_two.sql", SQL: `CREATE TABLE two (x INTEGER); INSERT INTO nowhere VALUES (1);`},
	}
	err := applyMigrations(ctx, db, ms)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "0002_two.sql", "the error names the failed migration")
	assert.Equal(t, []int{1}, appliedVersions(t, db), "the migration before the failed one stays applied")
	rows, err := db.Query(`SELECT name FROM sqlite_schema WHERE name IN ('one', 'two') ORDER BY name`)
	require.NoError(t, err)
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		tables = append(tables, name)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []string{"one"}, tables, "nothing of the failed migration remains")

	ms[1].SQL = `CREATE TABLE two (x INTEGER);`
	require.NoError(t, applyMigrations(ctx, db, ms))
	assert.Equal(t, []int{1, 2}, appliedVersions(t, db))
	require.NoError(t, applyMigrations(ctx, db, ms), "applying again is a no-op")
	assert.Equal(t, []int{1, 2}, appliedVersions(t, db))
}

// A write waits for the store's one write connection; its context ends the
// wait, and the store stays usable, :memory: included, whose connection is
// the database.
func TestContextEndsWaitForWriter(t *testing.T) {
	t.Parallel()
	for name, path := range map[string]string{"Memory": ":memory:", "File": filepath.Join(t.TempDir(), "x.db")} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := openStore(t, path)
			inv := newInvitation(uuid.New(), "a@example.com", t0)
			require.NoError(t, s.CreateInvitation(ctx, inv, t0, storetest.NewEvent(event.InvitationCreated)))

			inUpdate, release := make(chan struct{}), make(chan struct{})
			updated := make(chan error)
			go func() {
				_, err := s.UpdateInvitation(ctx, inv.OrganizationID, inv.ID, t0, store.Limits{}, storetest.Change(func(i *invitation.Invitation) error {
					close(inUpdate)
					<-release
					i.Role = "member"
					return nil
				}))
				updated <- err
			}()
			<-inUpdate
			waiting, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancel()
			err := s.CreateInvitation(waiting, newInvitation(uuid.New(), "b@example.com", t0), t0, storetest.NewEvent(event.InvitationCreated))
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			close(release)
			require.NoError(t, <-updated)

			got, err := s.GetInvitation(ctx, inv.OrganizationID, inv.ID)
			require.NoError(t, err)
			assert.Equal(t, "member", got.Role)
			assert.NoError(t, s.CreateInvitation(ctx, newInvitation(uuid.New(), "b@example.com", t0), t0, storetest.NewEvent(event.InvitationCreated)))
		})
	}
}
