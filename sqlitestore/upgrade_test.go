package sqlitestore

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/internal/upgradetest"
)

// A file release 1 wrote opens, migrated to the latest schema, with every
// record, status and token intact.
func TestUpgradeFromV1(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "v1.db")
	writeV1(t, path)

	s := openStore(t, path)
	assert.Equal(t, latestVersions(t), appliedVersions(t, s.drv.write.db), "each migration recorded once")
	upgradetest.Check(t, s)
}

// writeV1 creates the file at path as release 1 left it: its schema, its
// migrations table at version 1, and upgradetest's rows in its encodings.
func writeV1(t *testing.T, path string) {
	t.Helper()
	schema, err := os.ReadFile("testdata/v1_schema.sql")
	require.NoError(t, err)
	db := openDB(t, path)
	_, err = db.Exec(string(schema) + `;
		CREATE TABLE invitekit_schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at INTEGER NOT NULL
		);
		INSERT INTO invitekit_schema_migrations (version, name, applied_at) VALUES (1, '0001_init.sql', 1767225600000000)`)
	require.NoError(t, err)
	require.NoError(t, v1Layout(db).Write(context.Background()))
	require.NoError(t, db.Close())
}

// v1Layout writes upgradetest's rows into db, at schema version 1, in
// release 1's encodings.
func v1Layout(db *sql.DB) upgradetest.Layout {
	return upgradetest.Layout{
		InsertInvitation: `INSERT INTO invitations (id, org_id, email, role, inviter_id, status, nonce, created_at,
			sent_at, expire_at, accepted_at, revoked_at, open_claim) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		InsertGuest: `INSERT INTO guest_invitations (id, host_organization_id, email, first_invitation_sent_at,
			last_invitation_sent_at, expired_at, status, archived, created_at, updated_at, accepted_at, archived_at,
			parent_organization_id, parent_organization_name, nonce, open_claim)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ID:   func(id uuid.UUID) any { return id[:] },
		Time: func(t time.Time) any { return t.UnixMicro() },
		Bool: func(b bool) any { return map[bool]int{false: 0, true: 1}[b] },
		Exec: func(ctx context.Context, query string, args ...any) error {
			_, err := db.ExecContext(ctx, query, args...)
			return err
		},
	}
}
