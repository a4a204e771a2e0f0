package httpadapter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/store"
)

// field builds one entry of an error's field list.
func field(name, message string) store.FieldError {
	return store.FieldError{Field: name, Message: message}
}

// parseUUID accepts only the canonical 36-character form, so one ID has
// one spelling in paths, headers and bodies.
func parseUUID(s string) (uuid.UUID, bool) {
	if len(s) != 36 {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(s)
	return id, err == nil
}

// pathUUID reads the path value name as a UUID.
func (x *exchange) pathUUID(name string) (uuid.UUID, error) {
	id, ok := parseUUID(x.r.PathValue(name))
	if !ok {
		return uuid.Nil, badRequest("the path's "+name+" is not a UUID", field(name, "must be a UUID"))
	}
	return id, nil
}

// isJSON reports whether a Content-Type names JSON: application/json or an
// application/*+json type.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}

var errNoBody = errors.New("httpadapter: empty body")

// readBody reads the whole body within the size limit; a larger body fails
// with an *http.MaxBytesError (413).
func (x *exchange) readBody() ([]byte, error) {
	limit := x.h.cfg.MaxBodyBytes
	if x.r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	b, err := io.ReadAll(http.MaxBytesReader(x.w, x.r.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, err
	}
	if err != nil {
		return nil, badRequest("the request body could not be read")
	}
	return b, nil
}

// decode reads the body, which must be one JSON object, into v. Unknown
// members are ignored, as both source APIs do.
func (x *exchange) decode(v any) error {
	if !isJSON(x.r.Header.Get("Content-Type")) {
		return newRequestError(probMediaType, "the request body must be JSON (Content-Type: application/json)")
	}
	b, err := x.readBody()
	if err != nil {
		return err
	}
	return unmarshalObject(b, v)
}

// decodeOptional is decode for routes whose body may be left out: an empty
// body leaves v alone and returns errNoBody.
func (x *exchange) decodeOptional(v any) error {
	b, err := x.readBody()
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return errNoBody
	}
	if !isJSON(x.r.Header.Get("Content-Type")) {
		return newRequestError(probMediaType, "the request body must be JSON (Content-Type: application/json)")
	}
	return unmarshalObject(b, v)
}

// unmarshalObject decodes b, which must hold exactly one JSON object of
// valid text (see checkText), into v, turning decoding errors into 400s
// that name the field at fault.
func unmarshalObject(b []byte, v any) error {
	if err := checkText(b); err != nil {
		return err
	}
	trimmed := bytes.TrimLeft(b, " \t\r\n")
	if len(trimmed) == 0 {
		return badRequest("a JSON object body is required")
	}
	if trimmed[0] != '{' {
		return badRequest("the request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("the request body has data after the JSON object")
	}
	return nil
}

// checkText refuses a body that is not valid UTF-8, or whose JSON string
// escapes name a lone UTF-16 surrogate (\ud800 without its pair):
// encoding/json replaces either with U+FFFD, so the services would see,
// and store, text the client never sent. Every JSON route reads its body
// through here, before decoding.
func checkText(b []byte) error {
	if !utf8.Valid(b) {
		return badRequest("the request body is not valid UTF-8")
	}
	const lone = "the request body's JSON escapes a lone UTF-16 surrogate, which is not a character"
	// A backslash occurs only inside strings in valid JSON; each escape
	// is skipped whole, so an escaped backslash never starts another.
	// Malformed escapes are left to the decoder to report.
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		r, ok := unicodeEscape(b[i:])
		if !ok {
			i++ // the escaped character
			continue
		}
		i += 5 // the last hex digit
		switch {
		case r >= 0xdc00 && r <= 0xdfff:
			return badRequest(lone)
		case r >= 0xd800 && r <= 0xdbff:
			low, ok := unicodeEscape(b[i+1:])
			if !ok || utf16.DecodeRune(r, low) == utf8.RuneError {
				return badRequest(lone)
			}
			i += 6
		}
	}
	return nil
}

// unicodeEscape decodes the \uXXXX escape at the start of b.
func unicodeEscape(b []byte) (rune, bool) {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[2:6]), 16, 16)
	if err != nil {
		return 0, false
	}
	return rune(n), true
}

// jsonError explains a json.Decoder error. Its messages describe only the
// client's own input, so they are safe to return.
func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		name := typeErr.Field
		if name == "" {
			name = "body"
		}
		msg := "must be " + jsonTypeName(typeErr.Type) + ", not " + typeErr.Value
		return badRequest("the field "+name+" has the wrong type", field(name, msg))
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return badRequest(fmt.Sprintf("the request body is not valid JSON (at byte %d): %v", syntaxErr.Offset, err))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return badRequest("the request body is truncated JSON")
	}
	return badRequest("the request body is not valid JSON")
}

// jsonTypeName names a Go type the way a JSON client thinks of it.
func jsonTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// parseTimeField parses an optional RFC 3339 body member, adding a field
// error to fields when it is malformed.
func parseTimeField(name string, s *string, fields *[]store.FieldError) *time.Time {
	if s == nil {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		*fields = append(*fields, field(name, "must be an RFC 3339 date-time such as 2030-01-02T15:04:05Z"))
		return nil
	}
	return &t
}

// parseUUIDField parses an optional UUID body member, adding a field error
// to fields when it is malformed.
func parseUUIDField(name string, s *string, fields *[]store.FieldError) *uuid.UUID {
	if s == nil {
		return nil
	}
	id, ok := parseUUID(*s)
	if !ok {
		*fields = append(*fields, field(name, "must be a UUID"))
		return nil
	}
	return &id
}

// query reads the query parameters of a request. It collects two kinds of
// fault: syntax errors (a number or boolean that does not parse), answered
// 400, and values that parse but the adapter itself refuses (a limit of 0,
// an empty search), answered 422 together with the domain's verdict on the
// other values (see invalidRequest). Either way no list runs.
type query struct {
	values  map[string][]string
	fields  []store.FieldError
	invalid []store.FieldError
}

// query reads the request's query string. One that does not parse (a
// malformed escape such as %zz, a ';' separator) is a syntax error,
// answered 400 with url.ParseQuery's reason, never silently cut down to
// the pairs that parse, as URL.Query would. Every route that reads its
// query reads it here.
func (x *exchange) query() *query {
	values, err := url.ParseQuery(x.r.URL.RawQuery)
	q := &query{values: values}
	if err != nil {
		// The reason quotes at most a three-byte escape of the client's
		// own query: safe to return.
		q.fields = append(q.fields, field("query", "is not a well-formed query string: "+err.Error()))
	}
	return q
}

// str returns the parameter's first value and whether it was given.
func (q *query) str(name string) (string, bool) {
	v, ok := q.values[name]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// int returns the parameter as an integer and whether it was given. An
// integer too large for int is clamped to the largest one of its sign, a
// value the services' range checks refuse (or, for an offset, one past
// every record), not a syntax error: it is a well-formed number.
func (q *query) int(name string) (int, bool) {
	s, ok := q.str(name)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	var numErr *strconv.NumError
	if errors.As(err, &numErr) && errors.Is(numErr.Err, strconv.ErrRange) {
		return n, true
	}
	if err != nil {
		q.fields = append(q.fields, field(name, "must be an integer"))
		return 0, true
	}
	return n, true
}

// limit returns the page size parameter and whether it was given. The
// services read a zero limit as "not given", so an explicit limit=0,
// outside the documented 1 to most, is refused here.
func (q *query) limit(most int) (int, bool) {
	parsed := len(q.fields)
	n, given := q.int("limit")
	if given && n == 0 && len(q.fields) == parsed {
		q.invalid = append(q.invalid, field("limit", fmt.Sprintf("must be 1 to %d", most)))
	}
	return n, given
}

// bool returns the parameter as a boolean, nil when absent.
func (q *query) bool(name string) *bool {
	s, ok := q.str(name)
	if !ok {
		return nil
	}
	var b bool
	switch s {
	case "true":
		b = true
	case "false":
	default:
		q.fields = append(q.fields, field(name, "must be true or false"))
		return nil
	}
	return &b
}

// err returns the syntax errors found, or nil.
func (q *query) err() error {
	if len(q.fields) == 0 {
		return nil
	}
	// The detail repeats the reasons for clients that read only it (the
	// organization routes' "error").
	msgs := make([]string, len(q.fields))
	for i, f := range q.fields {
		msgs[i] = f.Field + " " + f.Message
	}
	return badRequest("malformed query parameters: "+strings.Join(msgs, "; "), q.fields...)
}
