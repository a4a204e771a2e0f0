package sqlcore

import (
	"context"
	"time"

	"github.com/invitekit/invitekit/outbox"
)

var _ outbox.StatsReader = (*Core)(nil)

// OutboxStats implements outbox.StatsReader with two reads, each on a
// partial index of the events table: the first pending event in claim
// order (events_pending), and the count of dead ones (events_dead).
func (c *Core) OutboxStats(ctx context.Context) (outbox.Stats, error) {
	t := &c.events
	oldest := "SELECT occurred_at FROM " + t.name + " WHERE state = 'pending' ORDER BY seq LIMIT 1"
	dead := "SELECT count(*) FROM " + t.name + " WHERE state = 'dead'"
	return readEvents(ctx, c, "outbox stats", func() (outbox.Stats, error) {
		var st outbox.Stats
		var at time.Time
		if err := scanOne(ctx, c.drv.Reader(), oldest, nil, c.d.TimeDest(&at)); err != nil {
			return st, err
		}
		st.OldestPending = at
		return st, scanOne(ctx, c.drv.Reader(), dead, nil, &st.Dead)
	})
}
