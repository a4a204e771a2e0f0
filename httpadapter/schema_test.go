package httpadapter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// oaDoc is the parsed OpenAPI document, with the small JSON Schema checker
// the tests validate real responses with: type (with type arrays for
// null), required, properties, enum, format uuid and date-time, items,
// minLength, maxLength, minimum, maximum, anyOf and $ref, and responses
// by status or by status range (4XX). It is stricter than
// JSON Schema in one way: an object member the schema's properties do not
// name is an error, so the document cannot fall behind the responses.
type oaDoc struct {
	root map[string]any
	// lenient allows members the schema does not name, and lets an
	// application/*+json response match a documented application/json
	// one: how a client generated from someone else's document reads our
	// responses.
	lenient bool
}

var (
	docOnce   sync.Once
	sharedDoc *oaDoc
	docErr    error
)

func loadDoc(t testing.TB) *oaDoc {
	t.Helper()
	docOnce.Do(func() {
		var root map[string]any
		docErr = json.Unmarshal(openAPIJSON, &root)
		sharedDoc = &oaDoc{root: root}
	})
	require.NoError(t, docErr)
	return sharedDoc
}

func (d *oaDoc) paths() map[string]any { return obj(d.root["paths"]) }

// obj returns v as a JSON object, nil when it is not one.
func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// resolve follows a local $ref such as #/components/schemas/Invitation.
func (d *oaDoc) resolve(ref string) (map[string]any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("unsupported $ref %q", ref)
	}
	var node any = d.root
	for _, part := range strings.Split(ref[2:], "/") {
		m, ok := node.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q: %q is not in an object", ref, part)
		}
		if node, ok = m[part]; !ok {
			return nil, fmt.Errorf("$ref %q: no %q", ref, part)
		}
	}
	m, ok := node.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("$ref %q is not an object", ref)
	}
	return m, nil
}

func (d *oaDoc) deref(m map[string]any) (map[string]any, error) {
	for {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, nil
		}
		var err error
		if m, err = d.resolve(ref); err != nil {
			return nil, err
		}
	}
}

// matchPath finds the document path template that matches a concrete path,
// preferring the one with the most literal segments, as ServeMux does.
func (d *oaDoc) matchPath(path string) (string, bool) {
	segs := strings.Split(path, "/")
	best, bestLiterals := "", -1
	for tmpl := range d.paths() {
		tsegs := strings.Split(tmpl, "/")
		if len(tsegs) != len(segs) {
			continue
		}
		literals := 0
		ok := true
		for i, ts := range tsegs {
			if strings.HasPrefix(ts, "{") {
				continue
			}
			if ts != segs[i] {
				ok = false
				break
			}
			literals++
		}
		if ok && literals > bestLiterals {
			best, bestLiterals = tmpl, literals
		}
	}
	return best, bestLiterals >= 0
}

// checkResponse validates one response to method and path (the path the
// Handler saw, without any mount prefix) against the document.
func (d *oaDoc) checkResponse(method, path string, status int, header http.Header, body []byte) error {
	if method == http.MethodHead {
		return nil
	}
	mt, _, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil {
		return fmt.Errorf("%s %s: %d: Content-Type %q: %v", method, path, status, header.Get("Content-Type"), err)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("%s %s: %d: body is not JSON: %v: %q", method, path, status, err, body)
	}
	tmpl, ok := d.matchPath(path)
	var op map[string]any
	if ok {
		op = obj(obj(d.paths()[tmpl])[strings.ToLower(method)])
	}
	if op == nil {
		return d.checkUnrouted(method, path, status, mt, v)
	}
	raw, ok := obj(op["responses"])[strconv.Itoa(status)].(map[string]any)
	if !ok {
		// OpenAPI's range keys: a status the document does not list one
		// by one, such as an accept hook's refusal.
		raw, ok = obj(op["responses"])[strconv.Itoa(status/100)+"XX"].(map[string]any)
	}
	if !ok {
		return fmt.Errorf("%s %s: status %d is not documented for %s %s", method, path, status, method, tmpl)
	}
	resp, err := d.deref(raw)
	if err != nil {
		return err
	}
	for name := range obj(resp["headers"]) {
		if name != "Link" && header.Get(name) == "" {
			return fmt.Errorf("%s %s: %d: documented header %s is missing", method, path, status, name)
		}
	}
	media, ok := obj(resp["content"])[mt].(map[string]any)
	if !ok && d.lenient && strings.HasSuffix(mt, "+json") {
		media, ok = obj(resp["content"])["application/json"].(map[string]any)
	}
	if !ok {
		return fmt.Errorf("%s %s: %d: content type %s is not documented", method, path, status, mt)
	}
	schema := obj(media["schema"])
	if err := d.validate(schema, v, "body"); err != nil {
		return fmt.Errorf("%s %s: %d: %v: %s", method, path, status, err, body)
	}
	return nil
}

// checkUnrouted validates the answer to a request no documented operation
// matches: a 400 (a malformed target), 404 or 405 in the error format of
// the path's API.
func (d *oaDoc) checkUnrouted(method, path string, status int, mt string, v any) error {
	if status != http.StatusBadRequest && status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
		return fmt.Errorf("%s %s: undocumented operation answered %d", method, path, status)
	}
	if mt != "application/problem+json" {
		return fmt.Errorf("%s %s: %d has content type %s", method, path, status, mt)
	}
	name := "Error"
	if apiOfPath(path) == guestAPI {
		name = "Problem"
	}
	return d.validate(map[string]any{"$ref": "#/components/schemas/" + name}, v, "body")
}

func schemaTypes(schema map[string]any) []string {
	switch t := schema["type"].(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, s := range t {
			out = append(out, s.(string))
		}
		return out
	}
	return nil
}

func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if v == math.Trunc(v) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func typeMatches(v any, types []string) bool {
	got := jsonType(v)
	for _, t := range types {
		if t == got || t == "number" && got == "integer" {
			return true
		}
	}
	return false
}

// validate checks v against schema; at names the position for messages.
func (d *oaDoc) validate(schema map[string]any, v any, at string) error {
	schema, err := d.deref(schema)
	if err != nil {
		return err
	}
	if anyOf, ok := schema["anyOf"].([]any); ok {
		if err := d.validateAnyOf(anyOf, v, at); err != nil {
			return err
		}
	}
	if types := schemaTypes(schema); len(types) > 0 && !typeMatches(v, types) {
		return fmt.Errorf("%s: %s is not of type %v", at, jsonType(v), types)
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, v) {
		return fmt.Errorf("%s: %v is not one of %v", at, v, enum)
	}
	switch v := v.(type) {
	case string:
		return checkString(schema, v, at)
	case float64:
		if min, ok := schema["minimum"].(float64); ok && v < min {
			return fmt.Errorf("%s: %v is below %v", at, v, min)
		}
		if max, ok := schema["maximum"].(float64); ok && v > max {
			return fmt.Errorf("%s: %v is above %v", at, v, max)
		}
	case []any:
		items, ok := schema["items"].(map[string]any)
		if !ok {
			return nil
		}
		for i, item := range v {
			if err := d.validate(items, item, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case map[string]any:
		return d.checkObject(schema, v, at)
	}
	return nil
}

// validateAnyOf checks that v matches at least one of schemas.
func (d *oaDoc) validateAnyOf(schemas []any, v any, at string) error {
	var errs []string
	for i, sub := range schemas {
		err := d.validate(obj(sub), v, fmt.Sprintf("%s(anyOf %d)", at, i))
		if err == nil {
			return nil
		}
		errs = append(errs, err.Error())
	}
	return fmt.Errorf("%s: matches none of anyOf: %s", at, strings.Join(errs, "; "))
}

func checkString(schema map[string]any, v, at string) error {
	n := float64(utf8.RuneCountInString(v))
	if min, ok := schema["minLength"].(float64); ok && n < min {
		return fmt.Errorf("%s: %q is shorter than %v", at, v, min)
	}
	if max, ok := schema["maxLength"].(float64); ok && n > max {
		return fmt.Errorf("%s: %q is longer than %v", at, v, max)
	}
	switch schema["format"] {
	case "uuid":
		if _, ok := parseUUID(v); !ok {
			return fmt.Errorf("%s: %q is not a UUID", at, v)
		}
	case "date-time":
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return fmt.Errorf("%s: %q is not RFC 3339: %v", at, v, err)
		}
		if t.Location() != time.UTC {
			return fmt.Errorf("%s: %q is not in UTC", at, v)
		}
	}
	return nil
}

func (d *oaDoc) checkObject(schema map[string]any, v map[string]any, at string) error {
	required, _ := schema["required"].([]any)
	for _, name := range required {
		if _, ok := v[name.(string)]; !ok {
			return fmt.Errorf("%s: required member %q is missing", at, name)
		}
	}
	props, ok := schema["properties"].(map[string]any)
	if !ok {
		return nil
	}
	for name, mv := range v {
		ps, ok := props[name].(map[string]any)
		if !ok && d.lenient {
			continue
		}
		if !ok {
			return fmt.Errorf("%s: member %q is not documented", at, name)
		}
		if err := d.validate(ps, mv, at+"."+name); err != nil {
			return err
		}
	}
	return nil
}

// validatingTransport checks every response that passes through it
// against the document, so every end-to-end test also tests the document.
type validatingTransport struct {
	t      testing.TB
	doc    *oaDoc
	prefix string
	next   http.RoundTripper
}

func (vt *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := vt.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	path := strings.TrimPrefix(req.URL.Path, vt.prefix)
	if err := vt.doc.checkResponse(req.Method, path, resp.StatusCode, resp.Header, body); err != nil {
		vt.t.Errorf("response does not match the OpenAPI document: %v", err)
	}
	return resp, nil
}
