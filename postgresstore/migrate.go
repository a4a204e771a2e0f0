package postgresstore

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/internal/migrate"
	"github.com/invitekit/invitekit/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// lockClass is the first key of the advisory lock migrations run under
// ("ikit" in ASCII); the second is a hash of the schema name, so stores in
// different schemas migrate independently.
const lockClass = 0x696b6974

// migrate creates the schema if needed and applies the migrations the
// database lacks, all in one transaction under an advisory lock: instances
// that start together wait for the first one and then find nothing to do,
// and a failed migration leaves no trace.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("postgresstore: migrate: %w", err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return s.migrateTx(ctx, tx, ms)
	})
	if err != nil {
		return fmt.Errorf("postgresstore: migrate schema %q: %w", s.schema, err)
	}
	return nil
}

func (s *Store) migrateTx(ctx context.Context, tx pgx.Tx, ms []migrate.Migration) error {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", lockClass, s.schema); err != nil {
		return err
	}
	schema := pgx.Identifier{s.schema}.Sanitize()
	// Look before creating: CREATE ... IF NOT EXISTS needs the CREATE
	// privilege even when there is nothing to create, and an application
	// may run with a role that only uses tables an owner made.
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", s.schema).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			return err
		}
	}
	table := pgx.Identifier{s.schema, "schema_migrations"}
	if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table.Sanitize()).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := tx.Exec(ctx, `CREATE TABLE `+table.Sanitize()+` (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return err
		}
	}
	var current int
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+table.Sanitize()).Scan(&current); err != nil {
		return err
	}
	if latest := migrate.Latest(ms); current > latest {
		return &store.SchemaTooNewError{Database: current, Supported: latest}
	}
	if current == migrate.Latest(ms) {
		return nil
	}
	// The files name their objects unqualified; SET LOCAL lasts until the
	// transaction ends.
	if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+schema); err != nil {
		return err
	}
	for _, m := range ms[current:] {
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+table.Sanitize()+" (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
	}
	return nil
}
