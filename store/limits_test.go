package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

var now = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

func TestQuotaOpen(t *testing.T) {
	t.Parallel()
	soonest := now.Add(90 * time.Minute)
	q := store.NewQuota(store.Limits{MaxOpen: 3}, now, store.Usage{Open: 1, SoonestExpiry: soonest})
	require.NoError(t, q.Create(now.Add(time.Hour)), "a second open invitation")
	require.NoError(t, q.Create(time.Time{}), "a create that opens nothing takes no place")
	require.NoError(t, q.Create(now.Add(2*time.Hour)), "a third")
	err := q.Create(now.Add(3 * time.Hour))
	var lerr *store.LimitError
	require.ErrorAs(t, err, &lerr)
	assert.ErrorIs(t, err, store.ErrLimitExceeded)
	assert.Equal(t, store.LimitError{Limit: store.LimitMaxOpen, Max: 3, RetryAfter: time.Hour}, *lerr,
		"until the soonest counted expiry, the second one's")
	assert.ErrorIs(t, q.Open(now.Add(time.Hour)), store.ErrLimitExceeded, "reopening needs a place too")
}

func TestQuotaUndo(t *testing.T) {
	t.Parallel()
	q := store.NewQuota(store.Limits{MaxOpen: 1, CreatesPerHour: 1}, now, store.Usage{})
	require.NoError(t, q.Create(now.Add(time.Minute)))
	q.Undo() // not written after all
	require.NoError(t, q.Create(now.Add(time.Hour)), "the undone create took no place")
	err := q.Create(now.Add(time.Hour))
	var lerr *store.LimitError
	require.ErrorAs(t, err, &lerr)
	assert.Equal(t, store.LimitCreatesPerHour, lerr.Limit, "the rate is checked first")
	assert.Equal(t, time.Hour, lerr.RetryAfter, "no earlier create: the window is full for the hour")
}

func TestQuotaRate(t *testing.T) {
	t.Parallel()
	q := store.NewQuota(store.Limits{CreatesPerHour: 2}, now, store.Usage{Creates: 2, OldestCreate: now.Add(-59*time.Minute - 500*time.Millisecond)})
	err := q.Create(now.Add(time.Hour))
	var lerr *store.LimitError
	require.ErrorAs(t, err, &lerr)
	assert.Equal(t, time.Minute, lerr.RetryAfter, "rounded up to whole seconds")
	q = store.NewQuota(store.Limits{CreatesPerHour: 2}, now, store.Usage{Creates: 2, OldestCreate: now.Add(-time.Hour)})
	require.ErrorAs(t, q.Create(time.Time{}), &lerr)
	assert.Equal(t, time.Second, lerr.RetryAfter, "at least a second")
}

func TestQuotaWithoutLimits(t *testing.T) {
	t.Parallel()
	q := store.NewQuota(store.Limits{}, now, store.Usage{Open: 1 << 20, Creates: 1 << 20})
	for range 100 {
		require.NoError(t, q.Create(now.Add(time.Hour)))
	}
	assert.True(t, store.Limits{}.None())
	assert.False(t, store.Limits{CreatesPerHour: 1}.None())
}

func TestLimitErrorSaysWhich(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("create: %w", &store.LimitError{Limit: store.LimitCreatesPerHour, Max: 7, RetryAfter: time.Second})
	assert.ErrorIs(t, err, store.ErrLimitExceeded)
	assert.False(t, errors.Is(err, store.ErrConflict))
	assert.EqualError(t, err, "create: invitekit: limit exceeded: the organization created 7 invitations in the last hour, its limit")
}
