package sqlcore

// Join links and their redemptions.

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/link"
	"github.com/invitekit/invitekit/store"
)

type lnk = link.Link

// linkRecord is the row descriptor of join links. They claim nothing: no
// open_claim, no sweep.
var linkRecord = record[lnk]{
	tenant: "organization_id",
	columns: []column[lnk]{
		col("id", func(r *lnk) *uuid.UUID { return &r.ID }, encID, destID).immutable(),
		col("organization_id", func(r *lnk) *uuid.UUID { return &r.OrganizationID }, encID, destID).immutable(),
		col("role", func(r *lnk) *string { return &r.Role }, encText, destText).immutable(),
		col("assigned_roles", func(r *lnk) *[]invitation.Role { return &r.AssignedRoles }, encRoles, destRoles).immutable(),
		col("max_uses", func(r *lnk) *int { return &r.MaxUses }, asIs, addr).immutable(),
		col("uses", func(r *lnk) *int { return &r.Uses }, asIs, addr),
		col("allowed_domains", func(r *lnk) *[]string { return &r.AllowedDomains }, encList, destList).immutable(),
		col("nonce", func(r *lnk) *[]byte { return &r.Nonce }, asIs, addr).immutable(),
		timeCol("created_at", func(r *lnk) *time.Time { return &r.CreatedAt }).immutable(),
		timeCol("expire_at", func(r *lnk) *time.Time { return &r.ExpireAt }).immutable(),
		nullTimeCol("revoked_at", func(r *lnk) **time.Time { return &r.RevokedAt }),
	},
	key:    func(r *lnk) (uuid.UUID, uuid.UUID, string) { return r.OrganizationID, r.ID, "" },
	loaded: func(r *lnk) { r.AssignedRoles = noRoles(r.AssignedRoles) },
}

type rdm = link.Redemption

// redemptionRecord is the row descriptor of redemptions, written once.
var redemptionRecord = record[rdm]{
	tenant: "organization_id",
	columns: []column[rdm]{
		col("id", func(r *rdm) *uuid.UUID { return &r.ID }, encID, destID).immutable(),
		col("link_id", func(r *rdm) *uuid.UUID { return &r.LinkID }, encID, destID).immutable(),
		col("organization_id", func(r *rdm) *uuid.UUID { return &r.OrganizationID }, encID, destID).immutable(),
		col("email", func(r *rdm) *string { return &r.Email }, encText, destText).immutable(),
		col("role", func(r *rdm) *string { return &r.Role }, encText, destText).immutable(),
		col("assigned_roles", func(r *rdm) *[]invitation.Role { return &r.AssignedRoles }, encRoles, destRoles).immutable(),
		timeCol("redeemed_at", func(r *rdm) *time.Time { return &r.RedeemedAt }).immutable(),
	},
	key:    func(r *rdm) (uuid.UUID, uuid.UUID, string) { return r.OrganizationID, r.ID, r.Email },
	loaded: func(r *rdm) { r.AssignedRoles = noRoles(r.AssignedRoles) },
}

// noRoles spells "no roles" as the domain does: nil.
func noRoles(rs []invitation.Role) []invitation.Role {
	if len(rs) == 0 {
		return nil
	}
	return rs
}

// linkTables are the tables of links and redemptions, and the statements
// of a redemption and of the two lists.
type linkTables struct {
	links       table[lnk]
	redemptions table[rdm]
	// lock locks a link by ID, waiting its turn (Dialect.LockWait);
	// redeemed counts the redemptions of link $1 by email $2. They are
	// two statements on purpose: on PostgreSQL a subquery of the locking
	// statement would read the snapshot from before its wait for the
	// lock, and miss the redemption of the transaction it waited for;
	// the next statement reads after it.
	lock, redeemed string
}

func newLinkTables(c *Core, prefix string) linkTables {
	t := linkTables{
		links:       newTable(c, "link", prefix+"invite_links", linkRecord),
		redemptions: newTable(c, "link redemption", prefix+"invite_link_redemptions", redemptionRecord),
	}
	t.lock = t.links.find + c.d.LockWait
	t.redeemed = "SELECT count(*) FROM " + t.redemptions.name + " WHERE link_id = $1 AND email = $2"
	return t
}

// errBadRedemption reports a redeem function that broke its contract.
var errBadRedemption = errors.New("redeem returned a redemption of another link or email")

// CreateLink implements link.Store.
func (c *Core) CreateLink(ctx context.Context, l link.Link, ev event.Event) error {
	return c.links.links.createRecord(ctx, l, l.CreatedAt, ev)
}

// GetLink implements link.Store.
func (c *Core) GetLink(ctx context.Context, orgID, id uuid.UUID) (link.Link, error) {
	return c.links.links.getRecord(ctx, orgID, id)
}

// FindLink implements link.Store.
func (c *Core) FindLink(ctx context.Context, id uuid.UUID) (link.Link, error) {
	return c.links.links.findRecord(ctx, id)
}

// UpdateLink implements link.Store. The row stays locked from the read to
// the commit.
func (c *Core) UpdateLink(ctx context.Context, orgID, id uuid.UUID, update func(context.Context, *link.Link) (event.Event, error)) (link.Link, error) {
	return c.links.links.updateRecord(ctx, orgID, id, time.Time{}, store.Limits{}, update)
}

// RedeemLink implements link.Store. The link's row is locked first, and
// held to the commit: redemptions of one link queue for it, on any number
// of instances, so each sees the uses and redemptions of those before it.
// The unique index on (link_id, email) and the check on uses back the
// rule up in the schema.
func (c *Core) RedeemLink(ctx context.Context, id uuid.UUID, email string, redeem func(context.Context, *link.Link, bool) (link.Redemption, event.Event, error)) (link.Link, link.Redemption, error) {
	lt := &c.links
	var red link.Redemption
	out, err := do(ctx, &lt.links, "redeem", func() (out link.Link, err error) {
		err = c.writeEvents(ctx, func(ctx context.Context, q Querier) (event.Event, error) {
			cur, err := lt.links.one(ctx, q, lt.lock, c.d.ID(id))
			if err != nil {
				return event.Event{}, err
			}
			var n int
			if err := scanOne(ctx, q, lt.redeemed, []any{c.d.ID(id), email}, &n); err != nil {
				return event.Event{}, err
			}
			next := cur
			r, ev, err := redeem(ctx, &next, n > 0)
			if err == nil && (r.LinkID != id || r.Email != email) {
				err = errBadRedemption
			}
			if err != nil {
				return event.Event{}, &callerError{err}
			}
			if _, err := q.Exec(ctx, lt.redemptions.insert, lt.redemptions.args(nil, &r, true, false)...); err != nil {
				return event.Event{}, err
			}
			out, err = lt.links.one(ctx, q, lt.links.update, lt.links.args(lt.links.ids(cur.OrganizationID, id), &next, false, false)...)
			red = r
			return ev, err
		})
		return out, err
	})
	if err != nil {
		return link.Link{}, link.Redemption{}, err
	}
	return out, red, nil
}

// ListLinks implements link.Store: a seek in the organization's index by
// creation, walked newest first.
func (c *Core) ListLinks(ctx context.Context, q link.ListQuery) ([]link.Link, error) {
	t := &c.links.links
	var a args
	query := t.selectFrom + " WHERE organization_id = " + a.add(c.d.ID(q.OrganizationID)) +
		c.after(&a, "created_at", q.After) + " ORDER BY created_at DESC, id DESC LIMIT " + a.add(max(q.Limit, 0))
	return t.list(ctx, "list", q.Limit, query, a)
}

// ListRedemptions implements link.Store.
func (c *Core) ListRedemptions(ctx context.Context, q link.RedemptionQuery) ([]link.Redemption, error) {
	t := &c.links.redemptions
	var a args
	query := t.selectFrom + " WHERE link_id = " + a.add(c.d.ID(q.LinkID)) + " AND organization_id = " + a.add(c.d.ID(q.OrganizationID)) +
		c.after(&a, "redeemed_at", q.After) + " ORDER BY redeemed_at DESC, id DESC LIMIT " + a.add(max(q.Limit, 0))
	return t.list(ctx, "list", q.Limit, query, a)
}

// after returns the keyset condition of a newest-first list whose time
// column is column: rows strictly older than the cursor.
func (c *Core) after(a *args, column string, cur *store.Cursor) string {
	if cur == nil {
		return ""
	}
	return " AND (" + column + ", id) < (" + a.add(c.d.Time(cur.CreatedAt)) + ", " + a.add(c.d.ID(cur.ID)) + ")"
}
