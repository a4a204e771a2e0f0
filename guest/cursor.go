package guest

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/store"
)

// A cursor is the keyset position after one invitation of the list in one
// order: the order it was made for, the invitation's ID and the value of its
// sort field, which is all ListQuery.After needs. It travels as an opaque,
// URL-safe string (unpadded base64url) of these bytes:
//
//	[0]     cursorVersion
//	[1]     the sort field, its number in cursorFields
//	[2]     the direction: 0 asc, 1 desc
//	[3:19]  the invitation's ID
//	[19:]   its sort field's value:
//	          a time: 8 bytes, big-endian Unix microseconds
//	          accepted_at, archived_at: 0 for null, or 1 and the 8 bytes
//	          email: its bytes, valid UTF-8 without NUL
//
// Only strings encodeCursor can return decode: anything else, including
// a string that differs from one of them only in how it is spelt (padding,
// line breaks, the unused bits of its last character), is refused, so no
// value the stores could choke on ever reaches them.

// cursorVersion is the first byte of every cursor: a new layout takes a
// new version, and the cursors of the old one are refused.
const cursorVersion = 1

// cursorFields numbers the sort fields in cursors. A number, once given
// out, keeps its field: append only.
var cursorFields = [...]OrderBy{
	1: OrderByEmail,
	2: OrderByFirstInvitationSentAt,
	3: OrderByLastInvitationSentAt,
	4: OrderByExpiredAt,
	5: OrderByAcceptedAt,
	6: OrderByArchivedAt,
	7: OrderByCreatedAt,
	8: OrderByUpdatedAt,
}

const (
	cursorHeaderLen = 3 + 16
	// maxCursorEmail bounds the email of a cursor, in bytes: stored
	// emails are at most 100 characters, so 400 bytes, with room to spare.
	maxCursorEmail = 1024
	// maxCursorLen bounds a cursor string, so a long one is refused before
	// it is decoded.
	maxCursorLen = (cursorHeaderLen + maxCursorEmail + 2) / 3 * 4
)

// The times a cursor may hold: years 1 to 9999 in Unix microseconds. Every
// stored time lies in this range, and every database takes it.
var (
	minCursorMicros = time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	maxCursorMicros = time.Date(9999, time.December, 31, 23, 59, 59, 999999000, time.UTC).UnixMicro()
)

// cursorError is a cursor that cannot continue a list. It wraps
// store.ErrInvalidCursor; msg is what ListOptions.Validate says about the
// Cursor field.
type cursorError struct{ msg string }

func (e *cursorError) Error() string { return "guest: cursor " + e.msg }

func (e *cursorError) Unwrap() error { return store.ErrInvalidCursor }

// errNotACursor is every cursor that does not decode: the client cannot
// repair it, so the message does not say what is wrong with it.
var errNotACursor = &cursorError{msg: "is not a cursor returned by this list"}

// cursor is a decoded cursor.
type cursor struct {
	orderBy OrderBy
	order   store.Direction
	// after holds the ID and the orderBy field of the invitation the page
	// ended with; a nil AcceptedAt or ArchivedAt is null.
	after Invitation
}

// encodeCursor returns the cursor of the position after inv in the order
// of by and dir, which must be valid.
func encodeCursor(by OrderBy, dir store.Direction, inv Invitation) string {
	b := make([]byte, cursorHeaderLen, cursorHeaderLen+9)
	b[0] = cursorVersion
	for n, f := range cursorFields {
		if f == by && f != "" {
			b[1] = byte(n)
		}
	}
	if dir == store.Desc {
		b[2] = 1
	}
	copy(b[3:], inv.ID[:])
	if by == OrderByEmail {
		b = append(b, inv.Email...)
	} else if t := nullableField(by, &inv); t != nil {
		if *t == nil {
			b = append(b, 0)
		} else {
			b = binary.BigEndian.AppendUint64(append(b, 1), uint64((*t).UnixMicro()))
		}
	} else {
		b = binary.BigEndian.AppendUint64(b, uint64(timeField(by, &inv).UnixMicro()))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor decodes a string encodeCursor returned. Any other string
// fails with errNotACursor, which wraps store.ErrInvalidCursor.
func decodeCursor(s string) (cursor, error) {
	if len(s) > maxCursorLen {
		return cursor{}, errNotACursor
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) < cursorHeaderLen || b[0] != cursorVersion ||
		int(b[1]) >= len(cursorFields) || cursorFields[b[1]] == "" || b[2] > 1 {
		return cursor{}, errNotACursor
	}
	c := cursor{orderBy: cursorFields[b[1]], order: store.Asc}
	if b[2] == 1 {
		c.order = store.Desc
	}
	c.after.ID = uuid.UUID(b[3:cursorHeaderLen])
	value := b[cursorHeaderLen:]
	ok := false
	switch nullable := nullableField(c.orderBy, &c.after); {
	case c.orderBy == OrderByEmail:
		ok = len(value) > 0 && len(value) <= maxCursorEmail && utf8.Valid(value) && bytes.IndexByte(value, 0) < 0
		c.after.Email = string(value)
	case nullable != nil && len(value) == 1:
		ok = value[0] == 0
	case nullable != nil && len(value) == 9 && value[0] == 1:
		var t time.Time
		t, ok = cursorTime(value[1:])
		*nullable = &t
	case nullable == nil && len(value) == 8:
		*timeField(c.orderBy, &c.after), ok = cursorTime(value)
	}
	// The decoder above ignores line breaks, which encodeCursor never
	// writes: only the canonical spelling of a cursor is one.
	if !ok || encodeCursor(c.orderBy, c.order, c.after) != s {
		return cursor{}, errNotACursor
	}
	return c, nil
}

// continues returns nil when c can continue a list in the order of q, and
// otherwise a *cursorError that says which order it was made for.
func (c cursor) continues(q ListQuery) error {
	if c.orderBy == q.OrderBy && c.order == q.Order {
		return nil
	}
	return &cursorError{msg: fmt.Sprintf("was made for order_by=%s order=%s; repeat those or start over without a cursor",
		c.orderBy, c.order)}
}

// cursorTime reads 8 bytes of Unix microseconds in the range a cursor may
// hold.
func cursorTime(b []byte) (time.Time, bool) {
	micros := int64(binary.BigEndian.Uint64(b))
	if micros < minCursorMicros || micros > maxCursorMicros {
		return time.Time{}, false
	}
	return time.UnixMicro(micros).UTC(), true
}

// timeField returns inv's field of the not-nullable time order by, nil
// for the other orders.
func timeField(by OrderBy, inv *Invitation) *time.Time {
	switch by {
	case OrderByFirstInvitationSentAt:
		return &inv.FirstInvitationSentAt
	case OrderByLastInvitationSentAt:
		return &inv.LastInvitationSentAt
	case OrderByExpiredAt:
		return &inv.ExpiredAt
	case OrderByCreatedAt:
		return &inv.CreatedAt
	case OrderByUpdatedAt:
		return &inv.UpdatedAt
	}
	return nil
}

// nullableField returns inv's field of the nullable order by (accepted_at,
// archived_at), nil for the other orders.
func nullableField(by OrderBy, inv *Invitation) **time.Time {
	switch by {
	case OrderByAcceptedAt:
		return &inv.AcceptedAt
	case OrderByArchivedAt:
		return &inv.ArchivedAt
	}
	return nil
}
