package postgresstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/invitation"
)

// scanInvitation reads one row of invColumns.
func scanInvitation(row pgx.Row) (invitation.Invitation, error) {
	var inv invitation.Invitation
	err := row.Scan(&inv.ID, &inv.OrganizationID, &inv.Email, &inv.Role, &inv.InviterID, &inv.Status, &inv.Nonce,
		&inv.CreatedAt, &inv.SentAt, &inv.ExpireAt, &inv.AcceptedAt, &inv.RevokedAt)
	if err != nil {
		return invitation.Invitation{}, err
	}
	inv.CreatedAt, inv.SentAt, inv.ExpireAt = utc(inv.CreatedAt), utc(inv.SentAt), utc(inv.ExpireAt)
	inv.AcceptedAt, inv.RevokedAt = utcPtr(inv.AcceptedAt), utcPtr(inv.RevokedAt)
	return inv, nil
}

// collectInvitations reads every row, and returns nil for none, as
// memstore does.
func collectInvitations(rows pgx.Rows) ([]invitation.Invitation, error) {
	return pgx.AppendRows([]invitation.Invitation(nil), rows, func(row pgx.CollectableRow) (invitation.Invitation, error) {
		return scanInvitation(row)
	})
}

// CreateInvitation implements invitation.Store. It is one INSERT, the same
// statement a bare driver call would send, unless an earlier invitation of
// the organization and email still holds the open claim; then a second
// round trip releases the claim if that invitation has expired by now and
// inserts again, both in one implicit transaction.
func (s *Store) CreateInvitation(ctx context.Context, inv invitation.Invitation, now time.Time) error {
	open := inv.Open(now)
	return s.run(ctx, "create invitation", func() error {
		insert := []any{inv.ID, inv.OrganizationID, inv.Email, inv.Role, inv.InviterID, string(inv.Status),
			inv.Nonce, inv.CreatedAt, inv.SentAt, inv.ExpireAt, inv.AcceptedAt, inv.RevokedAt, open}
		_, err := s.pool.Exec(ctx, s.q.invInsert, insert...)
		if !open || !claimTaken(err) {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(s.q.invRelease, inv.OrganizationID, inv.Email, now, inv.ID)
		b.Queue(s.q.invInsert, insert...)
		return s.pool.SendBatch(ctx, b).Close()
	})
}

// GetInvitation implements invitation.Store.
func (s *Store) GetInvitation(ctx context.Context, orgID, id uuid.UUID) (invitation.Invitation, error) {
	var out invitation.Invitation
	err := s.run(ctx, "get invitation", func() (err error) {
		out, err = scanInvitation(s.pool.QueryRow(ctx, s.q.invGet, orgID, id))
		return err
	})
	return out, err
}

// FindInvitation implements invitation.Store.
func (s *Store) FindInvitation(ctx context.Context, id uuid.UUID) (invitation.Invitation, error) {
	var out invitation.Invitation
	err := s.run(ctx, "find invitation", func() (err error) {
		out, err = scanInvitation(s.pool.QueryRow(ctx, s.q.invFind, id))
		return err
	})
	return out, err
}

// UpdateInvitation implements invitation.Store. The row stays locked from
// the read to the commit, so a concurrent update of it waits and then sees
// this one's result. update may be called again, on a fresh copy, when the
// transaction has to be retried after a deadlock.
func (s *Store) UpdateInvitation(ctx context.Context, orgID, id uuid.UUID, now time.Time, update func(*invitation.Invitation) error) (invitation.Invitation, error) {
	var out invitation.Invitation
	err := s.run(ctx, "update invitation", func() error {
		var cur invitation.Invitation
		b := &pgx.Batch{}
		b.BeginTx(pgx.TxOptions{})
		b.Queue(s.q.invLock, orgID, id)
		read := func(br pgx.BatchResults) (err error) {
			cur, err = scanInvitation(br.QueryRow())
			return err
		}
		return s.inTx(ctx, b, read, func(tx pgx.Tx) error {
			next := cur
			if err := update(&next); err != nil {
				return &callerError{err}
			}
			next.ID, next.OrganizationID, next.Email, next.CreatedAt = cur.ID, cur.OrganizationID, cur.Email, cur.CreatedAt
			open := next.Open(now)
			w := &pgx.Batch{}
			if open {
				w.Queue(s.q.invRelease, next.OrganizationID, next.Email, now, next.ID)
			}
			w.Queue(s.q.invUpdate, orgID, id, next.Role, next.InviterID, string(next.Status), next.Nonce, next.SentAt,
				next.ExpireAt, next.AcceptedAt, next.RevokedAt, open)
			var err error
			out, err = writeThenScan(tx.SendBatch(ctx, w), open, scanInvitation)
			return err
		})
	})
	return out, err
}

// writeThenScan reads the results of a batch of an optional release query
// and a write that returns the row, and closes it.
func writeThenScan[T any](br pgx.BatchResults, released bool, scan func(pgx.Row) (T, error)) (T, error) {
	var zero T
	if released {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return zero, err
		}
	}
	out, err := scan(br.QueryRow())
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return zero, err
	}
	return out, nil
}

// DeleteInvitation implements invitation.Store.
func (s *Store) DeleteInvitation(ctx context.Context, orgID, id uuid.UUID) error {
	return s.run(ctx, "delete invitation", func() error {
		tag, err := s.pool.Exec(ctx, s.q.invDelete, orgID, id)
		if err == nil && tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		return err
	})
}

// args collects query arguments and names their placeholders.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// ListInvitations implements invitation.Store. A page is one index range
// scan of (org_id, created_at, id), however many invitations the
// organization holds, as long as the status and email filters match often.
func (s *Store) ListInvitations(ctx context.Context, q invitation.ListQuery) ([]invitation.Invitation, error) {
	var a args
	var sql strings.Builder
	sql.WriteString("SELECT " + invColumns + " FROM " + s.q.invitations + " WHERE org_id = " + a.add(q.OrganizationID))
	switch q.Status {
	case "":
	case invitation.StatusPending:
		sql.WriteString(" AND status = 'pending' AND expire_at > " + a.add(q.Now))
	case invitation.StatusExpired:
		sql.WriteString(" AND status = 'pending' AND expire_at <= " + a.add(q.Now))
	default:
		sql.WriteString(" AND status = " + a.add(string(q.Status)))
	}
	if q.Email != "" {
		sql.WriteString(" AND email = " + a.add(q.Email))
	}
	if q.After != nil {
		sql.WriteString(" AND (created_at, id) < (" + a.add(q.After.CreatedAt) + ", " + a.add(q.After.ID) + ")")
	}
	sql.WriteString(" ORDER BY created_at DESC, id DESC LIMIT " + a.add(q.Limit))
	var out []invitation.Invitation
	err := s.run(ctx, "list invitations", func() error {
		rows, err := s.pool.Query(ctx, sql.String(), a...)
		if err != nil {
			return err
		}
		out, err = collectInvitations(rows)
		return err
	})
	return out, err
}

// ListInvitationsForEmail implements invitation.Store.
func (s *Store) ListInvitationsForEmail(ctx context.Context, email string, now time.Time, limit int) ([]invitation.Invitation, error) {
	var out []invitation.Invitation
	err := s.run(ctx, "list invitations for email", func() error {
		rows, err := s.pool.Query(ctx, s.q.invForEmail, email, now, limit)
		if err != nil {
			return err
		}
		out, err = collectInvitations(rows)
		return err
	})
	return out, err
}
