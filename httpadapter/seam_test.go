package httpadapter

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/memstore"
)

// steppingClock moves on by step every time it is read, as a busy server's
// clock does between two reads: code that reads it twice for one answer
// sees two instants.
type steppingClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *steppingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.now
	c.now = c.now.Add(c.step)
	return t
}

func (c *steppingClock) set(t time.Time, step time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now, c.step = t, step
}

// countingStore counts the list queries that reach the store.
type countingStore struct {
	*memstore.Store
	lists atomic.Int64
}

func (s *countingStore) ListInvitations(ctx context.Context, q invitation.ListQuery) ([]invitation.Invitation, error) {
	s.lists.Add(1)
	return s.Store.ListInvitations(ctx, q)
}

func (s *countingStore) ListGuestInvitations(ctx context.Context, q guest.ListQuery) ([]guest.Invitation, int, error) {
	s.lists.Add(1)
	return s.Store.ListGuestInvitations(ctx, q)
}

// seamFixture is a fixture whose services run on a stepping clock and a
// counting store.
type seamFixture struct {
	*fixture
	clock  *steppingClock
	store  *countingStore
	inv    *invitation.Service
	guests *guest.Service
}

func newSeamFixture(t *testing.T) *seamFixture {
	t.Helper()
	sf := &seamFixture{clock: &steppingClock{now: t0}, store: &countingStore{Store: memstore.New()}}
	t.Cleanup(func() { _ = sf.store.Close() })
	keys := [][]byte{[]byte(strings.Repeat("k", 32))}
	var err error
	sf.inv, err = invitation.NewService(invitation.Config{Store: sf.store, Keys: keys, Clock: sf.clock.Now, TTL: time.Hour})
	require.NoError(t, err)
	sf.guests, err = guest.NewService(guest.Config{Store: sf.store, Keys: keys, Clock: sf.clock.Now})
	require.NoError(t, err)
	sf.fixture = newFixture(t, options{config: func(c *Config) { c.Invitations, c.Guests = sf.inv, sf.guests }})
	return sf
}

// TestPageRendersAtOneInstant lists pages whose items expire one second
// apart while the clock moves on a second at every read: every item must
// show its status at the instant the page was evaluated at, the one its
// filter used, never at a later read of the clock.
func TestPageRendersAtOneInstant(t *testing.T) {
	t.Parallel()
	t.Run("organization", func(t *testing.T) {
		t.Parallel()
		f := newSeamFixture(t)
		org := uuid.New()
		f.clock.set(t0, time.Second)
		var expiries []time.Time
		for i := range 4 {
			inv, err := f.inv.Create(context.Background(), invitation.CreateParams{OrganizationID: org, Email: "o" + strconv.Itoa(i) + "@example.com", Role: "admin"})
			require.NoError(t, err)
			expiries = append(expiries, inv.ExpireAt)
		}
		require.True(t, expiries[0].Before(expiries[3]))

		// Half a second before the first expiry every invitation is
		// pending; one read later the first is not.
		f.clock.set(expiries[0].Add(-500*time.Millisecond), time.Second)
		r := f.do(request{method: http.MethodGet, path: orgPath(org) + "?status=pending"})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		items, _ := r.json["result"].([]any)
		require.Len(t, items, 4)
		for _, it := range items {
			assert.Equal(t, "pending", str(it.(map[string]any), "status"), "the page filtered pending at its instant")
		}

		// Between the second and the third expiry: the first two are
		// expired, the other two pending, and later reads change nothing.
		f.clock.set(expiries[1].Add(500*time.Millisecond), time.Second)
		r = f.do(request{method: http.MethodGet, path: orgPath(org)})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		got := map[string]string{}
		for _, it := range r.json["result"].([]any) {
			m := it.(map[string]any)
			got[str(m, "email")] = str(m, "status")
		}
		assert.Equal(t, map[string]string{
			"o0@example.com": "expired", "o1@example.com": "expired",
			"o2@example.com": "pending", "o3@example.com": "pending",
		}, got)
	})
	t.Run("guest", func(t *testing.T) {
		t.Parallel()
		f := newSeamFixture(t)
		host := uuid.New()
		f.clock.set(t0, 0)
		first := t0.Add(time.Hour)
		for i := range 4 {
			_, err := f.guests.Create(context.Background(), guest.CreateParams{
				HostOrganizationID: host, Email: "g" + strconv.Itoa(i) + "@example.com", ExpiredAt: first.Add(time.Duration(i) * time.Second),
			})
			require.NoError(t, err)
		}
		hdr := guestHeaders(host, host)

		f.clock.set(first.Add(-500*time.Millisecond), time.Second)
		r := f.do(request{method: http.MethodGet, path: "/guest-invitations?expired=false", header: hdr})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		items, _ := r.json["items"].([]any)
		require.Len(t, items, 4)
		for _, it := range items {
			assert.Equal(t, false, it.(map[string]any)["expired"], "the page filtered expired=false at its instant")
		}

		f.clock.set(first.Add(1500*time.Millisecond), time.Second)
		r = f.do(request{method: http.MethodGet, path: "/guest-invitations", header: hdr})
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		got := map[string]any{}
		for _, it := range r.json["items"].([]any) {
			m := it.(map[string]any)
			got[str(m, "email")] = m["expired"]
			assert.NotEmpty(t, str(m, "invitation_token"), "every read shows the token")
		}
		assert.Equal(t, map[string]any{
			"g0@example.com": true, "g1@example.com": true, "g2@example.com": false, "g3@example.com": false,
		}, got)
	})
}

// TestInvalidListRunsNoQuery checks that a list request with an invalid
// value, found by the adapter, the domain or both, is answered with one
// 422 naming every invalid field and never reaches the store.
func TestInvalidListRunsNoQuery(t *testing.T) {
	t.Parallel()
	f := newSeamFixture(t)
	org := uuid.New()
	hdr := guestHeaders(org, org)
	tests := []struct {
		name   string
		req    request
		fields []string
	}{
		{"organization: adapter and domain", request{method: http.MethodGet, path: orgPath(org) + "?limit=0&status=lost&cursor=x"}, []string{"status", "cursor", "limit"}},
		{"organization: adapter only", request{method: http.MethodGet, path: orgPath(org) + "?limit=0"}, []string{"limit"}},
		{"organization: domain only", request{method: http.MethodGet, path: orgPath(org) + "?status=lost"}, []string{"status"}},
		{"guest: adapter and domain", request{method: http.MethodGet, path: "/guest-invitations?limit=0&email=&order=up&statuses=lost", header: hdr}, []string{"statuses", "order", "limit", "email"}},
		{"guest: adapter only", request{method: http.MethodGet, path: "/guest-invitations?email=", header: hdr}, []string{"email"}},
		{"guest: domain only", request{method: http.MethodGet, path: "/guest-invitations?offset=-1", header: hdr}, []string{"offset"}},
	}
	for _, tt := range tests {
		r := f.do(tt.req)
		assertProblem(t, r, http.StatusUnprocessableEntity, "validation-failed")
		assert.Equal(t, tt.fields, r.fieldNames(), tt.name)
	}
	assert.Zero(t, f.store.lists.Load(), "no invalid list ran a query")

	r := f.do(request{method: http.MethodGet, path: orgPath(org)})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	r = f.do(request{method: http.MethodGet, path: "/guest-invitations", header: hdr})
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, int64(2), f.store.lists.Load(), "the counter counts")
}

// TestAdapterMessageWins checks the merge where the adapter and the domain
// both name a field: the adapter saw the value the client sent, the domain
// only the stand-in (a zero time), so the adapter's message is the one
// shown, once.
func TestAdapterMessageWins(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	host := uuid.New()
	r := f.do(request{method: http.MethodPost, path: "/guest-invitations", header: guestHeaders(host, host),
		body: map[string]string{"email": "x", "expired_at": "tomorrow"}})
	assertProblem(t, r, http.StatusUnprocessableEntity, "validation-failed")
	assert.Equal(t, []string{"email", "expired_at"}, r.fieldNames())
	errs, _ := r.json["errors"].([]any)
	require.Len(t, errs, 2)
	assert.Contains(t, str(errs[1].(map[string]any), "message"), "RFC 3339", "not the domain's \"is required\"")
	assert.NotContains(t, str(r.json, "detail"), "ExpiredAt", "the detail speaks wire names too")
}

// domainFieldNames reads the Field constants of the domain package in dir
// (the names its validation errors use) and fails the test on any field
// error the package builds with a name that is not one of them, so a new
// field cannot slip past the wire table as a bare string.
func domainFieldNames(t *testing.T, dir string) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(t, err)
	consts := map[string]string{}
	var parsed []*ast.File
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		parsed = append(parsed, file)
		for _, decl := range file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if !strings.HasPrefix(id.Name, "Field") || i >= len(vs.Values) {
						continue
					}
					// A domain may name a field as another does
					// (link.FieldRole = invitation.FieldRole).
					if sel, ok := vs.Values[i].(*ast.SelectorExpr); ok {
						pkg, ok := sel.X.(*ast.Ident)
						require.True(t, ok, "%s.%s must be a string literal or another domain's Field constant", dir, id.Name)
						other, ok := domainFieldNames(t, filepath.Join(filepath.Dir(dir), pkg.Name))[sel.Sel.Name]
						require.True(t, ok, "%s.%s names %s.%s, not a Field constant", dir, id.Name, pkg.Name, sel.Sel.Name)
						consts[id.Name] = other
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					require.True(t, ok, "%s.%s must be a string literal", dir, id.Name)
					consts[id.Name], err = strconv.Unquote(lit.Value)
					require.NoError(t, err)
				}
			}
		}
	}
	require.NotEmpty(t, consts, "no Field constants in %s", dir)
	isFieldConst := func(e ast.Expr) bool {
		// An array entry's name, store.Indexed(FieldX, i), is FieldX's.
		if call, ok := e.(*ast.CallExpr); ok {
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Indexed" && len(call.Args) == 2 {
				if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "store" {
					e = call.Args[0]
				}
			}
		}
		id, ok := e.(*ast.Ident)
		if !ok {
			return false
		}
		_, known := consts[id.Name]
		return known
	}
	for _, file := range parsed {
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				// ValidationError.Add(field, message) and
				// service.Limit(verr, field, ...).
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
					switch {
					case sel.Sel.Name == "Add" && len(n.Args) == 2:
						assert.True(t, isFieldConst(n.Args[0]), "%s: a field error named without a Field constant", fset.Position(n.Pos()))
					case sel.Sel.Name == "Limit" && len(n.Args) == 5:
						assert.True(t, isFieldConst(n.Args[1]), "%s: a field error named without a Field constant", fset.Position(n.Pos()))
					}
				}
			case *ast.KeyValueExpr:
				if key, ok := n.Key.(*ast.Ident); ok && key.Name == "Field" {
					assert.True(t, isFieldConst(n.Value), "%s: a field error named without a Field constant", fset.Position(n.Pos()))
				}
			}
			return true
		})
	}
	return consts
}

// TestWireNamesCoverDomainFields fails when a domain gains a field name its
// validation errors can use and the wire table has no spelling for it on
// the routes that serve that domain. The organization routes serve three
// domains, invitations, events and links, with one table: a name several
// use (Cursor, Limit) is spelt once for all.
func TestWireNamesCoverDomainFields(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		dirs []string
		api  api
	}{{[]string{"../invitation", "../event", "../link"}, orgAPI}, {[]string{"../guest"}, guestAPI}} {
		served := map[string]bool{}
		for _, dir := range tt.dirs {
			consts := domainFieldNames(t, dir)
			names := make([]string, 0, len(consts))
			for c := range consts {
				names = append(names, c)
			}
			sort.Strings(names)
			for _, c := range names {
				domain := consts[c]
				served[domain] = true
				wire, ok := wireNames[tt.api][domain]
				if assert.True(t, ok, "%s.%s (%q) has no wire name", filepath.Base(dir), c, domain) {
					_, clash := wireNames[tt.api][wire]
					assert.False(t, clash, "wire name %q is also a domain name: rendering twice would rename it", wire)
				}
			}
		}
		assert.Len(t, wireNames[tt.api], len(served), "%v: the table names only fields the domains have", tt.dirs)
	}
}
