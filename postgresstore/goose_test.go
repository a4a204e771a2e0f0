package postgresstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/internal/upgradetest"
	"github.com/invitekit/invitekit/postgresstore"
	"github.com/invitekit/invitekit/store"
)

// schemaPool creates schema, as a team that runs goose does, and returns a
// pool whose connections have it as their search path, closed when tb
// ends.
func schemaPool(tb testing.TB, schema string) *pgxpool.Pool {
	tb.Helper()
	ctx := context.Background()
	_, err := admin.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	require.NoError(tb, err)
	pool, err := pgxpool.New(ctx, withParams(testURL(tb), "pool_max_conns=2", "search_path="+schema))
	require.NoError(tb, err)
	tb.Cleanup(pool.Close)
	return pool
}

// gooseUp applies Migrations with goose, on pool's connections, up to
// version to, or all of them when to is 0.
func gooseUp(t *testing.T, pool *pgxpool.Pool, to int64) {
	t.Helper()
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, postgresstore.Migrations())
	require.NoError(t, err)
	if to == 0 {
		_, err = p.Up(context.Background())
	} else {
		_, err = p.UpTo(context.Background(), to)
	}
	require.NoError(t, err)
}

// openChecked opens a store with WithSchemaCheck on schema.
func openChecked(t *testing.T, schema string) (*postgresstore.Store, error) {
	t.Helper()
	s, err := postgresstore.Open(context.Background(), withParams(testURL(t), "pool_max_conns=4"),
		postgresstore.WithSchema(schema), postgresstore.WithSchemaCheck())
	if err == nil {
		t.Cleanup(func() { assert.NoError(t, s.Close()) })
	}
	return s, err
}

// tablesIn returns the tables of schema, in order of name.
func tablesIn(t *testing.T, schema string) []string {
	t.Helper()
	rows, err := admin.Query(context.Background(),
		"SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename", schema)
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return names
}

func schemaExists(t *testing.T, schema string) bool {
	t.Helper()
	var exists bool
	require.NoError(t, admin.QueryRow(context.Background(),
		"SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists))
	return exists
}

// A schema release 1's migration was applied to by goose, rows written to,
// and then migrated by goose to the latest version, opens with
// WithSchemaCheck and reads, writes and upgrades as one the store migrated
// itself; the check created no table of its own.
func TestGooseMigrationsThenSchemaCheck(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	pool := schemaPool(t, schema)
	gooseUp(t, pool, 1)
	require.NoError(t, v1Layout(pool).Write(context.Background()))
	gooseUp(t, pool, 0)
	assert.Contains(t, tablesIn(t, schema), "goose_db_version", "goose keeps its table in the schema on the search path")

	s, err := openChecked(t, schema)
	require.NoError(t, err)
	upgradetest.Check(t, s)
	assert.NotContains(t, tablesIn(t, schema), "schema_migrations")
}

// A schema the store migrated itself passes the check too.
func TestSchemaCheckOwnMigrations(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	require.NoError(t, openStore(t, schema).Close())
	s, err := openChecked(t, schema)
	require.NoError(t, err)
	_, err = s.FindInvitation(context.Background(), upgradetest.OrgID)
	assert.ErrorIs(t, err, store.ErrNotFound)
}

// WithSchemaCheck refuses a schema that is not at the latest version, and
// creates or changes nothing.
func TestSchemaCheckRefuses(t *testing.T) {
	t.Parallel()
	latest := latestMigration(t)
	tooOld := func(version int) func(t *testing.T, err error) {
		return func(t *testing.T, err error) {
			var e *store.SchemaTooOldError
			if assert.ErrorAs(t, err, &e) {
				assert.Equal(t, store.SchemaTooOldError{Database: version, Wanted: latest}, *e)
				assert.ErrorContains(t, err, "run invitekit's migrations")
			}
		}
	}
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, schema string)
		check   func(t *testing.T, err error)
	}{
		{"no schema", func(*testing.T, string) {}, tooOld(0)},
		{"empty schema", func(t *testing.T, schema string) { schemaPool(t, schema) }, tooOld(0)},
		{"one version behind", func(t *testing.T, schema string) {
			gooseUp(t, schemaPool(t, schema), int64(latest-1))
		}, tooOld(latest - 1)},
		{"own table one version behind", func(t *testing.T, schema string) {
			require.NoError(t, openStore(t, schema).Close())
			_, err := admin.Exec(context.Background(), "DELETE FROM "+
				pgx.Identifier{schema, "schema_migrations"}.Sanitize()+" WHERE version = $1", latest)
			require.NoError(t, err)
		}, tooOld(latest - 1)},
		{"newer", func(t *testing.T, schema string) {
			gooseUp(t, schemaPool(t, schema), 0)
			_, err := admin.Exec(context.Background(), "INSERT INTO "+
				pgx.Identifier{schema, "goose_db_version"}.Sanitize()+" (version_id, is_applied) VALUES ($1, true)", latest+1)
			require.NoError(t, err)
		}, func(t *testing.T, err error) {
			var e *store.SchemaTooNewError
			if assert.ErrorAs(t, err, &e) {
				assert.Equal(t, store.SchemaTooNewError{Database: latest + 1, Supported: latest}, *e)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			schema := newSchema(t)
			tc.prepare(t, schema)
			existed, before := schemaExists(t, schema), tablesIn(t, schema)

			_, err := openChecked(t, schema)
			require.Error(t, err)
			tc.check(t, err)
			assert.Contains(t, err.Error(), schema, "the error names the schema")

			assert.Equal(t, existed, schemaExists(t, schema), "no schema is created")
			assert.Equal(t, before, tablesIn(t, schema), "no table is created or dropped")
		})
	}
}

// goose builds the schema the store's own runner builds: the same columns,
// constraints and indexes.
func TestGooseSchemaEqualsOwn(t *testing.T) {
	t.Parallel()
	own := newSchema(t)
	openStore(t, own)
	viaGoose := newSchema(t)
	gooseUp(t, schemaPool(t, viaGoose), 0)

	want := describeSchema(t, own)
	require.NotEmpty(t, want)
	assert.Equal(t, want, describeSchema(t, viaGoose))
}

// describeSchema returns the columns, constraints and indexes of schema's
// tables but the version tables, with the schema's name replaced by
// SCHEMA.
func describeSchema(t *testing.T, schema string) []string {
	t.Helper()
	rows, err := admin.Query(context.Background(), `
		SELECT 'column ' || table_name || '.' || column_name || ' #' || ordinal_position || ' ' || data_type ||
			' null=' || is_nullable || ' default=' || COALESCE(column_default, '') ||
			' collation=' || COALESCE(collation_name, '') || ' identity=' || is_identity || ' ' || COALESCE(identity_generation, '')
		FROM information_schema.columns
		WHERE table_schema = $1 AND table_name NOT IN ('schema_migrations', 'goose_db_version')
		UNION ALL
		SELECT 'constraint ' || c.conrelid::regclass::text || ' ' || c.conname || ': ' || pg_get_constraintdef(c.oid)
		FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
		WHERE n.nspname = $1 AND c.conrelid::regclass::text NOT LIKE '%schema_migrations' AND c.conrelid::regclass::text NOT LIKE '%goose_db_version'
		UNION ALL
		SELECT 'index ' || indexname || ': ' || indexdef
		FROM pg_indexes
		WHERE schemaname = $1 AND tablename NOT IN ('schema_migrations', 'goose_db_version')
		ORDER BY 1`, schema)
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	for i, l := range lines {
		lines[i] = strings.ReplaceAll(l, schema, "SCHEMA")
	}
	return lines
}
