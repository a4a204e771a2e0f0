package memstore

import (
	"context"

	"github.com/invitekit/invitekit/outbox"
)

var _ outbox.StatsReader = (*Store)(nil)

// OutboxStats implements outbox.StatsReader. It scans the events in
// memory: the oldest pending one is found at once, the dead ones are
// counted in one pass over the log.
func (s *Store) OutboxStats(ctx context.Context) (outbox.Stats, error) {
	var st outbox.Stats
	err := s.read(ctx, func() error {
		e := &s.events
		for _, r := range e.log[e.settled:] {
			if r.d.State == outbox.StatePending {
				st.OldestPending = r.d.Event.OccurredAt
				break
			}
		}
		for _, r := range e.log {
			if r.d.State == outbox.StateDead {
				st.Dead++
			}
		}
		return nil
	})
	return st, err
}
