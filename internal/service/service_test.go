package service_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/internal/service"
	"github.com/invitekit/invitekit/internal/token"
	"github.com/invitekit/invitekit/store"
)

type record struct {
	id     uuid.UUID
	nonce  []byte
	status string
}

func newCore(t *testing.T) *service.Core {
	t.Helper()
	c, err := service.New(service.Config{
		Name: "test", Kind: token.KindGuest, Keys: [][]byte{bytes.Repeat([]byte("k"), 32)},
		Clock: func() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 678901234, time.FixedZone("X", 3600)) },
	})
	require.NoError(t, err)
	return c
}

func TestNew(t *testing.T) {
	t.Parallel()
	_, err := service.New(service.Config{Name: "test"})
	assert.ErrorIs(t, err, token.ErrNoKey)
	assert.ErrorContains(t, err, "test: Config.Keys")

	c := newCore(t)
	assert.Equal(t, time.Date(2030, 1, 2, 2, 4, 5, 678901000, time.UTC), c.Now(), "UTC, in microseconds")
	id, nonce, err := c.NewRecord()
	require.NoError(t, err)
	assert.Equal(t, uuid.Version(7), id.Version(), "UUIDv7 by default")
	assert.Len(t, nonce, token.NonceSize)
}

// records is a one-record store whose update can lose the record between
// the find and the update.
func records(rec *record, lost bool) service.Records[record] {
	return service.Records[record]{
		Find: func(_ context.Context, id uuid.UUID) (record, error) {
			if rec == nil || id != rec.id {
				return record{}, fmt.Errorf("find: %w", store.ErrNotFound)
			}
			return *rec, nil
		},
		Update: func(ctx context.Context, found record, _ time.Time, change func(context.Context, *record) (event.Event, error)) (record, error) {
			if lost {
				return record{}, fmt.Errorf("update: %w", store.ErrNotFound)
			}
			cp := found
			if _, err := change(ctx, &cp); err != nil {
				return record{}, err
			}
			*rec = cp
			return cp, nil
		},
		Nonce: func(r *record) []byte { return r.nonce },
	}
}

func TestAcceptByToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCore(t)
	id, nonce, err := c.NewRecord()
	require.NoError(t, err)
	tok := c.Token(id, nonce)
	accept := func(ctx context.Context, now time.Time, r *record) (event.Event, error) {
		r.status = "accepted"
		return c.Event(ctx, event.InvitationAccepted, uuid.Nil, r.id, now, r.status)
	}

	rec := &record{id: id, nonce: nonce}
	got, err := service.AcceptByToken(ctx, c, tok, records(rec, false), accept)
	require.NoError(t, err)
	assert.Equal(t, "accepted", got.status)

	other, err := service.New(service.Config{Name: "other", Kind: token.KindOrganization, Keys: [][]byte{bytes.Repeat([]byte("k"), 32)}})
	require.NoError(t, err)
	rotated := &record{id: id, nonce: bytes.Repeat([]byte{1}, token.NonceSize)}
	for name, tt := range map[string]struct {
		tok  string
		recs service.Records[record]
	}{
		"forged":             {"AAAA", records(rec, false)},
		"other kind":         {other.Token(id, nonce), records(rec, false)},
		"resent":             {tok, records(rotated, false)},
		"deleted":            {tok, records(nil, false)},
		"deleted mid-accept": {tok, records(rec, true)},
	} {
		_, err := service.AcceptByToken(ctx, c, tt.tok, tt.recs, accept)
		assert.ErrorIs(t, err, store.ErrInvalidToken, name)
		assert.NotErrorIs(t, err, store.ErrNotFound, name)
		assert.ErrorContains(t, err, "test: accept: ", name)
	}

	refused := errors.New("refused")
	_, err = service.AcceptByToken(ctx, c, tok, records(rec, false), func(context.Context, time.Time, *record) (event.Event, error) {
		return event.Event{}, refused
	})
	assert.ErrorIs(t, err, refused, "the transition's own error passes through")

	// An application hook's not-found is its own error, not a bad token.
	missing := fmt.Errorf("no such team: %w", store.ErrNotFound)
	_, err = service.AcceptByToken(ctx, c, tok, records(rec, false), func(context.Context, time.Time, *record) (event.Event, error) {
		return event.Event{}, missing
	})
	assert.ErrorIs(t, err, missing)
	assert.NotErrorIs(t, err, store.ErrInvalidToken)
}
