package guest

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

var cursorID = uuid.MustParse("01900000-0000-7000-8000-0000000000ab")

// cursorSamples are invitations whose sort fields hold the values a cursor
// must carry exactly: ordinary times, the extremes of the range, nulls and
// emails with non-ASCII letters.
func cursorSamples() []Invitation {
	t := time.Date(2026, 5, 1, 12, 0, 0, 123456000, time.UTC)
	first := time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC)
	last := time.Date(9999, time.December, 31, 23, 59, 59, 999999000, time.UTC)
	sample := func(at time.Time, nullable *time.Time, email string) Invitation {
		return Invitation{
			ID: cursorID, Email: email, FirstInvitationSentAt: at, LastInvitationSentAt: at, ExpiredAt: at,
			CreatedAt: at, UpdatedAt: at, AcceptedAt: nullable, ArchivedAt: nullable,
		}
	}
	return []Invitation{
		sample(t, &t, "guest@example.com"),
		sample(t, nil, "ünïcode@exämple.com"),
		sample(first, &first, "a@b"),
		sample(last, &last, strings.Repeat("x", maxCursorEmail)),
	}
}

// sortValue is inv's value of the sort field by, for comparisons.
func sortValue(by OrderBy, inv Invitation) any {
	if by == OrderByEmail {
		return inv.Email
	}
	if p := nullableField(by, &inv); p != nil {
		return *p
	}
	return *timeField(by, &inv)
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	for _, by := range cursorFields[1:] {
		for _, dir := range []store.Direction{store.Asc, store.Desc} {
			for _, inv := range cursorSamples() {
				s := encodeCursor(by, dir, inv)
				assert.LessOrEqual(t, len(s), maxCursorLen)
				c, err := decodeCursor(s)
				require.NoError(t, err, "%s %s %v", by, dir, sortValue(by, inv))
				assert.Equal(t, by, c.orderBy)
				assert.Equal(t, dir, c.order)
				assert.Equal(t, cursorID, c.after.ID)
				assert.Equal(t, sortValue(by, inv), sortValue(by, c.after), "%s %s", by, dir)
				// The position is the invitation's in the order: nothing
				// of it comes after it, and a later one does.
				q := ListQuery{OrderBy: by, Order: dir}
				assert.Zero(t, q.Compare(inv, c.after), "%s %s", by, dir)
				assert.NoError(t, c.continues(q))
				assert.ErrorIs(t, c.continues(ListQuery{OrderBy: by, Order: opposite(dir)}), store.ErrInvalidCursor)
			}
		}
	}
}

func opposite(d store.Direction) store.Direction {
	if d == store.Asc {
		return store.Desc
	}
	return store.Asc
}

func TestCursorRejects(t *testing.T) {
	t.Parallel()
	inv := cursorSamples()[0]
	valid := encodeCursor(OrderByCreatedAt, store.Desc, inv)
	// 20 bytes, so the last character holds 4 bits of the null flag and 2
	// unused ones; an ID whose base64 holds '_', which is '/' in standard
	// base64.
	nullRaw := append(append([]byte{cursorVersion, 5, 0}, bytes.Repeat([]byte{0xff}, 16)...), 0)
	nullCursor := base64.RawURLEncoding.EncodeToString(nullRaw)
	require.True(t, strings.HasSuffix(nullCursor, "A"), nullCursor)
	require.Contains(t, nullCursor, "_")
	_, err := decodeCursor(nullCursor)
	require.NoError(t, err)
	raw, err := base64.RawURLEncoding.DecodeString(valid)
	require.NoError(t, err)
	with := func(change func(b []byte) []byte) string {
		b := change(append([]byte(nil), raw...))
		return base64.RawURLEncoding.EncodeToString(b)
	}
	header := func(version, field, dir byte, value ...byte) string {
		b := append([]byte{version, field, dir}, cursorID[:]...)
		return base64.RawURLEncoding.EncodeToString(append(b, value...))
	}
	micros := func(t time.Time) []byte {
		m := t.UnixMicro()
		return []byte{byte(m >> 56), byte(m >> 48), byte(m >> 40), byte(m >> 32), byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}
	}
	now := micros(inv.CreatedAt)
	year10000 := micros(time.Date(10000, time.January, 1, 0, 0, 0, 0, time.UTC))
	year0 := micros(time.Date(0, time.December, 31, 23, 59, 59, 999999000, time.UTC))
	const email, accepted = 1, 5
	for name, s := range map[string]string{
		"empty":                   "",
		"not base64":              "not a cursor!",
		"standard base64":         base64.RawStdEncoding.EncodeToString(nullRaw),
		"padded":                  base64.URLEncoding.EncodeToString(nullRaw),
		"a line break":            valid[:10] + "\n" + valid[10:],
		"trailing bits set":       nullCursor[:len(nullCursor)-1] + "B", // its last character is "A"
		"an organization cursor":  store.Cursor{CreatedAt: inv.CreatedAt, ID: inv.ID}.String(),
		"version 0":               with(func(b []byte) []byte { b[0] = 0; return b }),
		"version 2":               with(func(b []byte) []byte { b[0] = 2; return b }),
		"field 0":                 with(func(b []byte) []byte { b[1] = 0; return b }),
		"field 9":                 with(func(b []byte) []byte { b[1] = 9; return b }),
		"field 255":               with(func(b []byte) []byte { b[1] = 255; return b }),
		"direction 2":             with(func(b []byte) []byte { b[2] = 2; return b }),
		"a byte more":             with(func(b []byte) []byte { return append(b, 0) }),
		"a byte less":             with(func(b []byte) []byte { return b[:len(b)-1] }),
		"header only":             with(func(b []byte) []byte { return b[:cursorHeaderLen] }),
		"short ID":                with(func(b []byte) []byte { return b[:10] }),
		"after year 9999":         header(cursorVersion, 7, 0, year10000...),
		"before year 1":           header(cursorVersion, 7, 0, year0...),
		"the least int64":         header(cursorVersion, 7, 0, 0x80, 0, 0, 0, 0, 0, 0, 0),
		"null for created_at":     header(cursorVersion, 7, 0, 0),
		"empty email":             header(cursorVersion, email, 0),
		"email with NUL":          header(cursorVersion, email, 0, 'a', 0, 'b'),
		"email not UTF-8":         header(cursorVersion, email, 0, 'a', 0xff, 'b'),
		"email too long":          header(cursorVersion, email, 0, []byte(strings.Repeat("e", maxCursorEmail+1))...),
		"nullable flag 2":         header(cursorVersion, accepted, 0, append([]byte{2}, now...)...),
		"null with a time":        header(cursorVersion, accepted, 0, append([]byte{0}, now...)...),
		"nullable without a flag": header(cursorVersion, accepted, 0, now...),
		"nullable flag alone":     header(cursorVersion, accepted, 0, 1),
		"very long":               strings.Repeat("A", 1<<20),
	} {
		_, err := decodeCursor(s)
		assert.ErrorIs(t, err, store.ErrInvalidCursor, name)
		assert.Equal(t, errNotACursor, err, name)
	}
}

// FuzzDecodeCursor: no input panics; what decodes is the canonical cursor
// of a valid position, which encodes back to the same string.
func FuzzDecodeCursor(f *testing.F) {
	for _, by := range cursorFields[1:] {
		for _, inv := range cursorSamples() {
			f.Add(encodeCursor(by, store.Asc, inv))
			f.Add(encodeCursor(by, store.Desc, inv))
		}
	}
	f.Add("")
	f.Add("AQcA")
	f.Add(store.Cursor{}.String())
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err != nil {
			assert.ErrorIs(t, err, store.ErrInvalidCursor)
			return
		}
		require.True(t, c.orderBy.Valid(), "%q", c.orderBy)
		require.True(t, c.order.Valid(), "%q", c.order)
		assert.Equal(t, s, encodeCursor(c.orderBy, c.order, c.after))
		// Only the ID and the sort field are set.
		assert.Equal(t, sortKeyOf(c.orderBy, c.after), c.after)
		// Its options validate, so the stores receive it.
		_, err = ListOptions{OrderBy: c.orderBy, Order: c.order, Cursor: s}.query(uuid.Nil, time.Time{})
		assert.NoError(t, err)
	})
}

// sortKeyOf keeps only the ID and the sort field by of inv.
func sortKeyOf(by OrderBy, inv Invitation) Invitation {
	k := Invitation{ID: inv.ID}
	if by == OrderByEmail {
		k.Email = inv.Email
	} else if p := nullableField(by, &inv); p != nil {
		*nullableField(by, &k) = *p
	} else {
		*timeField(by, &k) = *timeField(by, &inv)
	}
	return k
}
