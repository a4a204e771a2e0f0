package outbox

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/store"
)

// State is the delivery state of an event.
type State string

// Delivery states. An event is Pending from the moment it is recorded until
// every subscriber has acknowledged it (Delivered) or the relay gives up on
// it (Dead).
const (
	StatePending   State = "pending"
	StateDelivered State = "delivered"
	StateDead      State = "dead"
)

// ErrLeaseLost reports a settlement by a relay whose lease on the event
// has expired and been taken by another: that relay settles it instead.
var ErrLeaseLost = errors.New("outbox: event lease lost")

// Store is the storage the relay consumes. memstore, sqlitestore and
// postgresstore implement it, and storetest checks that they do so the same
// way.
//
// Store-author API: application code calls Relay, not these methods, and
// the interface may gain methods as the relay does (as river's driver
// interfaces do); stores outside this module should expect that.
type Store interface {
	// ClaimEvents leases to owner, until now+lease, up to limit events
	// that are due at now, oldest first (in the order their changes
	// committed). An event is due when it is pending, its next attempt is
	// at or before now, no live lease holds it, and no older pending event
	// of the same invitation exists: so the events of one invitation are
	// handed out one at a time, in order. A dead event no longer holds back
	// its invitation's later events (one receiver that refuses an event
	// must not stop an invitation's stream for good); a dead event made
	// pending again by RetryEvent keeps its place, so it holds back the
	// invitation's events still pending, while those delivered meanwhile
	// stay delivered. Concurrent claims never return the same event while
	// its lease lasts. A claim does not count as an attempt: the
	// settlement records the count.
	ClaimEvents(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Delivery, error)

	// SettleEvent records the outcome of a delivery attempt and ends
	// owner's lease. An owner holds its lease until it settles the event
	// or another relay claims it after the lease ran out; otherwise the
	// call fails with ErrLeaseLost, and with store.ErrNotFound when no
	// such event exists.
	SettleEvent(ctx context.Context, owner string, o Outcome) error

	// ListDeadEvents returns up to limit dead events, oldest first (by
	// OccurredAt, then ID), after the cursor when it is not nil.
	ListDeadEvents(ctx context.Context, after *store.Cursor, limit int) ([]Delivery, error)

	// RetryEvent makes the dead event id pending again, due at now, with
	// no attempts counted; the subscribers that acknowledged it stay in
	// Acked, so they are not called again. It wakes listeners as a commit
	// of an event does. It fails with store.ErrNotFound when no dead event
	// has that ID.
	RetryEvent(ctx context.Context, id uuid.UUID, now time.Time) error
}

// Listener is implemented by stores that can tell the relay when events
// have been committed, so that delivery does not wait for the next poll.
// PostgreSQL stores listen for notifications from every instance; the
// others signal commits in their own process.
type Listener interface {
	// ListenEvents returns a channel that receives a value, soon after,
	// whenever events may have been committed, until ctx ends. Values
	// coalesce: one receive may stand for many commits.
	ListenEvents(ctx context.Context) (<-chan struct{}, error)
}

// StatsReader is implemented by stores that can summarize their outbox
// cheaply; memstore, sqlitestore and postgresstore do. While Run runs, the
// relay reads it at each metrics collection for its lag and dead event
// gauges; with a store that does not implement it, those gauges are
// absent. Like Store, it is store-author API.
type StatsReader interface {
	// OutboxStats returns the outbox's state now: every event, not only
	// those of one relay. It only reads, and should cost an index lookup
	// or two, as a metrics scrape calls it every few seconds.
	OutboxStats(ctx context.Context) (Stats, error)
}

// Stats summarizes a store's outbox.
type Stats struct {
	// OldestPending is the OccurredAt of the first pending event in the
	// order ClaimEvents hands them out (the order their changes
	// committed); zero when no event is pending. An event due later for a
	// retry is pending; a dead one is not, until RetryEvent.
	OldestPending time.Time
	// Dead counts the dead events.
	Dead int64
}

// Delivery is an event with its delivery record.
type Delivery struct {
	Event event.Event
	State State
	// Attempts counts the delivery attempts settled so far, not one
	// under way.
	Attempts int
	// Acked names the subscribers that have acknowledged the event, so a
	// retry skips them.
	Acked []string
	// LastError says why the last attempt failed; empty when none has.
	LastError string
	// NextAttemptAt is when the event is due again.
	NextAttemptAt time.Time
}

// Outcome is the result of one delivery attempt.
type Outcome struct {
	EventID uuid.UUID
	// State is StateDelivered when every subscriber has acknowledged the
	// event, StateDead when the relay gives up, StatePending to retry at
	// NextAttemptAt.
	State State
	// Acked is every subscriber that has acknowledged the event so far.
	Acked []string
	// NextAttemptAt is when a pending event is due again.
	NextAttemptAt time.Time
	// Attempts is the event's attempt count after this settlement: one
	// more than the claimed Delivery's when a subscriber was called, the
	// same when the relay put the event back untried.
	Attempts int
	// Error says why the attempt failed; empty when it did not.
	Error string
}
