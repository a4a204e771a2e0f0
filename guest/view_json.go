package guest

import (
	"encoding/json"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// AppendViewJSON appends to dst the JSON of inv's API shape with
// invitation_token token (left out when empty), expired evaluated at now:
// byte for byte what json.Marshal returns for the View that NewView(inv,
// now) gives with InvitationToken set to token. It writes into dst and
// nowhere else, so a response of many invitations is rendered into one
// buffer without a View, a string per time and ID, or reflection per
// invitation.
//
// It fails, appending nothing, only where json.Marshal fails: when
// inv.Metadata is not nil and not valid JSON. The View's json.Marshal is the
// reference; view_json_test.go holds this to it, so a change to View's
// members must be made here too.
func AppendViewJSON(dst []byte, inv Invitation, token string, now time.Time) ([]byte, error) {
	// Metadata is checked first so that a failure leaves dst as it was,
	// as json.Marshal leaves nothing behind.
	if inv.Metadata != nil && !json.Valid(inv.Metadata) {
		return dst, errInvalidMetadata
	}
	dst = append(dst, `{"id":`...)
	dst = appendUUID(dst, inv.ID)
	dst = append(dst, `,"host_organization_id":`...)
	dst = appendUUID(dst, inv.HostOrganizationID)
	dst = append(dst, `,"email":`...)
	dst = appendString(dst, inv.Email)
	dst = append(dst, `,"first_invitation_sent_at":`...)
	dst = appendTime(dst, inv.FirstInvitationSentAt)
	dst = append(dst, `,"last_invitation_sent_at":`...)
	dst = appendTime(dst, inv.LastInvitationSentAt)
	dst = append(dst, `,"expired_at":`...)
	dst = appendTime(dst, inv.ExpiredAt)
	dst = append(dst, `,"expired":`...)
	dst = appendBool(dst, inv.Expired(now))
	dst = append(dst, `,"status":`...)
	dst = appendString(dst, string(inv.Status))
	if token != "" {
		dst = append(dst, `,"invitation_token":`...)
		dst = appendString(dst, token)
	}
	dst = append(dst, `,"archived":`...)
	dst = appendBool(dst, inv.Archived)
	dst = append(dst, `,"created_at":`...)
	dst = appendTime(dst, inv.CreatedAt)
	dst = append(dst, `,"updated_at":`...)
	dst = appendTime(dst, inv.UpdatedAt)
	dst = append(dst, `,"accepted_at":`...)
	if inv.AcceptedAt != nil {
		dst = appendTime(dst, *inv.AcceptedAt)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"archived_at":`...)
	if inv.ArchivedAt != nil {
		dst = appendTime(dst, *inv.ArchivedAt)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"parent_organization_id":`...)
	if inv.ParentOrganizationID != nil {
		dst = appendUUID(dst, *inv.ParentOrganizationID)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"parent_organization_name":`...)
	if inv.ParentOrganizationName != nil {
		dst = appendString(dst, *inv.ParentOrganizationName)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"metadata":`...)
	if inv.Metadata != nil {
		dst = appendCompact(dst, inv.Metadata)
	} else {
		dst = append(dst, "null"...)
	}
	return append(dst, '}'), nil
}

// errInvalidMetadata is AppendViewJSON's one failure. json.Marshal would
// say so too, with a *json.MarshalerError; callers only need to know that
// the invitation cannot be rendered.
var errInvalidMetadata = errors.New("guest: metadata is not valid JSON")

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

// appendTime appends service.Timestamp(t) as a JSON string. RFC 3339
// output is digits, signs, colons, dots, T and Z, none of which JSON or
// the HTML-escaping of json.Marshal changes, so it needs no escaping.
func appendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// appendUUID appends id as uuid.UUID.String spells it (lowercase,
// 8-4-4-4-12), quoted, without the string String allocates.
func appendUUID(dst []byte, id uuid.UUID) []byte {
	dst = append(dst, '"')
	for i, b := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[b>>4], hexDigits[b&0x0f])
	}
	return append(dst, '"')
}

// htmlSafe reports for each ASCII byte whether json.Marshal copies it into
// a string unescaped: every printable byte but the quote, the backslash
// and <, > and &, which it escapes so that JSON embedded in HTML stays
// inert.
var htmlSafe = func() (set [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		switch b {
		case '"', '\\', '<', '>', '&':
		default:
			set[b] = true
		}
	}
	return set
}()

// appendString appends s as json.Marshal encodes a string: quoted, with
// the short escapes for \b \f \n \r \t, \u00XX for the other control
// bytes and for <, > and &, \u2028 and \u2029 escaped (JavaScript line
// terminators), and each byte of invalid UTF-8 replaced by \ufffd.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if htmlSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0x0f])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0x0f])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendCompact appends the valid JSON m as json.Marshal writes a
// json.RawMessage: without the whitespace between tokens, with <, > and &
// escaped as \u003c, \u003e and \u0026 and U+2028 and U+2029 as \u2028 and
// \u2029. Everything else, invalid UTF-8 in strings included, is copied as
// it is, as json.Marshal copies it. The caller has checked m with
// json.Valid, so outside strings every byte is either whitespace or part
// of a token, and <, >, & and U+2028/9 can only be inside strings.
func appendCompact(dst []byte, m []byte) []byte {
	inString, escaped := false, false
	start := 0
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !inString {
			switch c {
			case ' ', '\t', '\n', '\r':
				dst = append(dst, m[start:i]...)
				start = i + 1
			case '"':
				inString = true
			}
			continue
		}
		switch {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case c == '"':
			inString = false
		case c == '<' || c == '>' || c == '&':
			dst = append(dst, m[start:i]...)
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0x0f])
			start = i + 1
		case c == 0xe2 && i+2 < len(m) && m[i+1] == 0x80 && m[i+2]&^1 == 0xa8:
			dst = append(dst, m[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[m[i+2]&0x0f])
			i += 2
			start = i + 1
		}
	}
	return append(dst, m[start:]...)
}
