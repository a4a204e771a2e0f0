package baseline

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// NewPostgres returns a Server on the guest_invitations table in schema,
// which postgresstore has migrated, through pool, which stays the
// caller's. Each request runs one statement on the pool, prepared and
// cached by pgx as it does by default; a create is one autocommitted
// INSERT.
func NewPostgres(pool *pgxpool.Pool, schema string) *Server {
	table := pgx.Identifier{schema, "guest_invitations"}.Sanitize()
	return newServer(&postgresDB{
		pool: pool,
		insertSQL: `INSERT INTO ` + table + ` (` + insertColumns + `)
			VALUES ($1, $2, $3, $4, $5, $6, $7, false, $8, $9, $10, true)`,
		getSQL: `SELECT ` + columns + ` FROM ` + table + ` WHERE host_organization_id = $1 AND id = $2`,
		listSQL: `SELECT ` + columns + `, (SELECT count(*) FROM ` + table + ` WHERE host_organization_id = $1)
			FROM ` + table + ` WHERE host_organization_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
	})
}

// postgresDB is the table in PostgreSQL: uuid and timestamptz columns.
type postgresDB struct {
	pool                       *pgxpool.Pool
	insertSQL, getSQL, listSQL string
}

// pgID is id as pgx encodes it without a detour through a string (what
// uuid.UUID's driver.Valuer would make of it).
func pgID(id uuid.UUID) pgtype.UUID { return pgtype.UUID{Bytes: id, Valid: true} }

func (d *postgresDB) insert(ctx context.Context, inv *Invitation) error {
	_, err := d.pool.Exec(ctx, d.insertSQL, pgID(inv.ID), pgID(inv.HostOrganizationID), inv.Email,
		inv.FirstInvitationSentAt, inv.LastInvitationSentAt, inv.ExpiredAt, inv.Status, inv.CreatedAt,
		inv.UpdatedAt, inv.nonce)
	return wrap("insert", err)
}

func (d *postgresDB) get(ctx context.Context, host, id uuid.UUID) (Invitation, error) {
	rows, err := d.pool.Query(ctx, d.getSQL, pgID(host), pgID(id))
	if err != nil {
		return Invitation{}, wrap("get", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Invitation{}, wrap("get", err)
		}
		return Invitation{}, errNotFound
	}
	inv, err := scanPostgres(rows)
	return inv, wrap("get", err)
}

func (d *postgresDB) list(ctx context.Context, host uuid.UUID, limit int) ([]Invitation, int, error) {
	rows, err := d.pool.Query(ctx, d.listSQL, pgID(host), limit)
	if err != nil {
		return nil, 0, wrap("list", err)
	}
	defer rows.Close()
	items := make([]Invitation, 0, limit)
	var total int
	for rows.Next() {
		inv, err := scanPostgres(rows, &total)
		if err != nil {
			return nil, 0, wrap("list", err)
		}
		items = append(items, inv)
	}
	return items, total, wrap("list", rows.Err())
}

func scanPostgres(rows pgx.Rows, extra ...any) (Invitation, error) {
	var (
		inv      Invitation
		id, host pgtype.UUID
		parent   pgtype.UUID
		metadata *string
	)
	dest := append([]any{&id, &host, &inv.Email, &inv.FirstInvitationSentAt, &inv.LastInvitationSentAt,
		&inv.ExpiredAt, &inv.Status, &inv.Archived, &inv.CreatedAt, &inv.UpdatedAt, &inv.AcceptedAt,
		&inv.ArchivedAt, &parent, &inv.ParentOrganizationName, &metadata}, extra...)
	if err := rows.Scan(dest...); err != nil {
		return inv, err
	}
	inv.ID, inv.HostOrganizationID = id.Bytes, host.Bytes
	if parent.Valid {
		p := uuid.UUID(parent.Bytes)
		inv.ParentOrganizationID = &p
	}
	if metadata != nil {
		inv.Metadata = json.RawMessage(*metadata)
	}
	// pgx returns times in the local zone; the JSON shows UTC.
	inv.FirstInvitationSentAt = inv.FirstInvitationSentAt.UTC()
	inv.LastInvitationSentAt = inv.LastInvitationSentAt.UTC()
	inv.ExpiredAt = inv.ExpiredAt.UTC()
	inv.CreatedAt = inv.CreatedAt.UTC()
	inv.UpdatedAt = inv.UpdatedAt.UTC()
	for _, p := range []*time.Time{inv.AcceptedAt, inv.ArchivedAt} {
		if p != nil {
			*p = p.UTC()
		}
	}
	return inv, nil
}

func (d *postgresDB) close() error { return nil }
