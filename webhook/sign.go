package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names, as the specification spells them.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// secretPrefix marks a symmetric Standard Webhooks secret.
const secretPrefix = "whsec_"

// MinSecretLen is the shortest secret, in decoded bytes, that the
// specification allows.
const MinSecretLen = 24

// DefaultTolerance is how far a webhook's timestamp may be from the
// receiver's clock, either way, before Verify refuses it as a replay.
const DefaultTolerance = 5 * time.Minute

// Errors of ParseSecret and Verify, for errors.Is. Verify's errors say
// which check failed, which is safe: a receiver learns nothing about the
// secret from them.
var (
	ErrInvalidSecret  = errors.New("webhook: invalid secret")
	ErrMissingHeaders = errors.New("webhook: missing headers")
	ErrTimestamp      = errors.New("webhook: timestamp outside tolerance")
	ErrSignature      = errors.New("webhook: no matching signature")
)

// Secret is a webhook signing key. Its String hides the key, so it may be
// logged by mistake without leaking.
type Secret struct {
	key []byte
}

// ParseSecret decodes "whsec_" followed by the standard base64 of at least
// MinSecretLen random bytes.
func ParseSecret(s string) (Secret, error) {
	enc, ok := strings.CutPrefix(s, secretPrefix)
	if !ok {
		return Secret{}, fmt.Errorf("%w: it must start with %q", ErrInvalidSecret, secretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return Secret{}, fmt.Errorf("%w: the part after %q is not standard base64", ErrInvalidSecret, secretPrefix)
	}
	if len(key) < MinSecretLen {
		return Secret{}, fmt.Errorf("%w: %d bytes, at least %d are required", ErrInvalidSecret, len(key), MinSecretLen)
	}
	return Secret{key: key}, nil
}

// GenerateSecret returns a new random secret of 32 bytes in the form
// ParseSecret reads, to give to a receiver.
func GenerateSecret() string {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never fails (crypto/rand since Go 1.24)
	return secretPrefix + base64.StdEncoding.EncodeToString(key)
}

// IsZero reports whether s holds no key: the zero Secret, never a parsed one.
func (s Secret) IsZero() bool { return len(s.key) == 0 }

// String returns "whsec_[redacted]", never the key.
func (s Secret) String() string { return secretPrefix + "[redacted]" }

// Sign returns the webhook-signature value for a message: "v1," and the
// base64 HMAC-SHA256 of "id.timestamp.body", timestamp in Unix seconds.
func Sign(secret Secret, id string, timestamp time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(secret, id, strconv.FormatInt(timestamp.Unix(), 10), body))
}

// mac signs the timestamp as the header spells it: the signed content is
// the header's text, whatever number it denotes.
func mac(secret Secret, id, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, secret.key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write([]byte(timestamp))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a received webhook with DefaultTolerance: see
// Verifier.Verify.
func Verify(secret Secret, h http.Header, body []byte, now time.Time) error {
	return Verifier{Secret: secret}.Verify(h, body, now)
}

// Verifier checks received webhooks.
type Verifier struct {
	Secret Secret
	// Tolerance is how far the timestamp may be from now, either way;
	// DefaultTolerance when zero.
	Tolerance time.Duration
}

// Verify checks that h carries the three webhook headers, that the
// timestamp is within the tolerance of now (either way, so a captured
// request cannot be replayed later, nor one signed ahead of time), and that
// one of the space-separated signatures is a v1 signature of body by the
// secret. It fails with ErrMissingHeaders, ErrTimestamp or ErrSignature.
// body must be the raw request body: re-encoded JSON does not verify.
func (v Verifier) Verify(h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || ts == "" || sigs == "" {
		return ErrMissingHeaders
	}
	unix, err := parseUnix(ts)
	if err != nil {
		return err
	}
	tolerance := v.Tolerance
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: %s is %v from now", ErrTimestamp, ts, d.Round(time.Second))
	}
	if v.Secret.IsZero() {
		return fmt.Errorf("%w: no secret to verify with", ErrSignature)
	}
	want := mac(v.Secret, id, ts, body)
	for _, sig := range strings.Fields(sigs) {
		version, enc, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue // another scheme (v1a) or garbage: not ours to judge
		}
		got, err := base64.StdEncoding.DecodeString(enc)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrSignature
}

// parseUnix reads a webhook-timestamp: decimal seconds, digits only.
func parseUnix(s string) (int64, error) {
	// 12 digits reach past the year 30000, and keep ParseInt in range.
	if len(s) > 12 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%w: not Unix seconds", ErrTimestamp)
	}
	return strconv.ParseInt(s, 10, 64)
}
