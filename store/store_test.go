package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

func TestValidationError(t *testing.T) {
	t.Parallel()
	var v store.ValidationError
	assert.NoError(t, v.Err(), "no fields, no error")
	v.Add("email", "is required")
	v.Add("role", "is too long")
	err := fmt.Errorf("create: %w", v.Err())
	var got *store.ValidationError
	require.True(t, errors.As(err, &got))
	assert.Equal(t, []store.FieldError{{Field: "email", Message: "is required"}, {Field: "role", Message: "is too long"}}, got.Fields)
	assert.Equal(t, "create: invitekit: invalid input: email: is required; role: is too long", err.Error())
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	c := store.Cursor{CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC), ID: uuid.New()}
	got, err := store.ParseCursor(c.String())
	require.NoError(t, err)
	assert.Equal(t, c, got)

	tooLate := store.Cursor{CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}.String()
	tooEarly := store.Cursor{CreatedAt: time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)}.String()
	for _, bad := range []string{"", "x", c.String() + "A", "!!!!" + c.String()[4:], tooLate, tooEarly} {
		_, err := store.ParseCursor(bad)
		assert.ErrorIs(t, err, store.ErrInvalidCursor, bad)
	}
}

func TestCursorBefore(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	low, high := uuid.UUID{1}, uuid.UUID{2}
	c := store.Cursor{CreatedAt: at, ID: high}
	assert.True(t, c.Before(at.Add(-time.Microsecond), high), "older")
	assert.True(t, c.Before(at, low), "same time, smaller ID")
	assert.False(t, c.Before(at, high), "the cursor itself is not before itself")
	assert.False(t, c.Before(at.Add(time.Microsecond), low), "newer")
}

func TestSchemaTooNewError(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("open: %w", &store.SchemaTooNewError{Database: 5, Supported: 3})
	var tooNew *store.SchemaTooNewError
	require.ErrorAs(t, err, &tooNew)
	assert.Equal(t, 5, tooNew.Database)
	assert.Contains(t, err.Error(), "version 5, newer than version 3")
}

func TestValidationErrorMerge(t *testing.T) {
	t.Parallel()
	own := &store.ValidationError{Fields: []store.FieldError{
		{Field: "expired_at", Message: "must be a date-time"},
		{Field: "parent", Message: "must be a UUID"},
	}}
	verdict := &store.ValidationError{Fields: []store.FieldError{
		{Field: "email", Message: "is too short"},
		{Field: "expired_at", Message: "is required"},
		{Field: "offset", Message: "must be at least 0"},
	}}
	err := own.Merge(fmt.Errorf("validate: %w", verdict))
	var got *store.ValidationError
	require.ErrorAs(t, err, &got)
	assert.Equal(t, []store.FieldError{
		{Field: "email", Message: "is too short"},
		{Field: "expired_at", Message: "must be a date-time"},
		{Field: "offset", Message: "must be at least 0"},
		{Field: "parent", Message: "must be a UUID"},
	}, got.Fields, "the caller's message wins where both name a field, in the validator's place")

	err = own.Merge(nil)
	require.ErrorAs(t, err, &got)
	assert.Equal(t, own.Fields, got.Fields, "a valid rest leaves the caller's fields")
	assert.NotSame(t, own, got, "the receiver is not handed out")

	err = own.Merge(errors.New("directory down"))
	require.ErrorAs(t, err, &got)
	assert.Equal(t, own.Fields, got.Fields, "another failure is moot: the input is invalid anyway")

	none := &store.ValidationError{}
	assert.Same(t, verdict, none.Merge(verdict), "with nothing of its own, the verdict stands")
	assert.NoError(t, none.Merge(nil))
}
