package outbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/store"
)

// MaxDeadLimit is the largest page Dead returns.
const MaxDeadLimit = 1000

// ErrInvalidLimit reports a page size outside 1..MaxDeadLimit.
var ErrInvalidLimit = errors.New("outbox: invalid limit")

// Dead returns up to limit (1 to MaxDeadLimit) dead events, oldest first,
// starting after the cursor after ("" for the first page), with the cursor
// of the next page, "" when there is none. Each Delivery says how many
// attempts were made, which subscribers acknowledged the event and why the
// last attempt failed. A malformed cursor fails with store.ErrInvalidCursor.
func (r *Relay) Dead(ctx context.Context, after string, limit int) ([]Delivery, string, error) {
	if limit < 1 || limit > MaxDeadLimit {
		return nil, "", fmt.Errorf("%w: %d is outside 1..%d", ErrInvalidLimit, limit, MaxDeadLimit)
	}
	var cursor *store.Cursor
	if after != "" {
		c, err := store.ParseCursor(after)
		if err != nil {
			return nil, "", fmt.Errorf("outbox: dead events: %w", err)
		}
		cursor = &c
	}
	// One more than the page tells whether a next page exists, so the
	// last page never comes with a cursor to an empty one.
	ds, err := r.cfg.Store.ListDeadEvents(ctx, cursor, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("outbox: dead events: %w", err)
	}
	if len(ds) <= limit {
		return ds, "", nil
	}
	ds = ds[:limit]
	last := ds[limit-1].Event
	return ds, store.Cursor{CreatedAt: last.OccurredAt, ID: last.ID}.String(), nil
}

// Retry makes the dead event id pending again, due now, with its attempts
// counted from zero; the subscribers that acknowledged it are not called
// again. A running Run of this Relay is woken to deliver it. It fails with
// store.ErrNotFound when no dead event has that ID.
func (r *Relay) Retry(ctx context.Context, id uuid.UUID) error {
	if err := r.cfg.Store.RetryEvent(ctx, id, r.now()); err != nil {
		return fmt.Errorf("outbox: retry event %s: %w", id, err)
	}
	select {
	case r.kick <- struct{}{}:
	default: // a wake-up is already waiting
	}
	return nil
}
