package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/invitekit/invitekit/store"
)

var (
	errRetryable = errors.New("deadlock")
	errUnique    = errors.New("unique violation")
	errLost      = fmt.Errorf("connection terminated: %w", errBusy)
	errBusy      = errors.New("lock timeout")
)

// fakeDriver classifies errors only; the core's run and translate are all
// that these tests reach.
type fakeDriver struct{ Driver }

func (fakeDriver) Unique(err error) bool    { return errors.Is(err, errUnique) }
func (fakeDriver) Retryable(err error) bool { return errors.Is(err, errRetryable) }
func (fakeDriver) Lost(err error) bool      { return errors.Is(err, errLost) }
func (fakeDriver) Unavailable(err error) bool {
	return errors.Is(err, errBusy)
}

func newTestCore(retries int, base time.Duration) *Core {
	c := New("teststore", fakeDriver{}, Dialect{}, "")
	SetRetry(c, retries, base)
	return c
}

func TestTranslate(t *testing.T) {
	t.Parallel()
	c := newTestCore(1, time.Microsecond)
	ctx := context.Background()
	mine := errors.New("the caller's own")
	other := errors.New("relation does not exist")
	for _, tc := range []struct {
		name string
		in   error
		is   error
	}{
		{"not found", store.ErrNotFound, store.ErrNotFound},
		{"unique violation", errUnique, store.ErrAlreadyExists},
		{"anything else", other, other},
		{"context", context.Canceled, context.Canceled},
	} {
		err := c.translate(ctx, "get invitation", tc.in)
		assert.ErrorIs(t, err, tc.is, tc.name)
		assert.ErrorContains(t, err, "teststore: get invitation: ", tc.name)
	}
	assert.Same(t, mine, c.translate(ctx, "update invitation", &callerError{mine}), "the caller's error comes back unchanged")
	assert.NoError(t, c.translate(ctx, "x", nil))

	ended, cancel := context.WithCancel(ctx)
	cancel()
	err := c.translate(ended, "list", other)
	assert.ErrorIs(t, err, context.Canceled, "an error after the context ended says so")
	assert.ErrorIs(t, err, other)
}

func TestRunRetriesOnlyRetryableErrors(t *testing.T) {
	t.Parallel()
	c := newTestCore(4, time.Microsecond)
	for _, tc := range []struct {
		name  string
		err   error
		calls int
	}{
		{"retryable", errRetryable, 4},
		{"unique violation", errUnique, 1},
		{"not found", store.ErrNotFound, 1},
		{"caller's error", &callerError{errRetryable}, 1},
		{"other", errors.New("connection reset"), 1},
	} {
		calls := 0
		err := c.run(context.Background(), "op", func() error {
			calls++
			return tc.err
		})
		assert.Error(t, err, tc.name)
		assert.Equal(t, tc.calls, calls, tc.name)
	}

	calls := 0
	err := c.run(context.Background(), "op", func() error {
		if calls++; calls < 3 {
			return errRetryable
		}
		return nil
	})
	assert.NoError(t, err, "a retry that succeeds")
	assert.Equal(t, 3, calls)
}

func TestRunStopsRetryingWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	c := newTestCore(100, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := c.run(ctx, "op", func() error {
		calls++
		cancel()
		return errRetryable
	})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, calls)
}

func TestRunRefusesAfterClose(t *testing.T) {
	t.Parallel()
	c := newTestCore(1, time.Microsecond)
	assert.True(t, MarkClosed(c), "the first close")
	assert.False(t, MarkClosed(c), "a second close")
	err := c.run(context.Background(), "op", func() error {
		t.Error("ran after close")
		return nil
	})
	assert.ErrorIs(t, err, store.ErrClosed)
}

func TestTranslateAfterClose(t *testing.T) {
	t.Parallel()
	c := newTestCore(1, time.Microsecond)
	MarkClosed(c)
	gone := errors.New("sql: database is closed")
	err := c.translate(context.Background(), "get invitation", gone)
	assert.ErrorIs(t, err, store.ErrClosed, "a call Close overtook fails as closed")
	assert.ErrorIs(t, err, gone)
}

func TestRunWithoutBackoff(t *testing.T) {
	t.Parallel()
	c := newTestCore(3, 0)
	calls := 0
	err := c.run(context.Background(), "op", func() error {
		calls++
		return errRetryable
	})
	assert.ErrorIs(t, err, errRetryable)
	assert.Equal(t, 3, calls, "a zero backoff retries at once")
}

func TestTranslateUnavailable(t *testing.T) {
	t.Parallel()
	c := newTestCore(1, time.Microsecond)
	for _, in := range []error{errBusy, errLost} {
		err := c.translate(context.Background(), "update invitation", in)
		assert.ErrorIs(t, err, store.ErrUnavailable, "%v", in)
		assert.ErrorIs(t, err, in, "the driver's error is kept")
	}
	assert.NotErrorIs(t, c.translate(context.Background(), "x", errors.New("syntax error")), store.ErrUnavailable)
	assert.Same(t, errBusy, c.translate(context.Background(), "x", &callerError{errBusy}),
		"the caller's error stays the caller's")
	mine := errors.New("the accept hook's statement failed")
	err := c.translate(context.Background(), "update invitation", errors.Join(&callerError{mine}, errBusy))
	assert.ErrorIs(t, err, store.ErrUnavailable, "the caller's code failed because the database did")
	assert.ErrorIs(t, err, mine)

	ended, cancel := context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	err = c.translate(ended, "get invitation", errLost)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the context's end is said first")
	assert.ErrorIs(t, err, errLost)
}

// TestReadRetriesLostConnections: a read runs again on a lost connection, a
// write does not (the driver marks the writes that may run again), and
// neither retries a bounded wait that ran out.
func TestReadRetriesLostConnections(t *testing.T) {
	t.Parallel()
	c := newTestCore(4, time.Microsecond)
	for _, tc := range []struct {
		name          string
		err           error
		reads, writes int
	}{
		{"lost", errLost, 4, 1},
		{"busy", errBusy, 1, 1},
		{"retryable", errRetryable, 4, 4},
	} {
		var reads, writes int
		err := c.read(context.Background(), "get", func() error { reads++; return tc.err })
		assert.ErrorIs(t, err, tc.err, tc.name)
		err = c.run(context.Background(), "update", func() error { writes++; return tc.err })
		assert.ErrorIs(t, err, tc.err, tc.name)
		assert.Equal(t, tc.reads, reads, "%s: reads", tc.name)
		assert.Equal(t, tc.writes, writes, "%s: writes", tc.name)
	}
}
