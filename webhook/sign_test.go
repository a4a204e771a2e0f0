package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/webhook"
)

// The test vector of the Standard Webhooks reference libraries
// (github.com/standard-webhooks/standard-webhooks,
// libraries/go/webhook_test.go, TestWebhookSign).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func mustSecret(t testing.TB, s string) webhook.Secret {
	t.Helper()
	secret, err := webhook.ParseSecret(s)
	require.NoError(t, err)
	return secret
}

func TestSignMatchesSpecVector(t *testing.T) {
	t.Parallel()
	secret := mustSecret(t, vectorSecret)
	got := webhook.Sign(secret, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody))
	assert.Equal(t, vectorSignature, got)

	h := headers(vectorID, vectorTimestamp, vectorSignature)
	assert.NoError(t, webhook.Verify(secret, h, []byte(vectorBody), time.Unix(vectorTimestamp, 0)))
}

func headers(id string, unix int64, sig string) http.Header {
	h := http.Header{}
	h.Set(webhook.HeaderID, id)
	h.Set(webhook.HeaderTimestamp, strconv.FormatInt(unix, 10))
	h.Set(webhook.HeaderSignature, sig)
	return h
}

func TestParseSecret(t *testing.T) {
	t.Parallel()
	key24 := base64.StdEncoding.EncodeToString(make([]byte, 24))
	key23 := base64.StdEncoding.EncodeToString(make([]byte, 23))
	tests := []struct {
		in, problem string
	}{
		{vectorSecret, ""},
		{"whsec_" + key24, ""},
		{"whsec_" + key23, "23 bytes, at least 24"},
		{key24, `must start with "whsec_"`},
		{"", `must start with "whsec_"`},
		{"whsec_", "0 bytes"},
		{"whsec_not base64!!", "not standard base64"},
		{"whsec_" + strings.TrimRight(base64.URLEncoding.EncodeToString(make([]byte, 30)), "=") + "-_", "not standard base64"},
	}
	for _, tt := range tests {
		secret, err := webhook.ParseSecret(tt.in)
		if tt.problem == "" {
			assert.NoError(t, err, tt.in)
			assert.False(t, secret.IsZero())
			continue
		}
		assert.ErrorIs(t, err, webhook.ErrInvalidSecret, tt.in)
		assert.ErrorContains(t, err, tt.problem, tt.in)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	secret := mustSecret(t, vectorSecret)
	assert.Equal(t, "whsec_[redacted]", secret.String())

	generated := webhook.GenerateSecret()
	_, err := webhook.ParseSecret(generated)
	assert.NoError(t, err)
	assert.NotEqual(t, generated, webhook.GenerateSecret())
}

func TestVerify(t *testing.T) {
	t.Parallel()
	secret := mustSecret(t, vectorSecret)
	other := mustSecret(t, webhook.GenerateSecret())
	body := []byte(`{"id":"x"}`)
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	sign := func(s webhook.Secret, at time.Time) http.Header {
		return headers("evt_1", at.Unix(), webhook.Sign(s, "evt_1", at, body))
	}
	with := func(h http.Header, key, value string) http.Header {
		h = h.Clone()
		if value == "" {
			h.Del(key)
		} else {
			h.Set(key, value)
		}
		return h
	}
	good := sign(secret, now)
	tests := []struct {
		name string
		h    http.Header
		body []byte
		want error
	}{
		{"valid", good, body, nil},
		{"at the edge of the past", sign(secret, now.Add(-webhook.DefaultTolerance)), body, nil},
		{"at the edge of the future", sign(secret, now.Add(webhook.DefaultTolerance)), body, nil},
		{"too old", sign(secret, now.Add(-webhook.DefaultTolerance-time.Second)), body, webhook.ErrTimestamp},
		{"too far ahead", sign(secret, now.Add(webhook.DefaultTolerance+time.Second)), body, webhook.ErrTimestamp},
		{"tampered body", good, []byte(`{"id":"y"}`), webhook.ErrSignature},
		{"wrong secret", sign(other, now), body, webhook.ErrSignature},
		{"other id", with(good, webhook.HeaderID, "evt_2"), body, webhook.ErrSignature},
		{"one of many", with(good, webhook.HeaderSignature,
			"v1a,aGk= v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=  "+good.Get(webhook.HeaderSignature)+" v2,x"), body, nil},
		{"none of many", with(good, webhook.HeaderSignature, "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1,"), body, webhook.ErrSignature},
		{"right MAC, wrong version", with(good, webhook.HeaderSignature, "v2"+strings.TrimPrefix(good.Get(webhook.HeaderSignature), "v1")), body, webhook.ErrSignature},
		{"no id", with(good, webhook.HeaderID, ""), body, webhook.ErrMissingHeaders},
		{"no timestamp", with(good, webhook.HeaderTimestamp, ""), body, webhook.ErrMissingHeaders},
		{"no signature", with(good, webhook.HeaderSignature, ""), body, webhook.ErrMissingHeaders},
		{"timestamp in milliseconds", with(good, webhook.HeaderTimestamp, strconv.FormatInt(now.UnixMilli(), 10)), body, webhook.ErrTimestamp},
		{"signed timestamp", with(good, webhook.HeaderTimestamp, "+"+strconv.FormatInt(now.Unix(), 10)), body, webhook.ErrTimestamp},
		{"garbage timestamp", with(good, webhook.HeaderTimestamp, "soon"), body, webhook.ErrTimestamp},
		{"huge timestamp", with(good, webhook.HeaderTimestamp, strings.Repeat("9", 40)), body, webhook.ErrTimestamp},
		{"garbage signature", with(good, webhook.HeaderSignature, "v1,%%%"), body, webhook.ErrSignature},
		// The signed content is the header's text: a sender that pads
		// the number signs the padding.
		{"padded timestamp, signed as sent", headers2("evt_1", "0"+strconv.FormatInt(now.Unix(), 10),
			rawSign(t, vectorSecret, "evt_1", "0"+strconv.FormatInt(now.Unix(), 10), body)), body, nil},
		{"padded timestamp, signed unpadded", with(good, webhook.HeaderTimestamp, "0"+strconv.FormatInt(now.Unix(), 10)), body, webhook.ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := webhook.Verify(secret, tt.h, tt.body, now)
			if tt.want == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tt.want)
			}
		})
	}
}

func TestVerifierTolerance(t *testing.T) {
	t.Parallel()
	secret := mustSecret(t, vectorSecret)
	body := []byte(vectorBody)
	h := headers(vectorID, vectorTimestamp, vectorSignature)
	signed := time.Unix(vectorTimestamp, 0)
	v := webhook.Verifier{Secret: secret, Tolerance: time.Hour}

	assert.NoError(t, v.Verify(h, body, signed.Add(time.Hour)))
	assert.ErrorIs(t, v.Verify(h, body, signed.Add(time.Hour+time.Second)), webhook.ErrTimestamp)
	assert.ErrorIs(t, webhook.Verifier{}.Verify(h, body, signed), webhook.ErrSignature, "no secret verifies nothing")
}

// FuzzVerify: garbage never panics, and never verifies unless it carries
// the true signature.
func FuzzVerify(f *testing.F) {
	f.Add(vectorID, strconv.Itoa(vectorTimestamp), vectorSignature, []byte(vectorBody))
	f.Add("", "", "", []byte(nil))
	f.Add("a.b", "-1", "v1, v1,,, ,v1", []byte("x"))
	f.Add("id", "999999999999", "v1,====", []byte("{}"))
	secret := mustSecret(f, vectorSecret)
	now := time.Unix(vectorTimestamp, 0)
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{webhook.HeaderID: {id}, webhook.HeaderTimestamp: {ts}, webhook.HeaderSignature: {sig}}
		if webhook.Verify(secret, h, body, now) != nil {
			return
		}
		unix, err := strconv.ParseInt(ts, 10, 64)
		require.NoError(t, err)
		assert.Contains(t, strings.Fields(sig), webhook.Sign(secret, id, time.Unix(unix, 0), body))
	})
}

// headers2 is headers with the timestamp as text.
func headers2(id, ts, sig string) http.Header {
	h := http.Header{}
	h.Set(webhook.HeaderID, id)
	h.Set(webhook.HeaderTimestamp, ts)
	h.Set(webhook.HeaderSignature, sig)
	return h
}

// rawSign signs "id.ts.body" with the key of secret, independently of the
// package.
func rawSign(t *testing.T, secret, id, ts string, body []byte) string {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	require.NoError(t, err)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}
