package sqlcore

// The guest list: a page in any documented order, its filters and keyset
// position, and a total that costs the same at any size (see the
// migrations' 0007_guest_lists.sql).

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/store"
)

// TrigramIndex is an index of the trigrams of guest emails that the core
// reads itself (SQLite's FTS5), for a search of three characters or more.
// (PostgreSQL's pg_trgm needs none: its planner serves Dialect.Contains
// from the index.)
type TrigramIndex struct {
	// Match returns the condition "the row's id is one the index finds
	// for the query arg", a placeholder bound to Query's result.
	Match func(arg string) string
	// Query returns the index's query for rows whose email holds text.
	Query func(text string) string
	// Probe is a statement that returns how many rows the index finds
	// for the query $1 (Query's result), counting at most $3 and at most
	// as many as host $2 has guest invitations, and how many it has:
	// whether reading the index beats walking the host's rows. It reads
	// no more of the index's matches than that, however common the
	// text.
	Probe string
}

// guestQuery is the statement of one page of a guest list and the one of
// its total alone, for a page with no row to carry it on.
type guestQuery struct {
	page, total string
	args        []any
	// totalArgs is how many of args the total binds: the first ones.
	totalArgs int
}

// ListGuestInvitations implements guest.Store. The page and the total come
// from one statement, so they agree with each other. The total is a sum of
// the counters the migrations' triggers keep, not a count of the host's
// rows, except under an email search, where it counts the matches the
// search reads anyway.
func (c *Core) ListGuestInvitations(ctx context.Context, q guest.ListQuery) ([]guest.Invitation, int, error) {
	l, err := doRead(ctx, &c.guests, "list", func() (guestQuery, error) { return c.guestList(ctx, q) })
	if err != nil {
		return nil, 0, err
	}
	var total int
	out, err := c.guests.list(ctx, "list", q.Limit, l.page, l.args, &total)
	if err != nil || len(out) > 0 || (q.Offset == 0 && q.After == nil) {
		return out, total, err
	}
	// The page is past the last match: it had no row to carry the total.
	_, err = doRead(ctx, &c.guests, "count", func() (int, error) {
		return 0, scanOne(ctx, c.drv.Reader(), l.total, l.args[:l.totalArgs], &total)
	})
	return nil, total, err
}

// guestList returns the statements of q, guest.ListQuery.Matches and
// Compare in SQL.
func (c *Core) guestList(ctx context.Context, q guest.ListQuery) (guestQuery, error) {
	var a args
	host := a.add(c.d.ID(q.HostOrganizationID))
	var search string
	tenant := "host_organization_id"
	if q.EmailContains != "" {
		var narrowed bool
		var err error
		if search, narrowed, err = c.emailSearch(ctx, &a, q); err != nil {
			return guestQuery{}, err
		}
		if narrowed {
			// Read the few rows the trigram index finds, not the
			// host's rows in an order, looking for them.
			tenant = c.d.Filtered(tenant)
		}
	}
	var w strings.Builder
	w.WriteString(" WHERE " + tenant + " = " + host)
	statuses := ""
	if len(q.Statuses) > 0 {
		statuses = " AND " + in(&a, "status", q.Statuses)
		w.WriteString(statuses)
	}
	if search != "" {
		w.WriteString(" AND " + search)
	}
	now := ""
	if q.Expired != nil {
		now = a.add(c.d.Time(q.Now))
		if *q.Expired {
			// The rows of status sent in the list's order, through
			// the status index that holds expired_at, never the
			// expired range sorted: expired rows are many, and
			// that sort would grow with them.
			w.WriteString(" AND status = 'sent' AND " + c.d.Filtered("expired_at") + " <= " + now)
		} else {
			w.WriteString(" AND (status <> 'sent' OR expired_at > " + now + ")")
		}
	}
	archived := ""
	if q.Archived != nil {
		// An equality, which SQLite's planner matches to an index
		// where a bare boolean column is not.
		archived = " AND archived = FALSE"
		if *q.Archived {
			archived = " AND archived = TRUE"
		}
		w.WriteString(archived)
	}
	total := "(SELECT count(*) FROM " + c.guests.name + w.String() + ")"
	if q.EmailContains == "" {
		total = c.guestTotal(host, statuses, archived, now, q)
	}
	n := len(a)
	page := "SELECT " + c.guests.cols + ", " + total + " FROM " + c.guests.name + w.String() + c.guestAfter(&a, q) +
		guestOrderBy(q) + " LIMIT " + a.add(max(q.Limit, 0)) + " OFFSET " + a.add(max(q.Offset, 0))
	return guestQuery{page: page, total: "SELECT " + total, args: a, totalArgs: n}, nil
}

// guestTotal returns the expression of the number of the host's
// invitations that match the filters of q but an email search, from the
// counters, given the conditions and placeholders the page has made of
// them.
//
// The counters know status and archived; expired depends on the instant.
// A sent invitation is expired at now when its expiry was recorded (the
// counters' expiry_recorded) or when it passed unrecorded, except a
// recorded one whose expiry is still ahead of now. The last two are few
// (the rows between two sweeps) and are counted from partial indexes.
func (c *Core) guestTotal(host, statuses, archived, now string, q guest.ListQuery) string {
	counted := "SELECT CAST(coalesce(sum(n), 0) AS BIGINT) FROM " + c.guestCounts + " WHERE host_organization_id = " + host
	all := "(" + counted + statuses + archived + ")"
	if q.Expired == nil {
		return all
	}
	expired := "0"
	if len(q.Statuses) == 0 || slices.Contains(q.Statuses, guest.StatusSent) {
		sent := "SELECT count(*) FROM " + c.guests.name + " WHERE host_organization_id = " + host + " AND status = 'sent'"
		expired = "((" + counted + " AND status = 'sent' AND expiry_recorded" + archived + ")" +
			" - (" + sent + " AND expiry_recorded AND expired_at > " + now + archived + ")" +
			" + (" + sent + " AND NOT expiry_recorded AND expired_at <= " + now + archived + "))"
	}
	if *q.Expired {
		return expired
	}
	return "(" + all + " - " + expired + ")"
}

// probeCap bounds how many of the trigram index's matches a search reads
// to choose its plan: about a millisecond of reading, against the hundreds
// a search of a host of a million takes when it walks the host's rows.
const probeCap = 1_000

// emailSearch returns the condition of q's email search, and whether it
// narrows the rows to those of the dialect's trigram index. A search the
// index can serve reads it when the index finds fewer rows (in every
// host) than the host has and than probeCap: the page then reads those
// few; else it walks its order, where a common text finds its page soon,
// and the total costs what it cost without the index.
func (c *Core) emailSearch(ctx context.Context, a *args, q guest.ListQuery) (cond string, narrowed bool, _ error) {
	cond = c.d.Contains("email", a.add(q.EmailContains))
	t := c.d.Trigrams
	if t == nil || utf8.RuneCountInString(q.EmailContains) < 3 {
		return cond, false, nil
	}
	query := t.Query(q.EmailContains)
	var found, rows int64
	if err := scanOne(ctx, c.drv.Reader(), t.Probe, []any{query, c.d.ID(q.HostOrganizationID), probeCap}, &found, &rows); err != nil {
		return "", false, err
	}
	if found >= min(rows, probeCap) {
		return cond, false, nil
	}
	return cond + " AND " + t.Match(a.add(query)), true, nil
}

// guestAfter returns the condition of q's keyset position: rows after
// q.After in q's order, nulls last both ways.
func (c *Core) guestAfter(a *args, q guest.ListQuery) string {
	if q.After == nil {
		return ""
	}
	o := guestOrderOf(q.OrderBy)
	op := " > "
	if q.Order == store.Desc {
		op = " < "
	}
	id := a.add(c.d.ID(q.After.ID))
	v := o.key(c.d, q.After)
	if v == nil {
		// Within the nulls, which come last: by id alone.
		return " AND " + o.column + " IS NULL AND id" + op + id
	}
	cond := "(" + o.column + ", id)" + op + "(" + a.add(v) + ", " + id + ")"
	if o.nullable {
		cond = "(" + cond + " OR " + o.column + " IS NULL)"
	}
	return " AND " + cond
}

// guestOrderBy returns the ORDER BY clause of q, guest.ListQuery.Compare in
// SQL: an unknown field sorts by created_at, any direction but descending is
// ascending. NULLS LAST is spelled only for nullable columns, so that a
// backward scan of an ascending index still serves the descending order of
// the others on PostgreSQL.
func guestOrderBy(q guest.ListQuery) string {
	o := guestOrderOf(q.OrderBy)
	dir := " ASC"
	if q.Order == store.Desc {
		dir = " DESC"
	}
	nulls := ""
	if o.nullable {
		nulls = " NULLS LAST"
	}
	return " ORDER BY " + o.column + dir + nulls + ", id" + dir
}
