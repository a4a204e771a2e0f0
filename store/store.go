// Package store is the ground floor of invitekit: the vocabulary every layer
// shares. It holds the one name of each error a caller tests for with
// errors.Is (whichever domain or backend returned it), the validation error
// type, and the small query primitives (sort direction, keyset cursor) both
// domains use. The domain packages define only the errors that are theirs
// alone (guest.ErrArchived, invitation.ErrEmailMismatch).
//
// It imports nothing else of invitekit, so the domain packages, the backends
// and the HTTP adapter can all depend on it without cycles.
package store

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors. Backends return them, possibly wrapped, and callers test
// for them with errors.Is. The domain packages re-export them.
var (
	// ErrNotFound reports that no record has the given ID, or that it
	// belongs to another organization: backends never distinguish the two,
	// so IDs cannot be probed across tenants.
	ErrNotFound = errors.New("invitekit: not found")

	// ErrAlreadyExists reports that a write would break a uniqueness rule:
	// a duplicate ID, or a second open invitation for one organization and
	// email.
	ErrAlreadyExists = errors.New("invitekit: already exists")

	// ErrConflict reports that the record is in a state that does not allow
	// the requested change, for example accepting an invitation that was
	// already accepted. The domain packages wrap it in more specific errors.
	ErrConflict = errors.New("invitekit: conflict")

	// ErrUnavailable reports that the store is busy or unreachable: the
	// database refused or lost the connection, or a wait for a lock, a
	// statement or a connection ran out the store's bound (SQLite: another
	// process held the file's write lock past the busy timeout). The error
	// wraps the database's own error too. Trying again later may succeed;
	// the HTTP adapter answers 503 with Retry-After.
	//
	// Nothing of the call was applied, with one exception every database
	// shares: when the connection was lost while the commit itself was
	// under way, the change may have committed. Stores do not retry such a
	// write behind the caller's back, as it could apply twice; a caller
	// that retries may find it applied (a create then fails with
	// ErrAlreadyExists, an accept with ErrAlreadyAccepted). postgresstore
	// settles such a commit whenever it can (it makes sure the
	// transaction has ended, then looks for its event), so there the
	// exception is narrower: the server stayed unreachable for the commit
	// timeout, the store's role may not end the transaction's server
	// process, or a connection pooler in between hides which process that
	// is (see the postgresstore package documentation).
	ErrUnavailable = errors.New("invitekit: the store is busy or unreachable")

	// ErrClosed is returned by every method of a store called after its
	// Close.
	ErrClosed = errors.New("invitekit: store is closed")

	// ErrInvalidToken reports a token that is malformed, tampered with,
	// signed by an unknown key, of another kind, or replaced by a resend,
	// or whose invitation was deleted. It never says which.
	ErrInvalidToken = errors.New("invitekit: invalid invitation token")

	// ErrExpired reports an attempt to accept an invitation after its
	// expiry. (A resend revives an expired invitation instead.)
	ErrExpired = errors.New("invitekit: invitation expired")

	// ErrAlreadyAccepted reports a change to an invitation that was
	// already accepted. It wraps ErrConflict.
	ErrAlreadyAccepted = fmt.Errorf("invitekit: invitation already accepted: %w", ErrConflict)

	// ErrRevoked reports a change to a revoked invitation. It wraps
	// ErrConflict.
	ErrRevoked = fmt.Errorf("invitekit: invitation revoked: %w", ErrConflict)
)

// SchemaTooNewError is wrapped by the error a SQL store's Open or New
// returns when the database was migrated by a newer invitekit than the
// running one: the older code cannot know what the newer schema means.
type SchemaTooNewError struct {
	// Database is the schema version recorded in the database; Supported
	// the highest this build knows.
	Database, Supported int
}

func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("invitekit: database schema is at version %d, newer than version %d this build supports: upgrade invitekit",
		e.Database, e.Supported)
}

// SchemaTooOldError is wrapped by the error a SQL store's Open or New
// returns when it was told to check the schema instead of migrating it
// (sqlitestore.WithSchemaCheck, postgresstore.WithSchemaCheck) and the
// database lacks migrations this build needs: run the store's migrations
// (its Migrations, with goose or another tool) before starting it.
type SchemaTooOldError struct {
	// Database is the version up to which every migration is applied
	// in the database, 0 for none; Wanted the latest this build has,
	// which it needs.
	Database, Wanted int
}

func (e *SchemaTooOldError) Error() string {
	return fmt.Sprintf("invitekit: database schema is at version %d, older than version %d this build needs: run invitekit's migrations (the store's Migrations, with goose or your migration tool) first",
		e.Database, e.Wanted)
}

// FieldError describes one invalid input field.
type FieldError struct {
	// Field names the field. The domain packages use the Go name of the
	// params or options field the message is about ("Email", "ExpiredAt",
	// their Field constants); an adapter renders it in its own wire terms.
	Field string
	// Message says what is wrong, in words a caller can show to a person.
	Message string
}

// Indexed names the entry at index i of the array field: "field[i]". An
// adapter that renames field keeps the index.
func Indexed(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }

// ValidationError reports every invalid field of one request. The HTTP
// adapter turns it into a 422 response that lists the fields.
type ValidationError struct {
	Fields []FieldError
}

// Error implements error.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invitekit: invalid input")
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field)
		b.WriteString(": ")
		b.WriteString(f.Message)
	}
	return b.String()
}

// Add records an invalid field.
func (e *ValidationError) Add(field, message string) {
	e.Fields = append(e.Fields, FieldError{Field: field, Message: message})
}

// Err returns e when it holds at least one field, and nil otherwise, so a
// validator can collect every problem and return once.
func (e *ValidationError) Err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Merge returns one error naming every invalid field of e and of other,
// for a caller that found some invalid values itself (e, typically values
// it could not even parse) and asked a validator about the rest (other), so
// the client fixes them all in one round. Where both name a field, e's
// entries win, placed where other named it: the validator saw only a
// stand-in for the value the client sent. Both must name fields in the
// same terms. When e names no field, other is returned as it is; otherwise
// an other that is not a *ValidationError is dropped, as the input is
// invalid either way.
func (e *ValidationError) Merge(other error) error {
	if len(e.Fields) == 0 {
		return other
	}
	var verr *ValidationError
	if !errors.As(other, &verr) {
		return &ValidationError{Fields: append([]FieldError(nil), e.Fields...)}
	}
	own := make(map[string]bool, len(e.Fields))
	for _, f := range e.Fields {
		own[f.Field] = true
	}
	merged := make([]FieldError, 0, len(verr.Fields)+len(e.Fields))
	placed := make(map[string]bool, len(e.Fields))
	place := func(name string) {
		if placed[name] {
			return
		}
		placed[name] = true
		for _, f := range e.Fields {
			if f.Field == name {
				merged = append(merged, f)
			}
		}
	}
	for _, f := range verr.Fields {
		if own[f.Field] {
			place(f.Field)
			continue
		}
		merged = append(merged, f)
	}
	for _, f := range e.Fields {
		place(f.Field)
	}
	return &ValidationError{Fields: merged}
}

// Direction is a sort direction.
type Direction string

// Sort directions.
const (
	Asc  Direction = "asc"
	Desc Direction = "desc"
)

// Valid reports whether d is Asc or Desc.
func (d Direction) Valid() bool { return d == Asc || d == Desc }
