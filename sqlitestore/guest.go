package sqlitestore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/store"
)

const guestColumns = `id, host_organization_id, email, first_invitation_sent_at, last_invitation_sent_at, expired_at,
	status, archived, created_at, updated_at, accepted_at, archived_at, parent_organization_id,
	parent_organization_name, nonce`

const (
	insertGuestSQL = `INSERT INTO guest_invitations (` + guestColumns + `, open_claim)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	getGuestSQL  = `SELECT ` + guestColumns + ` FROM guest_invitations WHERE id = ? AND host_organization_id = ?`
	findGuestSQL = `SELECT ` + guestColumns + ` FROM guest_invitations WHERE id = ?`
	// The ID, host, email and creation time never change.
	updateGuestSQL = `UPDATE guest_invitations SET first_invitation_sent_at = ?, last_invitation_sent_at = ?,
		expired_at = ?, status = ?, archived = ?, updated_at = ?, accepted_at = ?, archived_at = ?,
		parent_organization_id = ?, parent_organization_name = ?, nonce = ?, open_claim = ? WHERE id = ?`
	// releaseGuestSQL frees the slots claimed by invitations of a host and
	// email that are no longer open at a given time.
	releaseGuestSQL = `UPDATE guest_invitations SET open_claim = 0
		WHERE host_organization_id = ? AND email = ? AND open_claim = 1 AND id <> ?
		AND NOT (status = 'sent' AND archived = 0 AND expired_at > ?)`
	deleteGuestSQL = `DELETE FROM guest_invitations WHERE id = ? AND host_organization_id = ?`
)

// guestOrderColumns maps each sort field to its column; nothing else is ever
// written into ORDER BY.
var guestOrderColumns = map[guest.OrderBy]string{
	guest.OrderByEmail:                 "email",
	guest.OrderByFirstInvitationSentAt: "first_invitation_sent_at",
	guest.OrderByLastInvitationSentAt:  "last_invitation_sent_at",
	guest.OrderByExpiredAt:             "expired_at",
	guest.OrderByAcceptedAt:            "accepted_at",
	guest.OrderByArchivedAt:            "archived_at",
	guest.OrderByCreatedAt:             "created_at",
	guest.OrderByUpdatedAt:             "updated_at",
}

func scanGuest(r scanner) (guest.Invitation, error) {
	var (
		inv                                        guest.Invitation
		status                                     string
		firstSent, lastSent, expired, created, upd int64
		acceptedAt, archivedAt                     sql.NullInt64
		parentID                                   nullID
		parentName                                 sql.NullString
	)
	err := r.Scan(&inv.ID, &inv.HostOrganizationID, &inv.Email, &firstSent, &lastSent, &expired, &status,
		&inv.Archived, &created, &upd, &acceptedAt, &archivedAt, &parentID, &parentName, &inv.Nonce)
	if err != nil {
		return guest.Invitation{}, err
	}
	inv.Status = guest.Status(status)
	inv.FirstInvitationSentAt, inv.LastInvitationSentAt = toTime(firstSent), toTime(lastSent)
	inv.ExpiredAt, inv.CreatedAt, inv.UpdatedAt = toTime(expired), toTime(created), toTime(upd)
	inv.AcceptedAt, inv.ArchivedAt = toNullTime(acceptedAt), toNullTime(archivedAt)
	inv.ParentOrganizationID = parentID.id
	if parentName.Valid {
		inv.ParentOrganizationName = &parentName.String
	}
	return inv, nil
}

// roundGuest returns inv as a read gives it back.
func roundGuest(inv guest.Invitation) guest.Invitation {
	inv.FirstInvitationSentAt, inv.LastInvitationSentAt = roundTime(inv.FirstInvitationSentAt), roundTime(inv.LastInvitationSentAt)
	inv.ExpiredAt, inv.CreatedAt, inv.UpdatedAt = roundTime(inv.ExpiredAt), roundTime(inv.CreatedAt), roundTime(inv.UpdatedAt)
	inv.AcceptedAt, inv.ArchivedAt = roundNullTime(inv.AcceptedAt), roundNullTime(inv.ArchivedAt)
	return inv
}

func nullStringArg(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func insertGuestArgs(inv guest.Invitation, open bool) []any {
	return []any{
		idArg(inv.ID), idArg(inv.HostOrganizationID), inv.Email, timeArg(inv.FirstInvitationSentAt),
		timeArg(inv.LastInvitationSentAt), timeArg(inv.ExpiredAt), string(inv.Status), boolArg(inv.Archived),
		timeArg(inv.CreatedAt), timeArg(inv.UpdatedAt), nullTimeArg(inv.AcceptedAt), nullTimeArg(inv.ArchivedAt),
		nullIDArg(inv.ParentOrganizationID), nullStringArg(inv.ParentOrganizationName), inv.Nonce, boolArg(open),
	}
}

func releaseGuests(ctx context.Context, conn *sql.Conn, inv guest.Invitation, now time.Time) func() (int64, error) {
	return func() (int64, error) {
		res, err := conn.ExecContext(ctx, releaseGuestSQL,
			idArg(inv.HostOrganizationID), inv.Email, idArg(inv.ID), timeArg(now))
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
}

// CreateGuestInvitation implements guest.Store, as CreateInvitation does
// for organization invitations.
func (s *Store) CreateGuestInvitation(ctx context.Context, inv guest.Invitation, now time.Time) error {
	const op = "create guest invitation"
	if err := s.check(ctx, op); err != nil {
		return err
	}
	open := inv.Open(now)
	args := insertGuestArgs(inv, open)
	_, err := s.stmts.insertGuest.ExecContext(ctx, args...)
	if err != nil && open && isUniqueViolation(err) {
		err = s.writeTx(ctx, func(conn *sql.Conn) error {
			return claim(open, func() error {
				_, err := conn.ExecContext(ctx, insertGuestSQL, args...)
				return err
			}, releaseGuests(ctx, conn, inv, now))
		})
	}
	return translate(ctx, op, err)
}

// GetGuestInvitation implements guest.Store.
func (s *Store) GetGuestInvitation(ctx context.Context, hostID, id uuid.UUID) (guest.Invitation, error) {
	const op = "get guest invitation"
	if err := s.check(ctx, op); err != nil {
		return guest.Invitation{}, err
	}
	inv, err := scanGuest(s.stmts.getGuest.QueryRowContext(ctx, idArg(id), idArg(hostID)))
	return inv, translate(ctx, op, err)
}

// FindGuestInvitation implements guest.Store.
func (s *Store) FindGuestInvitation(ctx context.Context, id uuid.UUID) (guest.Invitation, error) {
	const op = "find guest invitation"
	if err := s.check(ctx, op); err != nil {
		return guest.Invitation{}, err
	}
	inv, err := scanGuest(s.stmts.findGuest.QueryRowContext(ctx, idArg(id)))
	return inv, translate(ctx, op, err)
}

// UpdateGuestInvitation implements guest.Store, as UpdateInvitation does for
// organization invitations.
func (s *Store) UpdateGuestInvitation(ctx context.Context, hostID, id uuid.UUID, now time.Time, update func(*guest.Invitation) error) (guest.Invitation, error) {
	const op = "update guest invitation"
	if err := s.check(ctx, op); err != nil {
		return guest.Invitation{}, err
	}
	var (
		out       guest.Invitation
		updateErr error
	)
	err := s.writeTx(ctx, func(conn *sql.Conn) error {
		old, err := scanGuest(conn.QueryRowContext(ctx, getGuestSQL, idArg(id), idArg(hostID)))
		if err != nil {
			return err
		}
		next := old
		if updateErr = update(&next); updateErr != nil {
			return updateErr
		}
		next.ID, next.HostOrganizationID, next.Email, next.CreatedAt = old.ID, old.HostOrganizationID, old.Email, old.CreatedAt
		out = roundGuest(next)
		open := out.Open(now)
		return claim(open, func() error {
			_, err := conn.ExecContext(ctx, updateGuestSQL,
				timeArg(out.FirstInvitationSentAt), timeArg(out.LastInvitationSentAt), timeArg(out.ExpiredAt),
				string(out.Status), boolArg(out.Archived), timeArg(out.UpdatedAt), nullTimeArg(out.AcceptedAt),
				nullTimeArg(out.ArchivedAt), nullIDArg(out.ParentOrganizationID),
				nullStringArg(out.ParentOrganizationName), out.Nonce, boolArg(open), idArg(out.ID))
			return err
		}, releaseGuests(ctx, conn, out, now))
	})
	if updateErr != nil {
		return guest.Invitation{}, updateErr
	}
	if err != nil {
		return guest.Invitation{}, translate(ctx, op, err)
	}
	return out, nil
}

// DeleteGuestInvitation implements guest.Store.
func (s *Store) DeleteGuestInvitation(ctx context.Context, hostID, id uuid.UUID) error {
	const op = "delete guest invitation"
	if err := s.check(ctx, op); err != nil {
		return err
	}
	res, err := s.stmts.deleteGuest.ExecContext(ctx, idArg(id), idArg(hostID))
	if err != nil {
		return translate(ctx, op, err)
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		err = sql.ErrNoRows
	}
	return translate(ctx, op, err)
}

// ListGuestInvitations implements guest.Store. The count and the page are
// read in one transaction, so the total matches the page. Every order has
// an index on (host, field, id).
func (s *Store) ListGuestInvitations(ctx context.Context, q guest.ListQuery) ([]guest.Invitation, int, error) {
	const op = "list guest invitations"
	if err := s.check(ctx, op); err != nil {
		return nil, 0, err
	}
	where, args := guestFilter(q)
	countSQL := `SELECT COUNT(*) FROM guest_invitations WHERE ` + where
	pageSQL := `SELECT ` + guestColumns + ` FROM guest_invitations WHERE ` + where + guestOrder(q) + ` LIMIT ? OFFSET ?`
	countStmt, err := s.stmts.cached(ctx, countSQL)
	if err != nil {
		return nil, 0, translate(ctx, op, err)
	}
	pageStmt, err := s.stmts.cached(ctx, pageSQL)
	if err != nil {
		return nil, 0, translate(ctx, op, err)
	}
	var (
		out   []guest.Invitation
		total int
	)
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := queryTx(ctx, tx, countStmt, countSQL, args...)
		if err != nil {
			return err
		}
		counts, err := collect(rows, func(r scanner) (n int, err error) { return n, r.Scan(&n) })
		if err != nil || len(counts) != 1 || counts[0] == 0 {
			return err
		}
		total = counts[0]
		rows, err = queryTx(ctx, tx, pageStmt, pageSQL, append(args, max(q.Limit, 0), max(q.Offset, 0))...)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanGuest)
		return err
	})
	if err != nil {
		return nil, 0, translate(ctx, op, err)
	}
	return out, total, nil
}

// guestFilter returns the WHERE condition of q, as guest.ListQuery.Matches
// defines it, and its arguments.
func guestFilter(q guest.ListQuery) (string, []any) {
	var b strings.Builder
	b.WriteString(`host_organization_id = ?`)
	args := []any{idArg(q.HostOrganizationID)}
	if len(q.Statuses) > 0 {
		b.WriteString(` AND status IN (?` + strings.Repeat(`, ?`, len(q.Statuses)-1) + `)`)
		for _, st := range q.Statuses {
			args = append(args, string(st))
		}
	}
	if q.EmailContains != "" {
		// instr matches literally: '%' and '_' are not wildcards.
		b.WriteString(` AND instr(email, ?) > 0`)
		args = append(args, q.EmailContains)
	}
	if q.Expired != nil {
		b.WriteString(` AND (status = 'sent' AND expired_at <= ?) = ?`)
		args = append(args, timeArg(q.Now), boolArg(*q.Expired))
	}
	if q.Archived != nil {
		b.WriteString(` AND archived = ?`)
		args = append(args, boolArg(*q.Archived))
	}
	return b.String(), args
}

// guestOrder returns the ORDER BY clause of q, as guest.ListQuery.Compare
// defines it: an unknown field sorts by created_at, any direction but
// descending is ascending, and missing values come last either way.
func guestOrder(q guest.ListQuery) string {
	col, ok := guestOrderColumns[q.OrderBy]
	if !ok {
		col = "created_at"
	}
	dir := " ASC"
	if q.Order == store.Desc {
		dir = " DESC"
	}
	return ` ORDER BY ` + col + dir + ` NULLS LAST, id` + dir
}
