package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// MaxMetadataBytes bounds an invitation's metadata: its compact JSON
// encoding.
const MaxMetadataBytes = 4096

// Metadata checks raw as an invitation's metadata and returns it in the
// form every store keeps byte for byte: as encoding/json writes it,
// compact and with <, >, &, U+2028 and U+2029 escaped, so that the same
// bytes come back from a store, in an API response and in an event,
// whoever encodes them again. raw must be a JSON object of valid UTF-8
// text, at most MaxMetadataBytes once compacted (before those escapes),
// that names no member twice in one object (which member would win is up
// to each reader). An empty raw or JSON null is no metadata, nil.
// Otherwise it returns what is wrong, in words for the caller.
func Metadata(raw json.RawMessage) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return nil, nil
	}
	if !utf8.Valid(trimmed) {
		return nil, errors.New("must be valid UTF-8 text")
	}
	if trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, errors.New("must be a JSON object")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, trimmed); err != nil {
		return nil, errors.New("must be a JSON object")
	}
	if compact.Len() > MaxMetadataBytes {
		return nil, fmt.Errorf("must be at most %d bytes of compact JSON, is %d", MaxMetadataBytes, compact.Len())
	}
	if name, dup := duplicateName(compact.Bytes()); dup {
		return nil, fmt.Errorf("names the member %q twice in one object", name)
	}
	var out bytes.Buffer
	json.HTMLEscape(&out, compact.Bytes())
	return out.Bytes(), nil
}

// duplicateName reports the first member name that one object of the
// valid JSON b names twice.
func duplicateName(b []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	// Each open object's names, and whether the next string token in it
	// is a name (not a value).
	type object struct {
		names  map[string]bool
		atName bool
	}
	var stack []*object
	for {
		tok, err := dec.Token()
		if err != nil {
			// io.EOF: b is valid, so nothing else can end it.
			return "", false
		}
		var top *object
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				if top != nil {
					top.atName = true // after this value, a name
				}
				stack = append(stack, &object{names: map[string]bool{}, atName: true})
			case '[':
				if top != nil {
					top.atName = true
				}
				stack = append(stack, nil)
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		case string:
			if top != nil && top.atName {
				if top.names[v] {
					return v, true
				}
				top.names[v] = true
				top.atName = false
				continue
			}
		}
		if top != nil {
			top.atName = true
		}
	}
}
