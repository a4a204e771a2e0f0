package store

import (
	"errors"
	"fmt"
	"time"
)

// ErrLimitExceeded reports a write refused because the organization has
// reached one of its Limits. The error returned is a *LimitError, which
// says which limit and when to try again; test for it with errors.Is.
var ErrLimitExceeded = errors.New("invitekit: limit exceeded")

// Limits bound how many invitations one organization may have and make.
// A zero field sets no bound. The stores count in the same transaction as
// the write, so a limit holds exactly however many writers and instances
// there are: of concurrent creates, never more succeed than the limit
// allows.
type Limits struct {
	// MaxOpen caps the invitations of an organization that are open at
	// once (organization invitations: pending and unexpired; guest
	// invitations: sent, unexpired and unarchived). A create, and a
	// change that opens an invitation again (a resend that revives it,
	// an unarchive), is refused while the organization has MaxOpen open
	// invitations.
	MaxOpen int
	// CreatesPerHour caps the creates of an organization in any hour (a
	// sliding window: the creates recorded within the hour before now).
	// Creates that were refused do not count; invitations deleted since
	// do.
	CreatesPerHour int
}

// None reports whether l sets no bound, so a store can skip counting.
func (l Limits) None() bool { return l.MaxOpen <= 0 && l.CreatesPerHour <= 0 }

// Limit names one of the Limits.
type Limit string

// The limits a LimitError names.
const (
	LimitMaxOpen        Limit = "max-open"
	LimitCreatesPerHour Limit = "creates-per-hour"
)

// LimitError is the error of a write refused by Limits. It matches
// ErrLimitExceeded with errors.Is.
type LimitError struct {
	// Limit is the limit that refused the write, Max its value.
	Limit Limit
	Max   int
	// RetryAfter is how long until the limit would let the write through
	// if nothing else changed: until the oldest create of the hour leaves
	// the window, or the soonest open invitation expires. Revoking,
	// accepting or archiving an invitation frees a place sooner. At least
	// one second.
	RetryAfter time.Duration
}

// Error implements error.
func (e *LimitError) Error() string {
	switch e.Limit {
	case LimitMaxOpen:
		return fmt.Sprintf("invitekit: limit exceeded: the organization has %d open invitations, its limit", e.Max)
	case LimitCreatesPerHour:
		return fmt.Sprintf("invitekit: limit exceeded: the organization created %d invitations in the last hour, its limit", e.Max)
	}
	return fmt.Sprintf("invitekit: limit exceeded: %s %d", e.Limit, e.Max)
}

// Is makes errors.Is(err, ErrLimitExceeded) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimitExceeded }

// newLimitError returns the error of limit, whose value is value, that
// lets a write through after retryAfter, rounded up to whole seconds and
// at least one.
func newLimitError(limit Limit, value int, retryAfter time.Duration) *LimitError {
	retryAfter = (retryAfter + time.Second - 1).Truncate(time.Second)
	return &LimitError{Limit: limit, Max: value, RetryAfter: max(retryAfter, time.Second)}
}

// Usage is what a store counted of one organization, inside the
// transaction of a write, for its Limits: at most as many as each limit
// allows, so that counting costs no more than the limit however many
// invitations the organization has.
//
// Store-author API: application code never needs it.
type Usage struct {
	// Open is how many invitations of the organization are open at the
	// write's now (at most Limits.MaxOpen), and SoonestExpiry the soonest
	// expiry among those counted.
	Open          int
	SoonestExpiry time.Time
	// Creates is how many creates the organization made within the hour
	// before now (at most the Limits.CreatesPerHour most recent), and
	// OldestCreate the oldest of those counted.
	Creates      int
	OldestCreate time.Time
}

// Quota admits the writes of one transaction under Limits, from the
// Usage the store counted at its start: every store decides with it, so
// they cannot differ on what a limit allows.
//
// Store-author API: application code never needs it.
type Quota struct {
	limits Limits
	now    time.Time
	usage  Usage
	// before is usage before the last Create, for Undo.
	before Usage
}

// NewQuota returns the quota of an organization with limits and usage at
// now.
func NewQuota(limits Limits, now time.Time, usage Usage) *Quota {
	if usage.Creates == 0 {
		usage.OldestCreate = now
	}
	return &Quota{limits: limits, now: now, usage: usage}
}

// Create admits a create, at now, of an invitation that is open until
// expireAt (the zero time for one not open at now), and counts it; it
// returns the *LimitError of the first limit it would exceed, counting
// nothing.
func (q *Quota) Create(expireAt time.Time) error {
	if l := q.limits.CreatesPerHour; l > 0 && q.usage.Creates >= l {
		return newLimitError(LimitCreatesPerHour, l, q.usage.OldestCreate.Add(time.Hour).Sub(q.now))
	}
	before := q.usage
	if err := q.Open(expireAt); err != nil {
		return err
	}
	q.usage.Creates++
	q.before = before
	return nil
}

// Open admits a change that opens an invitation until expireAt (the zero
// time: it opens none), and counts it; it returns the *LimitError of
// MaxOpen, counting nothing, when the organization has no open place.
func (q *Quota) Open(expireAt time.Time) error {
	if expireAt.IsZero() {
		return nil
	}
	if l := q.limits.MaxOpen; l > 0 && q.usage.Open >= l {
		soonest := q.usage.SoonestExpiry
		if soonest.IsZero() {
			soonest = expireAt
		}
		return newLimitError(LimitMaxOpen, l, soonest.Sub(q.now))
	}
	if q.usage.Open == 0 || expireAt.Before(q.usage.SoonestExpiry) {
		q.usage.SoonestExpiry = expireAt
	}
	q.usage.Open++
	return nil
}

// Undo takes back the last create Create admitted, which the store did
// not write after all (its email already had an open invitation), so that
// it uses no place. Call it before the next Create.
func (q *Quota) Undo() { q.usage = q.before }

// The limits an organization has unless the application says otherwise:
// generous, so that they stop abuse (a leaked key creating invitations in a
// loop) and not onboarding.
const (
	DefaultMaxOpen        = 10000
	DefaultCreatesPerHour = 1000
)

// SweepResult is what one Sweep of a service did.
type SweepResult struct {
	// Expired is how many expiries the sweep recorded, each with its
	// event; Purged how many ended invitations it deleted.
	Expired, Purged int
	// More reports that the sweep stopped at its bound with work left:
	// call Sweep again to go on.
	More bool
}
