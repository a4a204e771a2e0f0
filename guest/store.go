package guest

import (
	"cmp"
	"context"
	"slices"
	"strings"
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
// Methods that take a host organization ID treat a record of another
// organization exactly as a missing one (store.ErrNotFound).
//
// Every method that changes an invitation appends the change's event (see
// package event) in the same transaction: a change is never stored
// without its event, nor an event without its change.
type Store interface {
	// CreateGuestInvitation stores inv, which the Service has validated,
	// and appends ev. It fails with store.ErrAlreadyExists when inv.ID is
	// taken, or when another invitation for the same host organization and
	// email is open (see Invitation.Open) at now. Concurrent creates for
	// one host and email never both succeed.
	CreateGuestInvitation(ctx context.Context, inv Invitation, now time.Time, ev event.Event) error

	// CreateGuestInvitations stores invs, all of one host organization,
	// each with its event, in one transaction, under limits, exactly as
	// invitation.Store.CreateInvitations does.
	CreateGuestInvitations(ctx context.Context, invs []Invitation, now time.Time, evs []event.Event, limits store.Limits) ([]error, error)

	// GetGuestInvitation returns the invitation of host organization hostID
	// with id, or store.ErrNotFound.
	GetGuestInvitation(ctx context.Context, hostID, id uuid.UUID) (Invitation, error)

	// FindGuestInvitation returns the invitation with id in any host
	// organization, or store.ErrNotFound. The Service calls it only with
	// the ID of a token whose signature it has verified.
	FindGuestInvitation(ctx context.Context, id uuid.UUID) (Invitation, error)

	// UpdateGuestInvitation loads the invitation of hostID with id, calls
	// update on a copy, stores the result and appends the event update
	// returns, all in one transaction, exactly as
	// invitation.Store.UpdateInvitation does (the context update gets, an
	// event with a zero ID for no change, retries). The ID, host, email and
	// CreatedAt never change; if the updated invitation is open at now, the
	// same uniqueness rule as CreateGuestInvitation applies, and when it
	// was not open before (a resend revived it, or it was unarchived), so
	// does limits.MaxOpen, as in invitation.Store.UpdateInvitation. It
	// returns the stored result, or store.ErrNotFound.
	UpdateGuestInvitation(ctx context.Context, hostID, id uuid.UUID, now time.Time, limits store.Limits, update func(ctx context.Context, inv *Invitation) (event.Event, error)) (Invitation, error)

	// DeleteGuestInvitation removes the invitation of hostID with id and
	// appends the event deleted returns for the removed invitation, in one
	// transaction, or returns store.ErrNotFound. An error from deleted is
	// returned unchanged and nothing is removed.
	DeleteGuestInvitation(ctx context.Context, hostID, id uuid.UUID, deleted func(Invitation) (event.Event, error)) error

	// ListGuestInvitations returns the page of q.HostOrganizationID's
	// invitations that match q (see ListQuery.Matches), in q's order (see
	// ListQuery.Compare): those after q.After when it is set, skipping
	// q.Offset of them and returning at most q.Limit. The Service asks for
	// one more invitation than its page holds, to learn whether another
	// page follows. The int is the number of matching invitations in all:
	// it counts every filter but After, and does not depend on Offset or
	// Limit, so it is the same on every page of one list.
	ListGuestInvitations(ctx context.Context, q ListQuery) ([]Invitation, int, error)

	// ExpireGuestInvitations records the expiry of up to limit
	// invitations, across all host organizations, that are sent, expired
	// at now (archived or not) and not ExpiryRecorded, exactly as
	// invitation.Store.ExpireInvitations does.
	ExpireGuestInvitations(ctx context.Context, now time.Time, limit int, expired func(Invitation) (event.Event, error)) (int, error)

	// PurgeGuestInvitations deletes up to limit invitations, across all
	// host organizations, that ended before before: accepted before it, or
	// expired before it with their expiry recorded, exactly as
	// invitation.Store.PurgeInvitations does.
	PurgeGuestInvitations(ctx context.Context, before time.Time, limit int) (int, error)
}

// Directory names organizations, for parent_organization_name. It is
// optional; see Config.Directory.
type Directory interface {
	// OrganizationName returns the display name of the organization id, or
	// an error wrapping store.ErrNotFound when it knows no such
	// organization.
	OrganizationName(ctx context.Context, id uuid.UUID) (string, error)
}

// Direction is a sort direction, Asc or Desc.
type Direction = store.Direction

// Sort directions, re-exported from store.
const (
	Asc  = store.Asc
	Desc = store.Desc
)

// OrderBy names the field a list is sorted by.
type OrderBy string

// The documented sort fields.
const (
	OrderByEmail                 OrderBy = "email"
	OrderByFirstInvitationSentAt OrderBy = "first_invitation_sent_at"
	OrderByLastInvitationSentAt  OrderBy = "last_invitation_sent_at"
	OrderByExpiredAt             OrderBy = "expired_at"
	OrderByAcceptedAt            OrderBy = "accepted_at"
	OrderByArchivedAt            OrderBy = "archived_at"
	OrderByCreatedAt             OrderBy = "created_at"
	OrderByUpdatedAt             OrderBy = "updated_at"
)

// Valid reports whether o is one of the documented sort fields.
func (o OrderBy) Valid() bool {
	switch o {
	case OrderByEmail, OrderByFirstInvitationSentAt, OrderByLastInvitationSentAt, OrderByExpiredAt,
		OrderByAcceptedAt, OrderByArchivedAt, OrderByCreatedAt, OrderByUpdatedAt:
		return true
	}
	return false
}

// ListQuery selects a page of one host organization's invitations. The
// Service fills every field; stores may rely on OrderBy and Order being
// valid and Limit being at least 1.
type ListQuery struct {
	HostOrganizationID uuid.UUID
	// Statuses, when not empty, keeps invitations with one of these stored
	// statuses.
	Statuses []Status
	// EmailContains, when set, keeps invitations whose email contains it;
	// both are lowercase, and it is matched literally ('%' and '_' are not
	// wildcards).
	EmailContains string
	// Expired and Archived, when set, keep invitations whose Expired(Now)
	// and Archived equal them.
	Expired  *bool
	Archived *bool
	// Now is the instant expiry is evaluated at.
	Now     time.Time
	OrderBy OrderBy
	Order   store.Direction
	// After, when set, keeps invitations that come after it in q's order
	// (Compare(inv, *After) > 0): a keyset page. Only its ID and its
	// OrderBy field are read.
	After  *Invitation
	Limit  int
	Offset int
}

// Matches reports whether inv passes q's filters. Stores that filter in Go
// use it so they cannot drift from the SQL ones.
//
// Store-author API: application code never needs it.
func (q ListQuery) Matches(inv Invitation) bool {
	if inv.HostOrganizationID != q.HostOrganizationID {
		return false
	}
	if len(q.Statuses) > 0 && !slices.Contains(q.Statuses, inv.Status) {
		return false
	}
	if q.EmailContains != "" && !strings.Contains(inv.Email, q.EmailContains) {
		return false
	}
	if q.After != nil && q.Compare(inv, *q.After) <= 0 {
		return false
	}
	if q.Expired != nil && inv.Expired(q.Now) != *q.Expired {
		return false
	}
	return q.Archived == nil || inv.Archived == *q.Archived
}

// Compare orders two invitations as the list returns them: by OrderBy in
// direction Order, with invitations that have no value for a nullable field
// (accepted_at, archived_at) last in either direction, then by ID (as bytes)
// in direction Order, so the order is total. In SQL: ORDER BY field
// <dir> NULLS LAST, id <dir>.
//
// Store-author API: application code never needs it.
func (q ListQuery) Compare(a, b Invitation) int {
	c := q.compareField(a, b)
	if c == 0 {
		c = store.CompareIDs(a.ID, b.ID)
	}
	if q.Order == store.Desc {
		c = -c
	}
	return c
}

// compareField compares the sort field ascending. Nulls are ordered so
// that, after Compare applies the direction, they still come last.
func (q ListQuery) compareField(a, b Invitation) int {
	var x, y *time.Time
	switch q.OrderBy {
	case OrderByEmail:
		return cmp.Compare(a.Email, b.Email)
	case OrderByFirstInvitationSentAt:
		return a.FirstInvitationSentAt.Compare(b.FirstInvitationSentAt)
	case OrderByLastInvitationSentAt:
		return a.LastInvitationSentAt.Compare(b.LastInvitationSentAt)
	case OrderByExpiredAt:
		return a.ExpiredAt.Compare(b.ExpiredAt)
	case OrderByUpdatedAt:
		return a.UpdatedAt.Compare(b.UpdatedAt)
	case OrderByAcceptedAt:
		x, y = a.AcceptedAt, b.AcceptedAt
	case OrderByArchivedAt:
		x, y = a.ArchivedAt, b.ArchivedAt
	default:
		return a.CreatedAt.Compare(b.CreatedAt)
	}
	nullLast := 1
	if q.Order == store.Desc {
		nullLast = -1
	}
	switch {
	case x == nil && y == nil:
		return 0
	case x == nil:
		return nullLast
	case y == nil:
		return -nullLast
	}
	return x.Compare(*y)
}
