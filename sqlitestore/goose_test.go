package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/internal/upgradetest"
	"github.com/invitekit/invitekit/store"
)

// gooseUp applies Migrations to db with goose, up to version to, or all of
// them when to is 0.
func gooseUp(t *testing.T, db *sql.DB, to int64, opts ...goose.ProviderOption) {
	t.Helper()
	p, err := goose.NewProvider(goose.DialectSQLite3, db, Migrations(), opts...)
	require.NoError(t, err)
	if to == 0 {
		_, err = p.Up(context.Background())
	} else {
		_, err = p.UpTo(context.Background(), to)
	}
	require.NoError(t, err)
}

// latest is the latest version of Migrations.
func latest(t *testing.T) int {
	t.Helper()
	vs := latestVersions(t)
	return vs[len(vs)-1]
}

// schemaOf returns every table, index and trigger of db but the version
// tables, with the SQL that created it, in order of name.
func schemaOf(t *testing.T, db *sql.DB) []string {
	t.Helper()
	return column(t, db, `SELECT type || ' ' || name || ': ' || COALESCE(sql, '') FROM sqlite_master
		WHERE tbl_name NOT IN ('`+migrationsTable+`', 'goose_db_version', 'invitekit_goose', 'sqlite_sequence')
		ORDER BY name`)
}

// tables returns the names of every table of the file at path.
func tables(t *testing.T, path string) []string {
	t.Helper()
	db := openDB(t, path)
	defer db.Close()
	return column(t, db, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
}

// column returns the one text column of query's rows.
func column(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.Query(query)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

// A file release 1's schema was written to, and goose then migrated with
// Migrations, opens with WithSchemaCheck and reads, writes and upgrades as
// one the store migrated itself; the check created no table of its own.
func TestGooseMigrationsThenSchemaCheck(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "goose.db")
	db := openDB(t, path)
	gooseUp(t, db, 1)
	require.NoError(t, v1Layout(db).Write(context.Background()))
	gooseUp(t, db, 0)
	require.NoError(t, db.Close())

	s := openStore(t, path, WithSchemaCheck())
	upgradetest.Check(t, s)
	assert.NotContains(t, tables(t, path), migrationsTable)
}

// goose builds, byte for byte, the schema the store's own runner builds.
func TestGooseSchemaEqualsOwn(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	own := openStore(t, filepath.Join(dir, "own.db"))
	viaGoose := openDB(t, filepath.Join(dir, "goose.db"))
	gooseUp(t, viaGoose, 0)
	want := schemaOf(t, own.drv.write.db)
	require.NotEmpty(t, want)
	assert.Equal(t, want, schemaOf(t, viaGoose))
}

// A file the store migrated itself passes the check too.
func TestSchemaCheckOwnMigrations(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "own.db")
	require.NoError(t, openStore(t, path).Close())
	s := openStore(t, path, WithSchemaCheck())
	_, err := s.FindInvitation(context.Background(), upgradetest.OrgID)
	assert.ErrorIs(t, err, store.ErrNotFound)
}

// goose's version table can have another name.
func TestSchemaCheckGooseTable(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "goose.db")
	db := openDB(t, path)
	gooseUp(t, db, 0, goose.WithTableName("invitekit_goose"))
	require.NoError(t, db.Close())

	openStore(t, path, WithSchemaCheck(), WithGooseTable("invitekit_goose"))
	_, err := Open(context.Background(), path, WithSchemaCheck())
	assertTooOld(t, err, 0)
	_, err = Open(context.Background(), path, WithSchemaCheck(), WithGooseTable(""))
	assert.ErrorContains(t, err, "goose table name is empty")
}

func assertTooOld(t *testing.T, err error, version int) {
	t.Helper()
	var tooOld *store.SchemaTooOldError
	if assert.ErrorAs(t, err, &tooOld) {
		assert.Equal(t, store.SchemaTooOldError{Database: version, Wanted: latest(t)}, *tooOld)
		assert.ErrorContains(t, err, "run invitekit's migrations")
	}
}

// WithSchemaCheck refuses a database that is not at the latest version,
// and changes nothing in it.
func TestSchemaCheckRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// prepare writes the file at path, or none.
		prepare func(t *testing.T, path string)
		// check checks Open's error.
		check func(t *testing.T, err error)
	}{
		{"empty file", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, nil, 0o600))
		}, func(t *testing.T, err error) { assertTooOld(t, err, 0) }},
		{"no file", func(*testing.T, string) {}, func(t *testing.T, err error) {
			assertTooOld(t, err, 0)
			assert.ErrorIs(t, err, fs.ErrNotExist)
		}},
		{"one version behind", func(t *testing.T, path string) {
			db := openDB(t, path)
			gooseUp(t, db, int64(latest(t)-1))
		}, func(t *testing.T, err error) { assertTooOld(t, err, latest(t)-1) }},
		{"latest migrated down by an older goose", func(t *testing.T, path string) {
			db := openDB(t, path)
			gooseUp(t, db, 0)
			_, err := db.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, 0)`, latest(t))
			require.NoError(t, err)
		}, func(t *testing.T, err error) { assertTooOld(t, err, latest(t)-1) }},
		{"a version missing", func(t *testing.T, path string) {
			db := openDB(t, path)
			gooseUp(t, db, 0)
			_, err := db.Exec(`DELETE FROM goose_db_version WHERE version_id = 3`)
			require.NoError(t, err)
		}, func(t *testing.T, err error) { assertTooOld(t, err, 2) }},
		{"own table one version behind", func(t *testing.T, path string) {
			s := openStore(t, path)
			_, err := s.drv.write.db.Exec(`DELETE FROM `+migrationsTable+` WHERE version = ?`, latest(t))
			require.NoError(t, err)
			require.NoError(t, s.Close())
		}, func(t *testing.T, err error) { assertTooOld(t, err, latest(t)-1) }},
		{"newer", func(t *testing.T, path string) {
			db := openDB(t, path)
			gooseUp(t, db, 0)
			_, err := db.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, 1)`, latest(t)+1)
			require.NoError(t, err)
		}, func(t *testing.T, err error) {
			var tooNew *store.SchemaTooNewError
			if assert.ErrorAs(t, err, &tooNew) {
				assert.Equal(t, store.SchemaTooNewError{Database: latest(t) + 1, Supported: latest(t)}, *tooNew)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "x.db")
			tc.prepare(t, path)
			_, statErr := os.Stat(path)
			var before []string
			if statErr == nil {
				before = tables(t, path)
			}

			s, err := Open(ctx, path, WithSchemaCheck())
			if s != nil {
				s.Close()
			}
			require.Error(t, err)
			tc.check(t, err)

			_, err = os.Stat(path)
			if statErr != nil {
				assert.ErrorIs(t, err, fs.ErrNotExist, "no file is created")
				return
			}
			assert.Equal(t, before, tables(t, path), "no table is created or dropped")
		})
	}
}

// An empty database, opened by New or in memory, is refused too.
func TestSchemaCheckEmptyNewAndMemory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, err := Open(ctx, ":memory:", WithSchemaCheck())
	assertTooOld(t, err, 0)

	db := openDB(t, ":memory:")
	_, err = New(ctx, db, WithSchemaCheck())
	assertTooOld(t, err, 0)
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM sqlite_master`).Scan(&n))
	assert.Zero(t, n, "nothing created")
	assert.False(t, errors.Is(err, fs.ErrNotExist))
}
