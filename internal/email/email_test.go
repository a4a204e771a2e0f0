package email

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizeAccepts(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"  Alice@Example.COM ":          "alice@example.com",
		"first.last+tag@x.io":           "first.last+tag@x.io",
		"ADA@EXAMPLE.COM":               "ada@example.com",
		"o'brien@sub.example.co.uk":     "o'brien@sub.example.co.uk",
		"user@a-b.example":              "user@a-b.example",
		"user@123.example":              "user@123.example",
		"jos\u00e9@example.com":         "jos\u00e9@example.com", // NFC é
		"JOS\u00c9@Example.com":         "jos\u00e9@example.com", // É lowercases to é, still NFC
		"\u00fc@xn--bcher-kva.de":       "\u00fc@xn--bcher-kva.de",
		"\u7528\u6237@example.com":      "\u7528\u6237@example.com",
		"\u0394\u03b9\u03ba@example.gr": "\u03b4\u03b9\u03ba@example.gr",
		"stra\u00dfe@example.de":        "stra\u00dfe@example.de",
		"\u00a0ada@example.com\u00a0":   "ada@example.com", // trimmed, as ASCII space is
	}
	for in, want := range good {
		got, err := Normalize(in, 3, 254, Policy{})
		require.NoError(t, err, "%q", in)
		assert.Equal(t, want, got, "%q", in)
	}
}

func TestNormalizeRefuses(t *testing.T) {
	t.Parallel()
	bad := map[string]string{
		// Syntax and length.
		"":                                   "characters",
		"ab":                                 "characters",
		"no-at-sign":                         "valid email address",
		"Alice <alice@example.com>":          "valid email address",
		"<alice@example.com>":                "valid email address",
		"a@b@c.example":                      "valid email address",
		"two words@example.com":              "valid email address",
		`"quoted"@example.com`:               "valid email address",
		strings.Repeat("a", 400) + "@b.cd":   "characters",
		"alice@example.com, bob@example.com": "valid email address",
		// Broken text.
		"\xff@example.com":         "UTF-8",
		"a@exam\xffple.com":        "UTF-8",
		"\xff\xfe@example.com":     "UTF-8",
		"\ufffd\ufffd@example.com": "U+FFFD",
		// Invisible, control and space characters.
		"ada@example.com\u200b": "invisible",
		"ada\u200b@example.com": "invisible",
		"a\u200cda@example.com": "invisible",
		"a\u200dda@example.com": "invisible",
		"ada\u2060@example.com": "invisible",
		"\ufeffada@example.com": "invisible",
		"ad\u00ada@example.com": "invisible", // soft hyphen
		"ada\ufe0f@example.com": "invisible", // variation selector
		"ada\u3164@example.com": "invisible", // Hangul filler
		"a\u202eda@example.com": "invisible", // right-to-left override
		"a\x00b@example.com":    "control",
		"a\tb@example.com":      "control",
		"a\u0085b@example.com":  "control",
		"a\u00a0b@example.com":  "spaces",
		"a\u3000b@example.com":  "spaces",
		"a\u2028b@example.com":  "spaces",
		"a\ue000b@example.com":  "characters such as", // private use
		// Not NFC, and case mappings that cross into ASCII.
		"\u212aate@example.com":     "Normalization Form C", // Kelvin sign
		"jose\u0301@example.com":    "Normalization Form C", // e + combining acute
		"\u212bngstr@example.com":   "Normalization Form C", // Angstrom sign
		"\u0130stanbul@example.com": "lowercase",            // İ lowercases to i
		// Compatibility characters: another spelling of a plain one.
		"a\uff20example.com@evil.com": "compatibility", // fullwidth @ hides the real one
		"\uff41da@example.com":        "compatibility", // fullwidth a
		"\uff21DA@example.com":        "compatibility", // fullwidth A, lowercased still fullwidth
		"\ufb01le@example.com":        "compatibility", // fi ligature
		"\u017fam@example.com":        "compatibility", // long s
		// Domains.
		"user@[127.0.0.1]":                      "address literal",
		"user@[IPv6:2001:db8::1]":               "address literal",
		"a@-b.c":                                "hyphen",
		"a@b-.c":                                "hyphen",
		"a@b.c-":                                "hyphen",
		"a@b..c":                                "valid email address",
		"user@localhost":                        "localhost",
		"user@LOCALHOST":                        "localhost",
		"user@mail.localhost":                   "localhost",
		"a@b":                                   "fully qualified",
		"user@127.0.0.1":                        "IP address",
		"user@1.2.3.4":                          "IP address",
		"user@b\u00fccher.de":                   "xn--",
		"user@ex_ample.com":                     "letters, digits",
		"u@" + strings.Repeat("a", 64) + ".com": "63",
		"u@" + strings.Repeat(strings.Repeat("a", 60)+".", 5) + "com": "253",
	}
	for in, want := range bad {
		_, err := Normalize(in, 3, 400, Policy{})
		if assert.Error(t, err, "%q", in) {
			assert.Contains(t, err.Error(), want, "%q", in)
			if in != "" {
				assert.NotContains(t, err.Error(), in, "the message does not repeat the input")
			}
		}
	}
}

// TestNormalizeLookAlikes: of inputs that look the same, at most one is an
// address, so at most one invitation can be open for what a reader sees as
// one address.
func TestNormalizeLookAlikes(t *testing.T) {
	t.Parallel()
	for _, group := range [][]string{
		{"ada@example.com", "ada@example.com\u200b", "ada\u200b@example.com", "ADA@EXAMPLE.COM"},
		{"kate@example.com", "\u212aate@example.com", "Kate@example.com"},
		{"jos\u00e9@example.com", "jose\u0301@example.com"},
		{"ada@example.com", "\uff41da@example.com", "\uff21da@example.com"},
		{"sam@example.com", "\u017fam@example.com"},
	} {
		seen := map[string]bool{}
		for _, in := range group {
			if got, err := Normalize(in, 3, 254, Policy{}); err == nil {
				seen[got] = true
			}
		}
		assert.Len(t, seen, 1, "%q", group)
	}
}

func TestPolicyRelaxations(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in     string
		policy Policy
		want   string
	}{
		{"a@intranet", Policy{AllowSingleLabelDomain: true}, "a@intranet"},
		{"A@B", Policy{AllowSingleLabelDomain: true}, "a@b"},
		{"user@localhost", Policy{AllowLocalhost: true}, "user@localhost"},
		{"user@mail.localhost", Policy{AllowLocalhost: true}, "user@mail.localhost"},
		{"user@[127.0.0.1]", Policy{AllowAddressLiteral: true}, "user@[127.0.0.1]"},
		{"user@[IPv6:2001:DB8::1]", Policy{AllowAddressLiteral: true}, "user@[ipv6:2001:db8::1]"},
	}
	for _, c := range cases {
		_, err := Normalize(c.in, 3, 254, Policy{})
		assert.Error(t, err, "%q is refused by default", c.in)
		got, err := Normalize(c.in, 3, 254, c.policy)
		require.NoError(t, err, "%q with %+v", c.in, c.policy)
		assert.Equal(t, c.want, got)
	}
	// Each relaxation allows only its own case, and never the character
	// rules.
	for in, p := range map[string]Policy{
		"user@localhost":             {AllowSingleLabelDomain: true},
		"user@[127.0.0.1]":           {AllowSingleLabelDomain: true, AllowLocalhost: true},
		"a@b":                        {AllowLocalhost: true, AllowAddressLiteral: true},
		"user@127.0.0.1":             {AllowSingleLabelDomain: true, AllowLocalhost: true, AllowAddressLiteral: true},
		"user@[ipv6:2001:db8:0::1]":  {AllowAddressLiteral: true}, // not canonical
		"user@[ipv6:127.0.0.1]":      {AllowAddressLiteral: true},
		"user@[::1]":                 {AllowAddressLiteral: true},
		"user@[ipv6:fe80::1%25eth0]": {AllowAddressLiteral: true},
		"user@[999.0.0.1]":           {AllowAddressLiteral: true},
		"user@-intranet":             {AllowSingleLabelDomain: true},
		"user\u200b@intranet":        {AllowSingleLabelDomain: true},
		"\u212aate@intranet":         {AllowSingleLabelDomain: true},
		"user@123":                   {AllowSingleLabelDomain: true},
	} {
		_, err := Normalize(in, 3, 254, p)
		assert.Error(t, err, "%q with %+v", in, p)
	}
}

// FuzzNormalize checks the promises of Normalize on any input: no panic,
// and an accepted address is valid UTF-8, NFC, lowercase, within the
// bounds, and a fixed point.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"ada@example.com", "\u212aate@example.com", "a\uff20b.com@example.com", "jos\u00e9@example.com", "a@[127.0.0.1]", "a@b", "\xff@x.y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range []Policy{{}, {AllowSingleLabelDomain: true, AllowLocalhost: true, AllowAddressLiteral: true}} {
			got, err := Normalize(s, 3, 254, p)
			if err != nil {
				continue
			}
			again, err := Normalize(got, 3, 254, p)
			require.NoError(t, err, "%q: the normal form is accepted", got)
			assert.Equal(t, got, again, "normalising is idempotent")
			assert.Equal(t, strings.ToLower(got), got)
		}
	})
}
