package store

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/google/uuid"
)

// ErrInvalidCursor reports a cursor string that ParseCursor cannot decode.
var ErrInvalidCursor = errors.New("invitekit: invalid cursor")

// Cursor is a keyset position in a list ordered by (CreatedAt, ID). A page
// that starts after a cursor neither repeats nor skips a record, however many
// records are created or deleted between two requests.
type Cursor struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

const cursorLen = 8 + 16

// maxCursorMicros is 9999-12-31T23:59:59.999999Z in Unix microseconds.
const maxCursorMicros = 253402300799999999

// String encodes c as an opaque, URL-safe string.
func (c Cursor) String() string {
	var b [cursorLen]byte
	binary.BigEndian.PutUint64(b[:8], uint64(c.CreatedAt.UnixMicro()))
	copy(b[8:], c.ID[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ParseCursor decodes a string made by Cursor.String. Any other string fails
// with ErrInvalidCursor.
func ParseCursor(s string) (Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != cursorLen {
		return Cursor{}, ErrInvalidCursor
	}
	micros := int64(binary.BigEndian.Uint64(b[:8]))
	if micros < 0 || micros > maxCursorMicros {
		// Every record's time lies in this range; outside it databases
		// refuse the value (PostgreSQL: timestamp out of range).
		return Cursor{}, ErrInvalidCursor
	}
	var id uuid.UUID
	copy(id[:], b[8:])
	return Cursor{CreatedAt: time.UnixMicro(micros).UTC(), ID: id}, nil
}

// Before reports whether the record (createdAt, id) sorts strictly before c
// in ascending (CreatedAt, ID) order, the order keyset pages are cut in.
//
// Store-author API: application code never needs it.
func (c Cursor) Before(createdAt time.Time, id uuid.UUID) bool {
	if !createdAt.Equal(c.CreatedAt) {
		return createdAt.Before(c.CreatedAt)
	}
	return CompareIDs(id, c.ID) < 0
}

// CompareIDs orders two UUIDs by their bytes, as SQL databases compare them
// (PostgreSQL's uuid type, and SQLite's BLOB or canonical TEXT alike), so
// every backend breaks ties the same way.
//
// Store-author API: application code never needs it.
func CompareIDs(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) }
