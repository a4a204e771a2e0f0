package postgresstore_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/internal/upgradetest"
)

// A schema release 1 wrote opens, migrated to the latest version, with
// every record, status and token intact.
func TestUpgradeFromV1(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	writeV1(t, schema)

	s := openStore(t, schema)
	assertMigrationsOnce(t, schema)
	upgradetest.Check(t, s)
}

// writeV1 creates schema as release 1 left it: its tables, its migrations
// table at version 1, and upgradetest's rows, in one transaction with the schema
// on the search path, as release 1 applied its migrations.
func writeV1(t *testing.T, schema string) {
	t.Helper()
	fixture, err := os.ReadFile("testdata/v1_schema.sql")
	require.NoError(t, err)
	ctx := context.Background()
	err = pgx.BeginFunc(ctx, admin, func(tx pgx.Tx) error {
		name := pgx.Identifier{schema}.Sanitize()
		_, err := tx.Exec(ctx, "CREATE SCHEMA "+name+"; SET LOCAL search_path TO "+name+";\n"+string(fixture)+`;
			CREATE TABLE schema_migrations (
				version    integer PRIMARY KEY,
				name       text NOT NULL,
				applied_at timestamptz NOT NULL DEFAULT now()
			);
			INSERT INTO schema_migrations (version, name) VALUES (1, '0001_init.sql')`)
		if err != nil {
			return err
		}
		return v1Layout(tx).Write(ctx)
	})
	require.NoError(t, err)
}

// v1Layout writes upgradetest's rows with q, at schema version 1, in
// release 1's encodings, with the schema on the search path.
func v1Layout(q interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}) upgradetest.Layout {
	return upgradetest.Layout{
		InsertInvitation: `INSERT INTO invitations (id, org_id, email, role, inviter_id, status, nonce, created_at,
				sent_at, expire_at, accepted_at, revoked_at, claims_open)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		InsertGuest: `INSERT INTO guest_invitations (id, host_id, email, first_invitation_sent_at,
				last_invitation_sent_at, expired_at, status, archived, created_at, updated_at, accepted_at, archived_at,
				parent_organization_id, parent_organization_name, nonce, claims_open)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		ID:   func(id uuid.UUID) any { return id },
		Time: func(t time.Time) any { return t },
		Bool: func(b bool) any { return b },
		Exec: func(ctx context.Context, query string, args ...any) error {
			_, err := q.Exec(ctx, query, args...)
			return err
		},
	}
}
