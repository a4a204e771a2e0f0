package postgresstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"

	"github.com/invitekit/invitekit/store"
)

func pgError(code string) error {
	return fmt.Errorf("exec: %w", &pgconn.PgError{Code: code, Message: "m"})
}

func TestTranslate(t *testing.T) {
	t.Parallel()
	mine := errors.New("the caller's own")
	other := pgError("42P01")
	cases := []struct {
		name string
		in   error
		is   error
	}{
		{"no rows", pgx.ErrNoRows, store.ErrNotFound},
		{"unique violation", pgError(codeUniqueViolation), store.ErrAlreadyExists},
		{"anything else", other, other},
		{"context", context.Canceled, context.Canceled},
	}
	for _, c := range cases {
		err := translate("get invitation", c.in)
		assert.ErrorIs(t, err, c.is, c.name)
		assert.ErrorContains(t, err, "postgresstore: get invitation: ", c.name)
	}
	assert.Same(t, mine, translate("update invitation", &callerError{mine}), "the caller's error comes back unchanged")
	assert.NoError(t, translate("x", nil))
}

func TestRunRetriesOnlyRetryableErrors(t *testing.T) {
	t.Parallel()
	s := &Store{retries: 4, retryBase: time.Microsecond}
	cases := []struct {
		name  string
		err   error
		calls int
	}{
		{"deadlock", pgError(codeDeadlockDetected), 4},
		{"serialization failure", pgError(codeSerializationFailure), 4},
		{"unique violation", pgError(codeUniqueViolation), 1},
		{"not found", pgx.ErrNoRows, 1},
		{"caller's error", &callerError{pgError(codeDeadlockDetected)}, 1},
		{"other", errors.New("connection reset"), 1},
	}
	for _, c := range cases {
		calls := 0
		err := s.run(context.Background(), "op", func() error {
			calls++
			return c.err
		})
		assert.Error(t, err, c.name)
		assert.Equal(t, c.calls, calls, c.name)
	}

	calls := 0
	err := s.run(context.Background(), "op", func() error {
		if calls++; calls < 3 {
			return pgError(codeDeadlockDetected)
		}
		return nil
	})
	assert.NoError(t, err, "a retry that succeeds")
	assert.Equal(t, 3, calls)
}

func TestRunStopsRetryingWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	s := &Store{retries: 100, retryBase: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := s.run(ctx, "op", func() error {
		calls++
		cancel()
		return pgError(codeSerializationFailure)
	})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, calls)
}
