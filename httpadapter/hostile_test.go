package httpadapter

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/internal/pgtest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/link"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/postgresstore"
	"github.com/invitekit/invitekit/sqlitestore"
	"github.com/invitekit/invitekit/storetest"
)

// TestMain says, where a developer sees it, that the PostgreSQL runs were
// skipped (see pgtest.Main).
func TestMain(m *testing.M) { os.Exit(pgtest.Main("httpadapter", m)) }

// backend is a store of both kinds of invitation and their events.
type backend interface {
	invitation.Store
	guest.Store
	event.Store
	Close() error
}

// backends are the stores the hostile requests run against: the promise
// "no input yields a 500" holds only if it holds for every store, whose
// databases refuse inputs (NUL bytes, times out of range) memstore takes.
var backends = []struct {
	name string
	open func(t *testing.T) backend
}{
	{"memstore", func(t *testing.T) backend { return memstore.New() }},
	{"sqlitestore", func(t *testing.T) backend {
		st, err := sqlitestore.Open(context.Background(), ":memory:")
		require.NoError(t, err)
		return st
	}},
	{"postgresstore", func(t *testing.T) backend { return openPostgres(t) }},
}

// openPostgres opens a store in a fresh schema of its own, dropped when
// the test ends.
func openPostgres(t testing.TB) backend {
	conn := pgtest.URL(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "httpadapter_hostile_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, conn)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	st, err := postgresstore.Open(context.Background(), conn, postgresstore.WithSchema(schema))
	require.NoError(t, err)
	return st
}

// hostileServer is a Handler over st served on a real HTTP server, with
// one invitation of each kind to aim at.
type hostileServer struct {
	h          *Handler
	base       string
	client     *http.Client
	host       uuid.UUID
	orgItem    string
	orgToken   string
	guestItem  string
	guestToken string
	// linkItem and linkToken are of a link of host, empty on a store
	// without links.
	linkItem  string
	linkToken string
}

func newHostileServer(t *testing.T, st backend) *hostileServer {
	t.Helper()
	t.Cleanup(func() { _ = st.Close() })
	keys := [][]byte{bytes.Repeat([]byte("h"), 32)}
	clk := storetest.NewClock(t0)
	invs, err := invitation.NewService(invitation.Config{Store: st, Keys: keys, Clock: clk.Now})
	require.NoError(t, err)
	guests, err := guest.NewService(guest.Config{Store: st, Keys: keys, Clock: clk.Now})
	require.NoError(t, err)
	var links *link.Service
	if ls, ok := st.(link.Store); ok {
		links, err = link.NewService(link.Config{Store: ls, Invitations: invs, Keys: keys, Clock: clk.Now})
		require.NoError(t, err)
	}
	h, err := New(Config{
		Invitations: invs, Guests: guests, Links: links, Events: st, Authenticate: APIKeys(testKeys), MaxBodyBytes: 256 << 10,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	ctx := context.Background()
	host := uuid.New()
	inv, err := invs.Create(ctx, invitation.CreateParams{OrganizationID: host, Email: "org@example.com", Role: "admin"})
	require.NoError(t, err)
	g, err := guests.Create(ctx, guest.CreateParams{HostOrganizationID: host, Email: "guest@example.com", ExpiredAt: t0.Add(48 * time.Hour)})
	require.NoError(t, err)
	hs := &hostileServer{
		h: h, base: srv.URL, client: srv.Client(), host: host,
		orgItem: orgPath(host) + "/" + inv.ID.String(), orgToken: invs.Token(inv),
		guestItem: "/guest-invitations/" + g.ID.String(), guestToken: guests.Token(g),
	}
	if links != nil {
		l, err := links.Create(ctx, link.CreateParams{OrganizationID: host, Role: "admin", MaxUses: link.MaxUsesLimit})
		require.NoError(t, err)
		hs.linkItem, hs.linkToken = linkItem(host, l.ID.String()), links.Token(l)
	}
	return hs
}

// hostileRequest is one request of the table: target is the path and
// query as sent, already percent-encoded.
type hostileRequest struct {
	name   string
	method string
	target string
	body   string
	header map[string]string
	// want, when set, is the status the request must get.
	want int
}

// Values that databases refuse or misread, percent-encoded for a query:
// NUL, invalid UTF-8 (a lone continuation byte, a truncated sequence, an
// encoded surrogate, an overlong NUL), and SQL LIKE and escape syntax.
var hostileQueryValues = []string{
	"%00", "a%00b", "%FF", "%C3%28", "%E2%82", "%ED%A0%80", "%C0%80", "%25_%5C", "%27%3B--", strings.Repeat("%00", 300),
}

// Strings that databases refuse, as JSON string contents: NUL escaped and
// raw, invalid UTF-8 (which the decoder replaces), a lone surrogate escape.
var hostileJSONStrings = []string{
	`\u0000`, `a\u0000b@example.com`, "\x00", "\xff\xfe", "\xed\xa0\x80", `\ud800`, `\udfff@example.com`,
}

// cursorAt builds a well-formed cursor for a boundary at micros
// microseconds since the epoch with an ID of 16 times idByte: cursors
// decode to any int64 time, far beyond what the databases store.
func cursorAt(micros int64, idByte byte) string {
	var b [24]byte
	binary.BigEndian.PutUint64(b[:8], uint64(micros))
	copy(b[8:], bytes.Repeat([]byte{idByte}, 16))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// queryRequests sends every value of values as each of params of the
// collection path, alone and beside a valid rest.
func queryRequests(path string, header map[string]string, params []string, values []string) []hostileRequest {
	var out []hostileRequest
	for _, p := range params {
		for _, v := range values {
			out = append(out, hostileRequest{
				name: "GET " + path + "?" + p + "=" + v, method: http.MethodGet,
				target: path + "?" + p + "=" + v, header: header,
			})
		}
	}
	return out
}

// bodyRequests sends base with each string member in turn replaced by
// every hostile string.
func bodyRequests(method, path string, header map[string]string, base map[string]string) []hostileRequest {
	var out []hostileRequest
	for _, name := range slices.Sorted(maps.Keys(base)) {
		for _, v := range hostileJSONStrings {
			members := make([]string, 0, len(base))
			for _, k := range slices.Sorted(maps.Keys(base)) {
				bv := base[k]
				if k == name {
					bv = v
				}
				members = append(members, fmt.Sprintf("%q:\"%s\"", k, bv))
			}
			out = append(out, hostileRequest{
				name: method + " " + path + " " + name + "=" + fmt.Sprintf("%q", v), method: method,
				target: path, body: "{" + strings.Join(members, ",") + "}", header: header,
			})
		}
	}
	return out
}

func (hs *hostileServer) requests() []hostileRequest {
	hdr := guestHeaders(hs.host, hs.host)
	future := t0.Add(24 * time.Hour).Format(time.RFC3339)
	var rs []hostileRequest

	// Every query parameter of both lists, with hostile values.
	numbers := []string{
		"0", "-1", "1", "100", "101", "9223372036854775807", "-9223372036854775808", "99999999999999999999",
		"-99999999999999999999", "1e3", "0x10", "%201", "1%00", "%EF%BC%91", strings.Repeat("9", 5000),
	}
	rs = append(rs, queryRequests(orgPath(hs.host), nil, []string{"limit"}, numbers)...)
	rs = append(rs, queryRequests(orgPath(hs.host), nil, []string{"status", "email", "cursor", "limit"}, hostileQueryValues)...)
	rs = append(rs, queryRequests(eventsPath(hs.host), nil, []string{"limit"}, numbers)...)
	rs = append(rs, queryRequests(eventsPath(hs.host), nil, []string{"type", "cursor", "limit"}, hostileQueryValues)...)
	rs = append(rs, queryRequests("/guest-invitations", hdr, []string{"limit", "offset"}, numbers)...)
	rs = append(rs, queryRequests("/guest-invitations", hdr,
		[]string{"statuses", "email", "expired", "archived", "order_by", "order", "limit", "offset", "cursor"}, hostileQueryValues)...)

	// Cursors that decode to times no database column holds.
	var cursors []string
	for _, micros := range []int64{
		math.MinInt64, math.MaxInt64, math.MinInt64 + 1, math.MaxInt64 - 1, -1, 0,
		-62135596800000000 - 1, // one microsecond before year 1
		253402300800000000,     // year 10000
		-210866803200000000,    // 4714 BC, PostgreSQL's earliest
		253402300799999999,     // the last microsecond of year 9999
	} {
		for _, id := range []byte{0x00, 0xff} {
			cursors = append(cursors, cursorAt(micros, id))
		}
	}
	cursors = append(cursors, "", "AAAA", strings.Repeat("A", 32), strings.Repeat("_", 32), "%2B%2F%3D", strings.Repeat("A", 10000))
	for _, c := range cursors {
		for _, extra := range []string{"", "&limit=100", "&status=pending&email=org@example.com"} {
			rs = append(rs, hostileRequest{name: "cursor " + c + extra, method: http.MethodGet, target: orgPath(hs.host) + "?cursor=" + c + extra})
		}
		for _, extra := range []string{"", "&limit=100", "&type=invitation.created&type=guest_invitation.accepted"} {
			rs = append(rs, hostileRequest{name: "event cursor " + c + extra, method: http.MethodGet, target: eventsPath(hs.host) + "?cursor=" + c + extra})
		}
	}

	// Repeated and long guest list parameters.
	rs = append(rs,
		hostileRequest{name: "statuses=sent x50", method: http.MethodGet, target: "/guest-invitations?" + strings.Repeat("statuses=sent&", 50) + "limit=100", header: hdr},
		hostileRequest{name: "all statuses x50", method: http.MethodGet, target: "/guest-invitations?" + strings.Repeat("statuses=sent&statuses=accepted_by_guest&statuses=accepted_by_system&", 50), header: hdr},
		hostileRequest{name: "50 unknown statuses", method: http.MethodGet, target: "/guest-invitations?" + strings.Repeat("statuses=x%00&", 50), header: hdr},
		hostileRequest{name: "huge offset, full page", method: http.MethodGet, target: "/guest-invitations?limit=100&offset=9223372036854775807&order_by=accepted_at&order=asc", header: hdr},
		hostileRequest{name: "email search of 255", method: http.MethodGet, target: "/guest-invitations?email=" + strings.Repeat("%25", 255), header: hdr},
		hostileRequest{name: "email search of 256 NULs", method: http.MethodGet, target: "/guest-invitations?email=" + strings.Repeat("%00", 256), header: hdr},
		hostileRequest{name: "email search of 20000", method: http.MethodGet, target: "/guest-invitations?email=" + strings.Repeat("e", 20000), header: hdr},
		hostileRequest{name: "org email of 20000", method: http.MethodGet, target: orgPath(hs.host) + "?email=" + strings.Repeat("e", 20000) + "%40example.com"},
		hostileRequest{name: "type x5000", method: http.MethodGet, target: eventsPath(hs.host) + "?" + strings.Repeat("type=invitation.created&", 5000) + "limit=100"},
		hostileRequest{name: "every type x500", method: http.MethodGet, target: eventsPath(hs.host) + "?" + strings.Repeat(everyEventType(), 500)},
		hostileRequest{name: "5000 unknown types", method: http.MethodGet, target: eventsPath(hs.host) + "?" + strings.Repeat("type=x%00&", 5000)},
		hostileRequest{name: "comma-separated types", method: http.MethodGet, target: eventsPath(hs.host) + "?type=invitation.created,invitation.accepted"},
		hostileRequest{name: "every filter at once", method: http.MethodGet, header: hdr,
			target: "/guest-invitations?statuses=sent&email=%00&expired=true&archived=false&order_by=email&order=desc&limit=1&offset=1"},
	)

	// Every JSON string member of every body, with hostile strings.
	rs = append(rs, bodyRequests(http.MethodPost, orgPath(hs.host), nil, map[string]string{"email": "new@example.com", "role": "admin"})...)
	rs = append(rs, bodyRequests(http.MethodPost, "/v1/invitations/accept", nil, map[string]string{"token": hs.orgToken, "email": "org@example.com"})...)
	rs = append(rs, bodyRequests(http.MethodPost, "/guest-invitations", hdr,
		map[string]string{"email": "new@example.com", "expired_at": future, "parent_organization_id": uuid.NewString()})...)
	rs = append(rs, bodyRequests(http.MethodPost, hs.guestItem+"/resend", hdr, map[string]string{"expired_at": future})...)
	rs = append(rs, bodyRequests(http.MethodPost, "/guest-invitations/accept", nil, map[string]string{"invitation_token": hs.guestToken})...)

	// Extreme and long values of the right type.
	long := strings.Repeat("a", 100000) + "@example.com"
	for _, body := range []string{
		`{"email":"` + long + `","role":"admin"}`,
		`{"email":"a@` + strings.Repeat("b", 300) + `.com","role":"` + strings.Repeat("r", 10000) + `"}`,
		`{"email":"` + strings.Repeat(`\u0000`, 1000) + `","role":"admin"}`,
	} {
		rs = append(rs, hostileRequest{name: "org create " + body[:min(len(body), 60)], method: http.MethodPost, target: orgPath(hs.host), body: body})
	}
	for _, exp := range []string{
		"9999-12-31T23:59:59.999999999Z", "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "2030-01-02T03:04:05+23:59",
		"2030-01-02T03:04:05-23:59", "1970-01-01T00:00:00Z", "2030-01-02T03:04:05.000000001Z", "2030-02-30T00:00:00Z",
	} {
		rs = append(rs,
			hostileRequest{name: "guest create expired_at=" + exp, method: http.MethodPost, target: "/guest-invitations", header: hdr,
				body: `{"email":"e` + fmt.Sprint(len(rs)) + `@example.com","expired_at":"` + exp + `"}`},
			hostileRequest{name: "guest resend expired_at=" + exp, method: http.MethodPost, target: hs.guestItem + "/resend", header: hdr,
				body: `{"expired_at":"` + exp + `"}`},
		)
	}
	rs = append(rs,
		hostileRequest{name: "guest create long email", method: http.MethodPost, target: "/guest-invitations", header: hdr,
			body: `{"email":"` + long + `","expired_at":"` + future + `"}`},
		hostileRequest{name: "guest create max parent", method: http.MethodPost, target: "/guest-invitations", header: hdr,
			body: `{"email":"max@example.com","expired_at":"` + future + `","parent_organization_id":"ffffffff-ffff-ffff-ffff-ffffffffffff"}`},
		hostileRequest{name: "org accept long token", method: http.MethodPost, target: "/v1/invitations/accept",
			body: `{"token":"` + strings.Repeat("A", 100000) + `","email":"org@example.com"}`},
		hostileRequest{name: "guest accept long token", method: http.MethodPost, target: "/guest-invitations/accept",
			body: `{"invitation_token":"` + strings.Repeat("A", 100000) + `"}`},
		hostileRequest{name: "patch archived null", method: http.MethodPatch, target: hs.guestItem, header: hdr, body: `{"archived":null}`},
		hostileRequest{name: "nil organization list", method: http.MethodGet, target: "/guest-invitations",
			header: guestHeaders(uuid.Nil, uuid.Nil)},
		hostileRequest{name: "nil organization create", method: http.MethodPost, target: "/guest-invitations",
			header: guestHeaders(uuid.Nil, uuid.Nil), body: `{"email":"nil@example.com","expired_at":"` + future + `"}`},
		hostileRequest{name: "nil organization org list", method: http.MethodGet, target: orgPath(uuid.Nil)},
		hostileRequest{name: "max organization org create", method: http.MethodPost, target: orgPath(uuid.Max),
			body: `{"email":"max@example.com","role":"admin"}`},
	)

	rs = append(rs, hs.strictInputRequests(hdr, future)...)
	rs = append(rs, hs.linkRequests(numbers, cursors, future)...)

	// Hostile bytes in path values.
	for _, v := range hostileQueryValues {
		rs = append(rs,
			hostileRequest{name: "org id " + v, method: http.MethodGet, target: "/v1/organizations/" + v + "/invitations"},
			hostileRequest{name: "events org id " + v, method: http.MethodGet, target: "/v1/organizations/" + v + "/events"},
			hostileRequest{name: "invitation id " + v, method: http.MethodGet, target: orgPath(hs.host) + "/" + v},
			hostileRequest{name: "guest id " + v, method: http.MethodGet, target: "/guest-invitations/" + v, header: hdr},
			hostileRequest{name: "revoke id " + v, method: http.MethodPost, target: orgPath(hs.host) + "/" + v + "/revoke"},
			hostileRequest{name: "delete id " + v, method: http.MethodDelete, target: orgPath(hs.host) + "/" + v},
			hostileRequest{name: "archive id " + v, method: http.MethodPatch, target: "/guest-invitations/" + v, header: hdr, body: `{"archived":true}`},
			hostileRequest{name: "accept id " + v, method: http.MethodPost, target: "/guest-invitations/" + v + "/accept", header: hdr},
		)
	}
	return rs
}

// linkRequests are the hostile requests of the link routes, on a store
// with links: the lists' parameters and cursors, every string of the
// bodies, extreme values, path values, and the strict inputs.
func (hs *hostileServer) linkRequests(numbers, cursors []string, future string) []hostileRequest {
	if hs.linkItem == "" {
		return nil
	}
	coll, redemptions := linksPath(hs.host), hs.linkItem+"/redemptions"
	var rs []hostileRequest
	for _, path := range []string{coll, redemptions} {
		rs = append(rs, queryRequests(path, nil, []string{"limit"}, numbers)...)
		rs = append(rs, queryRequests(path, nil, []string{"cursor", "limit"}, hostileQueryValues)...)
		for _, c := range cursors {
			for _, extra := range []string{"", "&limit=100"} {
				rs = append(rs, hostileRequest{name: "link cursor " + path + c + extra, method: http.MethodGet, target: path + "?cursor=" + c + extra})
			}
		}
		for _, q := range []string{"limit=1;", "cursor=%zz", ";", "%gg=1"} {
			rs = append(rs, hostileRequest{name: "malformed query " + path + "?" + q, method: http.MethodGet,
				target: path + "?" + q, want: http.StatusBadRequest})
		}
	}
	rs = append(rs, bodyRequests(http.MethodPost, coll, nil, map[string]string{"role": "admin", "expireAt": future})...)
	rs = append(rs, bodyRequests(http.MethodPost, redeemPath, nil, map[string]string{"token": hs.linkToken, "email": "new@example.com"})...)
	for i, v := range hostileJSONStrings {
		rs = append(rs,
			hostileRequest{name: fmt.Sprintf("link create domain %q", v), method: http.MethodPost, target: coll,
				body: `{"role":"admin","maxUses":1,"allowedDomains":["example.com","` + v + `"]}`},
			hostileRequest{name: fmt.Sprintf("link create role ID %q", v), method: http.MethodPost, target: coll,
				body: `{"maxUses":1,"assignedRoleIds":["` + v + `"]}`},
			hostileRequest{name: fmt.Sprintf("link redeem email %d", i), method: http.MethodPost, target: redeemPath,
				body: `{"token":"` + hs.linkToken + `","email":"l` + v + `@example.com"}`},
		)
	}
	for _, exp := range []string{
		"9999-12-31T23:59:59.999999999Z", "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "2030-01-02T03:04:05+23:59",
		"2030-01-02T03:04:05-23:59", "1970-01-01T00:00:00Z", "2030-01-02T03:04:05.000000001Z", "2030-02-30T00:00:00Z",
	} {
		rs = append(rs, hostileRequest{name: "link create expireAt=" + exp, method: http.MethodPost, target: coll,
			body: `{"role":"admin","maxUses":1,"expireAt":"` + exp + `"}`})
	}
	domains := make([]string, link.MaxAllowedDomains)
	for i := range domains {
		domains[i] = fmt.Sprintf(`"%s%d.example.com"`, strings.Repeat("d", 60), i)
	}
	for _, n := range []string{"9223372036854775807", "-9223372036854775808", "99999999999999999999", "1e3", "null", "true"} {
		rs = append(rs, hostileRequest{name: "link create maxUses=" + n, method: http.MethodPost, target: coll,
			body: `{"role":"admin","maxUses":` + n + `}`})
	}
	rs = append(rs,
		hostileRequest{name: "link create 100 long domains", method: http.MethodPost, target: coll,
			body: `{"role":"admin","maxUses":10000,"allowedDomains":[` + strings.Join(domains, ",") + `]}`},
		hostileRequest{name: "link create long domain", method: http.MethodPost, target: coll,
			body: `{"role":"admin","maxUses":1,"allowedDomains":["` + strings.Repeat("b", 100000) + `.com"]}`},
		hostileRequest{name: "link create long role", method: http.MethodPost, target: coll,
			body: `{"role":"` + strings.Repeat("r", 100000) + `","maxUses":1}`},
		hostileRequest{name: "link create 10000 role IDs", method: http.MethodPost, target: coll,
			body: `{"maxUses":1,"assignedRoleIds":[` + strings.Repeat(`"`+uuid.NewString()+`",`, 9999) + `"` + uuid.NewString() + `"]}`},
		hostileRequest{name: "link redeem long token", method: http.MethodPost, target: redeemPath,
			body: `{"token":"` + strings.Repeat("A", 100000) + `","email":"new@example.com"}`},
		hostileRequest{name: "link redeem long email", method: http.MethodPost, target: redeemPath,
			body: `{"token":"` + hs.linkToken + `","email":"` + strings.Repeat("a", 100000) + `@example.com"}`},
		hostileRequest{name: "nil organization link list", method: http.MethodGet, target: linksPath(uuid.Nil)},
		hostileRequest{name: "nil organization link create", method: http.MethodPost, target: linksPath(uuid.Nil),
			body: `{"role":"admin","maxUses":1}`, want: http.StatusUnprocessableEntity},
		hostileRequest{name: "max organization link create", method: http.MethodPost, target: linksPath(uuid.Max),
			body: `{"role":"admin","maxUses":1}`},
	)
	for _, v := range hostileQueryValues {
		rs = append(rs,
			hostileRequest{name: "links org id " + v, method: http.MethodGet, target: "/v1/organizations/" + v + "/invite-links"},
			hostileRequest{name: "link id " + v, method: http.MethodGet, target: coll + "/" + v},
			hostileRequest{name: "link revoke id " + v, method: http.MethodPost, target: coll + "/" + v + "/revoke"},
			hostileRequest{name: "link redemptions id " + v, method: http.MethodGet, target: coll + "/" + v + "/redemptions"},
		)
	}
	for _, rt := range []struct{ target, body string }{
		{coll, `{"role":"admin","maxUses":1,"allowedDomains":["BAD"]}`},
		{redeemPath, `{"token":"` + hs.linkToken + `","email":"BAD"}`},
	} {
		for _, bad := range []string{"\xff\xfe@example.com", "a\xc3(b", "\xed\xa0\x80", "\xc0\x80", "\xf4\x90\x80\x80", `\ud800`, `\udfff@example.com`, `\ud800\u0041`} {
			rs = append(rs, hostileRequest{
				name: "not UTF-8 POST " + rt.target + " " + fmt.Sprintf("%q", bad), method: http.MethodPost,
				target: rt.target, body: strings.Replace(rt.body, "BAD", bad, 1), want: http.StatusBadRequest,
			})
		}
	}
	for _, e := range hostileEmails {
		rs = append(rs, hostileRequest{name: "link redeem email " + e, method: http.MethodPost, target: redeemPath,
			body: `{"token":"` + hs.linkToken + `","email":"` + e + `"}`, want: http.StatusUnprocessableEntity})
	}
	return rs
}

// hostileEmails are addresses the default email policy refuses (422
// naming email): look-alikes of the fixtures' addresses (invisible
// characters, the Kelvin sign, decomposed and non-ASCII-to-ASCII case
// forms), control and space characters, and domains that are not public
// names. JSON escapes, so the bytes reach the services as written.
var hostileEmails = []string{
	`org@example.com\u200b`, `org\u200b@example.com`, `guest\u200b@example.com`, `o\u200crg@example.com`,
	`o\u200drg@example.com`, `org\u2060@example.com`, `\ufefforg@example.com`, `org\u00ad@example.com`,
	`\u212aate@example.com`, `jose\u0301@example.com`, `\u0130stanbul@example.com`, `org\ufe0f@example.com`,
	`o\u00a0rg@example.com`, `o\u3000rg@example.com`, `o\u0007rg@example.com`, `o\u202erg@example.com`,
	`\ufffd\ufffd@example.com`, `user@[127.0.0.1]`, `user@[IPv6:2001:db8::1]`, `a@-b.c`, `a@b-.c`, `a@b..c`,
	`user@localhost`, `user@mail.localhost`, `a@b`, `user@127.0.0.1`, `user@b\u00fccher.de`,
}

// strictInputRequests are the inputs of issue 11, each with the status
// it must get: bodies that are not valid UTF-8 (400 on every JSON route),
// malformed query strings (400 on every route that reads its query), and
// emails the policy refuses (422) wherever an email enters.
func (hs *hostileServer) strictInputRequests(hdr map[string]string, future string) []hostileRequest {
	var rs []hostileRequest
	jsonRoutes := []struct{ method, target, body string }{
		{http.MethodPost, orgPath(hs.host), `{"email":"BAD","role":"admin"}`},
		{http.MethodPost, "/v1/invitations/accept", `{"token":"` + hs.orgToken + `","email":"BAD"}`},
		{http.MethodPost, "/guest-invitations", `{"email":"BAD","expired_at":"` + future + `"}`},
		{http.MethodPatch, hs.guestItem, `{"archived":false,"x":"BAD"}`},
		{http.MethodPost, hs.guestItem + "/resend", `{"expired_at":"BAD"}`},
		{http.MethodPost, "/guest-invitations/accept", `{"invitation_token":"BAD"}`},
	}
	for _, rt := range jsonRoutes {
		var header map[string]string
		if strings.HasPrefix(rt.target, "/guest-invitations/") && rt.target != "/guest-invitations/accept" || rt.target == "/guest-invitations" {
			header = hdr
		}
		for _, bad := range []string{"\xff\xfe@example.com", "a\xc3(b", "\xed\xa0\x80", "\xc0\x80", "\xf4\x90\x80\x80", `\ud800`, `\udfff@example.com`, `\ud800\u0041`} {
			rs = append(rs, hostileRequest{
				name: "not UTF-8 " + rt.method + " " + rt.target + " " + fmt.Sprintf("%q", bad), method: rt.method,
				target: rt.target, body: strings.Replace(rt.body, "BAD", bad, 1), header: header, want: http.StatusBadRequest,
			})
		}
	}
	for _, c := range []struct {
		path   string
		header map[string]string
	}{{orgPath(hs.host), nil}, {eventsPath(hs.host), nil}, {"/guest-invitations", hdr}} {
		for _, q := range []string{
			"status=revoked;x", "status=revoked%zz", "limit=1;", "statuses=sent;x", "statuses=sent%zz", "email=a%",
			"type=invitation.created;type=x", "cursor=%zz", ";", "a=1;b=2", "%gg=1", "limit=%",
		} {
			rs = append(rs, hostileRequest{name: "malformed query " + c.path + "?" + q, method: http.MethodGet,
				target: c.path + "?" + q, header: c.header, want: http.StatusBadRequest})
		}
	}
	for _, e := range hostileEmails {
		rs = append(rs,
			hostileRequest{name: "org create email " + e, method: http.MethodPost, target: orgPath(hs.host),
				body: `{"email":"` + e + `","role":"admin"}`, want: http.StatusUnprocessableEntity},
			hostileRequest{name: "org accept email " + e, method: http.MethodPost, target: "/v1/invitations/accept",
				body: `{"token":"` + hs.orgToken + `","email":"` + e + `"}`, want: http.StatusUnprocessableEntity},
			hostileRequest{name: "guest create email " + e, method: http.MethodPost, target: "/guest-invitations", header: hdr,
				body: `{"email":"` + e + `","expired_at":"` + future + `"}`, want: http.StatusUnprocessableEntity},
		)
		var decoded string
		if err := json.Unmarshal([]byte(`"`+e+`"`), &decoded); err == nil && !strings.ContainsRune(decoded, 0) {
			rs = append(rs, hostileRequest{name: "org list email " + e, method: http.MethodGet,
				target: orgPath(hs.host) + "?email=" + url.QueryEscape(decoded), want: http.StatusUnprocessableEntity})
		}
	}
	return rs
}

// everyEventType is a query naming every event type once.
func everyEventType() string {
	var b strings.Builder
	for _, t := range event.Types {
		b.WriteString("type=" + url.QueryEscape(string(t)) + "&")
	}
	return b.String()
}

// send makes r and checks the property every input must keep: not a 5xx,
// every error a problem+json of the path's API, and the response the one
// the OpenAPI document describes.
func (hs *hostileServer) send(t *testing.T, r hostileRequest) {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(context.Background(), r.method, hs.base+r.target, body)
	require.NoError(t, err)
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth(keyID, keySecret)
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := hs.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	require.Less(t, resp.StatusCode, 500, "%s %s: %s", r.method, r.target, raw)
	if r.want != 0 {
		assert.Equal(t, r.want, resp.StatusCode, "%s %s: %s", r.method, r.target, raw)
	}
	if resp.StatusCode >= 400 {
		assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		var problem struct {
			Status int    `json:"status"`
			Type   string `json:"type"`
		}
		require.NoError(t, json.Unmarshal(raw, &problem), "%s", raw)
		assert.Equal(t, resp.StatusCode, problem.Status)
		assert.True(t, strings.HasPrefix(problem.Type, ProblemTypePrefix), "type %q", problem.Type)
	}
	path := req.URL.Path
	if u, err := url.Parse(r.target); err == nil {
		path = u.Path
	}
	doc := &oaDoc{root: hs.h.openAPI}
	assert.NoError(t, doc.checkResponse(r.method, path, resp.StatusCode, resp.Header, raw))
}

// TestHostileInputsOverEveryStore sends a table of hostile requests over
// real HTTP to a Handler on each store: none may be answered with a 5xx,
// and every error must be a problem+json the document describes.
func TestHostileInputsOverEveryStore(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			hs := newHostileServer(t, b.open(t))
			for _, r := range hs.requests() {
				t.Run(label(r.name), func(t *testing.T) { hs.send(t, r) })
			}
		})
	}
}

// label shortens a request's name to a readable subtest name.
func label(name string) string {
	const max = 80
	if len(name) <= max {
		return name
	}
	return fmt.Sprintf("%s...(%d bytes)", name[:max], len(name))
}
