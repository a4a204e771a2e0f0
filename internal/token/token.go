// Package token signs and verifies invitation tokens.
//
// A token is base64url(kind || id || nonce || HMAC-SHA256(key, kind || id ||
// nonce)). Only the nonce is stored with the invitation, so a token can be
// derived again on every read but a copy of the database yields no usable
// token; replacing the nonce kills every earlier token.
package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/google/uuid"
	"github.com/invitekit/invitekit/store"
)

// Kind tells what a token is for, so a token of one kind never verifies as
// another.
type Kind byte

// Token kinds.
const (
	KindOrganization Kind = 1
	KindGuest        Kind = 2
	KindLink         Kind = 3
)

const (
	// NonceSize is the length of the random nonce stored with an invitation.
	NonceSize = 16
	// MinKeySize is the shortest signing key accepted.
	MinKeySize = 32

	macSize = sha256.Size
	bodyLen = 1 + 16 + NonceSize
	rawLen  = bodyLen + macSize
)

// Errors. Verification fails with store.ErrInvalidToken.
var (
	// ErrNoKey reports a signer built without a key.
	ErrNoKey = errors.New("invitekit: a token signing key is required")

	// ErrShortKey reports a signing key shorter than MinKeySize bytes.
	ErrShortKey = fmt.Errorf("invitekit: token signing keys must be at least %d bytes", MinKeySize)
)

var encoding = base64.RawURLEncoding.Strict()

// Signer signs with its first key and verifies with any of its keys, so keys
// can be rotated without invalidating tokens already sent.
type Signer struct {
	keys [][]byte
	// macs keeps, per key, HMACs ready to Reset: hmac.New allocates its
	// two hash states and pads, six allocations a token, which a guest
	// list pays once per invitation it shows.
	macs []sync.Pool
}

// NewSigner returns a Signer for keys; keys[0] signs. Every key must be at
// least MinKeySize bytes.
func NewSigner(keys [][]byte) (*Signer, error) {
	if len(keys) == 0 {
		return nil, ErrNoKey
	}
	s := &Signer{keys: make([][]byte, len(keys)), macs: make([]sync.Pool, len(keys))}
	for i, k := range keys {
		if len(k) < MinKeySize {
			return nil, fmt.Errorf("key %d has %d bytes: %w", i, len(k), ErrShortKey)
		}
		key := append([]byte(nil), k...)
		s.keys[i] = key
		s.macs[i].New = func() any { return hmac.New(sha256.New, key) }
	}
	return s, nil
}

// Sign returns the token for an invitation of kind with id and nonce.
func (s *Signer) Sign(kind Kind, id uuid.UUID, nonce []byte) string {
	raw := make([]byte, 0, rawLen)
	raw = appendBody(raw, kind, id, nonce)
	raw = s.appendMAC(raw, 0, raw)
	return encoding.EncodeToString(raw)
}

// Verify checks tok and returns the invitation ID and nonce it names. The
// caller must still load the invitation and compare its stored nonce with
// NonceEqual. Every failure is store.ErrInvalidToken.
func (s *Signer) Verify(kind Kind, tok string) (uuid.UUID, []byte, error) {
	if encoding.DecodedLen(len(tok)) != rawLen {
		return uuid.Nil, nil, store.ErrInvalidToken
	}
	// Strict: the unused low bits of the last character must be zero, or
	// several strings would decode to one token.
	raw, err := encoding.DecodeString(tok)
	if err != nil || len(raw) != rawLen {
		return uuid.Nil, nil, store.ErrInvalidToken
	}
	body, mac := raw[:bodyLen], raw[bodyLen:]
	ok := false
	var sum [macSize]byte
	for i := range s.keys {
		// Check every key, so the time taken does not tell which one matched.
		if hmac.Equal(mac, s.appendMAC(sum[:0], i, body)) {
			ok = true
		}
	}
	if !ok || Kind(body[0]) != kind {
		return uuid.Nil, nil, store.ErrInvalidToken
	}
	id, err := uuid.FromBytes(body[1:17])
	if err != nil {
		return uuid.Nil, nil, store.ErrInvalidToken
	}
	return id, append([]byte(nil), body[17:]...), nil
}

// NonceEqual compares a presented nonce with the stored one in constant time.
func NonceEqual(presented, stored []byte) bool {
	return len(stored) == NonceSize && hmac.Equal(presented, stored)
}

// NewNonce reads a fresh nonce from r.
func NewNonce(r io.Reader) ([]byte, error) {
	n := make([]byte, NonceSize)
	if _, err := io.ReadFull(r, n); err != nil {
		return nil, fmt.Errorf("invitekit: read token nonce: %w", err)
	}
	return n, nil
}

func appendBody(dst []byte, kind Kind, id uuid.UUID, nonce []byte) []byte {
	dst = append(dst, byte(kind))
	dst = append(dst, id[:]...)
	return append(dst, nonce...)
}

// appendMAC appends the MAC of body under key i to dst.
func (s *Signer) appendMAC(dst []byte, i int, body []byte) []byte {
	m := s.macs[i].Get().(hash.Hash)
	m.Reset()
	m.Write(body)
	dst = m.Sum(dst)
	s.macs[i].Put(m)
	return dst
}
