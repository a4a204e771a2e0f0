package httpadapter

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/link"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/storetest"
)

// The API keys every fixture accepts.
const (
	keyID      = "key-1"
	keySecret  = "secret-one-0123456789abcdef"
	otherKeyID = "key-2"
	otherKey   = "secret-two-0123456789abcdef"
)

var testKeys = map[string]string{keyID: keySecret, otherKeyID: otherKey}

// t0 is where every fixture's clock starts.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// fixture is a Handler over memstore and the real services, served by an
// httptest.Server, with a client that checks every response against the
// OpenAPI document.
type fixture struct {
	t       *testing.T
	clock   *storetest.Clock
	store   backend
	inv     *invitation.Service
	guests  *guest.Service
	links   *link.Service // nil with noOrg or noLinks, or on a store without links
	handler *Handler
	server  *httptest.Server
	client  *http.Client
	// base is the server URL plus the mount prefix.
	base string
	logs *syncBuffer
}

// options change a fixture's Config, store or mounting.
type options struct {
	prefix   string
	noOrg    bool
	noGuest  bool
	noEvents bool
	noLinks  bool
	// store opens the fixture's store; memstore when nil.
	store  func(*testing.T) backend
	config func(*Config)
	// roles is the invitation service's role catalog.
	roles invitation.RoleCatalog
	// invitations and guests change the services' Configs (their
	// Limits, LimitsFor, ...) before the services are built.
	invitations func(*invitation.Config)
	guests      func(*guest.Config)
}

func newFixture(t *testing.T, opts ...options) *fixture {
	t.Helper()
	var o options
	if len(opts) > 0 {
		o = opts[0]
	}
	f := &fixture{t: t, clock: storetest.NewClock(t0), logs: &syncBuffer{}}
	if o.store != nil {
		f.store = o.store(t)
	} else {
		f.store = memstore.New()
	}
	t.Cleanup(func() { _ = f.store.Close() })
	keys := [][]byte{bytes.Repeat([]byte("k"), 32)}
	var err error
	if !o.noOrg {
		c := invitation.Config{Store: f.store, Keys: keys, Clock: f.clock.Now, Roles: o.roles}
		if o.invitations != nil {
			o.invitations(&c)
		}
		f.inv, err = invitation.NewService(c)
		require.NoError(t, err)
	}
	if ls, ok := f.store.(link.Store); ok && f.inv != nil && !o.noLinks {
		f.links, err = link.NewService(link.Config{Store: ls, Invitations: f.inv, Keys: keys, Clock: f.clock.Now})
		require.NoError(t, err)
	}
	if !o.noGuest {
		c := guest.Config{Store: f.store, Keys: keys, Clock: f.clock.Now}
		if o.guests != nil {
			o.guests(&c)
		}
		f.guests, err = guest.NewService(c)
		require.NoError(t, err)
	}
	cfg := Config{
		Invitations:  f.inv,
		Guests:       f.guests,
		Links:        f.links,
		Authenticate: APIKeys(testKeys),
		Logger:       slog.New(slog.NewJSONHandler(f.logs, nil)),
	}
	if !o.noEvents {
		cfg.Events = f.store
	}
	if o.config != nil {
		o.config(&cfg)
	}
	f.handler, err = New(cfg)
	require.NoError(t, err)
	var root http.Handler = f.handler
	if o.prefix != "" {
		mux := http.NewServeMux()
		mux.Handle(o.prefix+"/", http.StripPrefix(o.prefix, f.handler))
		root = mux
	}
	f.server = httptest.NewServer(root)
	t.Cleanup(f.server.Close)
	f.base = f.server.URL + o.prefix
	transport := f.server.Client().Transport.(*http.Transport).Clone()
	t.Cleanup(transport.CloseIdleConnections)
	// Responses are checked against the document this Handler serves, which
	// leaves out the routes of absent services.
	doc := &oaDoc{root: f.handler.openAPI}
	f.client = &http.Client{Transport: &validatingTransport{t: t, doc: doc, prefix: o.prefix, next: transport}}
	return f
}

// syncBuffer collects log output from concurrent requests.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// auth says how a request authenticates.
type auth int

const (
	basicAuth auth = iota
	bearerAuth
	noAuth
)

// request is one call to the fixture's server.
type request struct {
	method string
	path   string
	// body is sent as is when it is a string, as JSON otherwise; nil sends
	// no body.
	body any
	// contentType defaults to application/json when there is a body; "-"
	// sends none.
	contentType string
	header      map[string]string
	auth        auth
}

// response is what came back, with the body decoded when it is JSON.
type response struct {
	status int
	header http.Header
	raw    []byte
	json   map[string]any
}

func (f *fixture) do(r request) response {
	f.t.Helper()
	return doWith(f.t, f.client, f.base, r)
}

func doWith(t testing.TB, client *http.Client, base string, r request) response {
	t.Helper()
	resp, err := tryDo(client, base, r)
	require.NoError(t, err)
	return resp
}

// tryDo is doWith for goroutines other than the test's, which must not
// call t.FailNow.
func tryDo(client *http.Client, base string, r request) (response, error) {
	var body io.Reader
	if r.body != nil {
		if s, ok := r.body.(string); ok {
			body = strings.NewReader(s)
		} else {
			b, err := json.Marshal(r.body)
			if err != nil {
				return response{}, err
			}
			body = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequestWithContext(context.Background(), r.method, base+r.path, body)
	if err != nil {
		return response{}, err
	}
	switch {
	case r.contentType == "-":
	case r.contentType != "":
		req.Header.Set("Content-Type", r.contentType)
	case r.body != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	switch r.auth {
	case basicAuth:
		req.SetBasicAuth(keyID, keySecret)
	case bearerAuth:
		req.Header.Set("Authorization", "Bearer "+keySecret)
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &out.json)
	}
	return out, nil
}

// result is the envelope's result of an organization response.
func (r response) result() map[string]any {
	m, _ := r.json["result"].(map[string]any)
	return m
}

// str reads a string member of an object, "" when absent.
func str(m map[string]any, name string) string {
	s, _ := m[name].(string)
	return s
}

// fieldNames lists the field members of an error's errors array.
func (r response) fieldNames() []string {
	var out []string
	list, _ := r.json["errors"].([]any)
	for _, e := range list {
		out = append(out, str(e.(map[string]any), "field"))
	}
	return out
}

// assertProblem checks an error response of either API: its status, its
// problem type and its content type.
func assertProblem(t *testing.T, r response, status int, slug string) {
	t.Helper()
	assert.Equal(t, status, r.status, "status; body: %s", r.raw)
	assert.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
	assert.Equal(t, ProblemTypePrefix+slug, str(r.json, "type"), "body: %s", r.raw)
	assert.Equal(t, float64(status), r.json["status"])
}

// orgPath is the collection path of organization org.
func orgPath(org uuid.UUID) string {
	return "/v1/organizations/" + org.String() + "/invitations"
}

// eventsPath is the events path of organization org.
func eventsPath(org uuid.UUID) string {
	return "/v1/organizations/" + org.String() + "/events"
}

// createInvitation creates an invitation through the API and returns its
// result object.
func (f *fixture) createInvitation(org uuid.UUID, email string) map[string]any {
	f.t.Helper()
	r := f.do(request{method: http.MethodPost, path: orgPath(org), body: map[string]string{"email": email, "role": "admin"}})
	require.Equal(f.t, http.StatusOK, r.status, "create: %s", r.raw)
	return r.result()
}

// guestHeaders are the organization headers of a guest request.
func guestHeaders(requester, target uuid.UUID) map[string]string {
	return map[string]string{RequesterHeader: requester.String(), TargetHeader: target.String()}
}

// createGuest creates a guest invitation of host through the API.
func (f *fixture) createGuest(host uuid.UUID, email string) map[string]any {
	f.t.Helper()
	r := f.do(request{
		method: http.MethodPost, path: "/guest-invitations", header: guestHeaders(host, host),
		body: map[string]any{"email": email, "expired_at": f.clock.Now().Add(48 * time.Hour).Format(time.RFC3339)},
	})
	require.Equal(f.t, http.StatusCreated, r.status, "create guest: %s", r.raw)
	return r.json
}
