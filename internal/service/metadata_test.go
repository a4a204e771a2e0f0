package service_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/invitekit/invitekit/internal/service"
)

func TestMetadataKeepsObjectsCompact(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		` { "b" : 1 ,"a":[ 1 , {"x" : "y z"} ] } `: `{"b":1,"a":[1,{"x":"y z"}]}`,
		`{"n":12345678901234567890.5e3}`:           `{"n":12345678901234567890.5e3}`,
		`{"s":"\u00e9\n\"\/"}`:                     `{"s":"\u00e9\n\"\/"}`,
		// As encoding/json writes them, so that they come back the same
		// from every encoder on the way.
		"{\"h\":\"<b>&\u2028\"}": `{"h":"\u003cb\u003e\u0026\u2028"}`,
		`{}`:                     `{}`,
		// The same name in two objects is two members.
		`{"a":{"id":1},"b":{"id":2},"c":[{"id":3},{"id":4}]}`: `{"a":{"id":1},"b":{"id":2},"c":[{"id":3},{"id":4}]}`,
		// A string value equal to a name is a value.
		`{"a":"a","b":["a","a"]}`: `{"a":"a","b":["a","a"]}`,
	} {
		got, err := service.Metadata(json.RawMessage(in))
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, string(got), in)
		}
	}
	for _, none := range []string{"", "  ", "null", " null "} {
		got, err := service.Metadata(json.RawMessage(none))
		assert.NoError(t, err, none)
		assert.Nil(t, got, "%q is no metadata", none)
	}
}

func TestMetadataBound(t *testing.T) {
	t.Parallel()
	// {"a":"…"} is 8 bytes around the string.
	exactly := `{"a":"` + strings.Repeat("x", service.MaxMetadataBytes-8) + `"}`
	_, err := service.Metadata(json.RawMessage(exactly))
	assert.NoError(t, err, "exactly the bound")
	over := `{"a":"` + strings.Repeat("x", service.MaxMetadataBytes-7) + `"}`
	_, err = service.Metadata(json.RawMessage(over))
	assert.ErrorContains(t, err, "at most 4096 bytes")
	spaced := `{"a":` + strings.Repeat(" ", 100) + `"` + strings.Repeat("x", service.MaxMetadataBytes-8) + `"}`
	_, err = service.Metadata(json.RawMessage(spaced))
	assert.NoError(t, err, "whitespace between tokens does not count")
}

func TestMetadataRefuses(t *testing.T) {
	t.Parallel()
	for in, msg := range map[string]string{
		`[1]`:                         "must be a JSON object",
		`"x"`:                         "must be a JSON object",
		`1`:                           "must be a JSON object",
		`{"a":}`:                      "must be a JSON object",
		`{"a":1}{"b":2}`:              "must be a JSON object",
		`{"a":1,"a":2}`:               `names the member "a" twice`,
		`{"x":{"b":[{"c":1,"c":1}]}}`: `names the member "c" twice`,
		"{\"a\":\"\xff\"}":            "valid UTF-8",
	} {
		_, err := service.Metadata(json.RawMessage(in))
		assert.ErrorContains(t, err, msg, in)
	}
}
