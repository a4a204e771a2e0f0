package guest_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/guest"
)

// marshalView is the reference AppendViewJSON is held to: json.Marshal of
// the View NewView gives, with the token a read shows.
func marshalView(inv guest.Invitation, token string, now time.Time) ([]byte, error) {
	v := guest.NewView(inv, now)
	v.InvitationToken = token
	return json.Marshal(v)
}

// assertSameJSON checks that AppendViewJSON, appending to a non-empty
// slice, adds exactly json.Marshal's bytes, or fails exactly where it
// fails and then leaves the slice as it was.
func assertSameJSON(t *testing.T, inv guest.Invitation, token string, now time.Time) {
	t.Helper()
	want, wantErr := marshalView(inv, token, now)
	prefix := []byte(`[1,`)
	got, err := guest.AppendViewJSON(prefix[:len(prefix):len(prefix)], inv, token, now)
	if wantErr != nil {
		assert.Error(t, err, "json.Marshal fails: %v", wantErr)
		assert.Equal(t, prefix, got, "nothing appended on failure")
		return
	}
	require.NoError(t, err)
	require.Equal(t, prefix, got[:len(prefix)], "dst kept")
	assert.Equal(t, string(want), string(got[len(prefix):]))
}

// viewSample is an invitation with every nullable member set.
func viewSample() guest.Invitation {
	accepted := time.Date(2026, 5, 2, 3, 4, 5, 600, time.FixedZone("X", 5*3600+30*60))
	archived := time.Date(2026, 5, 3, 0, 0, 0, 0, time.UTC)
	parentID := uuid.MustParse("01900000-0000-7000-8000-0000000000ab")
	return guest.Invitation{
		ID:                     uuid.MustParse("0196a0c1-2d3e-7f40-8a5b-6c7d8e9fa0b1"),
		HostOrganizationID:     uuid.MustParse("ffffffff-ffff-ffff-ffff-ffffffffffff"),
		Email:                  "guest@example.com",
		FirstInvitationSentAt:  time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC),
		LastInvitationSentAt:   time.Date(2026, 5, 1, 12, 0, 0, 123456000, time.UTC),
		ExpiredAt:              time.Date(2026, 6, 1, 0, 0, 0, 0, time.FixedZone("Y", -7*3600)),
		Status:                 guest.StatusAcceptedByGuest,
		Archived:               true,
		CreatedAt:              time.Date(2026, 5, 1, 12, 0, 0, 1, time.UTC),
		UpdatedAt:              time.Date(2026, 5, 1, 12, 0, 0, 100, time.Local),
		AcceptedAt:             &accepted,
		ArchivedAt:             &archived,
		ParentOrganizationID:   &parentID,
		ParentOrganizationName: ptr("Parent Inc."),
		Metadata:               json.RawMessage(`{"team":"a","n":1}`),
	}
}

func TestAppendViewJSONMatchesMarshal(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 15, 0, 0, 0, 0, time.UTC)
	with := func(change func(*guest.Invitation)) guest.Invitation {
		inv := viewSample()
		change(&inv)
		return inv
	}
	// hostile are strings every escaping rule of json.Marshal applies to.
	hostile := map[string]string{
		"html":                `<script>alert("x&y")</script>`,
		"quotes":              `"quoted" 'single'`,
		"backslashes":         `a\b\\c\"`,
		"controls":            "\x00\x01\x07\b\t\n\v\f\r\x1b\x1f\x7f",
		"line separators":     "a\u2028b\u2029c",
		"invalid UTF-8":       "a\xffb\xc3(c\xe2\x80d\xed\xa0\x80e\xf4\x90\x80\x80",
		"truncated at end":    "ab\xe2\x80",
		"multi-byte":          "é日本語🙂\u00a0\ufeff\ufffd",
		"empty":               "",
		"slash and solidus":   "a/b",
		"U+2028 alone":        "\u2028",
		"near line sep":       "\u2027\u202a\xe2\x80\xa7",
		"replacement literal": `\ufffd`,
	}
	type viewCase struct {
		inv   guest.Invitation
		token string
		// now is when expired is evaluated; the test's now when zero.
		now time.Time
	}
	cases := map[string]viewCase{
		"zero":                  {inv: guest.Invitation{}},
		"zero with token":       {inv: guest.Invitation{}, token: "tok"},
		"all set":               {inv: viewSample(), token: "v1.abc-DEF_123"},
		"all set, no token":     {inv: viewSample()},
		"sent, not yet expired": {inv: with(func(inv *guest.Invitation) { inv.Status = guest.StatusSent }), now: time.Date(2026, 5, 31, 0, 0, 0, 0, time.UTC)},
		"sent, expired":         {inv: with(func(inv *guest.Invitation) { inv.Status = guest.StatusSent }), now: time.Date(2026, 6, 1, 7, 0, 0, 0, time.UTC)},
		"nullable members nil": {inv: with(func(inv *guest.Invitation) {
			inv.AcceptedAt, inv.ArchivedAt, inv.ParentOrganizationID, inv.ParentOrganizationName, inv.Metadata = nil, nil, nil, nil, nil
		})},
		"nanoseconds trimmed": {inv: with(func(inv *guest.Invitation) {
			inv.CreatedAt = time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.UTC)
			inv.UpdatedAt = time.Date(2026, 1, 2, 3, 4, 5, 999999999, time.UTC)
		})},
		"far years": {inv: with(func(inv *guest.Invitation) {
			inv.FirstInvitationSentAt = time.Date(-44, 3, 15, 0, 0, 0, 0, time.UTC)
			inv.LastInvitationSentAt = time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC)
			inv.ExpiredAt = time.Unix(1<<40, 5)
			inv.CreatedAt = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
		})},
		"hostile status":        {inv: with(func(inv *guest.Invitation) { inv.Status = "<&>\u2028\xff\"" })},
		"hostile token":         {inv: viewSample(), token: "a<b>&\"\\\u2028\xff"},
		"metadata null":         {inv: with(func(inv *guest.Invitation) { inv.Metadata = json.RawMessage(`null`) })},
		"metadata empty object": {inv: with(func(inv *guest.Invitation) { inv.Metadata = json.RawMessage(`{}`) })},
		"metadata spaced": {inv: with(func(inv *guest.Invitation) {
			inv.Metadata = json.RawMessage(" \t\n{ \"a\" : 1 ,\r\n \"b\" : [ 1 , 2.5e3 , -0 , true , false , null ] , \"c\" : { } , \"d\" : \"x y\" }\n ")
		})},
		"metadata as PostgreSQL jsonb prints it": {inv: with(func(inv *guest.Invitation) {
			inv.Metadata = json.RawMessage(`{"a": 1, "b": {"c": [1, 2]}}`)
		})},
		"metadata with escapes to keep": {inv: with(func(inv *guest.Invitation) {
			inv.Metadata = json.RawMessage(`{"a":"q\" <b> \\","b\\":"\\\"","c":"\u003c\u2028\n\t\/"}`)
		})},
		"metadata with raw HTML and separators": {inv: with(func(inv *guest.Invitation) {
			inv.Metadata = json.RawMessage("{\"<k>\":\"a&b \u2028 \u2029 </script>\", \"x\": \"\u2027\xe2\x80\xaa\"}")
		})},
		"metadata with invalid UTF-8": {inv: with(func(inv *guest.Invitation) {
			inv.Metadata = json.RawMessage("{\"a\":\"\xff\xe2\x80\",\"b\":\"\xed\xa0\x80\"}")
		})},
		"metadata not an object": {inv: with(func(inv *guest.Invitation) { inv.Metadata = json.RawMessage(` [ "a" , 1 ] `) })},
		"metadata number":        {inv: with(func(inv *guest.Invitation) { inv.Metadata = json.RawMessage(` 12 `) })},
		"metadata string":        {inv: with(func(inv *guest.Invitation) { inv.Metadata = json.RawMessage(`"a b"`) })},
		// json.Marshal fails on these; so must AppendViewJSON.
		"metadata empty, not nil": {inv: with(func(inv *guest.Invitation) { inv.Metadata = json.RawMessage{} })},
		"metadata only spaces":    {inv: with(func(inv *guest.Invitation) { inv.Metadata = json.RawMessage(`   `) })},
		"metadata truncated":      {inv: with(func(inv *guest.Invitation) { inv.Metadata = json.RawMessage(`{"a":`) })},
		"metadata two values":     {inv: with(func(inv *guest.Invitation) { inv.Metadata = json.RawMessage(`{} {}`) })},
		"metadata control byte":   {inv: with(func(inv *guest.Invitation) { inv.Metadata = json.RawMessage("{\"a\":\"\x01\"}") })},
	}
	for name, s := range hostile {
		cases["email "+name] = viewCase{inv: with(func(inv *guest.Invitation) { inv.Email = s }), token: s}
		cases["parent name "+name] = viewCase{inv: with(func(inv *guest.Invitation) { inv.ParentOrganizationName = ptr(s) })}
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if c.now.IsZero() {
				c.now = now
			}
			assertSameJSON(t, c.inv, c.token, c.now)
		})
	}
}

// TestAppendViewJSONAllocations holds AppendViewJSON to its purpose: with
// room in dst, rendering an invitation allocates nothing.
func TestAppendViewJSONAllocations(t *testing.T) {
	inv := viewSample()
	buf := make([]byte, 0, 4096)
	now := time.Now()
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if buf, err = guest.AppendViewJSON(buf[:0], inv, "v1.token", now); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

// FuzzViewJSON builds invitations from arbitrary strings, bytes and times
// and checks that AppendViewJSON writes what json.Marshal writes, or fails
// where it fails.
func FuzzViewJSON(f *testing.F) {
	f.Add("guest@example.com", "v1.tok", "Parent", "sent", []byte(`{"a": 1}`), int64(1777636800), int64(5), int64(3600), []byte("0123456789abcdef"), uint8(0xff))
	f.Add("<a&b>\u2028", "\xff", "\x00\"\\", "<x>", []byte("{\"\u2029\":\"\xff<\"}"), int64(-62135596800), int64(999999999), int64(-12*3600), []byte{}, uint8(0))
	f.Add("", "", "", "", []byte(` [ 1 , "\u2028" ] `), int64(1<<40), int64(0), int64(0), []byte{0xff}, uint8(0x55))
	f.Add("a\xe2\x80", "b", "c", "accepted_by_guest", []byte(`{"a":`), int64(0), int64(-1), int64(59), []byte("x"), uint8(0xaa))
	f.Fuzz(func(t *testing.T, email, token, parentName, status string, metadata []byte, sec, nsec, zone int64, ids []byte, flags uint8) {
		var idBytes [48]byte
		copy(idBytes[:], ids)
		loc := time.FixedZone("F", int(zone%(48*3600)))
		at := func(shift int64) time.Time { return time.Unix(sec+shift, nsec).In(loc) }
		accepted, archived := at(3), at(-4)
		parentID := uuid.UUID(idBytes[32:48])
		inv := guest.Invitation{
			ID:                    uuid.UUID(idBytes[0:16]),
			HostOrganizationID:    uuid.UUID(idBytes[16:32]),
			Email:                 email,
			FirstInvitationSentAt: at(0),
			LastInvitationSentAt:  at(1),
			ExpiredAt:             at(2),
			Status:                guest.Status(status),
			Archived:              flags&1 != 0,
			CreatedAt:             at(-1),
			UpdatedAt:             at(-2),
			Metadata:              metadata,
		}
		if flags&2 != 0 {
			inv.AcceptedAt = &accepted
		}
		if flags&4 != 0 {
			inv.ArchivedAt = &archived
		}
		if flags&8 != 0 {
			inv.ParentOrganizationID = &parentID
		}
		if flags&16 != 0 {
			inv.ParentOrganizationName = &parentName
		}
		if flags&32 != 0 {
			inv.Metadata = nil
		}
		assertSameJSON(t, inv, token, at(int64(flags>>6)))
	})
}

// BenchmarkViewJSON renders one invitation as the HTTP routes did before
// AppendViewJSON (a View, then json.Marshal) and as they do now.
func BenchmarkViewJSON(b *testing.B) {
	inv := viewSample()
	now := time.Now()
	b.Run("marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := marshalView(inv, "v1.token", now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 4096)
		for b.Loop() {
			var err error
			if buf, err = guest.AppendViewJSON(buf[:0], inv, "v1.token", now); err != nil {
				b.Fatal(err)
			}
		}
	})
}
