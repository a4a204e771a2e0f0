package postgresstore_test

import (
	"context"
	"fmt"
	"regexp"
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
	"github.com/invitekit/invitekit/postgresstore"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/storetest"
)

// queryRecorder is a pgx tracer that keeps the statements a pool runs.
type queryRecorder struct {
	mu    sync.Mutex
	stmts []recordedQuery
}

type recordedQuery struct {
	sql  string
	args []any
}

func (r *queryRecorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stmts = append(r.stmts, recordedQuery{d.SQL, d.Args})
	return ctx
}

func (r *queryRecorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *queryRecorder) take() []recordedQuery {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.stmts
	r.stmts = nil
	return out
}

// plan returns the plan of query with sorts and sequential scans priced
// out.
func plan(t *testing.T, pool *pgxpool.Pool, query string, args []any) string {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	for _, set := range []string{"SET LOCAL enable_sort = off", "SET LOCAL enable_seqscan = off"} {
		_, err = tx.Exec(ctx, set)
		require.NoError(t, err)
	}
	rows, err := tx.Query(ctx, "EXPLAIN "+query, args...)
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err, query)
	return strings.Join(lines, "\n")
}

var sortNode = regexp.MustCompile(`(?m)(^|->\s+)(Incremental )?Sort\s+\(`)

// TestGuestListPlans checks that every page of the guest list, in every
// documented order both ways, after a keyset position or not, and under
// each filter, has a plan that reads an index in the list's order: with
// sorts and sequential scans priced out (enable_sort, enable_seqscan off),
// the planner still picks neither, so a plan without them exists and the
// cost of a page follows the page, not the host's rows. The total is a sum
// of counters and the expired corrections index seeks.
func TestGuestListPlans(t *testing.T) {
	ctx := context.Background()
	schema := newSchema(t)
	cfg, err := pgxpool.ParseConfig(testURL(t))
	require.NoError(t, err)
	rec := &queryRecorder{}
	cfg.ConnConfig.Tracer = rec
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s, err := postgresstore.New(ctx, pool, postgresstore.WithSchema(schema))
	require.NoError(t, err)

	host, now := uuid.New(), time.Now().UTC().Truncate(time.Microsecond)
	for i := range 50 {
		g := guest.Invitation{ID: uuid.New(), HostOrganizationID: host, Email: fmt.Sprintf("g%d@example.com", i),
			FirstInvitationSentAt: now, LastInvitationSentAt: now, ExpiredAt: now.Add(time.Duration(i-25) * time.Hour),
			Status: guest.StatusSent, CreatedAt: now, UpdatedAt: now, Nonce: make([]byte, 16)}
		require.NoError(t, s.CreateGuestInvitation(ctx, g, now, storetest.NewEvent(event.GuestInvitationCreated)))
	}

	explain := func(name string, sorts bool) {
		t.Helper()
		stmts := rec.take()
		require.NotEmpty(t, stmts, name)
		for _, st := range stmts {
			if !strings.HasPrefix(st.sql, "SELECT") {
				continue // the creates, transactions
			}
			p := plan(t, pool, st.sql, st.args)
			assert.NotContains(t, p, "Seq Scan on guest_invitations", "%s: %s:\n%s", name, st.sql, p)
			if !sorts {
				assert.NotRegexp(t, sortNode, p, "a page never sorts: %s: %s:\n%s", name, st.sql, p)
			}
		}
	}

	accepted := now.Add(time.Hour)
	nullable := map[guest.OrderBy]bool{guest.OrderByAcceptedAt: true, guest.OrderByArchivedAt: true}
	for _, by := range []guest.OrderBy{
		guest.OrderByCreatedAt, guest.OrderByEmail, guest.OrderByFirstInvitationSentAt,
		guest.OrderByLastInvitationSentAt, guest.OrderByExpiredAt, guest.OrderByUpdatedAt,
		guest.OrderByAcceptedAt, guest.OrderByArchivedAt,
	} {
		for _, dir := range []store.Direction{store.Asc, store.Desc} {
			afters := []*guest.Invitation{nil, {ID: uuid.New(), Email: "m@example.com", CreatedAt: now, UpdatedAt: now,
				FirstInvitationSentAt: now, LastInvitationSentAt: now, ExpiredAt: now, AcceptedAt: &accepted, ArchivedAt: &accepted}}
			if nullable[by] {
				afters = append(afters, &guest.Invitation{ID: uuid.New()})
			}
			for _, after := range afters {
				_, _, err := s.ListGuestInvitations(ctx, guest.ListQuery{HostOrganizationID: host, OrderBy: by, Order: dir, After: after, Limit: 21, Now: now})
				require.NoError(t, err)
				// After a row with a value, a nullable order reads two
				// ranges: the rows after it, then the nulls.
				explain(fmt.Sprintf("%s %s after %v", by, dir, after != nil), nullable[by] && after != nil && after.AcceptedAt != nil)
			}
		}
	}
	yes, no := true, false
	for _, q := range []guest.ListQuery{
		{Statuses: []guest.Status{guest.StatusSent}}, {Statuses: []guest.Status{guest.StatusAcceptedByGuest}},
		{Statuses: []guest.Status{guest.StatusAcceptedBySystem}}, {Expired: &yes}, {Expired: &no},
		{Archived: &yes}, {Archived: &no}, {Archived: &yes, Expired: &yes},
		{Statuses: []guest.Status{guest.StatusSent}, Archived: &no, Expired: &no},
	} {
		for _, dir := range []store.Direction{store.Asc, store.Desc} {
			q.HostOrganizationID, q.OrderBy, q.Order, q.Now, q.Limit = host, guest.OrderByCreatedAt, dir, now, 21
			_, _, err := s.ListGuestInvitations(ctx, q)
			require.NoError(t, err)
			explain(describe(q), false)
		}
	}
	// The migration made the trigram index (this server has pg_trgm),
	// which the planner may choose for a search.
	var trgm bool
	require.NoError(t, pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = 'guest_invitations_email_trgm')", schema).Scan(&trgm))
	assert.True(t, trgm, "guest_invitations_email_trgm in schema %s", schema)
	// A search reads the trigram index (a bitmap of its matches, which a
	// page sorts) or walks the order, as the planner's statistics say.
	for _, email := range []string{"g1", "g17@", "example.com", `100%_\`} {
		q := guest.ListQuery{HostOrganizationID: host, EmailContains: email, OrderBy: guest.OrderByCreatedAt, Order: store.Desc, Now: now, Limit: 21}
		_, _, err := s.ListGuestInvitations(ctx, q)
		require.NoError(t, err)
		explain(describe(q), true)
	}
}

func describe(q guest.ListQuery) string {
	s := fmt.Sprintf("order %s %s statuses %v email %q", q.OrderBy, q.Order, q.Statuses, q.EmailContains)
	if q.Expired != nil {
		s += fmt.Sprintf(" expired %t", *q.Expired)
	}
	if q.Archived != nil {
		s += fmt.Sprintf(" archived %t", *q.Archived)
	}
	return s
}
