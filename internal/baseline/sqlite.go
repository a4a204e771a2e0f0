package baseline

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite" // the driver "sqlite"
)

// OpenSQLite returns a Server on the SQLite file at path, which
// sqlitestore has migrated. It opens the connections the way sqlitestore
// does, since that is how SQLite is used well from Go: write-ahead
// logging, a busy timeout, synchronous=NORMAL, one write connection (so
// that writers queue in Go rather than spin on SQLITE_BUSY) and a pool of
// read-only connections. A create is one autocommitted INSERT. Close the
// Server when done.
func OpenSQLite(path string) (*Server, error) {
	dsn := func(readOnly bool) string {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(5000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(NORMAL)")
		if readOnly {
			q.Add("_pragma", "query_only(1)")
		}
		// Escaped as sqlitestore escapes it: an SQLite URI reads '?' and
		// '#' as syntax.
		return "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path) + "?" + q.Encode()
	}
	write, err := sql.Open("sqlite", dsn(false))
	if err != nil {
		return nil, wrap("open", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	read, err := sql.Open("sqlite", dsn(true))
	if err != nil {
		write.Close()
		return nil, wrap("open", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	db := &sqliteDB{write: write, read: read}
	if err := db.prepare(); err != nil {
		db.close()
		return nil, err
	}
	return newServer(db), nil
}

// sqliteDB is the table in SQLite, where IDs are 16-byte BLOBs and times
// INTEGER Unix microseconds, as sqlitestore keeps them.
type sqliteDB struct {
	write, read      *sql.DB
	insertStmt       *sql.Stmt
	getStmt, getList *sql.Stmt
}

func (d *sqliteDB) prepare() error {
	ctx := context.Background()
	var err error
	if d.insertStmt, err = d.write.PrepareContext(ctx, `INSERT INTO guest_invitations (`+insertColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, 1)`); err != nil {
		return wrap("prepare", err)
	}
	if d.getStmt, err = d.read.PrepareContext(ctx, `SELECT `+columns+` FROM guest_invitations
		WHERE host_organization_id = ? AND id = ?`); err != nil {
		return wrap("prepare", err)
	}
	if d.getList, err = d.read.PrepareContext(ctx, `SELECT `+columns+`,
			(SELECT count(*) FROM guest_invitations WHERE host_organization_id = ?1)
		FROM guest_invitations WHERE host_organization_id = ?1
		ORDER BY created_at DESC, id DESC LIMIT ?2`); err != nil {
		return wrap("prepare", err)
	}
	return nil
}

func (d *sqliteDB) insert(ctx context.Context, inv *Invitation) error {
	_, err := d.insertStmt.ExecContext(ctx, inv.ID[:], inv.HostOrganizationID[:], inv.Email,
		inv.FirstInvitationSentAt.UnixMicro(), inv.LastInvitationSentAt.UnixMicro(), inv.ExpiredAt.UnixMicro(),
		inv.Status, inv.CreatedAt.UnixMicro(), inv.UpdatedAt.UnixMicro(), inv.nonce)
	return wrap("insert", err)
}

func (d *sqliteDB) get(ctx context.Context, host, id uuid.UUID) (Invitation, error) {
	rows, err := d.getStmt.QueryContext(ctx, host[:], id[:])
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
	inv, err := scanSQLite(rows)
	return inv, wrap("get", err)
}

func (d *sqliteDB) list(ctx context.Context, host uuid.UUID, limit int) ([]Invitation, int, error) {
	rows, err := d.getList.QueryContext(ctx, host[:], limit)
	if err != nil {
		return nil, 0, wrap("list", err)
	}
	defer rows.Close()
	items := make([]Invitation, 0, limit)
	var total int
	for rows.Next() {
		inv, err := scanSQLite(rows, &total)
		if err != nil {
			return nil, 0, wrap("list", err)
		}
		items = append(items, inv)
	}
	return items, total, wrap("list", rows.Err())
}

func scanSQLite(rows *sql.Rows, extra ...any) (Invitation, error) {
	var (
		inv                                    Invitation
		first, last, expired, created, updated int64
		accepted, archivedAt                   sql.NullInt64
		parent                                 []byte
		parentName, metadata                   sql.NullString
	)
	dest := append([]any{&inv.ID, &inv.HostOrganizationID, &inv.Email, &first, &last, &expired, &inv.Status,
		&inv.Archived, &created, &updated, &accepted, &archivedAt, &parent, &parentName, &metadata}, extra...)
	if err := rows.Scan(dest...); err != nil {
		return inv, err
	}
	inv.FirstInvitationSentAt = micro(first)
	inv.LastInvitationSentAt = micro(last)
	inv.ExpiredAt = micro(expired)
	inv.CreatedAt = micro(created)
	inv.UpdatedAt = micro(updated)
	inv.AcceptedAt = nullMicro(accepted)
	inv.ArchivedAt = nullMicro(archivedAt)
	if parent != nil {
		id, err := uuid.FromBytes(parent)
		if err != nil {
			return inv, fmt.Errorf("parent_organization_id: %w", err)
		}
		inv.ParentOrganizationID = &id
	}
	if parentName.Valid {
		inv.ParentOrganizationName = &parentName.String
	}
	if metadata.Valid {
		inv.Metadata = json.RawMessage(metadata.String)
	}
	return inv, nil
}

func micro(n int64) time.Time { return time.UnixMicro(n).UTC() }

func nullMicro(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := micro(n.Int64)
	return &t
}

func (d *sqliteDB) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{d.insertStmt, d.getStmt, d.getList} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	errs = append(errs, d.read.Close(), d.write.Close())
	return errors.Join(errs...)
}
