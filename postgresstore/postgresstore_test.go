package postgresstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/internal/pgtest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/postgresstore"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/storetest"
)

// envURL names the variable that points the tests at a PostgreSQL server.
const envURL = pgtest.Env

// admin is a pool outside every store under test, for creating and
// dropping schemas and for inspecting and breaking things behind a store's
// back. It is nil without envURL.
var admin *pgxpool.Pool

func TestMain(m *testing.M) {
	code := func() int {
		if u := os.Getenv(envURL); u != "" {
			var err error
			admin, err = pgxpool.New(context.Background(), withParams(u, "pool_max_conns=4"))
			if err != nil {
				fmt.Fprintln(os.Stderr, "postgresstore tests:", err)
				return 1
			}
			defer admin.Close()
			defer dropBenchSchema()
		}
		return pgtest.Main("postgresstore", m)
	}()
	os.Exit(code)
}

// testURL returns the server's URL, or skips tb.
func testURL(tb testing.TB) string {
	tb.Helper()
	return pgtest.URL(tb)
}

// withParams adds key=value settings (pgxpool's pool_max_conns,
// application_name, ...) to a URL or keyword/value connection string,
// replacing those it already has and leaving the others byte for byte.
func withParams(conn string, params ...string) string {
	if !strings.Contains(conn, "://") {
		return conn + " " + strings.Join(params, " ")
	}
	u, err := url.Parse(conn)
	if err != nil {
		return conn
	}
	replaced := map[string]bool{}
	for _, p := range params {
		k, _, _ := strings.Cut(p, "=")
		replaced[k] = true
	}
	var query []string
	for _, kv := range strings.Split(u.RawQuery, "&") {
		k, _, _ := strings.Cut(kv, "=")
		if kv != "" && !replaced[k] {
			query = append(query, kv)
		}
	}
	for _, p := range params {
		k, v, _ := strings.Cut(p, "=")
		query = append(query, url.QueryEscape(k)+"="+url.QueryEscape(v))
	}
	u.RawQuery = strings.Join(query, "&")
	return u.String()
}

// randomName returns prefix followed by random hex, a valid unquoted
// identifier.
func randomName(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// newSchema returns the name of a schema no one uses and drops it, with
// everything in it, when tb ends. The schema itself is created by the
// store that first opens it.
func newSchema(tb testing.TB) string {
	tb.Helper()
	testURL(tb)
	name := randomName("invitekit_test_")
	tb.Cleanup(func() {
		_, err := admin.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE")
		assert.NoError(tb, err, "drop schema %s", name)
	})
	return name
}

// openStore opens a store of its own pool on schema and closes it when tb
// ends (before newSchema's cleanup drops the schema, as cleanups run last
// registered first).
func openStore(tb testing.TB, schema string, params ...string) *postgresstore.Store {
	tb.Helper()
	params = append([]string{"pool_max_conns=8"}, params...)
	s, err := postgresstore.Open(context.Background(), withParams(testURL(tb), params...), postgresstore.WithSchema(schema))
	require.NoError(tb, err)
	tb.Cleanup(func() { assert.NoError(tb, s.Close()) })
	return s
}

func TestConformance(t *testing.T) {
	testURL(t)
	t.Parallel()
	storetest.Run(t, func(t *testing.T) storetest.EventStore {
		return openStore(t, newSchema(t))
	})
}

func TestOptionsAreChecked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, name := range []string{"", strings.Repeat("s", 64)} {
		_, err := postgresstore.Open(ctx, "postgres://127.0.0.1:1/none", postgresstore.WithSchema(name))
		assert.ErrorContains(t, err, "schema name", "schema %q", name)
	}
	_, err := postgresstore.New(ctx, nil)
	assert.Error(t, err)
	_, err = postgresstore.Open(ctx, "postgres://%zz")
	assert.Error(t, err)
}

// A nil Option is skipped, as sqlitestore skips one, so callers can build
// option lists conditionally.
func TestNilOptionsAreIgnored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	assert.NotPanics(t, func() {
		_, err := postgresstore.Open(ctx, "postgres://%zz", nil)
		assert.Error(t, err, "the URL is still checked")
	})

	schema := newSchema(t)
	pool, err := pgxpool.New(ctx, withParams(testURL(t), "pool_max_conns=2"))
	require.NoError(t, err)
	defer pool.Close()
	s, err := postgresstore.New(ctx, pool, nil, postgresstore.WithSchema(schema), nil)
	require.NoError(t, err)
	defer s.Close()
	var tables int
	require.NoError(t, admin.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = $1", schema).Scan(&tables))
	assert.Equal(t, 7, tables, "the options around the nil ones applied: invitations, guest_invitations, "+
		"guest_invitation_counts, events, invite_links, invite_link_redemptions and schema_migrations")
}

func TestMigrationsRecordedOnceAndReopenIsANoOp(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	openStore(t, schema)
	openStore(t, schema)
	assertMigrationsOnce(t, schema)
}

// assertMigrationsOnce checks that schema records each migration exactly
// once.
func assertMigrationsOnce(t *testing.T, schema string) {
	t.Helper()
	var rows, versions, maxVersion int
	err := admin.QueryRow(context.Background(), "SELECT count(*), count(DISTINCT version), max(version) FROM "+
		pgx.Identifier{schema, "schema_migrations"}.Sanitize()).Scan(&rows, &versions, &maxVersion)
	require.NoError(t, err)
	assert.Equal(t, latestMigration(t), maxVersion, "latest migration")
	assert.Equal(t, maxVersion, rows, "one row per migration")
	assert.Equal(t, maxVersion, versions)
}

func TestConcurrentInstancesMigrateOnce(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	const instances = 8
	var wg sync.WaitGroup
	errs := make([]error, instances)
	stores := make([]*postgresstore.Store, instances)
	for i := range instances {
		wg.Go(func() {
			stores[i], errs[i] = postgresstore.Open(context.Background(),
				withParams(testURL(t), "pool_max_conns=2"), postgresstore.WithSchema(schema))
		})
	}
	wg.Wait()
	for i := range instances {
		if assert.NoError(t, errs[i], "instance %d", i) {
			assert.NoError(t, stores[i].Close())
		}
	}
	assertMigrationsOnce(t, schema)
}

func TestNewerSchemaIsRefused(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	openStore(t, schema)
	_, err := admin.Exec(context.Background(), "INSERT INTO "+pgx.Identifier{schema, "schema_migrations"}.Sanitize()+
		" (version, name) VALUES (1000, '1000_future.sql')")
	require.NoError(t, err)

	_, err = postgresstore.Open(context.Background(), withParams(testURL(t), "pool_max_conns=1"), postgresstore.WithSchema(schema))
	var tooNew *store.SchemaTooNewError
	require.ErrorAs(t, err, &tooNew)
	assert.Equal(t, 1000, tooNew.Database)
	assert.Equal(t, latestMigration(t), tooNew.Supported)
}

func TestNewLeavesThePoolToTheCaller(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := newSchema(t)
	pool, err := pgxpool.New(ctx, withParams(testURL(t), "pool_max_conns=2"))
	require.NoError(t, err)
	defer pool.Close()

	s, err := postgresstore.New(ctx, pool, postgresstore.WithSchema(schema))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close twice")

	_, err = s.FindInvitation(ctx, [16]byte{1})
	assert.ErrorIs(t, err, store.ErrClosed)
	assert.NoError(t, pool.Ping(ctx), "the caller's pool is still open")
}

func TestOpenClosesItsPool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := postgresstore.Open(ctx, withParams(testURL(t), "pool_max_conns=1", "application_name="+t.Name()),
		postgresstore.WithSchema(newSchema(t)))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = s.FindGuestInvitation(ctx, [16]byte{1})
	assert.ErrorIs(t, err, store.ErrClosed)
	// Closing the pool ends its connections on the server too.
	assert.Eventually(t, func() bool {
		var n int
		err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", t.Name()).Scan(&n)
		return err == nil && n == 0
	}, 5*time.Second, 20*time.Millisecond)
}

func TestCanceledContext(t *testing.T) {
	t.Parallel()
	s := openStore(t, newSchema(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.FindInvitation(ctx, [16]byte{1})
	assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
}

// A row holds its email's claim while it was open when last written. The
// store's own writes keep that so, but a row closed behind its back (an
// operator revoking or archiving with SQL) must not block its email until
// it would have expired: the release reads the row's status, not only its
// expiry, as sqlitestore's does.
func TestClaimOfRowClosedBehindTheStoresBackIsReleased(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := newSchema(t)
	s := openStore(t, schema)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	org, email := uuid.New(), "manual@example.com"
	inv := invitation.Invitation{
		ID: uuid.New(), OrganizationID: org, Email: email, Role: "admin", Status: invitation.StatusPending,
		CreatedAt: now, SentAt: now, ExpireAt: now.Add(time.Hour),
	}
	require.NoError(t, s.CreateInvitation(ctx, inv, now, storetest.NewEvent(event.InvitationCreated)))
	g := guest.Invitation{
		ID: uuid.New(), HostOrganizationID: org, Email: email, Status: guest.StatusSent,
		FirstInvitationSentAt: now, LastInvitationSentAt: now, ExpiredAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now,
	}
	require.NoError(t, s.CreateGuestInvitation(ctx, g, now, storetest.NewEvent(event.GuestInvitationCreated)))

	_, err := admin.Exec(ctx, "UPDATE "+pgx.Identifier{schema, "invitations"}.Sanitize()+
		" SET status = 'revoked', revoked_at = $2 WHERE id = $1", inv.ID, now)
	require.NoError(t, err)
	_, err = admin.Exec(ctx, "UPDATE "+pgx.Identifier{schema, "guest_invitations"}.Sanitize()+
		" SET archived = true, archived_at = $2 WHERE id = $1", g.ID, now)
	require.NoError(t, err)

	inv.ID = uuid.New()
	assert.NoError(t, s.CreateInvitation(ctx, inv, now, storetest.NewEvent(event.InvitationCreated)), "the revoked invitation does not block")
	g.ID = uuid.New()
	assert.NoError(t, s.CreateGuestInvitation(ctx, g, now, storetest.NewEvent(event.GuestInvitationCreated)), "the archived invitation does not block")
}

// latestMigration is the number of migration files, the version a migrated
// schema is at.
func latestMigration(t *testing.T) int {
	t.Helper()
	files, err := filepath.Glob("migrations/*.sql")
	require.NoError(t, err)
	return len(files)
}
