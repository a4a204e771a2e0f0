package sqlcore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
)

var errCommitLost = errors.New("terminated during COMMIT")

// commitDriver is a database in memory of events only, whose COMMITs are
// lost (CheckableCommitError) as lose says: it committed each of them, or
// not, as commit says.
type commitDriver struct {
	fakeDriver
	lose, commit func(attempt int) bool
	lookupFails  int // lookups that fail with errLost first
	attempts     int
	stored       map[uuid.UUID]bool
	onCommit     func() // called as the commit is lost, if set
}

func (d *commitDriver) WriteTx(ctx context.Context, f func(context.Context, Querier) error) error {
	d.attempts++
	var pending []uuid.UUID
	if err := f(ctx, recorder{&pending}); err != nil {
		return err
	}
	if d.commit(d.attempts) {
		for _, id := range pending {
			d.stored[id] = true
		}
	}
	if d.lose(d.attempts) {
		if d.onCommit != nil {
			d.onCommit()
		}
		return &CheckableCommitError{Err: errCommitLost}
	}
	return nil
}

func (d *commitDriver) Reader() Querier { return lookup{d} }

// recorder takes the IDs of the events a transaction inserts.
type recorder struct{ ids *[]uuid.UUID }

func (r recorder) Exec(_ context.Context, _ string, args ...any) (int64, error) {
	*r.ids = append(*r.ids, args[0].(uuid.UUID))
	return 1, nil
}
func (recorder) Query(context.Context, string, ...any) (Rows, error) { panic("not used") }

// lookup answers the core's "is this event stored" query.
type lookup struct{ d *commitDriver }

func (lookup) Exec(context.Context, string, ...any) (int64, error) { panic("not used") }
func (l lookup) Query(_ context.Context, _ string, args ...any) (Rows, error) {
	if l.d.lookupFails > 0 {
		l.d.lookupFails--
		return nil, errLost
	}
	n := 0
	if l.d.stored[args[0].(uuid.UUID)] {
		n = 1
	}
	return &countRows{n: n}, nil
}

type countRows struct {
	n    int
	done bool
}

func (r *countRows) Next() bool { ok := !r.done; r.done = true; return ok }
func (r *countRows) Scan(dest ...any) error {
	*dest[0].(*int) = r.n
	return nil
}
func (*countRows) Err() error { return nil }
func (*countRows) Close()     {}

// TestLostCommitIsLookedUp: a write transaction whose COMMIT was lost but
// settled (CheckableCommitError) succeeds when its event is stored, runs
// again when it is not, and fails, never retried, when the lookup cannot
// tell; a fresh event ID each attempt, so an attempt is never taken for
// another.
func TestLostCommitIsLookedUp(t *testing.T) {
	t.Parallel()
	always := func(int) bool { return true }
	first := func(a int) bool { return a == 1 }
	for _, tc := range []struct {
		name           string
		lose, commit   func(int) bool
		lookupFails    int
		attempts, runs int
		stored         int
		fails          bool
	}{
		{"committed", first, always, 0, 1, 1, 1, false},
		{"committed, found after lost lookups", first, always, 2, 1, 1, 1, false},
		{"rolled back: runs again", first, func(a int) bool { return a == 2 }, 0, 2, 2, 1, false},
		{"rolled back every time", always, func(int) bool { return false }, 0, 3, 3, 0, true},
		{"lookup never answers", first, always, 100, 1, 1, 1, true},
	} {
		d := &commitDriver{lose: tc.lose, commit: tc.commit, lookupFails: tc.lookupFails, stored: map[uuid.UUID]bool{}}
		c := New("teststore", d, Dialect{
			ID:   func(id uuid.UUID) any { return id },
			Time: func(t time.Time) any { return t },
			Bool: func(b bool) any { return b },
		}, "")
		SetRetry(c, 3, time.Microsecond)
		runs := 0
		err := c.run(context.Background(), "update invitation", func() error {
			return c.writeEvents(context.Background(), func(context.Context, Querier) (event.Event, error) {
				runs++
				return event.Event{ID: uuid.New(), Type: event.InvitationResent}, nil
			})
		})
		if tc.fails {
			require.Error(t, err, tc.name)
			assert.ErrorIs(t, err, errCommitLost, tc.name)
		} else {
			require.NoError(t, err, tc.name)
		}
		assert.Equal(t, tc.attempts, d.attempts, "%s: transactions", tc.name)
		assert.Equal(t, tc.runs, runs, "%s: runs of the update", tc.name)
		assert.Len(t, d.stored, tc.stored, "%s: committed once at most", tc.name)
	}
}

// TestLostCommitIsLookedUpAfterTheCallerGaveUp: a caller whose context
// ends while its commit is lost and settled is told that the commit went
// through, as it did, rather than an error for a change that was applied.
func TestLostCommitIsLookedUpAfterTheCallerGaveUp(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	always := func(int) bool { return true }
	d := &commitDriver{lose: always, commit: always, stored: map[uuid.UUID]bool{}, onCommit: cancel}
	c := New("teststore", d, Dialect{
		ID:   func(id uuid.UUID) any { return id },
		Time: func(t time.Time) any { return t },
		Bool: func(b bool) any { return b },
	}, "")
	err := c.run(ctx, "update invitation", func() error {
		return c.writeEvents(ctx, func(context.Context, Querier) (event.Event, error) {
			return event.Event{ID: uuid.New(), Type: event.InvitationResent}, nil
		})
	})
	require.NoError(t, err, "the event was found although the context had ended")
	assert.Equal(t, 1, d.attempts)
	assert.Len(t, d.stored, 1)
}
