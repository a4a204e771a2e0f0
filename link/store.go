package link

import (
	"context"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/store"
)

// Store is the storage the Service consumes. memstore, sqlitestore and
// postgresstore implement it, and storetest checks that they do so the
// same way. Every method honours ctx and returns errors that wrap the
// store package's sentinels where one applies; a link of another
// organization is store.ErrNotFound. Every change appends its event in
// the same transaction.
type Store interface {
	// CreateLink stores l, which the Service has validated, and appends
	// ev. It fails with store.ErrAlreadyExists when l.ID is taken.
	CreateLink(ctx context.Context, l Link, ev event.Event) error

	// GetLink returns the link of orgID with id, or store.ErrNotFound.
	GetLink(ctx context.Context, orgID, id uuid.UUID) (Link, error)

	// FindLink returns the link with id in any organization, or
	// store.ErrNotFound. The Service calls it only with the ID of a token
	// whose signature it has verified.
	FindLink(ctx context.Context, id uuid.UUID) (Link, error)

	// ListLinks returns up to q.Limit links of q.OrganizationID after
	// q.After, newest first: by CreatedAt, then by ID (store.CompareIDs),
	// both descending.
	ListLinks(ctx context.Context, q ListQuery) ([]Link, error)

	// UpdateLink loads the link of orgID with id, calls update on a copy,
	// stores the result and appends the event update returns, in one
	// transaction, as invitation.Store.UpdateInvitation does (an error
	// from update is returned unchanged and nothing is written). Only
	// Uses and RevokedAt change.
	UpdateLink(ctx context.Context, orgID, id uuid.UUID, update func(ctx context.Context, l *Link) (event.Event, error)) (Link, error)

	// RedeemLink records a redemption of the link with id by email
	// (normalised), in one transaction: it locks the link, tells redeem
	// whether email has redeemed it before, and calls redeem on a copy,
	// with a context that carries the store's transaction (as
	// UpdateLink's update gets); unless redeem fails, it stores the copy
	// (its Uses), inserts the Redemption redeem returns (of this link and
	// email) and appends its event, all committed together. Redemptions
	// of one link run one at a time, across processes, so that Uses
	// counts them exactly and one email never redeems a link twice. An
	// error from redeem is returned unchanged and nothing is written. It
	// fails with store.ErrNotFound when no link has id. redeem may run
	// more than once, on a fresh copy, when a store retries a transaction
	// the database aborted.
	RedeemLink(ctx context.Context, id uuid.UUID, email string, redeem func(ctx context.Context, l *Link, redeemed bool) (Redemption, event.Event, error)) (Link, Redemption, error)

	// ListRedemptions returns up to q.Limit redemptions of link q.LinkID
	// of q.OrganizationID after q.After, newest first: by RedeemedAt,
	// then by ID, both descending.
	ListRedemptions(ctx context.Context, q RedemptionQuery) ([]Redemption, error)
}

// ListQuery selects a page of one organization's links.
type ListQuery struct {
	OrganizationID uuid.UUID
	// After, when set, keeps links strictly older than (CreatedAt, ID).
	After *store.Cursor
	// Limit is the most links to return; it is at least 1.
	Limit int
}

// RedemptionQuery selects a page of one link's redemptions.
type RedemptionQuery struct {
	OrganizationID uuid.UUID
	LinkID         uuid.UUID
	// After, when set, keeps redemptions strictly older than
	// (RedeemedAt, ID): its CreatedAt is a RedeemedAt.
	After *store.Cursor
	// Limit is the most redemptions to return; it is at least 1.
	Limit int
}
