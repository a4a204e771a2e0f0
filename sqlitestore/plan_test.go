package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/internal/sqlcore"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/link"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/storetest"
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

// scansTable reports whether plan p scans one of the store's tables, or
// an index of one, from end to end. A scan of a subquery's rows (bounded
// by its LIMIT) is not one.
func scansTable(p string) bool {
	for _, line := range strings.Split(p, "\n") {
		rest, ok := strings.CutPrefix(line, "SCAN ")
		if !ok {
			continue
		}
		switch strings.Fields(rest)[0] {
		case "invitations", "guest_invitations", "events", "invite_links", "invite_link_redemptions":
			return true
		}
	}
	return false
}

// recorder is the store's driver, recording the statements the SQL core
// runs through it.
type recorder struct {
	*driver
	mu         sync.Mutex
	statements []statement
}

type statement struct {
	sql  string
	args []any
}

type recordingQuerier struct {
	sqlcore.Querier
	r *recorder
}

func (r *recorder) record(query string, args []any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statements = append(r.statements, statement{query, args})
}

// peek returns the statements recorded since the last take, keeping them.
func (r *recorder) peek() []statement {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.statements)
}

func (r *recorder) take() []statement {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.statements
	r.statements = nil
	return out
}

func (r *recorder) Reader() sqlcore.Querier { return recordingQuerier{r.driver.Reader(), r} }
func (r *recorder) Writer() sqlcore.Querier { return recordingQuerier{r.driver.Writer(), r} }
func (r *recorder) WriteTx(ctx context.Context, f func(context.Context, sqlcore.Querier) error) error {
	return r.driver.WriteTx(ctx, func(ctx context.Context, q sqlcore.Querier) error { return f(ctx, recordingQuerier{q, r}) })
}

func (q recordingQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	q.r.record(query, args)
	return q.Querier.Exec(ctx, query, args...)
}

func (q recordingQuerier) Query(ctx context.Context, query string, args ...any) (sqlcore.Rows, error) {
	q.r.record(query, args)
	return q.Querier.Query(ctx, query, args...)
}

// TestQueriesSeekAnIndex checks that every statement the SQL core runs
// starts with an index seek on its tenant, ID or email, never a scan of a
// table, and that keyset pages of the organization list and the guest list
// in its non-nullable orders need no sort: their cost follows the page, not
// the table.
func TestQueriesSeekAnIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, ":memory:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	rec := &recorder{driver: &s.drv}
	core := sqlcore.New("sqlitestore", rec, dialect, "")
	org, now := uuid.New(), t0

	seeks := func(name string, sorts bool) {
		t.Helper()
		statements := rec.take()
		require.NotEmpty(t, statements, name)
		for _, st := range statements {
			if strings.HasPrefix(st.sql, "INSERT") {
				continue
			}
			p := plan(t, s.drv.write.db, st.sql, st.args...)
			assert.Contains(t, p, "SEARCH", "%s: %s:\n%s", name, st.sql, p)
			assert.False(t, scansTable(p), "%s: %s:\n%s", name, st.sql, p)
			if !sorts {
				assert.NotContains(t, p, "TEMP B-TREE", "a page never sorts: %s: %s:\n%s", name, st.sql, p)
			}
		}
	}

	inv := newInvitation(org, "a@example.com", now)
	require.NoError(t, core.CreateInvitation(ctx, inv, now, storetest.NewEvent(event.InvitationCreated)))
	// A second open invitation for the email: the insert fails, stale
	// claims are released, and it fails again.
	require.ErrorIs(t, core.CreateInvitation(ctx, newInvitation(org, "a@example.com", now), now, storetest.NewEvent(event.InvitationCreated)), store.ErrAlreadyExists)
	_, err = core.GetInvitation(ctx, org, inv.ID)
	require.NoError(t, err)
	_, err = core.FindInvitation(ctx, inv.ID)
	require.NoError(t, err)
	_, err = core.UpdateInvitation(ctx, org, inv.ID, now, store.Limits{}, storetest.Change(func(*invitation.Invitation) error { return nil }))
	require.NoError(t, err)
	_, err = core.ListInvitationsForEmail(ctx, inv.Email, now, 10)
	require.NoError(t, err)
	require.NoError(t, core.DeleteInvitation(ctx, org, inv.ID, storetest.Deleted[invitation.Invitation]))
	seeks("invitation writes and reads", false)

	for _, status := range []invitation.Status{"", invitation.StatusPending, invitation.StatusExpired, invitation.StatusAccepted} {
		for _, email := range []string{"", "a@example.com"} {
			for _, after := range []*store.Cursor{nil, {CreatedAt: now, ID: uuid.New()}} {
				q := invitation.ListQuery{OrganizationID: org, Status: status, Email: email, Now: now, After: after, Limit: 20}
				_, err := core.ListInvitations(ctx, q)
				require.NoError(t, err)
				seeks(fmt.Sprintf("%+v", q), false)
			}
		}
	}

	g := newGuest(org, "a@example.com", now)
	require.NoError(t, core.CreateGuestInvitation(ctx, g, now, storetest.NewEvent(event.GuestInvitationCreated)))
	require.ErrorIs(t, core.CreateGuestInvitation(ctx, newGuest(org, "a@example.com", now), now, storetest.NewEvent(event.GuestInvitationCreated)), store.ErrAlreadyExists)
	_, err = core.GetGuestInvitation(ctx, org, g.ID)
	require.NoError(t, err)
	_, err = core.FindGuestInvitation(ctx, g.ID)
	require.NoError(t, err)
	_, err = core.UpdateGuestInvitation(ctx, org, g.ID, now, store.Limits{}, storetest.Change(func(*guest.Invitation) error { return nil }))
	require.NoError(t, err)
	seeks("guest writes and reads", false)

	accepted := now.Add(time.Hour)
	for _, by := range []guest.OrderBy{
		guest.OrderByCreatedAt, guest.OrderByEmail, guest.OrderByFirstInvitationSentAt,
		guest.OrderByLastInvitationSentAt, guest.OrderByExpiredAt, guest.OrderByUpdatedAt,
		guest.OrderByAcceptedAt, guest.OrderByArchivedAt,
	} {
		for _, dir := range []store.Direction{store.Asc, store.Desc} {
			// The first page, and keyset pages after a row with a
			// value and (nullable orders) after a row without.
			afters := []*guest.Invitation{nil, {ID: uuid.New(), Email: "m@example.com", CreatedAt: now, UpdatedAt: now,
				FirstInvitationSentAt: now, LastInvitationSentAt: now, ExpiredAt: now, AcceptedAt: &accepted, ArchivedAt: &accepted}}
			if by == guest.OrderByAcceptedAt || by == guest.OrderByArchivedAt {
				afters = append(afters, &guest.Invitation{ID: uuid.New()})
			}
			for _, after := range afters {
				_, _, err := core.ListGuestInvitations(ctx, guest.ListQuery{HostOrganizationID: org, OrderBy: by, Order: dir, After: after, Limit: 20, Now: now})
				require.NoError(t, err)
				// After a row with a value, a nullable order
				// continues with the rows after it and then the
				// nulls: two ranges, which SQLite merges by sorting.
				nullable := by == guest.OrderByAcceptedAt || by == guest.OrderByArchivedAt
				seeks(fmt.Sprintf("%s %s after %v", by, dir, after != nil), nullable && after != nil && after.AcceptedAt != nil)
			}
		}
	}
	// Each filter seeks the index that holds it before the list's order:
	// the page reads matches only, however rare.
	yes, no := true, false
	for _, f := range []struct {
		q     guest.ListQuery
		index string
	}{
		{guest.ListQuery{Statuses: []guest.Status{guest.StatusSent}}, "guest_invitations_status_created"},
		{guest.ListQuery{Statuses: []guest.Status{guest.StatusAcceptedByGuest}}, "guest_invitations_status_created"},
		{guest.ListQuery{Statuses: []guest.Status{guest.StatusAcceptedBySystem}}, "guest_invitations_status_created"},
		{guest.ListQuery{Expired: &yes}, "guest_invitations_status_created"},
		{guest.ListQuery{Expired: &no}, "guest_invitations_created"},
		{guest.ListQuery{Archived: &yes}, "guest_invitations_archived_created"},
		{guest.ListQuery{Archived: &no}, "guest_invitations_archived_created"},
		{guest.ListQuery{Archived: &yes, Expired: &yes}, ""},
		{guest.ListQuery{Statuses: []guest.Status{guest.StatusSent}, Archived: &no, Expired: &no}, ""},
	} {
		for _, dir := range []store.Direction{store.Asc, store.Desc} {
			q := f.q
			q.HostOrganizationID, q.OrderBy, q.Order, q.Now, q.Limit = org, guest.OrderByCreatedAt, dir, now, 20
			_, _, err := core.ListGuestInvitations(ctx, q)
			require.NoError(t, err)
			if f.index != "" {
				page := rec.peek()[0]
				p := plan(t, s.drv.write.db, page.sql, page.args...)
				assert.Contains(t, strings.SplitN(p, "\n", 2)[0], "USING INDEX "+f.index+" ", "%+v:\n%s", q, p)
			}
			seeks(fmt.Sprintf("%+v", q), false)
		}
	}
	// An email search reads the trigram index when its rarest trigram is
	// in fewer rows than the host has, and sorts its few matches; a short
	// one, or one as common as the host's rows, walks the order.
	for _, email := range []string{"a", "zz", "qxj", "example.com"} {
		q := guest.ListQuery{HostOrganizationID: org, EmailContains: email, OrderBy: guest.OrderByCreatedAt, Order: store.Desc, Now: now, Limit: 20}
		_, _, err := core.ListGuestInvitations(ctx, q)
		require.NoError(t, err)
		seeks(fmt.Sprintf("%+v", q), email == "qxj")
	}
	require.NoError(t, core.DeleteGuestInvitation(ctx, org, g.ID, storetest.Deleted[guest.Invitation]))
	seeks("guest delete", false)

	// Writes under limits count what they bound through the claims index
	// and the events index by type, and a sweep or a purge seeks the
	// index of what it looks for: none of them reads the tenant's rows,
	// let alone the table.
	limits := store.Limits{MaxOpen: 5, CreatesPerHour: 5}
	_, err = core.CreateInvitations(ctx, []invitation.Invitation{newInvitation(org, "b@example.com", now)}, now,
		[]event.Event{storetest.NewEvent(event.InvitationCreated)}, limits)
	require.NoError(t, err)
	_, err = core.CreateGuestInvitations(ctx, []guest.Invitation{newGuest(org, "b@example.com", now)}, now,
		[]event.Event{storetest.NewEvent(event.GuestInvitationCreated)}, limits)
	require.NoError(t, err)
	seeks("creates under limits", false)
	expired := func(any) (event.Event, error) { return storetest.NewEvent(event.InvitationExpired), nil }
	_, err = core.ExpireInvitations(ctx, now, 10, func(i invitation.Invitation) (event.Event, error) { return expired(i) })
	require.NoError(t, err)
	_, err = core.ExpireGuestInvitations(ctx, now, 10, func(g guest.Invitation) (event.Event, error) { return expired(g) })
	require.NoError(t, err)
	_, err = core.PurgeInvitations(ctx, now, 10)
	require.NoError(t, err)
	_, err = core.PurgeGuestInvitations(ctx, now, 10)
	require.NoError(t, err)
	seeks("sweeps and purges", false)

	// A link's reads, its redemption (the lock, the look for an earlier
	// redemption by the email, the update of its uses) and both lists
	// seek by ID or by organization and walk a page in index order.
	l := link.Link{ID: uuid.New(), OrganizationID: org, Role: "admin", MaxUses: 5, Nonce: make([]byte, 16), CreatedAt: now, ExpireAt: now.Add(time.Hour)}
	require.NoError(t, core.CreateLink(ctx, l, storetest.NewEvent(event.InviteLinkCreated)))
	_, err = core.GetLink(ctx, org, l.ID)
	require.NoError(t, err)
	_, err = core.FindLink(ctx, l.ID)
	require.NoError(t, err)
	_, _, err = core.RedeemLink(ctx, l.ID, "a@example.com", func(_ context.Context, l *link.Link, _ bool) (link.Redemption, event.Event, error) {
		l.Uses++
		return link.Redemption{ID: uuid.New(), LinkID: l.ID, OrganizationID: org, Email: "a@example.com", RedeemedAt: now},
			storetest.NewEvent(event.InviteLinkRedeemed), nil
	})
	require.NoError(t, err)
	_, err = core.UpdateLink(ctx, org, l.ID, storetest.Change(func(*link.Link) error { return nil }))
	require.NoError(t, err)
	for _, after := range []*store.Cursor{nil, {CreatedAt: now, ID: uuid.New()}} {
		_, err = core.ListLinks(ctx, link.ListQuery{OrganizationID: org, After: after, Limit: 20})
		require.NoError(t, err)
		_, err = core.ListRedemptions(ctx, link.RedemptionQuery{OrganizationID: org, LinkID: l.ID, After: after, Limit: 20})
		require.NoError(t, err)
	}
	seeks("links", false)
}
