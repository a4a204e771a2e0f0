package sqlcore

// The two record types: their row descriptors, their Store methods and
// their list queries.

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
)

type inv = invitation.Invitation

// invitationRecord is the row descriptor of organization invitations.
var invitationRecord = record[inv]{
	tenant: "organization_id",
	columns: []column[inv]{
		col("id", func(r *inv) *uuid.UUID { return &r.ID }, encID, destID).immutable(),
		col("organization_id", func(r *inv) *uuid.UUID { return &r.OrganizationID }, encID, destID).immutable(),
		col("email", func(r *inv) *string { return &r.Email }, encText, destText).immutable(),
		col("role", func(r *inv) *string { return &r.Role }, encText, destText),
		col("inviter_id", func(r *inv) *string { return &r.InviterID }, encText, destText),
		col("status", func(r *inv) *invitation.Status { return &r.Status }, encText, destText),
		col("nonce", func(r *inv) *[]byte { return &r.Nonce }, asIs, addr),
		timeCol("created_at", func(r *inv) *time.Time { return &r.CreatedAt }).immutable(),
		timeCol("sent_at", func(r *inv) *time.Time { return &r.SentAt }),
		timeCol("expire_at", func(r *inv) *time.Time { return &r.ExpireAt }),
		nullTimeCol("accepted_at", func(r *inv) **time.Time { return &r.AcceptedAt }),
		nullTimeCol("revoked_at", func(r *inv) **time.Time { return &r.RevokedAt }),
		col("assigned_roles", func(r *inv) *[]invitation.Role { return &r.AssignedRoles }, encRoles, destRoles),
		col("metadata", func(r *inv) *json.RawMessage { return &r.Metadata }, encNullJSON, destNullJSON).immutable(),
		col("expiry_recorded", func(r *inv) *bool { return &r.ExpiryRecorded }, encBool, addr),
	},
	key:          func(r *inv) (uuid.UUID, uuid.UUID, string) { return r.OrganizationID, r.ID, r.Email },
	open:         func(r *inv, now time.Time) bool { return r.Open(now) },
	openSQL:      func(now string) string { return "status = 'pending' AND expire_at > " + now },
	expiry:       func(r *inv) time.Time { return r.ExpireAt },
	expiryColumn: "expire_at",
	expirableSQL: func(now string) string {
		return "status = 'pending' AND NOT expiry_recorded AND expire_at <= " + now
	},
	endedSQL: func(before string) string {
		return "(status <> 'pending' OR expiry_recorded) AND COALESCE(accepted_at, revoked_at, expire_at) < " + before
	},
	created: event.InvitationCreated,
	loaded:  legacyRoles,
}

// legacyRoles gives an invitation stored by a release that kept only its
// role (assigned_roles NULL, scanned as nil) the roles a create with that
// role assigns today. Any other row scanned a non-nil slice, which is
// made nil when empty, as the domain spells "none".
func legacyRoles(r *inv) {
	switch {
	case r.AssignedRoles == nil:
		r.AssignedRoles = invitation.LegacyAssignedRoles(r.Role)
	case len(r.AssignedRoles) == 0:
		r.AssignedRoles = nil
	}
}

// CreateInvitation implements invitation.Store.
func (c *Core) CreateInvitation(ctx context.Context, r invitation.Invitation, now time.Time, ev event.Event) error {
	return c.invitations.createRecord(ctx, r, now, ev)
}

// GetInvitation implements invitation.Store.
func (c *Core) GetInvitation(ctx context.Context, orgID, id uuid.UUID) (invitation.Invitation, error) {
	return c.invitations.getRecord(ctx, orgID, id)
}

// FindInvitation implements invitation.Store.
func (c *Core) FindInvitation(ctx context.Context, id uuid.UUID) (invitation.Invitation, error) {
	return c.invitations.findRecord(ctx, id)
}

// CreateInvitations implements invitation.Store.
func (c *Core) CreateInvitations(ctx context.Context, rs []invitation.Invitation, now time.Time, evs []event.Event, limits store.Limits) ([]error, error) {
	return c.invitations.createRecords(ctx, rs, now, evs, limits)
}

// UpdateInvitation implements invitation.Store. The row stays locked from
// the read to the commit.
func (c *Core) UpdateInvitation(ctx context.Context, orgID, id uuid.UUID, now time.Time, limits store.Limits, update func(context.Context, *invitation.Invitation) (event.Event, error)) (invitation.Invitation, error) {
	return c.invitations.updateRecord(ctx, orgID, id, now, limits, update)
}

// ExpireInvitations implements invitation.Store.
func (c *Core) ExpireInvitations(ctx context.Context, now time.Time, limit int, expired func(invitation.Invitation) (event.Event, error)) (int, error) {
	return c.invitations.expireRecords(ctx, now, limit, expired)
}

// PurgeInvitations implements invitation.Store.
func (c *Core) PurgeInvitations(ctx context.Context, before time.Time, limit int) (int, error) {
	return c.invitations.purgeRecords(ctx, before, limit)
}

// DeleteInvitation implements invitation.Store.
func (c *Core) DeleteInvitation(ctx context.Context, orgID, id uuid.UUID, deleted func(invitation.Invitation) (event.Event, error)) error {
	return c.invitations.deleteRecord(ctx, orgID, id, deleted)
}

// ListInvitations implements invitation.Store. Each filter combination is
// a seek in one index followed by a walk in list order that stops after
// q.Limit rows.
func (c *Core) ListInvitations(ctx context.Context, q invitation.ListQuery) ([]invitation.Invitation, error) {
	query, a := c.invitationList(q)
	return c.invitations.list(ctx, "list", q.Limit, query, a)
}

// ListInvitationsForEmail implements invitation.Store.
func (c *Core) ListInvitationsForEmail(ctx context.Context, email string, now time.Time, limit int) ([]invitation.Invitation, error) {
	return c.invitations.list(ctx, "list for email", limit, c.forEmail(), []any{email, c.d.Time(now), max(limit, 0)})
}

// forEmail is the query of ListInvitationsForEmail.
func (c *Core) forEmail() string {
	return c.invitations.selectFrom + ` WHERE email = $1 AND status = 'pending' AND expire_at > $2
		ORDER BY created_at DESC, id DESC LIMIT $3`
}

// invitationList returns the query of one page of q, as
// invitation.ListQuery.Matches defines it, and its arguments.
func (c *Core) invitationList(q invitation.ListQuery) (string, []any) {
	var a args
	var b strings.Builder
	b.WriteString(c.invitations.selectFrom + " WHERE organization_id = " + a.add(c.d.ID(q.OrganizationID)))
	switch q.Status {
	case "":
	case invitation.StatusPending:
		b.WriteString(" AND status = 'pending' AND expire_at > " + a.add(c.d.Time(q.Now)))
	case invitation.StatusExpired:
		b.WriteString(" AND status = 'pending' AND expire_at <= " + a.add(c.d.Time(q.Now)))
	default:
		b.WriteString(" AND status = " + a.add(string(q.Status)))
	}
	if q.Email != "" {
		b.WriteString(" AND email = " + a.add(q.Email))
	}
	b.WriteString(c.after(&a, "created_at", q.After))
	b.WriteString(" ORDER BY created_at DESC, id DESC LIMIT " + a.add(max(q.Limit, 0)))
	return b.String(), a
}

type gi = guest.Invitation

// guestRecord is the row descriptor of guest invitations. Column names are
// the documented field names.
var guestRecord = record[gi]{
	tenant: "host_organization_id",
	columns: []column[gi]{
		col("id", func(r *gi) *uuid.UUID { return &r.ID }, encID, destID).immutable(),
		col("host_organization_id", func(r *gi) *uuid.UUID { return &r.HostOrganizationID }, encID, destID).immutable(),
		col("email", func(r *gi) *string { return &r.Email }, encText, destText).immutable(),
		timeCol("first_invitation_sent_at", func(r *gi) *time.Time { return &r.FirstInvitationSentAt }),
		timeCol("last_invitation_sent_at", func(r *gi) *time.Time { return &r.LastInvitationSentAt }),
		timeCol("expired_at", func(r *gi) *time.Time { return &r.ExpiredAt }),
		col("status", func(r *gi) *guest.Status { return &r.Status }, encText, destText),
		col("archived", func(r *gi) *bool { return &r.Archived }, encBool, addr),
		timeCol("created_at", func(r *gi) *time.Time { return &r.CreatedAt }).immutable(),
		timeCol("updated_at", func(r *gi) *time.Time { return &r.UpdatedAt }),
		nullTimeCol("accepted_at", func(r *gi) **time.Time { return &r.AcceptedAt }),
		nullTimeCol("archived_at", func(r *gi) **time.Time { return &r.ArchivedAt }),
		nullCol("parent_organization_id", func(r *gi) **uuid.UUID { return &r.ParentOrganizationID }, encID, addr),
		nullCol("parent_organization_name", func(r *gi) **string { return &r.ParentOrganizationName }, encText, destNullText),
		col("nonce", func(r *gi) *[]byte { return &r.Nonce }, asIs, addr),
		col("metadata", func(r *gi) *json.RawMessage { return &r.Metadata }, encNullJSON, destNullJSON).immutable(),
		col("expiry_recorded", func(r *gi) *bool { return &r.ExpiryRecorded }, encBool, addr),
	},
	key:          func(r *gi) (uuid.UUID, uuid.UUID, string) { return r.HostOrganizationID, r.ID, r.Email },
	open:         func(r *gi, now time.Time) bool { return r.Open(now) },
	openSQL:      func(now string) string { return "status = 'sent' AND NOT archived AND expired_at > " + now },
	expiry:       func(r *gi) time.Time { return r.ExpiredAt },
	expiryColumn: "expired_at",
	expirableSQL: func(now string) string {
		return "status = 'sent' AND NOT expiry_recorded AND expired_at <= " + now
	},
	endedSQL: func(before string) string {
		return "(status <> 'sent' OR expiry_recorded) AND COALESCE(accepted_at, expired_at) < " + before
	},
	created: event.GuestInvitationCreated,
}

// guestSort is a documented order's column, whether it is nullable, and
// the value of its key in a record, encoded (nil for NULL).
type guestSort struct {
	column   string
	nullable bool
	key      func(d *Dialect, r *gi) any
}

func timeKey(f func(r *gi) time.Time) func(*Dialect, *gi) any {
	return func(d *Dialect, r *gi) any { return d.Time(f(r)) }
}

func nullTimeKey(f func(r *gi) *time.Time) func(*Dialect, *gi) any {
	return func(d *Dialect, r *gi) any {
		if t := f(r); t != nil {
			return d.Time(*t)
		}
		return nil
	}
}

// guestOrder is the one sort-column table. Only these names ever reach the
// SQL text.
var guestOrder = map[guest.OrderBy]guestSort{
	guest.OrderByEmail:                 {"email", false, func(_ *Dialect, r *gi) any { return r.Email }},
	guest.OrderByFirstInvitationSentAt: {"first_invitation_sent_at", false, timeKey(func(r *gi) time.Time { return r.FirstInvitationSentAt })},
	guest.OrderByLastInvitationSentAt:  {"last_invitation_sent_at", false, timeKey(func(r *gi) time.Time { return r.LastInvitationSentAt })},
	guest.OrderByExpiredAt:             {"expired_at", false, timeKey(func(r *gi) time.Time { return r.ExpiredAt })},
	guest.OrderByAcceptedAt:            {"accepted_at", true, nullTimeKey(func(r *gi) *time.Time { return r.AcceptedAt })},
	guest.OrderByArchivedAt:            {"archived_at", true, nullTimeKey(func(r *gi) *time.Time { return r.ArchivedAt })},
	guest.OrderByCreatedAt:             {"created_at", false, timeKey(func(r *gi) time.Time { return r.CreatedAt })},
	guest.OrderByUpdatedAt:             {"updated_at", false, timeKey(func(r *gi) time.Time { return r.UpdatedAt })},
}

// guestOrderOf returns the sort of o; an unknown field sorts by
// created_at.
func guestOrderOf(o guest.OrderBy) guestSort {
	if s, ok := guestOrder[o]; ok {
		return s
	}
	return guestOrder[guest.OrderByCreatedAt]
}

// CreateGuestInvitation implements guest.Store.
func (c *Core) CreateGuestInvitation(ctx context.Context, r guest.Invitation, now time.Time, ev event.Event) error {
	return c.guests.createRecord(ctx, r, now, ev)
}

// GetGuestInvitation implements guest.Store.
func (c *Core) GetGuestInvitation(ctx context.Context, hostID, id uuid.UUID) (guest.Invitation, error) {
	return c.guests.getRecord(ctx, hostID, id)
}

// FindGuestInvitation implements guest.Store.
func (c *Core) FindGuestInvitation(ctx context.Context, id uuid.UUID) (guest.Invitation, error) {
	return c.guests.findRecord(ctx, id)
}

// CreateGuestInvitations implements guest.Store.
func (c *Core) CreateGuestInvitations(ctx context.Context, rs []guest.Invitation, now time.Time, evs []event.Event, limits store.Limits) ([]error, error) {
	return c.guests.createRecords(ctx, rs, now, evs, limits)
}

// UpdateGuestInvitation implements guest.Store. The row stays locked from
// the read to the commit.
func (c *Core) UpdateGuestInvitation(ctx context.Context, hostID, id uuid.UUID, now time.Time, limits store.Limits, update func(context.Context, *guest.Invitation) (event.Event, error)) (guest.Invitation, error) {
	return c.guests.updateRecord(ctx, hostID, id, now, limits, update)
}

// ExpireGuestInvitations implements guest.Store.
func (c *Core) ExpireGuestInvitations(ctx context.Context, now time.Time, limit int, expired func(guest.Invitation) (event.Event, error)) (int, error) {
	return c.guests.expireRecords(ctx, now, limit, expired)
}

// PurgeGuestInvitations implements guest.Store.
func (c *Core) PurgeGuestInvitations(ctx context.Context, before time.Time, limit int) (int, error) {
	return c.guests.purgeRecords(ctx, before, limit)
}

// DeleteGuestInvitation implements guest.Store.
func (c *Core) DeleteGuestInvitation(ctx context.Context, hostID, id uuid.UUID, deleted func(guest.Invitation) (event.Event, error)) error {
	return c.guests.deleteRecord(ctx, hostID, id, deleted)
}
