package baseline_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/sqlitestore"
)

// The data set: hosts whose guest invitations are generated row by row
// from a seed, so that every run (and every store) gets the same rows and
// the expected answers can be computed in Go without reading them back.

// dataNow is the instant the data set describes: its times spread over the
// year before it, and the servers that list it run with it as their clock,
// so that expired means the same on every run, also for a data set cached
// on disk.
var dataNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// datasetVersion changes whenever the generator does, so that no cached
// file of an older generator is used.
const datasetVersion = 2

// Searches: rareEmail is in the emails of a handful of each host's rows
// (five), commonEmail in every email.
const (
	rareEmail   = "needle"
	commonEmail = "example"
)

// hostSpec is one host organization of a data set.
type hostSpec struct {
	id   uuid.UUID
	rows int
	seed uint64
}

// newHost names the host of a data set that holds rows invitations; name
// tells hosts of the same size apart.
func newHost(name string, rows int) hostSpec {
	sum := sha256.Sum256(fmt.Appendf(nil, "invitekit-baseline-%s-%d", name, rows))
	id, _ := uuid.FromBytes(sum[:16])
	id[6] = id[6]&0x0f | 0x40 // a version 4 UUID
	id[8] = id[8]&0x3f | 0x80
	return hostSpec{id: id, rows: rows, seed: binary.BigEndian.Uint64(sum[16:24])}
}

// dataset is the hosts of one database: one per listed size, which the
// benchmarks list, and a neighbour, only there so that no host is alone in
// the table.
type dataset struct {
	listed    []hostSpec
	neighbour hostSpec
}

func newDataset(sizes []int, neighbourRows int) dataset {
	d := dataset{neighbour: newHost("neighbour", neighbourRows)}
	for _, n := range sizes {
		d.listed = append(d.listed, newHost("host", n))
	}
	return d
}

// hosts returns every host, the largest first: the order they are loaded
// in.
func (d dataset) hosts() []hostSpec {
	hs := append(slices.Clone(d.listed), d.neighbour)
	slices.SortStableFunc(hs, func(a, b hostSpec) int { return b.rows - a.rows })
	return hs
}

func (d dataset) rows() int {
	n := 0
	for _, h := range d.hosts() {
		n += h.rows
	}
	return n
}

// emailStride spreads the emails of a host over 10^7 numbers in an order
// unrelated to creation (it is prime to 10^7, so i*stride mod 10^7 never
// repeats for i below 10^7), so that the email order is not the creation
// order.
const emailStride = 7_919_113

// generate calls f with each invitation of h, in creation order. Mix:
// about 80% sent (a third of them expired at dataNow, the expiry of each
// recorded unless it passed within the minute before dataNow, as the
// example server's sweep, once a minute, leaves them), 10% accepted by the guest,
// 10% by the host (accepted_at set), 5% archived (archived_at set), 10%
// resent, 30% with a parent organization, 10% with metadata; five rows in
// any host have rareEmail in their email. Times are spread over the year
// before dataNow.
func (h hostSpec) generate(f func(inv guest.Invitation) error) error {
	r := rand.New(rand.NewPCG(h.seed, datasetVersion))
	const (
		year   = 365 * 24 * time.Hour
		day    = 24 * time.Hour
		expiry = 14 * day
	)
	step := year / time.Duration(h.rows)
	rare := max(h.rows/5, 1)
	offset := int(h.seed % 10_000_000)
	parents := [3]uuid.UUID{}
	for i := range parents {
		parents[i] = newHost(fmt.Sprintf("parent-%d", i), 0).id
	}
	between := func(a, b time.Time, lo, hi float64) time.Time {
		return a.Add(time.Duration(float64(b.Sub(a)) * (lo + (hi-lo)*r.Float64()))).Truncate(time.Microsecond)
	}
	for i := range h.rows {
		created := dataNow.Add(-year + time.Duration(i)*step + time.Duration(r.Int64N(int64(max(step, 1))))).Truncate(time.Microsecond)
		inv := guest.Invitation{
			ID:                    uuidV7(created, r),
			HostOrganizationID:    h.id,
			CreatedAt:             created,
			FirstInvitationSentAt: created,
			LastInvitationSentAt:  created,
			Status:                guest.StatusSent,
			Nonce:                 make([]byte, 16),
		}
		n := (i*emailStride + offset) % 10_000_000
		if i%rare == rare/2 {
			inv.Email = fmt.Sprintf("guest%07d.%s@example%02d.com", n, rareEmail, r.IntN(100))
		} else {
			inv.Email = fmt.Sprintf("guest%07d@example%02d.com", n, r.IntN(100))
		}
		binary.LittleEndian.PutUint64(inv.Nonce, r.Uint64())
		binary.LittleEndian.PutUint64(inv.Nonce[8:], r.Uint64())
		resent := r.Float64() < 0.10
		switch u := r.Float64(); {
		case u < 0.20:
			inv.Status = guest.StatusAcceptedByGuest
			if u >= 0.10 {
				inv.Status = guest.StatusAcceptedBySystem
			}
			if resent {
				inv.LastInvitationSentAt = between(created, dataNow, 0, 0.3)
			}
			inv.ExpiredAt = inv.LastInvitationSentAt.Add(expiry)
			accepted := earlier(inv.LastInvitationSentAt.Add(time.Duration(r.Int64N(int64(7*day)))),
				between(inv.LastInvitationSentAt, dataNow, 0.1, 0.9)).Truncate(time.Microsecond)
			inv.AcceptedAt = &accepted
		case r.Float64() < 1.0/3:
			// Expired before dataNow.
			if resent {
				inv.LastInvitationSentAt = between(created, dataNow, 0, 0.5)
			}
			inv.ExpiredAt = inv.LastInvitationSentAt.Add(expiry)
			if !inv.ExpiredAt.Before(dataNow) {
				inv.ExpiredAt = between(inv.LastInvitationSentAt, dataNow, 0.05, 0.95)
			}
			// The example server sweeps every minute: the sweep has
			// recorded every expiry but those of the last minute.
			inv.ExpiryRecorded = inv.ExpiredAt.Before(dataNow.Add(-time.Minute))
		default:
			// Open at dataNow: sent (again, if created long ago) within
			// the last 30 days.
			inv.ExpiredAt = dataNow.Add(time.Hour + time.Duration(r.Int64N(int64(29*day)))).Truncate(time.Microsecond)
			if sent := inv.ExpiredAt.Add(-30 * day); sent.After(created) {
				inv.LastInvitationSentAt = sent
			}
		}
		inv.UpdatedAt = inv.LastInvitationSentAt
		if inv.AcceptedAt != nil {
			inv.UpdatedAt = *inv.AcceptedAt
		}
		if r.Float64() < 0.05 {
			archived := between(inv.UpdatedAt, dataNow, 0.1, 0.9)
			inv.Archived, inv.ArchivedAt, inv.UpdatedAt = true, &archived, archived
		}
		if r.Float64() < 0.30 {
			k := r.IntN(len(parents))
			name := fmt.Sprintf("Parent organization %d", k)
			inv.ParentOrganizationID, inv.ParentOrganizationName = &parents[k], &name
		}
		if r.Float64() < 0.10 {
			inv.Metadata = fmt.Appendf(nil, `{"source":"import","batch":%d}`, r.IntN(50))
		}
		if err := f(inv); err != nil {
			return err
		}
	}
	return nil
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// openClaim is the open_claim column of inv as the store would have left
// it: a sent invitation holds the claim on its host and email from its
// create until it is archived or the sweep records its expiry.
func openClaim(inv guest.Invitation) bool {
	return inv.Status == guest.StatusSent && !inv.Archived && !inv.ExpiryRecorded
}

// uuidV7 returns a version 7 UUID of t's millisecond, its random bits
// from r.
func uuidV7(t time.Time, r *rand.Rand) uuid.UUID {
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[8:], r.Uint64())
	binary.BigEndian.PutUint64(u[0:], uint64(t.UnixMilli())<<16|uint64(r.Uint32()&0xffff))
	u[6] = u[6]&0x0f | 0x70
	u[8] = u[8]&0x3f | 0x80
	return u
}

// guestColumns are every column of guest_invitations the migrations up to
// 0006 define (0001, renamed in 0002, and 0005's metadata and
// expiry_recorded), in the order of guestValues. Columns added later with
// defaults or maintained by triggers are left to the database.
var guestColumns = []string{"id", "host_organization_id", "email", "first_invitation_sent_at",
	"last_invitation_sent_at", "expired_at", "status", "archived", "created_at", "updated_at", "accepted_at",
	"archived_at", "parent_organization_id", "parent_organization_name", "nonce", "metadata",
	"expiry_recorded", "open_claim"}

// loadSQLite inserts every invitation of d into the guest_invitations
// table of the SQLite file at path, which sqlitestore has migrated, in one
// transaction of multi-row INSERTs: the table's triggers, if any, fire as
// for the store's own inserts.
func loadSQLite(ctx context.Context, path string, d dataset) error {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(OFF)")
	q.Add("_pragma", "cache_size(-262144)") // 256 MiB: the indexes of a million rows
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	const batch = 200
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(guestColumns)), ", ") + ")"
	insert := "INSERT INTO guest_invitations (" + strings.Join(guestColumns, ", ") + ") VALUES "
	full, err := tx.PrepareContext(ctx, insert+strings.TrimSuffix(strings.Repeat(row+", ", batch), ", "))
	if err != nil {
		return err
	}
	defer full.Close()
	args := make([]any, 0, batch*len(guestColumns))
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		var err error
		if len(args) == cap(args) {
			_, err = full.ExecContext(ctx, args...)
		} else {
			n := len(args) / len(guestColumns)
			_, err = tx.ExecContext(ctx, insert+strings.TrimSuffix(strings.Repeat(row+", ", n), ", "), args...)
		}
		args = args[:0]
		return err
	}
	for _, h := range d.hosts() {
		err := h.generate(func(inv guest.Invitation) error {
			args = append(args, sqliteValues(inv)...)
			if len(args) == cap(args) {
				return flush()
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

// sqliteValues are the values of guestColumns as sqlitestore stores them:
// IDs as 16-byte BLOBs, times as INTEGER Unix microseconds, booleans as 0
// and 1.
func sqliteValues(inv guest.Invitation) []any {
	bit := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	micro := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return t.UnixMicro()
	}
	var parent, parentName, metadata any
	if inv.ParentOrganizationID != nil {
		parent = inv.ParentOrganizationID[:]
	}
	if inv.ParentOrganizationName != nil {
		parentName = *inv.ParentOrganizationName
	}
	if inv.Metadata != nil {
		metadata = string(inv.Metadata)
	}
	return []any{inv.ID[:], inv.HostOrganizationID[:], inv.Email, inv.FirstInvitationSentAt.UnixMicro(),
		inv.LastInvitationSentAt.UnixMicro(), inv.ExpiredAt.UnixMicro(), string(inv.Status), bit(inv.Archived),
		inv.CreatedAt.UnixMicro(), inv.UpdatedAt.UnixMicro(), micro(inv.AcceptedAt), micro(inv.ArchivedAt),
		parent, parentName, inv.Nonce, metadata, bit(inv.ExpiryRecorded), bit(openClaim(inv))}
}

// loadPostgres copies every invitation of d into the guest_invitations
// table of schema, which postgresstore has migrated, with COPY (which
// fires the table's triggers, as inserts do), then has the table vacuumed
// and analyzed, as autovacuum would after a load. It copies copyChunk
// rows a COPY, each its own transaction, so that a failed load says where.
func loadPostgres(ctx context.Context, pool *pgxpool.Pool, schema string, d dataset) error {
	table := pgx.Identifier{schema, "guest_invitations"}
	batch := make([][]any, 0, copyChunk)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := pool.CopyFrom(ctx, table, guestColumns, pgx.CopyFromRows(batch))
		batch = batch[:0]
		return err
	}
	for _, h := range d.hosts() {
		err := h.generate(func(inv guest.Invitation) error {
			batch = append(batch, postgresValues(inv))
			if len(batch) == copyChunk {
				return flush()
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := flush(); err != nil {
		return err
	}
	_, err := pool.Exec(ctx, "VACUUM ANALYZE "+table.Sanitize())
	return err
}

// copyChunk is how many rows each COPY of loadPostgres copies.
const copyChunk = 10_000

func postgresValues(inv guest.Invitation) []any {
	var parent, metadata any
	if inv.ParentOrganizationID != nil {
		parent = *inv.ParentOrganizationID
	}
	if inv.Metadata != nil {
		metadata = string(inv.Metadata)
	}
	return []any{inv.ID, inv.HostOrganizationID, inv.Email, inv.FirstInvitationSentAt, inv.LastInvitationSentAt,
		inv.ExpiredAt, string(inv.Status), inv.Archived, inv.CreatedAt, inv.UpdatedAt, inv.AcceptedAt, inv.ArchivedAt,
		parent, inv.ParentOrganizationName, inv.Nonce, metadata, inv.ExpiryRecorded, openClaim(inv)}
}

// buildSQLite makes a SQLite file at path holding d: sqlitestore creates
// and migrates it, then loadSQLite fills it.
func buildSQLite(ctx context.Context, path string, d dataset) error {
	s, err := sqlitestore.Open(ctx, path)
	if err != nil {
		return err
	}
	if err := s.Close(); err != nil {
		return err
	}
	return loadSQLite(ctx, path, d)
}

// cachedSQLite returns a SQLite file holding d, made by buildSQLite and
// kept in os.TempDir() between runs: its name says which migrations
// (their count and a hash of their text) and which generator made it, so
// a change to either builds a new one. A file is built under a temporary
// name and renamed when complete, so a run that is stopped leaves no file
// half built under the final name. built says whether this call built it.
func cachedSQLite(ctx context.Context, d dataset) (path string, built bool, err error) {
	ms, err := fs.Glob(sqlitestore.Migrations(), "*.sql")
	if err != nil {
		return "", false, err
	}
	h := sha256.New()
	for _, m := range ms {
		b, err := fs.ReadFile(sqlitestore.Migrations(), m)
		if err != nil {
			return "", false, err
		}
		fmt.Fprintf(h, "%s %d\n", m, len(b))
		h.Write(b)
	}
	fmt.Fprintf(h, "dataset %d", datasetVersion)
	for _, host := range d.hosts() {
		fmt.Fprintf(h, " %s:%d", host.id, host.rows)
	}
	path = filepath.Join(os.TempDir(), fmt.Sprintf("invitekit-guestlist-%drows-m%d-%s.db",
		d.rows(), len(ms), hex.EncodeToString(h.Sum(nil)[:6])))
	if _, err := os.Stat(path); err == nil {
		return path, false, nil
	}
	tmp := fmt.Sprintf("%s.building-%d", path, os.Getpid())
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(tmp + suffix)
		}
	}()
	if err := buildSQLite(ctx, tmp, d); err != nil {
		return "", false, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", false, err
	}
	// A file of as many rows under another name was made by other
	// migrations or another generator: it will not be used again, and
	// a million rows take a gigabyte.
	stale, _ := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("invitekit-guestlist-%drows-*.db", d.rows())))
	for _, f := range stale {
		if f != path {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(f + suffix)
			}
		}
	}
	return path, true, nil
}
