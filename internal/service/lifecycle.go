package service

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/store"
)

// Limiter says which store.Limits bind an organization: a domain Config's
// Limits and LimitsFor.
type Limiter struct {
	// Default applies to every organization when For is nil; nil is the
	// generous default (store.DefaultMaxOpen, store.DefaultCreatesPerHour).
	Default *store.Limits
	// For, when set, decides for each organization.
	For func(ctx context.Context, orgID uuid.UUID) (store.Limits, error)
}

// Limits returns the limits of orgID.
func (l Limiter) Limits(ctx context.Context, orgID uuid.UUID) (store.Limits, error) {
	switch {
	case l.For != nil:
		limits, err := l.For(ctx, orgID)
		if err != nil {
			return store.Limits{}, fmt.Errorf("limits of organization %s: %w", orgID, err)
		}
		return limits, nil
	case l.Default != nil:
		return *l.Default, nil
	}
	return store.Limits{MaxOpen: store.DefaultMaxOpen, CreatesPerHour: store.DefaultCreatesPerHour}, nil
}

// Check returns what is wrong with the limits a Config sets, naming the
// field of the domain's Config.
func (l Limiter) Check(name string) error {
	if d := l.Default; d != nil && (d.MaxOpen < 0 || d.CreatesPerHour < 0) {
		return fmt.Errorf("%s: Config.Limits %+v: a limit must not be negative (0 sets none)", name, *d)
	}
	return nil
}

// CreateOne stores one record under limits: through create, a store's
// single create, when limits bind nothing, and through createMany, its
// batch under limits, otherwise.
func CreateOne(limits store.Limits, create func() error, createMany func(store.Limits) ([]error, error)) error {
	if limits.None() {
		return create()
	}
	errs, err := createMany(limits)
	if err != nil {
		return err
	}
	return errs[0]
}

// Bounds of a sweep's batches.
const (
	DefaultSweepBatch = 500
	MaxSweepBatch     = 1000
)

// Sweeper is a domain's sweep: its Config's Retention and SweepBatch and
// its store's two sweep methods.
type Sweeper struct {
	// Name is the domain's package name, the prefix of errors.
	Name string
	// Retention is how long ended records are kept; 0 keeps them.
	Retention time.Duration
	// Batch is the most records one transaction of the sweep touches.
	Batch int
	// Expire records up to limit expiries at now; Purge deletes up to
	// limit records that ended before before.
	Expire func(ctx context.Context, now time.Time, limit int) (int, error)
	Purge  func(ctx context.Context, before time.Time, limit int) (int, error)
}

// CheckSweep returns what is wrong with a Config's Retention and
// SweepBatch, and the batch to use.
func CheckSweep(name string, retention time.Duration, batch int) (int, error) {
	if retention < 0 {
		return 0, fmt.Errorf("%s: Config.Retention %v is negative", name, retention)
	}
	switch {
	case batch == 0:
		return DefaultSweepBatch, nil
	case batch < 0 || batch > MaxSweepBatch:
		return 0, fmt.Errorf("%s: Config.SweepBatch %d is outside 1 to %d", name, batch, MaxSweepBatch)
	}
	return batch, nil
}

// Sweep runs one bounded sweep at now: one transaction that records up to
// Batch expiries, and, with a Retention, one that deletes up to Batch
// records that ended more than Retention before now. Each holds its rows
// only for itself, so a sweep never holds one transaction for a whole
// backlog; More says whether a batch was full.
func (s Sweeper) Sweep(ctx context.Context, now time.Time) (store.SweepResult, error) {
	var res store.SweepResult
	var err error
	if res.Expired, err = s.Expire(ctx, now, s.Batch); err != nil {
		return res, fmt.Errorf("%s: sweep: %w", s.Name, err)
	}
	res.More = res.Expired == s.Batch
	if s.Retention <= 0 {
		return res, nil
	}
	if res.Purged, err = s.Purge(ctx, now.Add(-s.Retention), s.Batch); err != nil {
		return res, fmt.Errorf("%s: sweep: purge: %w", s.Name, err)
	}
	res.More = res.More || res.Purged == s.Batch
	return res, nil
}
