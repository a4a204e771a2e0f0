package sqlitestore

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
)

// plan returns SQLite's query plan for query, one detail line per step.
func plan(t *testing.T, db *sql.DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	require.NoError(t, err)
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
		lines = append(lines, detail)
	}
	require.NoError(t, rows.Err())
	return strings.Join(lines, "\n")
}

// TestQueriesSeekAnIndex checks that every query of the contract starts
// with an index seek on its tenant, ID or email, never a scan of a table,
// and that keyset pages of the organization list and the guest list in its
// non-nullable orders need no sort: their cost follows the page, not the
// table.
func TestQueriesSeekAnIndex(t *testing.T) {
	t.Parallel()
	s, err := Open(context.Background(), ":memory:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	db := s.write
	id, org := idArg(uuid.New()), idArg(uuid.New())
	now := time.Now()

	fixed := map[string]struct {
		query string
		args  []any
	}{
		"get invitation":        {getInvitationSQL, []any{id, org}},
		"find invitation":       {findInvitationSQL, []any{id}},
		"invitations for email": {invitationsForEmailSQL, []any{"a@example.com", timeArg(now), 10}},
		"get guest":             {getGuestSQL, []any{id, org}},
		"find guest":            {findGuestSQL, []any{id}},
	}
	for name, q := range fixed {
		p := plan(t, db, q.query, q.args...)
		assert.Contains(t, p, "SEARCH", "%s:\n%s", name, p)
		assert.NotContains(t, p, "SCAN", "%s:\n%s", name, p)
	}

	after := &store.Cursor{CreatedAt: now, ID: uuid.New()}
	for _, q := range []invitation.ListQuery{
		{OrganizationID: uuid.New(), Limit: 50},
		{OrganizationID: uuid.New(), Limit: 50, After: after},
		{OrganizationID: uuid.New(), Limit: 50, After: after, Status: invitation.StatusPending, Now: now},
		{OrganizationID: uuid.New(), Limit: 50, Status: invitation.StatusAccepted},
		{OrganizationID: uuid.New(), Limit: 50, Email: "a@example.com", After: after},
	} {
		query, args := invitationListSQL(q)
		p := plan(t, db, query, args...)
		assert.Contains(t, p, "SEARCH invitations USING INDEX", "%+v:\n%s", q, p)
		assert.NotContains(t, p, "TEMP B-TREE", "a keyset page never sorts: %+v:\n%s", q, p)
	}

	for _, by := range []guest.OrderBy{
		guest.OrderByCreatedAt, guest.OrderByEmail, guest.OrderByFirstInvitationSentAt,
		guest.OrderByLastInvitationSentAt, guest.OrderByExpiredAt, guest.OrderByUpdatedAt,
		guest.OrderByAcceptedAt, guest.OrderByArchivedAt,
	} {
		for _, dir := range []store.Direction{store.Asc, store.Desc} {
			q := guest.ListQuery{HostOrganizationID: uuid.New(), OrderBy: by, Order: dir, Limit: 20, Now: now}
			where, args := guestFilter(q)
			p := plan(t, db, `SELECT `+guestColumns+` FROM guest_invitations WHERE `+where+guestOrder(q)+` LIMIT ? OFFSET ?`,
				append(args, 20, 0)...)
			assert.Contains(t, p, "SEARCH guest_invitations USING", "%s %s:\n%s", by, dir, p)
			if by != guest.OrderByAcceptedAt && by != guest.OrderByArchivedAt {
				// Nullable columns sort NULLS LAST, against SQLite's index
				// order, so those two orders sort the host's rows.
				assert.NotContains(t, p, "TEMP B-TREE", "%s %s:\n%s", by, dir, p)
			}
		}
	}
}
