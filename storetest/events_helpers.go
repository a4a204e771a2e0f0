package storetest

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
)

// NewEvent returns a plain event of typ with a fresh ID, at the current
// time, about no invitation in particular: the event a store test passes
// to a create when the test is about the record, not its events.
func NewEvent(typ event.Type) event.Event {
	return event.Event{ID: uuid.Must(uuid.NewV7()), Type: typ, OccurredAt: time.Now().UTC().Truncate(time.Microsecond), Data: []byte("{}")}
}

// Change adapts an updater that records no event of its own to the
// updaters of the Store interfaces: the change it makes is recorded with
// a plain event (see NewEvent).
func Change[T any](f func(*T) error) func(context.Context, *T) (event.Event, error) {
	return func(_ context.Context, r *T) (event.Event, error) {
		if err := f(r); err != nil {
			return event.Event{}, err
		}
		return NewEvent(event.InvitationResent), nil
	}
}

// Deleted records a deletion with a plain event (see NewEvent), for the
// deleted argument of the Store interfaces' delete methods.
func Deleted[T any](T) (event.Event, error) {
	return NewEvent(event.InvitationDeleted), nil
}
