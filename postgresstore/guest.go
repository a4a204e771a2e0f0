package postgresstore

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/store"
)

// scanGuest reads one row of guestColumns followed by extra.
func scanGuest(row pgx.Row, extra ...any) (guest.Invitation, error) {
	var inv guest.Invitation
	dest := []any{&inv.ID, &inv.HostOrganizationID, &inv.Email, &inv.FirstInvitationSentAt, &inv.LastInvitationSentAt,
		&inv.ExpiredAt, &inv.Status, &inv.Archived, &inv.CreatedAt, &inv.UpdatedAt, &inv.AcceptedAt, &inv.ArchivedAt,
		&inv.ParentOrganizationID, &inv.ParentOrganizationName, &inv.Nonce}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return guest.Invitation{}, err
	}
	inv.FirstInvitationSentAt, inv.LastInvitationSentAt = utc(inv.FirstInvitationSentAt), utc(inv.LastInvitationSentAt)
	inv.ExpiredAt, inv.CreatedAt, inv.UpdatedAt = utc(inv.ExpiredAt), utc(inv.CreatedAt), utc(inv.UpdatedAt)
	inv.AcceptedAt, inv.ArchivedAt = utcPtr(inv.AcceptedAt), utcPtr(inv.ArchivedAt)
	return inv, nil
}

func scanGuestRow(row pgx.Row) (guest.Invitation, error) { return scanGuest(row) }

// CreateGuestInvitation implements guest.Store, in one round trip unless
// an earlier invitation holds the claim, like CreateInvitation.
func (s *Store) CreateGuestInvitation(ctx context.Context, inv guest.Invitation, now time.Time) error {
	open := inv.Open(now)
	return s.run(ctx, "create guest invitation", func() error {
		insert := []any{inv.ID, inv.HostOrganizationID, inv.Email, inv.FirstInvitationSentAt,
			inv.LastInvitationSentAt, inv.ExpiredAt, string(inv.Status), inv.Archived, inv.CreatedAt, inv.UpdatedAt,
			inv.AcceptedAt, inv.ArchivedAt, inv.ParentOrganizationID, inv.ParentOrganizationName, inv.Nonce, open}
		_, err := s.pool.Exec(ctx, s.q.guestInsert, insert...)
		if !open || !claimTaken(err) {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(s.q.guestRelease, inv.HostOrganizationID, inv.Email, now, inv.ID)
		b.Queue(s.q.guestInsert, insert...)
		return s.pool.SendBatch(ctx, b).Close()
	})
}

// GetGuestInvitation implements guest.Store.
func (s *Store) GetGuestInvitation(ctx context.Context, hostID, id uuid.UUID) (guest.Invitation, error) {
	var out guest.Invitation
	err := s.run(ctx, "get guest invitation", func() (err error) {
		out, err = scanGuest(s.pool.QueryRow(ctx, s.q.guestGet, hostID, id))
		return err
	})
	return out, err
}

// FindGuestInvitation implements guest.Store.
func (s *Store) FindGuestInvitation(ctx context.Context, id uuid.UUID) (guest.Invitation, error) {
	var out guest.Invitation
	err := s.run(ctx, "find guest invitation", func() (err error) {
		out, err = scanGuest(s.pool.QueryRow(ctx, s.q.guestFind, id))
		return err
	})
	return out, err
}

// UpdateGuestInvitation implements guest.Store, with the row lock and the
// retry behaviour of UpdateInvitation.
func (s *Store) UpdateGuestInvitation(ctx context.Context, hostID, id uuid.UUID, now time.Time, update func(*guest.Invitation) error) (guest.Invitation, error) {
	var out guest.Invitation
	err := s.run(ctx, "update guest invitation", func() error {
		var cur guest.Invitation
		b := &pgx.Batch{}
		b.BeginTx(pgx.TxOptions{})
		b.Queue(s.q.guestLock, hostID, id)
		read := func(br pgx.BatchResults) (err error) {
			cur, err = scanGuest(br.QueryRow())
			return err
		}
		return s.inTx(ctx, b, read, func(tx pgx.Tx) error {
			next := cur
			if err := update(&next); err != nil {
				return &callerError{err}
			}
			next.ID, next.HostOrganizationID, next.Email, next.CreatedAt = cur.ID, cur.HostOrganizationID, cur.Email, cur.CreatedAt
			open := next.Open(now)
			w := &pgx.Batch{}
			if open {
				w.Queue(s.q.guestRelease, next.HostOrganizationID, next.Email, now, next.ID)
			}
			w.Queue(s.q.guestUpdate, hostID, id, next.FirstInvitationSentAt, next.LastInvitationSentAt, next.ExpiredAt,
				string(next.Status), next.Archived, next.UpdatedAt, next.AcceptedAt, next.ArchivedAt,
				next.ParentOrganizationID, next.ParentOrganizationName, next.Nonce, open)
			var err error
			out, err = writeThenScan(tx.SendBatch(ctx, w), open, scanGuestRow)
			return err
		})
	})
	return out, err
}

// DeleteGuestInvitation implements guest.Store.
func (s *Store) DeleteGuestInvitation(ctx context.Context, hostID, id uuid.UUID) error {
	return s.run(ctx, "delete guest invitation", func() error {
		tag, err := s.pool.Exec(ctx, s.q.guestDelete, hostID, id)
		if err == nil && tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		return err
	})
}

// guestOrder maps each documented sort field to its column and whether
// the column is nullable. Only these names ever reach the SQL text.
var guestOrder = map[guest.OrderBy]struct {
	column   string
	nullable bool
}{
	guest.OrderByEmail:                 {"email", false},
	guest.OrderByFirstInvitationSentAt: {"first_invitation_sent_at", false},
	guest.OrderByLastInvitationSentAt:  {"last_invitation_sent_at", false},
	guest.OrderByExpiredAt:             {"expired_at", false},
	guest.OrderByAcceptedAt:            {"accepted_at", true},
	guest.OrderByArchivedAt:            {"archived_at", true},
	guest.OrderByCreatedAt:             {"created_at", false},
	guest.OrderByUpdatedAt:             {"updated_at", false},
}

// guestWhere returns the WHERE clause of q, adding its arguments to a.
func guestWhere(q guest.ListQuery, a *args) string {
	var w strings.Builder
	w.WriteString(" WHERE host_id = " + a.add(q.HostOrganizationID))
	if len(q.Statuses) > 0 {
		statuses := make([]string, len(q.Statuses))
		for i, st := range q.Statuses {
			statuses[i] = string(st)
		}
		w.WriteString(" AND status = ANY(" + a.add(statuses) + ")")
	}
	if q.EmailContains != "" {
		// strpos matches literally: no LIKE wildcards to escape.
		w.WriteString(" AND strpos(email, " + a.add(q.EmailContains) + ") > 0")
	}
	if q.Expired != nil {
		now := a.add(q.Now)
		if *q.Expired {
			w.WriteString(" AND status = 'sent' AND expired_at <= " + now)
		} else {
			w.WriteString(" AND (status <> 'sent' OR expired_at > " + now + ")")
		}
	}
	if q.Archived != nil {
		w.WriteString(" AND archived = " + a.add(*q.Archived))
	}
	return w.String()
}

// guestOrderBy returns the ORDER BY clause of q: guest.ListQuery.Compare in
// SQL. NULLS LAST is spelled only for nullable columns, so that a backward
// scan of an ascending index still serves the descending order of the
// others.
func guestOrderBy(q guest.ListQuery) string {
	o, ok := guestOrder[q.OrderBy]
	if !ok {
		o = guestOrder[guest.OrderByCreatedAt]
	}
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

// ListGuestInvitations implements guest.Store. The page and the total come
// from one statement, so they agree with each other; the total counts every
// match of the host, which costs a scan of the host's matching rows.
func (s *Store) ListGuestInvitations(ctx context.Context, q guest.ListQuery) ([]guest.Invitation, int, error) {
	var a args
	where := guestWhere(q, &a)
	count := "SELECT count(*) FROM " + s.q.guests + where
	page := "SELECT " + guestColumns + ", (" + count + ") FROM " + s.q.guests + where + guestOrderBy(q) +
		" LIMIT " + a.add(q.Limit) + " OFFSET " + a.add(q.Offset)
	var (
		out   []guest.Invitation
		total int
	)
	err := s.run(ctx, "list guest invitations", func() error {
		out, total = nil, 0
		rows, err := s.pool.Query(ctx, page, a...)
		if err != nil {
			return err
		}
		out, err = pgx.AppendRows(out, rows, func(row pgx.CollectableRow) (guest.Invitation, error) {
			return scanGuest(row, &total)
		})
		if err != nil || len(out) > 0 || q.Offset == 0 {
			return err
		}
		// The offset is past the last match: the page query had no row to
		// carry the total on.
		return s.pool.QueryRow(ctx, count, a[:len(a)-2]...).Scan(&total)
	})
	return out, total, err
}
