package token

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/invitekit/invitekit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	keyA  = bytes.Repeat([]byte("a"), MinKeySize)
	keyB  = bytes.Repeat([]byte("b"), MinKeySize+8)
	id    = uuid.MustParse("0190c5b2-7d1e-7cc0-9a6e-1f2a3b4c5d6e")
	nonce = []byte("0123456789abcdef")
)

func signer(t *testing.T, keys ...[]byte) *Signer {
	t.Helper()
	s, err := NewSigner(keys)
	require.NoError(t, err)
	return s
}

func TestSignVerify(t *testing.T) {
	t.Parallel()
	s := signer(t, keyA)
	tok := s.Sign(KindGuest, id, nonce)
	assert.Len(t, tok, 87, "65 bytes in unpadded base64url")
	gotID, gotNonce, err := s.Verify(KindGuest, tok)
	require.NoError(t, err)
	assert.Equal(t, id, gotID)
	assert.Equal(t, nonce, gotNonce)
	assert.Equal(t, tok, s.Sign(KindGuest, id, nonce), "tokens are derived, so the same every time")
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	s := signer(t, keyA)
	tok := s.Sign(KindOrganization, id, nonce)
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	require.NoError(t, err)

	bad := map[string]string{
		"empty":        "",
		"not base64":   "!!!" + tok[3:],
		"truncated":    tok[:len(tok)-1],
		"short":        tok[:40],
		"extended":     tok + "A",
		"padded":       base64.URLEncoding.EncodeToString(raw),
		"last char":    tok[:len(tok)-1] + string(tok[len(tok)-1]^1),
		"foreign kind": s.Sign(KindGuest, id, nonce),
		"other key":    signer(t, keyB).Sign(KindOrganization, id, nonce),
	}
	// Flipping any single bit anywhere breaks the MAC.
	for i := range raw {
		flipped := bytes.Clone(raw)
		flipped[i] ^= 0x01
		bad[fmt.Sprintf("flip byte %d", i)] = base64.RawURLEncoding.EncodeToString(flipped)
	}
	for name, tok := range bad {
		_, _, err := s.Verify(KindOrganization, tok)
		assert.ErrorIs(t, err, store.ErrInvalidToken, name)
	}
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	old := signer(t, keyA).Sign(KindOrganization, id, nonce)

	rotated := signer(t, keyB, keyA)
	_, _, err := rotated.Verify(KindOrganization, old)
	require.NoError(t, err, "a retired key still verifies")
	fresh := rotated.Sign(KindOrganization, id, nonce)
	assert.NotEqual(t, old, fresh, "the first key signs")
	_, _, err = signer(t, keyB).Verify(KindOrganization, fresh)
	assert.NoError(t, err)

	_, _, err = signer(t, keyB).Verify(KindOrganization, old)
	assert.ErrorIs(t, err, store.ErrInvalidToken, "a key removed from the list no longer verifies")
}

func TestNewSignerRejectsBadKeys(t *testing.T) {
	t.Parallel()
	_, err := NewSigner(nil)
	assert.ErrorIs(t, err, ErrNoKey)
	_, err = NewSigner([][]byte{keyA, keyA[:MinKeySize-1]})
	assert.ErrorIs(t, err, ErrShortKey)
}

func TestSignerCopiesKeys(t *testing.T) {
	t.Parallel()
	key := bytes.Clone(keyA)
	s := signer(t, key)
	tok := s.Sign(KindGuest, id, nonce)
	key[0] ^= 0xff
	_, _, err := s.Verify(KindGuest, tok)
	assert.NoError(t, err, "changing the caller's slice does not change the signer")
}

func TestNonce(t *testing.T) {
	t.Parallel()
	n, err := NewNonce(bytes.NewReader(bytes.Repeat([]byte{9}, 64)))
	require.NoError(t, err)
	assert.Equal(t, bytes.Repeat([]byte{9}, NonceSize), n)
	_, err = NewNonce(bytes.NewReader([]byte{1, 2}))
	assert.Error(t, err, "a short read is an error, not a short nonce")

	assert.True(t, NonceEqual(nonce, bytes.Clone(nonce)))
	assert.False(t, NonceEqual(nonce, []byte("0123456789abcdeX")))
	assert.False(t, NonceEqual(nil, nil), "a record without a nonce matches nothing")
}

func FuzzVerify(f *testing.F) {
	s, err := NewSigner([][]byte{keyA})
	require.NoError(f, err)
	f.Add(s.Sign(KindGuest, id, nonce))
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		gotID, gotNonce, err := s.Verify(KindGuest, tok)
		if err != nil {
			require.ErrorIs(t, err, store.ErrInvalidToken)
			return
		}
		// Only tokens this signer made verify.
		require.Equal(t, tok, s.Sign(KindGuest, gotID, gotNonce))
	})
}

// BenchmarkSign is the cost of a token, which every guest read pays once
// per invitation.
func BenchmarkSign(b *testing.B) {
	s, err := NewSigner([][]byte{bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Sign(KindGuest, id, nonce)
	}
}
