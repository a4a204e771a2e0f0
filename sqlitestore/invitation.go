package sqlitestore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/invitation"
)

const invitationColumns = `id, org_id, email, role, inviter_id, status, nonce, created_at, sent_at, expire_at, accepted_at, revoked_at`

const (
	insertInvitationSQL = `INSERT INTO invitations (` + invitationColumns + `, open_claim)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	getInvitationSQL  = `SELECT ` + invitationColumns + ` FROM invitations WHERE id = ? AND org_id = ?`
	findInvitationSQL = `SELECT ` + invitationColumns + ` FROM invitations WHERE id = ?`
	// The ID, organization, email and creation time never change.
	updateInvitationSQL = `UPDATE invitations SET role = ?, inviter_id = ?, status = ?, nonce = ?, sent_at = ?,
		expire_at = ?, accepted_at = ?, revoked_at = ?, open_claim = ? WHERE id = ?`
	// releaseInvitationSQL frees the slots claimed by invitations of an
	// organization and email that are no longer open at a given time.
	releaseInvitationSQL = `UPDATE invitations SET open_claim = 0
		WHERE org_id = ? AND email = ? AND open_claim = 1 AND id <> ?
		AND NOT (status = 'pending' AND expire_at > ?)`
	deleteInvitationSQL    = `DELETE FROM invitations WHERE id = ? AND org_id = ?`
	invitationsForEmailSQL = `SELECT ` + invitationColumns + ` FROM invitations
		WHERE email = ? AND status = 'pending' AND expire_at > ?
		ORDER BY created_at DESC, id DESC LIMIT ?`
)

func scanInvitation(r scanner) (invitation.Invitation, error) {
	var (
		inv                   invitation.Invitation
		status                string
		created, sent, expire int64
		acceptedAt, revokedAt sql.NullInt64
	)
	err := r.Scan(&inv.ID, &inv.OrganizationID, &inv.Email, &inv.Role, &inv.InviterID, &status, &inv.Nonce,
		&created, &sent, &expire, &acceptedAt, &revokedAt)
	if err != nil {
		return invitation.Invitation{}, err
	}
	inv.Status = invitation.Status(status)
	inv.CreatedAt, inv.SentAt, inv.ExpireAt = toTime(created), toTime(sent), toTime(expire)
	inv.AcceptedAt, inv.RevokedAt = toNullTime(acceptedAt), toNullTime(revokedAt)
	return inv, nil
}

// roundInvitation returns inv as a read gives it back.
func roundInvitation(inv invitation.Invitation) invitation.Invitation {
	inv.CreatedAt, inv.SentAt, inv.ExpireAt = roundTime(inv.CreatedAt), roundTime(inv.SentAt), roundTime(inv.ExpireAt)
	inv.AcceptedAt, inv.RevokedAt = roundNullTime(inv.AcceptedAt), roundNullTime(inv.RevokedAt)
	return inv
}

func insertInvitationArgs(inv invitation.Invitation, open bool) []any {
	return []any{
		idArg(inv.ID), idArg(inv.OrganizationID), inv.Email, inv.Role, inv.InviterID, string(inv.Status), inv.Nonce,
		timeArg(inv.CreatedAt), timeArg(inv.SentAt), timeArg(inv.ExpireAt), nullTimeArg(inv.AcceptedAt),
		nullTimeArg(inv.RevokedAt), boolArg(open),
	}
}

func releaseInvitationArgs(inv invitation.Invitation, now time.Time) []any {
	return []any{idArg(inv.OrganizationID), inv.Email, idArg(inv.ID), timeArg(now)}
}

// CreateInvitation implements invitation.Store. The insert runs on its own,
// as one implicit transaction; only when the open-invitation index refuses
// it does a transaction look for expired holders of the slot.
func (s *Store) CreateInvitation(ctx context.Context, inv invitation.Invitation, now time.Time) error {
	const op = "create invitation"
	if err := s.check(ctx, op); err != nil {
		return err
	}
	open := inv.Open(now)
	args := insertInvitationArgs(inv, open)
	_, err := s.stmts.insertInvitation.ExecContext(ctx, args...)
	if err != nil && open && isUniqueViolation(err) {
		err = s.writeTx(ctx, func(conn *sql.Conn) error {
			return claim(open, func() error {
				_, err := conn.ExecContext(ctx, insertInvitationSQL, args...)
				return err
			}, releaseInvitations(ctx, conn, inv, now))
		})
	}
	return translate(ctx, op, err)
}

func releaseInvitations(ctx context.Context, conn *sql.Conn, inv invitation.Invitation, now time.Time) func() (int64, error) {
	return func() (int64, error) {
		res, err := conn.ExecContext(ctx, releaseInvitationSQL, releaseInvitationArgs(inv, now)...)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
}

// GetInvitation implements invitation.Store.
func (s *Store) GetInvitation(ctx context.Context, orgID, id uuid.UUID) (invitation.Invitation, error) {
	const op = "get invitation"
	if err := s.check(ctx, op); err != nil {
		return invitation.Invitation{}, err
	}
	inv, err := scanInvitation(s.stmts.getInvitation.QueryRowContext(ctx, idArg(id), idArg(orgID)))
	return inv, translate(ctx, op, err)
}

// FindInvitation implements invitation.Store.
func (s *Store) FindInvitation(ctx context.Context, id uuid.UUID) (invitation.Invitation, error) {
	const op = "find invitation"
	if err := s.check(ctx, op); err != nil {
		return invitation.Invitation{}, err
	}
	inv, err := scanInvitation(s.stmts.findInvitation.QueryRowContext(ctx, idArg(id)))
	return inv, translate(ctx, op, err)
}

// UpdateInvitation implements invitation.Store. The write transaction holds
// the database's write lock from its first statement, so no other update
// can read the invitation between this one's read and write.
func (s *Store) UpdateInvitation(ctx context.Context, orgID, id uuid.UUID, now time.Time, update func(*invitation.Invitation) error) (invitation.Invitation, error) {
	const op = "update invitation"
	if err := s.check(ctx, op); err != nil {
		return invitation.Invitation{}, err
	}
	var (
		out       invitation.Invitation
		updateErr error
	)
	err := s.writeTx(ctx, func(conn *sql.Conn) error {
		old, err := scanInvitation(conn.QueryRowContext(ctx, getInvitationSQL, idArg(id), idArg(orgID)))
		if err != nil {
			return err
		}
		next := old
		if updateErr = update(&next); updateErr != nil {
			return updateErr
		}
		next.ID, next.OrganizationID, next.Email, next.CreatedAt = old.ID, old.OrganizationID, old.Email, old.CreatedAt
		out = roundInvitation(next)
		open := out.Open(now)
		return claim(open, func() error {
			_, err := conn.ExecContext(ctx, updateInvitationSQL,
				out.Role, out.InviterID, string(out.Status), out.Nonce, timeArg(out.SentAt), timeArg(out.ExpireAt),
				nullTimeArg(out.AcceptedAt), nullTimeArg(out.RevokedAt), boolArg(open), idArg(out.ID))
			return err
		}, releaseInvitations(ctx, conn, out, now))
	})
	if updateErr != nil {
		return invitation.Invitation{}, updateErr
	}
	if err != nil {
		return invitation.Invitation{}, translate(ctx, op, err)
	}
	return out, nil
}

// DeleteInvitation implements invitation.Store.
func (s *Store) DeleteInvitation(ctx context.Context, orgID, id uuid.UUID) error {
	const op = "delete invitation"
	if err := s.check(ctx, op); err != nil {
		return err
	}
	res, err := s.stmts.deleteInvitation.ExecContext(ctx, idArg(id), idArg(orgID))
	if err != nil {
		return translate(ctx, op, err)
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		err = sql.ErrNoRows
	}
	return translate(ctx, op, err)
}

// ListInvitations implements invitation.Store. Each filter combination is a
// seek in one index (see the migrations) followed by a walk in list order
// that stops after q.Limit rows.
func (s *Store) ListInvitations(ctx context.Context, q invitation.ListQuery) ([]invitation.Invitation, error) {
	const op = "list invitations"
	if err := s.check(ctx, op); err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString(`SELECT ` + invitationColumns + ` FROM invitations WHERE org_id = ?`)
	args := []any{idArg(q.OrganizationID)}
	switch q.Status {
	case "":
	case invitation.StatusPending:
		b.WriteString(` AND status = 'pending' AND expire_at > ?`)
		args = append(args, timeArg(q.Now))
	case invitation.StatusExpired:
		b.WriteString(` AND status = 'pending' AND expire_at <= ?`)
		args = append(args, timeArg(q.Now))
	default:
		b.WriteString(` AND status = ?`)
		args = append(args, string(q.Status))
	}
	if q.Email != "" {
		b.WriteString(` AND email = ?`)
		args = append(args, q.Email)
	}
	if q.After != nil {
		b.WriteString(` AND (created_at, id) < (?, ?)`)
		args = append(args, timeArg(q.After.CreatedAt), idArg(q.After.ID))
	}
	b.WriteString(` ORDER BY created_at DESC, id DESC LIMIT ?`)
	args = append(args, max(q.Limit, 0))
	rows, err := s.stmts.query(ctx, b.String(), args...)
	if err != nil {
		return nil, translate(ctx, op, err)
	}
	out, err := collect(rows, scanInvitation)
	return out, translate(ctx, op, err)
}

// ListInvitationsForEmail implements invitation.Store.
func (s *Store) ListInvitationsForEmail(ctx context.Context, email string, now time.Time, limit int) ([]invitation.Invitation, error) {
	const op = "list invitations for email"
	if err := s.check(ctx, op); err != nil {
		return nil, err
	}
	rows, err := s.stmts.invitationsForEmail.QueryContext(ctx, email, timeArg(now), max(limit, 0))
	if err != nil {
		return nil, translate(ctx, op, err)
	}
	out, err := collect(rows, scanInvitation)
	return out, translate(ctx, op, err)
}
