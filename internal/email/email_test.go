package email

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"  Alice@Example.COM ": "alice@example.com",
		"a@b":                  "a@b",
		"first.last+tag@x.io":  "first.last+tag@x.io",
	}
	for in, want := range good {
		got, err := Normalize(in, 3, 254)
		require.NoError(t, err, in)
		assert.Equal(t, want, got)
	}
	bad := []string{
		"", "ab", "no-at-sign", "Alice <alice@example.com>", "<alice@example.com>",
		"a@b@c", "two words@example.com", strings.Repeat("a", 250) + "@b.cd",
		"alice@example.com, bob@example.com",
		"\xff@example.com", "a@exam\xffple.com", "a\x00b@example.com",
	}
	for _, in := range bad {
		_, err := Normalize(in, 3, 254)
		assert.Error(t, err, "%q", in)
	}
}
