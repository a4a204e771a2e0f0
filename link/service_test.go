package link

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invitation"
)

// stores stand in for a store the test never calls.
type (
	linkStore       struct{ Store }
	invitationStore struct{ invitation.Store }
)

var testKey = bytes.Repeat([]byte{3}, 32)

func TestNewServiceChecksConfig(t *testing.T) {
	s := linkStore{}
	invs, err := invitation.NewService(invitation.Config{Store: invitationStore{}, Keys: [][]byte{testKey}})
	require.NoError(t, err)
	for name, cfg := range map[string]Config{
		"no store":       {Invitations: invs, Keys: [][]byte{testKey}},
		"no invitations": {Store: s, Keys: [][]byte{testKey}},
		"no key":         {Store: s, Invitations: invs},
		"short key":      {Store: s, Invitations: invs, Keys: [][]byte{testKey[:31]}},
		"short TTL":      {Store: s, Invitations: invs, Keys: [][]byte{testKey}, TTL: time.Minute},
		"long TTL":       {Store: s, Invitations: invs, Keys: [][]byte{testKey}, TTL: MaxTTL + time.Hour},
	} {
		_, err := NewService(cfg)
		assert.Error(t, err, name)
	}
	_, err = NewService(Config{Store: s, Invitations: invs, Keys: [][]byte{testKey}})
	assert.NoError(t, err)
}

// A link that is revoked, or used up, says so whatever its expiry: the
// status names what stops it first for good.
func TestEffectiveStatus(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	revoked := now.Add(-time.Hour)
	for _, tc := range []struct {
		l    Link
		want Status
	}{
		{Link{MaxUses: 2, Uses: 1, ExpireAt: now.Add(time.Nanosecond)}, StatusActive},
		{Link{MaxUses: 2, Uses: 1, ExpireAt: now}, StatusExpired},
		{Link{MaxUses: 2, Uses: 2, ExpireAt: now.Add(time.Hour)}, StatusExhausted},
		{Link{MaxUses: 2, Uses: 2, ExpireAt: now.Add(-time.Hour)}, StatusExhausted},
		{Link{MaxUses: 2, Uses: 2, ExpireAt: now.Add(-time.Hour), RevokedAt: &revoked}, StatusRevoked},
	} {
		assert.Equal(t, tc.want, tc.l.EffectiveStatus(now), "%+v", tc.l)
	}
}

// The checks of a redemption come in a fixed order: an email of another
// domain learns nothing more about the link.
func TestRedeemOrder(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	revoked := now
	base := Link{ID: uuid.New(), MaxUses: 1, ExpireAt: now.Add(time.Hour), AllowedDomains: []string{"example.com"}}
	for _, tc := range []struct {
		name     string
		change   func(*Link)
		addr     string
		redeemed bool
		want     error
	}{
		{"domain first", func(l *Link) { l.RevokedAt = &revoked }, "a@example.org", false, ErrDomainNotAllowed},
		{"revoked", func(l *Link) { l.RevokedAt = &revoked; l.ExpireAt = now }, "a@example.com", true, ErrRevoked},
		{"expired", func(l *Link) { l.ExpireAt = now }, "a@example.com", true, ErrExpired},
		{"redeemed before exhausted", func(l *Link) { l.Uses = 1 }, "a@example.com", true, ErrAlreadyRedeemed},
		{"exhausted", func(l *Link) { l.Uses = 1 }, "a@example.com", false, ErrExhausted},
	} {
		l := base
		tc.change(&l)
		before := l.Uses
		assert.ErrorIs(t, l.redeem(now, tc.addr, tc.redeemed), tc.want, tc.name)
		assert.Equal(t, before, l.Uses, "a refused redemption takes no use: %s", tc.name)
	}
	l := base
	require.NoError(t, l.redeem(now, "a@example.com", false))
	assert.Equal(t, 1, l.Uses)
}
