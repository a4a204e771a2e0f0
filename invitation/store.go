package invitation

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/store"
)

// Store is the storage the Service consumes. memstore, sqlitestore and
// postgresstore implement it, and storetest checks that they do so the
// same way. Every method honours ctx, and returns errors that wrap the
// store package's sentinels where one applies.
//
// Methods that take an organization ID treat a record of another
// organization exactly as a missing one (store.ErrNotFound).
//
// Every method that changes an invitation appends the change's event (see
// package event) in the same transaction: a change is never stored
// without its event, nor an event without its change.
type Store interface {
	// CreateInvitation stores inv, which the Service has validated, and
	// appends ev. It fails with store.ErrAlreadyExists when inv.ID is
	// taken, or when another invitation for the same organization and
	// email is open (see Invitation.Open) at now. Concurrent creates for
	// one organization and email never both succeed.
	CreateInvitation(ctx context.Context, inv Invitation, now time.Time, ev event.Event) error

	// CreateInvitations stores invs, which the Service has validated and
	// which all belong to one organization, each with its event (evs[i]
	// of invs[i]), in one transaction, under limits: it counts what the
	// organization has (see store.Usage) and decides with a store.Quota,
	// locked against every other write of the organization that limits
	// bind. It returns one error per invitation, nil for each stored:
	// store.ErrAlreadyExists as CreateInvitation would fail, or the
	// quota's *store.LimitError; an invitation refused takes no place in
	// the limits. Earlier invitations of invs come first: a later one for
	// the same email fails with store.ErrAlreadyExists. Any other failure
	// is the call's error, and then nothing is stored.
	CreateInvitations(ctx context.Context, invs []Invitation, now time.Time, evs []event.Event, limits store.Limits) ([]error, error)

	// GetInvitation returns the invitation of organization orgID with id,
	// or store.ErrNotFound.
	GetInvitation(ctx context.Context, orgID, id uuid.UUID) (Invitation, error)

	// FindInvitation returns the invitation with id in any organization, or
	// store.ErrNotFound. The Service calls it only with the ID of a token
	// whose signature it has verified.
	FindInvitation(ctx context.Context, id uuid.UUID) (Invitation, error)

	// UpdateInvitation loads the invitation of orgID with id, calls update
	// on a copy, stores the result and appends the event update returns,
	// all in one transaction: two concurrent updates of one invitation
	// never both apply to the same old state. update gets a context
	// derived from ctx that carries the store's transaction where it has
	// one (see the store's Tx function), so that what update writes
	// through it commits or rolls back with the change. An error from
	// update is returned unchanged and nothing is written; an event with
	// a zero ID means update changed nothing, and nothing is written
	// either. The ID, organization, email and CreatedAt never change; if
	// the updated invitation is open at now, the same uniqueness rule as
	// CreateInvitation applies, and when it was not open before the
	// update (a resend revived it), so does limits.MaxOpen, counted in
	// the same transaction as for CreateInvitations: the call fails with
	// the *store.LimitError and writes nothing. It returns the stored
	// result, or store.ErrNotFound. update may run more than once, each
	// time on a fresh copy, when a store retries a transaction the
	// database aborted.
	UpdateInvitation(ctx context.Context, orgID, id uuid.UUID, now time.Time, limits store.Limits, update func(ctx context.Context, inv *Invitation) (event.Event, error)) (Invitation, error)

	// DeleteInvitation removes the invitation of orgID with id and appends
	// the event deleted returns for the removed invitation, in one
	// transaction, or returns store.ErrNotFound. An error from deleted is
	// returned unchanged and nothing is removed.
	DeleteInvitation(ctx context.Context, orgID, id uuid.UUID, deleted func(Invitation) (event.Event, error)) error

	// ListInvitations returns up to q.Limit invitations of q.OrganizationID
	// that match q, newest first: by CreatedAt, then by ID (compared as
	// bytes, see store.CompareIDs), both descending.
	ListInvitations(ctx context.Context, q ListQuery) ([]Invitation, error)

	// ListInvitationsForEmail returns up to limit invitations, across all
	// organizations, addressed to email (already normalised) and open at
	// now, newest first in the same order as ListInvitations.
	ListInvitationsForEmail(ctx context.Context, email string, now time.Time, limit int) ([]Invitation, error)

	// ExpireInvitations records the expiry of up to limit invitations,
	// across all organizations, that are pending, expired at now and not
	// ExpiryRecorded, soonest expiry first: in one transaction it sets
	// their ExpiryRecorded, releases their hold on their email, and
	// appends the event expired returns for each (given the invitation
	// with ExpiryRecorded set). Concurrent calls, in this process or
	// others, never record one invitation twice: each passes over the
	// invitations another holds. It returns how many it recorded. An
	// error from expired is returned unchanged and nothing is written.
	ExpireInvitations(ctx context.Context, now time.Time, limit int, expired func(Invitation) (event.Event, error)) (int, error)

	// PurgeInvitations deletes up to limit invitations, across all
	// organizations, that ended before before: accepted or revoked
	// before it, or expired before it with their expiry recorded (see
	// ExpireInvitations), so that every purged invitation's last event
	// says how it ended. It records no event and returns how many it
	// deleted; concurrent calls never delete more than there is.
	PurgeInvitations(ctx context.Context, before time.Time, limit int) (int, error)
}

// ListQuery selects a page of one organization's invitations.
type ListQuery struct {
	OrganizationID uuid.UUID
	// Status, when set, keeps invitations whose effective status at Now is
	// Status.
	Status Status
	// Email, when set, keeps invitations addressed to exactly Email
	// (normalised).
	Email string
	// Now is the instant effective statuses are evaluated at.
	Now time.Time
	// After, when set, keeps invitations that sort after it in the list's
	// newest-first order: strictly older than (CreatedAt, ID).
	After *store.Cursor
	// Limit is the most invitations to return; it is at least 1.
	Limit int
}

// Matches reports whether inv passes q's organization, status, email and
// cursor conditions. Stores that filter in Go use it so they cannot drift
// from the SQL ones.
//
// Store-author API: application code never needs it.
func (q ListQuery) Matches(inv Invitation) bool {
	if inv.OrganizationID != q.OrganizationID {
		return false
	}
	if q.Status != "" && inv.EffectiveStatus(q.Now) != q.Status {
		return false
	}
	if q.Email != "" && inv.Email != q.Email {
		return false
	}
	return q.After == nil || q.After.Before(inv.CreatedAt, inv.ID)
}
