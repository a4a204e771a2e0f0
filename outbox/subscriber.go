package outbox

import (
	"context"
	"errors"

	"github.com/invitekit/invitekit/event"
)

// maxSubscriberName bounds a subscriber's name, which stores keep in each
// event's delivery record.
const maxSubscriberName = 100

// Subscriber receives events from a Relay.
type Subscriber struct {
	// Name identifies the subscriber in delivery records: the relay
	// remembers which names acknowledged an event, so a name must be
	// unique among a relay's subscribers and stable across restarts.
	// Renaming a subscriber makes it a new one that has acknowledged
	// nothing. 1 to 100 bytes, without commas.
	Name string
	// Deliver handles one event. It returns nil to acknowledge it; any
	// error is a failed attempt, retried later unless it is Permanent.
	// ctx carries the relay's per-delivery timeout. Deliver must be safe
	// for concurrent use: the relay calls it for events of different
	// invitations at once.
	Deliver func(ctx context.Context, ev event.Event) error
}

// Func returns a Subscriber named name that calls f.
func Func(name string, f func(ctx context.Context, ev event.Event) error) Subscriber {
	return Subscriber{Name: name, Deliver: f}
}

// PermanentError marks a failure that retrying cannot fix: the relay moves
// the event to the dead-letter state at once instead of retrying it.
type PermanentError struct {
	Err error
}

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }

// Unwrap returns the wrapped error, so errors.Is and errors.As see through
// the mark.
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so that the relay does not retry it. It returns nil
// when err is nil, so `return outbox.Permanent(err)` is safe either way.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err, or an error it wraps, came from
// Permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}
