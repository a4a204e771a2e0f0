// Package service is the machinery the two domain services (invitation and
// guest) share: the defaults of their clock, ID and nonce sources, the
// token signer, the stored precision of time, and the accept-by-token flow.
// Each domain keeps its own public Service type and rules; this package
// holds only what does not depend on which kind of invitation it serves, so
// a fix to the token flow lands in both at once.
package service

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/internal/token"
	"github.com/invitekit/invitekit/store"
)

// Config holds the settings every domain Config has. Nil sources take the
// defaults: time.Now, uuid.NewV7 and crypto/rand.Reader.
type Config struct {
	// Name is the domain's package name, the prefix of the errors the
	// shared flows return.
	Name string
	// Kind is the token kind of the domain, so a token of one domain never
	// verifies in the other.
	Kind token.Kind
	// Keys, Clock, NewID and Rand are the domain Config's fields of the
	// same names, documented there.
	Keys  [][]byte
	Clock func() time.Time
	NewID func() (uuid.UUID, error)
	Rand  io.Reader
}

// Core issues and checks what every invitation carries: its ID, its nonce,
// its token and the instants of its changes. It is safe for concurrent use.
type Core struct {
	name   string
	kind   token.Kind
	signer *token.Signer
	clock  func() time.Time
	newID  func() (uuid.UUID, error)
	rand   io.Reader
}

// New checks cfg and returns a Core. Its only failure is a missing or short
// key, reported as a Config.Keys error.
func New(cfg Config) (*Core, error) {
	signer, err := token.NewSigner(cfg.Keys)
	if err != nil {
		return nil, fmt.Errorf("%s: Config.Keys: %w", cfg.Name, err)
	}
	c := &Core{name: cfg.Name, kind: cfg.Kind, signer: signer, clock: cfg.Clock, newID: cfg.NewID, rand: cfg.Rand}
	if c.clock == nil {
		c.clock = time.Now
	}
	if c.newID == nil {
		c.newID = uuid.NewV7
	}
	if c.rand == nil {
		c.rand = rand.Reader
	}
	return c, nil
}

// Now returns the clock's time in UTC, truncated to microseconds: the
// precision every store keeps, so what a service returns equals what a
// later read returns.
func (c *Core) Now() time.Time {
	return c.clock().UTC().Truncate(time.Microsecond)
}

// NewNonce returns a fresh token nonce.
func (c *Core) NewNonce() ([]byte, error) {
	return token.NewNonce(c.rand)
}

// NewRecord returns the ID and the first nonce of a new invitation.
func (c *Core) NewRecord() (uuid.UUID, []byte, error) {
	id, err := c.newID()
	if err != nil {
		return uuid.Nil, nil, fmt.Errorf("new ID: %w", err)
	}
	nonce, err := c.NewNonce()
	if err != nil {
		return uuid.Nil, nil, err
	}
	return id, nonce, nil
}

// Token returns the token of the invitation with id and its current nonce.
func (c *Core) Token(id uuid.UUID, nonce []byte) string {
	return c.signer.Sign(c.kind, id, nonce)
}

// Records are what the accept flow needs from a domain's store and type.
type Records[T any] struct {
	// Find returns the record with id in any tenant, or an error wrapping
	// store.ErrNotFound.
	Find func(ctx context.Context, id uuid.UUID) (T, error)
	// Update runs change on a copy of the stored version of found inside
	// the store's transactional updater, with the context the store gives
	// it, and returns the stored result, or an error wrapping
	// store.ErrNotFound.
	Update func(ctx context.Context, found T, now time.Time, change func(context.Context, *T) (event.Event, error)) (T, error)
	// Nonce returns the nonce stored with a record.
	Nonce func(*T) []byte
}

// AcceptByToken is the accept flow both domains share: verify tok as a
// token of the core's kind, find its record, and, inside the store's
// updater, compare the stored nonce with the presented one in constant time
// before accept applies the transition, so the check and the transition see
// the same version of the record. A record that is gone (deleted, even
// between the find and the update) fails like a forged token, with
// store.ErrInvalidToken, so a token never tells whether its invitation
// existed. accept returns the event of the transition; it runs inside the
// store's transaction, with the context the store gives it, so an
// application's hook it calls can write in the same transaction. Errors are
// prefixed with the domain's name.
func AcceptByToken[T any](ctx context.Context, c *Core, tok string, recs Records[T], accept func(ctx context.Context, now time.Time, rec *T) (event.Event, error)) (T, error) {
	got, err := acceptByToken(ctx, c, tok, recs, accept)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%s: accept: %w", c.name, err)
	}
	return got, nil
}

func acceptByToken[T any](ctx context.Context, c *Core, tok string, recs Records[T], accept func(ctx context.Context, now time.Time, rec *T) (event.Event, error)) (T, error) {
	var zero T
	found, presented, err := Find(ctx, c, tok, recs)
	if err != nil {
		return zero, err
	}
	var acceptErr error
	got, err := recs.Update(ctx, found, c.Now(), func(ctx context.Context, rec *T) (event.Event, error) {
		if !token.NonceEqual(presented, recs.Nonce(rec)) {
			return event.Event{}, store.ErrInvalidToken
		}
		// The clock is read under the store's lock, so that one record's
		// changes have instants in the order they commit.
		ev, err := accept(ctx, c.Now(), rec)
		acceptErr = err
		return ev, err
	})
	// The record vanished under the update; a not-found of accept's own
	// (an application hook's) is its error, kept as it is.
	if errors.Is(err, store.ErrNotFound) && acceptErr == nil {
		return zero, store.ErrInvalidToken
	}
	return got, err
}

// Inspect returns the record tok was issued for, whatever its status, and
// changes nothing: it is the read behind an accept page, which link
// scanners and chat previews fetch. It fails with store.ErrInvalidToken for
// every token that is not the record's current one (forged, of another
// kind, replaced by a resend, or of a deleted record), so, as with accept,
// a token never tells whether its invitation existed. Errors are prefixed
// with the domain's name.
func Inspect[T any](ctx context.Context, c *Core, tok string, recs Records[T]) (T, error) {
	got, err := inspect(ctx, c, tok, recs)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%s: inspect: %w", c.name, err)
	}
	return got, nil
}

func inspect[T any](ctx context.Context, c *Core, tok string, recs Records[T]) (T, error) {
	var zero T
	found, presented, err := Find(ctx, c, tok, recs)
	if err != nil {
		return zero, err
	}
	if !token.NonceEqual(presented, recs.Nonce(&found)) {
		return zero, store.ErrInvalidToken
	}
	return found, nil
}

// Find verifies tok as a token of the core's kind and loads its record,
// returning it with the nonce tok presents, which the caller compares
// (token.NonceEqual) where it acts on the record: inside the store's
// transaction. A record that is gone fails like a forged token, with
// store.ErrInvalidToken. Only recs.Find is used.
func Find[T any](ctx context.Context, c *Core, tok string, recs Records[T]) (T, []byte, error) {
	var zero T
	id, presented, err := c.signer.Verify(c.kind, tok)
	if err != nil {
		return zero, nil, err
	}
	found, err := recs.Find(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return zero, nil, store.ErrInvalidToken
	}
	if err != nil {
		return zero, nil, err
	}
	return found, presented, nil
}

// Limit returns the page size a list asks for with n: def when n is zero
// (not given), n when it is 1 to max. Any other n adds a field error for
// field to verr.
func Limit(verr *store.ValidationError, field string, n, def, max int) int {
	switch {
	case n == 0:
		return def
	case n < 1 || n > max:
		verr.Add(field, fmt.Sprintf("must be 1 to %d", max))
	}
	return n
}

// Event returns the event of type typ about the record subject of org,
// changed at now by the actor of ctx (see event.WithActor), with data, the
// record's API shape, as its JSON.
func (c *Core) Event(ctx context.Context, typ event.Type, org, subject uuid.UUID, now time.Time, data any) (event.Event, error) {
	id, err := c.newID()
	if err != nil {
		return event.Event{}, fmt.Errorf("new event ID: %w", err)
	}
	b, err := json.Marshal(data)
	if err != nil {
		return event.Event{}, fmt.Errorf("event data: %w", err)
	}
	return event.Event{ID: id, Type: typ, OrganizationID: org, InvitationID: subject, ActorID: event.Actor(ctx), OccurredAt: now, Data: b}, nil
}

// Timestamp formats t as RFC 3339 in UTC, as every API shape shows times.
func Timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// TimestampOrNull is Timestamp for a nullable time.
func TimestampOrNull(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := Timestamp(*t)
	return &s
}

// NewID returns a new record ID from the configured source.
func (c *Core) NewID() (uuid.UUID, error) {
	id, err := c.newID()
	if err != nil {
		return uuid.Nil, fmt.Errorf("new ID: %w", err)
	}
	return id, nil
}
