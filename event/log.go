package event

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/store"
)

// Bounds of list pages.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Field names of the ValidationErrors List returns: the Go names of the
// ListOptions fields.
const (
	FieldTypes  = "Types"
	FieldCursor = "Cursor"
	FieldLimit  = "Limit"
)

// Store is the storage Log reads. Every store of invitekit implements it.
type Store interface {
	// ListEvents returns up to q.Limit events of q.OrganizationID that
	// match q, newest first: by OccurredAt, then by ID (as bytes, see
	// store.CompareIDs), both descending.
	ListEvents(ctx context.Context, q ListQuery) ([]Event, error)
}

// ListQuery selects a page of one organization's events.
type ListQuery struct {
	OrganizationID uuid.UUID
	// Types, when not empty, keeps events of these types.
	Types []Type
	// After, when set, keeps events strictly older than (OccurredAt, ID).
	After *store.Cursor
	// Limit is the most events to return; it is at least 1.
	Limit int
}

// Matches reports whether ev passes q's conditions. Stores that filter in
// Go use it so they cannot drift from the SQL ones.
//
// Store-author API: application code never needs it.
func (q ListQuery) Matches(ev Event) bool {
	if ev.OrganizationID != q.OrganizationID {
		return false
	}
	if len(q.Types) > 0 && !slices.Contains(q.Types, ev.Type) {
		return false
	}
	return q.After == nil || q.After.Before(ev.OccurredAt, ev.ID)
}

// ListOptions select a page of Log.List.
type ListOptions struct {
	// Types, when not empty, keeps events of these types.
	Types []Type
	// Cursor continues a list where the page that returned it as Next
	// ended. Empty starts at the newest event.
	Cursor string
	// Limit is the page size: 1 to MaxLimit, DefaultLimit when zero.
	Limit int
}

// Page is one page of Log.List.
type Page struct {
	Events []Event
	// Next is the cursor of the next page, empty on the last page.
	Next string
}

// Log lists the events of organizations, newest first: an audit log.
type Log struct{ store Store }

// NewLog returns a Log that reads s.
func NewLog(s Store) *Log { return &Log{store: s} }

// Validate checks o as List does before it runs a query, and returns the
// same *store.ValidationError naming each invalid field, or nil.
func (o ListOptions) Validate() error {
	_, err := o.query(uuid.Nil)
	return err
}

func (o ListOptions) query(orgID uuid.UUID) (ListQuery, error) {
	q := ListQuery{OrganizationID: orgID, Limit: o.Limit}
	var verr store.ValidationError
	for _, t := range o.Types {
		if !t.Valid() {
			verr.Add(FieldTypes, fmt.Sprintf("%q is not an event type", t))
			break
		}
	}
	if len(o.Types) > 0 {
		// Each distinct type once: a store binds one argument per type.
		q.Types = slices.Clone(o.Types)
		slices.Sort(q.Types)
		q.Types = slices.Compact(q.Types)
	}
	if o.Cursor != "" {
		c, err := store.ParseCursor(o.Cursor)
		if err != nil {
			verr.Add(FieldCursor, "is not a cursor returned by this list")
		}
		q.After = &c
	}
	switch {
	case o.Limit == 0:
		q.Limit = DefaultLimit
	case o.Limit < 1 || o.Limit > MaxLimit:
		verr.Add(FieldLimit, fmt.Sprintf("must be 1 to %d", MaxLimit))
	}
	return q, verr.Err()
}

// List returns a page of orgID's events, newest first. It fails with the
// *store.ValidationError of opts.Validate before it runs any query.
func (l *Log) List(ctx context.Context, orgID uuid.UUID, opts ListOptions) (Page, error) {
	q, err := opts.query(orgID)
	if err != nil {
		return Page{}, err
	}
	want := q.Limit
	q.Limit++ // one more than the page tells whether another follows
	evs, err := l.store.ListEvents(ctx, q)
	if err != nil {
		return Page{}, fmt.Errorf("event: list: %w", err)
	}
	var p Page
	if len(evs) > want {
		evs = evs[:want]
		last := evs[want-1]
		p.Next = store.Cursor{CreatedAt: last.OccurredAt, ID: last.ID}.String()
	}
	p.Events = evs
	return p, nil
}
