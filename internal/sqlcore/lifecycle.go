package sqlcore

// The life of records beyond one change: creates under limits (one
// transaction for a batch), sweeps that record expiries, and purges.

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/store"
)

// lifecycle generates the table's statements of limits, sweeps and
// purges.
func (t *table[T]) lifecycle(d *Dialect) {
	rec := t.rec
	// A create that finds its email held changes nothing, rather than
	// failing the transaction (PostgreSQL aborts one on any error), so a
	// batch goes on with its next record.
	t.insertSkip = t.insert + " ON CONFLICT DO NOTHING"
	// What limits bound, in one statement: the open records of tenant $1
	// at $2, at most $3 of them, and its creates (events of type $4) after
	// $5, at most the $6 newest; a limit of 0 reads nothing. Counting
	// costs no more than the limits, however many invitations the tenant
	// has. A row holds its claim while it was open when last written
	// (pending, or sent and unarchived): of those, the ones whose expiry
	// is still ahead are the open ones, a range of the index of claims by
	// expiry (see the migrations), read in its order, so the soonest
	// expiry is the first. The creates are a range of the events' index
	// by tenant and type.
	t.countUsage = "SELECT o.n, o.soonest, c.n, c.oldest FROM " +
		"(SELECT count(*) AS n, min(" + rec.expiryColumn + ") AS soonest FROM (SELECT " + rec.expiryColumn + " FROM " + t.name +
		" WHERE " + rec.tenant + " = $1 AND open_claim AND " + rec.expiryColumn + " > $2 ORDER BY " + rec.expiryColumn +
		" LIMIT $3) x) o, " +
		"(SELECT count(*) AS n, min(occurred_at) AS oldest FROM (SELECT occurred_at FROM " + t.c.events.name +
		" WHERE organization_id = $1 AND type = $4 AND occurred_at > $5 ORDER BY occurred_at DESC LIMIT $6) y) c"
	// The expiries of up to $2 records, soonest first, each locked by
	// the sweep that records it: concurrent sweeps pass over each
	// other's (Dialect.SkipLocked).
	t.expire = "UPDATE " + t.name + " SET expiry_recorded = TRUE, open_claim = FALSE WHERE id IN (SELECT id FROM " + t.name +
		" WHERE " + rec.expirableSQL("$1") + " ORDER BY " + rec.expiryColumn + ", id LIMIT $2" + d.SkipLocked + ") RETURNING " + t.cols
	t.purge = "DELETE FROM " + t.name + " WHERE id IN (SELECT id FROM " + t.name +
		" WHERE " + rec.endedSQL("$1") + " LIMIT $2" + d.SkipLocked + ")"
}

// lockTenant takes the write lock of tenant's limits for the rest of the
// transaction (Dialect.LockTenant): writes under limits of one tenant then
// count and write one at a time. The key is a hash of the table and the
// tenant, so tenants rarely share a lock, and never with another table's.
func (t *table[T]) lockTenant(ctx context.Context, q Querier, tenant uuid.UUID) error {
	if t.d.LockTenant == "" {
		return nil // write transactions already run one at a time
	}
	h := fnv.New64a()
	h.Write([]byte(t.name))
	h.Write(tenant[:])
	_, err := q.Exec(ctx, t.d.LockTenant, int64(binary.BigEndian.Uint64(h.Sum(nil))))
	return err
}

// usage counts, in the transaction of q that holds the tenant's lock, what
// limits bound of tenant at now.
func (t *table[T]) usage(ctx context.Context, q Querier, tenant uuid.UUID, now time.Time, limits store.Limits) (store.Usage, error) {
	var u store.Usage
	err := scanOne(ctx, q, t.countUsage, []any{t.d.ID(tenant), t.d.Time(now), max(limits.MaxOpen, 0),
		string(t.rec.created), t.d.Time(now.Add(-time.Hour)), max(limits.CreatesPerHour, 0)},
		&u.Open, t.nullTime(&u.SoonestExpiry), &u.Creates, t.nullTime(&u.OldestCreate))
	return u, err
}

// nullTime is the scan target of a time that may be NULL, which leaves *p
// as it is.
func (t *table[T]) nullTime(p *time.Time) sql.Scanner { return nullTimeDest{t.d, p} }

type nullTimeDest struct {
	d *Dialect
	p *time.Time
}

func (n nullTimeDest) Scan(src any) error {
	if src == nil {
		return nil
	}
	return n.d.TimeDest(n.p).Scan(src)
}

// createRecords inserts rs, all of one tenant, with their events evs, in
// one transaction under limits, and returns an error per record (see
// invitation.Store.CreateInvitations). Each record is one INSERT that
// skips a record whose email is held: when one is skipped, stale claims of
// its email are released (see createRecord) and it is tried once more.
func (t *table[T]) createRecords(ctx context.Context, rs []T, now time.Time, evs []event.Event, limits store.Limits) ([]error, error) {
	if len(rs) != len(evs) {
		return nil, fmt.Errorf("%s: create %s: %d records with %d events", t.c.name, t.kind, len(rs), len(evs))
	}
	if len(rs) == 0 {
		return nil, nil
	}
	tenant, _, _ := t.rec.key(&rs[0])
	for i := range rs {
		if other, _, _ := t.rec.key(&rs[i]); other != tenant {
			return nil, fmt.Errorf("%s: create %s: a batch holds records of two tenants, %s and %s", t.c.name, t.kind, tenant, other)
		}
	}
	var errs []error
	_, err := do(ctx, t, "create", func() (int, error) {
		return 0, t.c.writeEventList(ctx, func(ctx context.Context, q Querier) ([]event.Event, error) {
			errs = make([]error, len(rs)) // afresh on each attempt
			quota, err := t.quota(ctx, q, tenant, now, limits)
			if err != nil {
				return nil, err
			}
			var written []event.Event
			for i := range rs {
				openUntil := t.openUntil(&rs[i], now)
				if errs[i] = quota.Create(openUntil); errs[i] != nil {
					continue
				}
				ok, err := t.insertIfFree(ctx, q, &rs[i], now)
				if err != nil {
					return nil, err
				}
				if !ok {
					quota.Undo()
					errs[i] = store.ErrAlreadyExists
					continue
				}
				written = append(written, evs[i])
			}
			return written, nil
		})
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}

// quota takes tenant's lock, when limits bind, and returns the quota of
// the transaction of q.
func (t *table[T]) quota(ctx context.Context, q Querier, tenant uuid.UUID, now time.Time, limits store.Limits) (*store.Quota, error) {
	if limits.None() {
		return store.NewQuota(limits, now, store.Usage{}), nil
	}
	if err := t.lockTenant(ctx, q, tenant); err != nil {
		return nil, err
	}
	u, err := t.usage(ctx, q, tenant, now, limits)
	if err != nil {
		return nil, err
	}
	return store.NewQuota(limits, now, u), nil
}

// openUntil returns r's expiry when r is open at now, else the zero time:
// what a Quota counts.
func (t *table[T]) openUntil(r *T, now time.Time) time.Time {
	if !t.rec.open(r, now) {
		return time.Time{}
	}
	return t.rec.expiry(r)
}

// insertIfFree inserts r in the transaction of q unless its ID is taken or
// its email is held by a record open at now, and reports whether it did.
func (t *table[T]) insertIfFree(ctx context.Context, q Querier, r *T, now time.Time) (bool, error) {
	open := t.rec.open(r, now)
	a := t.args(make([]any, 0, len(t.rec.columns)+1), r, true, open)
	n, err := q.Exec(ctx, t.insertSkip, a...)
	if err != nil || n > 0 || !open {
		return n > 0, err
	}
	// The claim may be stale: release it and try again.
	if _, err := q.Exec(ctx, t.release, t.releaseArgs(r, now)...); err != nil {
		return false, err
	}
	n, err = q.Exec(ctx, t.insertSkip, a...)
	return n > 0, err
}

// reopenQuota returns, when the update of cur to next opens at now a
// record that was not open, the error of limits' MaxOpen, counted in the
// transaction of q, which holds the tenant's lock since its start (see
// updateRecord).
func (t *table[T]) reopenQuota(ctx context.Context, q Querier, tenant uuid.UUID, cur, next *T, now time.Time, limits store.Limits) error {
	if limits.MaxOpen <= 0 || t.rec.open(cur, now) || !t.rec.open(next, now) {
		return nil
	}
	limits = store.Limits{MaxOpen: limits.MaxOpen}
	u, err := t.usage(ctx, q, tenant, now, limits)
	if err != nil {
		return err
	}
	if err := store.NewQuota(limits, now, u).Open(t.rec.expiry(next)); err != nil {
		return &callerError{err}
	}
	return nil
}

// expireRecords records the expiries of up to limit records at now, in one
// transaction (see invitation.Store.ExpireInvitations).
func (t *table[T]) expireRecords(ctx context.Context, now time.Time, limit int, expired func(T) (event.Event, error)) (int, error) {
	if limit < 1 {
		return 0, nil
	}
	return do(ctx, t, "expire", func() (n int, err error) {
		err = t.c.writeEventList(ctx, func(ctx context.Context, q Querier) ([]event.Event, error) {
			rs, err := t.all(ctx, q, limit, t.expire, []any{t.d.Time(now), limit})
			if err != nil {
				return nil, err
			}
			// RETURNING has no order: the events follow the expiries.
			slices.SortFunc(rs, func(a, b T) int {
				if c := t.rec.expiry(&a).Compare(t.rec.expiry(&b)); c != 0 {
					return c
				}
				_, x, _ := t.rec.key(&a)
				_, y, _ := t.rec.key(&b)
				return store.CompareIDs(x, y)
			})
			evs := make([]event.Event, len(rs))
			for i := range rs {
				if evs[i], err = expired(rs[i]); err != nil {
					return nil, &callerError{err}
				}
			}
			n = len(rs)
			return evs, nil
		})
		return n, err
	})
}

// purgeRecords deletes up to limit records that ended before before.
func (t *table[T]) purgeRecords(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit < 1 {
		return 0, nil
	}
	return do(ctx, t, "purge", func() (int, error) {
		n, err := t.c.drv.Writer().Exec(ctx, t.purge, t.d.Time(before), limit)
		return int(n), err
	})
}
