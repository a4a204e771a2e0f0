// Package upgradetest is the data set of the SQL stores' upgrade tests: records
// of every kind and status as release 1 stored them, written into a database
// at schema version 1 by each store's test, and checked through the store
// API after the store has migrated it to the latest version.
//
// The records and the checks are here once; a store's test supplies only
// what differs per database: its v1 fixture schema, its v1 INSERT
// statements and how its v1 columns encode IDs, times and booleans (Layout).
package upgradetest

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/link"
	"github.com/invitekit/invitekit/store"
)

// Now is the instant the upgraded data is checked at, and the services'
// clock: each record is open or not at Now as its name says.
var Now = time.Date(2026, 6, 1, 12, 0, 0, 123456000, time.UTC)

// written is when release 1 last wrote the records, a week before Now.
var written = Now.Add(-7 * 24 * time.Hour)

// Key signs the tokens of the checks.
var Key = []byte("upgradetest: a fixed 32-byte key")

// Organization and host IDs of the records.
var (
	OrgID    = uuid.MustParse("0190f5a2-0000-7000-8000-00000000a001")
	HostID   = uuid.MustParse("0190f5a2-0000-7000-8000-00000000b001")
	ParentID = uuid.MustParse("0190f5a2-0000-7000-8000-00000000c001")
)

const parentName = "Parent Org, Ltd."

// Row is a record as release 1 stored it: the record and its open claim,
// which release 1 set while the record was open when last written, and
// never cleared when it expired afterwards.
type Row[T any] struct {
	Record    T
	OpenClaim bool
}

// at returns written plus d, to the second, plus micros microseconds: every
// time has a microsecond part of its own, so a column copied into another
// shows.
func at(d time.Duration, micros int) time.Time {
	return written.Add(d).Truncate(time.Second).Add(time.Duration(micros) * time.Microsecond)
}

func ptr[T any](v T) *T { return &v }

func nonce(b byte) []byte {
	n := make([]byte, 16)
	for i := range n {
		n[i] = b + byte(i)
	}
	return n
}

// Invitations returns fresh copies of the organization invitations: one per
// stored status and one pending but expired, every field set that the
// status allows, and one NULL nonce, which release 1's schema allowed. The
// first is the only one open at Now; the second, expired, still holds its
// stale claim. Release 1 kept only a role: AssignedRoles is not written but
// is what the upgraded store must read, the system role of that name for
// admin and developer, none for the roles an application defined.
func Invitations() []Row[invitation.Invitation] {
	id := func(n byte) uuid.UUID { return uuid.UUID{0x01, 0x90, 0xf5, 0xa2, 6: 0x70, 8: 0x80, 15: n} }
	return []Row[invitation.Invitation]{
		{OpenClaim: true, Record: invitation.Invitation{
			ID: id(1), OrganizationID: OrgID, Email: "open@example.com", Role: "admin", InviterID: "user-17",
			AssignedRoles: []invitation.Role{{ID: invitation.AdminRoleID, Name: "admin", Type: invitation.RoleTypeSystem}},
			Status:        invitation.StatusPending, Nonce: nonce(0x10),
			CreatedAt: at(-time.Hour, 111111), SentAt: at(0, 222222), ExpireAt: at(14*24*time.Hour, 333333),
		}},
		{OpenClaim: true, Record: invitation.Invitation{
			ID: id(2), OrganizationID: OrgID, Email: "expired@example.com", Role: "member", InviterID: "api-key-3",
			Status: invitation.StatusPending, Nonce: nonce(0x20),
			CreatedAt: at(-2*time.Hour, 1), SentAt: at(-2*time.Hour, 1), ExpireAt: at(24*time.Hour, 999999),
		}},
		{Record: invitation.Invitation{
			ID: id(3), OrganizationID: OrgID, Email: "accepted@example.com", Role: "developer", InviterID: "user-18",
			AssignedRoles: []invitation.Role{{ID: invitation.DeveloperRoleID, Name: "developer", Type: invitation.RoleTypeSystem}},
			Status:        invitation.StatusAccepted, Nonce: nonce(0x30),
			CreatedAt: at(-3*time.Hour, 444444), SentAt: at(-3*time.Hour, 444444), ExpireAt: at(4*24*time.Hour, 555555),
			AcceptedAt: ptr(at(-30*time.Minute, 666666)),
		}},
		{Record: invitation.Invitation{
			ID: id(4), OrganizationID: OrgID, Email: "revoked@example.com", Role: "billing.admin", InviterID: "user-19",
			Status: invitation.StatusRevoked, Nonce: nil,
			CreatedAt: at(-4*time.Hour, 777777), SentAt: at(-4*time.Hour, 777777), ExpireAt: at(4*24*time.Hour, 888888),
			RevokedAt: ptr(at(-10*time.Minute, 12345)),
		}},
	}
}

// Guests returns fresh copies of the guest invitations: every status,
// archived and not, with and without a parent organization and its name,
// accepted_at and archived_at set and null. The first is the only one open
// at Now; the second, expired, still holds its stale claim.
func Guests() []Row[guest.Invitation] {
	id := func(n byte) uuid.UUID { return uuid.UUID{0x01, 0x90, 0xf5, 0xa2, 6: 0x70, 8: 0x80, 14: 0xb0, 15: n} }
	return []Row[guest.Invitation]{
		{OpenClaim: true, Record: guest.Invitation{
			ID: id(1), HostOrganizationID: HostID, Email: "guest-open@example.com",
			FirstInvitationSentAt: at(-time.Hour, 101), LastInvitationSentAt: at(0, 202), ExpiredAt: at(10*24*time.Hour, 303),
			Status: guest.StatusSent, CreatedAt: at(-time.Hour, 101), UpdatedAt: at(0, 202),
			ParentOrganizationID: ptr(ParentID), ParentOrganizationName: ptr(parentName), Nonce: nonce(0x40),
		}},
		{OpenClaim: true, Record: guest.Invitation{
			ID: id(2), HostOrganizationID: HostID, Email: "guest-expired@example.com",
			FirstInvitationSentAt: at(-2*time.Hour, 404), LastInvitationSentAt: at(-2*time.Hour, 404), ExpiredAt: at(3*24*time.Hour, 505),
			Status: guest.StatusSent, CreatedAt: at(-2*time.Hour, 404), UpdatedAt: at(-2*time.Hour, 404), Nonce: nonce(0x50),
		}},
		{Record: guest.Invitation{
			ID: id(3), HostOrganizationID: HostID, Email: "guest-archived@example.com",
			FirstInvitationSentAt: at(-3*time.Hour, 606), LastInvitationSentAt: at(-3*time.Hour, 606), ExpiredAt: at(30*24*time.Hour, 707),
			Status: guest.StatusSent, Archived: true, CreatedAt: at(-3*time.Hour, 606), UpdatedAt: at(-time.Minute, 808),
			ArchivedAt: ptr(at(-time.Minute, 808)), Nonce: nonce(0x60),
		}},
		{Record: guest.Invitation{
			ID: id(4), HostOrganizationID: HostID, Email: "guest-by-guest@example.com",
			FirstInvitationSentAt: at(-4*time.Hour, 909), LastInvitationSentAt: at(-4*time.Hour, 909), ExpiredAt: at(5*24*time.Hour, 1),
			Status: guest.StatusAcceptedByGuest, CreatedAt: at(-4*time.Hour, 909), UpdatedAt: at(-20*time.Minute, 2),
			AcceptedAt: ptr(at(-20*time.Minute, 2)), ParentOrganizationID: ptr(ParentID), Nonce: nonce(0x70),
		}},
		{Record: guest.Invitation{
			ID: id(5), HostOrganizationID: HostID, Email: "guest-by-system@example.com",
			FirstInvitationSentAt: at(-5*time.Hour, 3), LastInvitationSentAt: at(-4*time.Hour, 4), ExpiredAt: at(5*24*time.Hour, 5),
			Status: guest.StatusAcceptedBySystem, Archived: true, CreatedAt: at(-5*time.Hour, 3), UpdatedAt: at(-time.Minute, 7),
			AcceptedAt: ptr(at(-5*time.Minute, 6)), ArchivedAt: ptr(at(-time.Minute, 7)),
			ParentOrganizationID: ptr(ParentID), ParentOrganizationName: ptr(parentName), Nonce: nil,
		}},
	}
}

// Layout is how one store's release 1 wrote rows.
type Layout struct {
	// InsertInvitation inserts an organization invitation; its placeholders
	// take, in order: id, organization, email, role, inviter_id, status,
	// nonce, created_at, sent_at, expire_at, accepted_at, revoked_at and the
	// open claim.
	InsertInvitation string
	// InsertGuest inserts a guest invitation; its placeholders take, in
	// order: id, host organization, email, first_invitation_sent_at,
	// last_invitation_sent_at, expired_at, status, archived, created_at,
	// updated_at, accepted_at, archived_at, parent_organization_id,
	// parent_organization_name, nonce and the open claim.
	InsertGuest string
	// ID, Time and Bool encode v1 column values. NULLs and nonces are
	// passed as nil and []byte.
	ID   func(uuid.UUID) any
	Time func(time.Time) any
	Bool func(bool) any
	// Exec runs one statement.
	Exec func(ctx context.Context, query string, args ...any) error
}

// Write inserts every row of Invitations and Guests with l.
func (l Layout) Write(ctx context.Context) error {
	for _, r := range Invitations() {
		v := r.Record
		err := l.Exec(ctx, l.InsertInvitation, l.ID(v.ID), l.ID(v.OrganizationID), v.Email, v.Role, v.InviterID,
			string(v.Status), bytes(v.Nonce), l.Time(v.CreatedAt), l.Time(v.SentAt), l.Time(v.ExpireAt),
			orNull(v.AcceptedAt, l.Time), orNull(v.RevokedAt, l.Time), l.Bool(r.OpenClaim))
		if err != nil {
			return err
		}
	}
	for _, r := range Guests() {
		v := r.Record
		err := l.Exec(ctx, l.InsertGuest, l.ID(v.ID), l.ID(v.HostOrganizationID), v.Email,
			l.Time(v.FirstInvitationSentAt), l.Time(v.LastInvitationSentAt), l.Time(v.ExpiredAt), string(v.Status),
			l.Bool(v.Archived), l.Time(v.CreatedAt), l.Time(v.UpdatedAt), orNull(v.AcceptedAt, l.Time),
			orNull(v.ArchivedAt, l.Time), orNull(v.ParentOrganizationID, l.ID),
			orNull(v.ParentOrganizationName, func(s string) any { return s }), bytes(v.Nonce), l.Bool(r.OpenClaim))
		if err != nil {
			return err
		}
	}
	return nil
}

// bytes is a nonce argument: nil, not an empty []byte, for NULL.
func bytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

func orNull[T any](p *T, enc func(T) any) any {
	if p == nil {
		return nil
	}
	return enc(*p)
}

// Store is a store of every domain and their events.
type Store interface {
	invitation.Store
	guest.Store
	link.Store
	event.Store
}

// Check checks s, a store opened on a database Layout.Write wrote at
// version 1: every record reads back exactly as it was written, by ID and
// in lists (no metadata, no expiry recorded); the tokens of the records,
// computed from Invitations and Guests (what release 1 would have sent)
// and not from what s reads, still verify, and the open ones' accept; the
// one-open-invitation rule holds on the upgraded rows, including the
// release of stale claims; the changes made to the upgraded records are
// recorded as events (release 1 recorded none); and a sweep records the
// expiries that passed before the upgrade, once. It changes s.
func Check(t *testing.T, s Store) {
	t.Helper()
	ctx := context.Background()
	invs, guests := records(Invitations()), records(Guests())
	checkRecords(t, s, invs, guests)
	guestTotals(t, s, "as upgraded")

	clock := func() time.Time { return Now }
	isvc, err := invitation.NewService(invitation.Config{Store: s, Keys: [][]byte{Key}, Clock: clock})
	require.NoError(t, err)
	gsvc, err := guest.NewService(guest.Config{Store: s, Keys: [][]byte{Key}, Clock: clock})
	require.NoError(t, err)
	invTokens := make([]string, len(invs))
	for i, inv := range invs {
		invTokens[i] = isvc.Token(inv)
	}
	guestTokens := make([]string, len(guests))
	for i, g := range guests {
		guestTokens[i] = gsvc.Token(g)
	}

	// The rule, before any accept: the open records block their emails,
	// the expired ones' stale claims do not.
	_, err = isvc.Create(ctx, invitation.CreateParams{OrganizationID: OrgID, Email: invs[0].Email, Role: "admin"})
	assert.ErrorIs(t, err, store.ErrAlreadyExists, "the open invitation blocks its email")
	_, err = isvc.Create(ctx, invitation.CreateParams{OrganizationID: OrgID, Email: invs[1].Email, Role: "admin"})
	assert.NoError(t, err, "the expired invitation's stale claim is released")
	_, err = gsvc.Create(ctx, guest.CreateParams{HostOrganizationID: HostID, Email: guests[0].Email, ExpiredAt: Now.Add(24 * time.Hour)})
	assert.ErrorIs(t, err, store.ErrAlreadyExists, "the open guest invitation blocks its email")
	_, err = gsvc.Create(ctx, guest.CreateParams{HostOrganizationID: HostID, Email: guests[1].Email, ExpiredAt: Now.Add(24 * time.Hour)})
	assert.NoError(t, err, "the expired guest invitation's stale claim is released")

	// Tokens: the nonces survived, so the tokens of the records that are
	// not open still verify, and fail for the record's own state (a token
	// whose nonce no longer matched would fail with store.ErrInvalidToken).
	for i, want := range map[int]error{1: store.ErrExpired, 2: store.ErrAlreadyAccepted} {
		_, err := isvc.Accept(ctx, invTokens[i], invs[i].Email)
		assert.ErrorIs(t, err, want, invs[i].Email)
	}
	for i, want := range map[int]error{1: store.ErrExpired, 2: guest.ErrArchived, 3: store.ErrAlreadyAccepted} {
		_, err := gsvc.AcceptByGuest(ctx, guestTokens[i])
		assert.ErrorIs(t, err, want, guests[i].Email)
	}
	accepted, err := isvc.Accept(ctx, invTokens[0], invs[0].Email)
	if assert.NoError(t, err, "the open invitation's v1 token accepts it") {
		want := invs[0]
		want.Status, want.AcceptedAt = invitation.StatusAccepted, &Now
		assert.Equal(t, want, accepted)
	}
	acceptedGuest, err := gsvc.AcceptByGuest(ctx, guestTokens[0])
	if assert.NoError(t, err, "the open guest invitation's v1 token accepts it") {
		want := guests[0]
		want.Status, want.AcceptedAt, want.UpdatedAt = guest.StatusAcceptedByGuest, &Now, Now
		assert.Equal(t, want, acceptedGuest)
	}

	evs, err := s.ListEvents(ctx, event.ListQuery{OrganizationID: OrgID, Types: []event.Type{event.InvitationAccepted}, Limit: 10})
	require.NoError(t, err)
	if assert.Len(t, evs, 1, "the accept of an upgraded invitation is recorded") {
		assert.Equal(t, invs[0].ID, evs[0].InvitationID)
		var data invitation.View
		require.NoError(t, json.Unmarshal(evs[0].Data, &data))
		assert.Equal(t, []invitation.AssignedRole{{RoleID: invitation.AdminRoleID.String(), RoleName: "admin", RoleType: "system"}},
			data.AssignedRoles, "the event carries the roles derived from the v1 role")
	}
	evs, err = s.ListEvents(ctx, event.ListQuery{OrganizationID: HostID, Types: []event.Type{event.GuestInvitationAccepted}, Limit: 10})
	require.NoError(t, err)
	assert.Len(t, evs, 1, "the accept of an upgraded guest invitation is recorded")

	// The expiries that passed before the upgrade are recorded by the
	// first sweep, once each: rows of earlier releases start unrecorded.
	for range 2 {
		res, err := isvc.Sweep(ctx)
		require.NoError(t, err)
		gres, err := gsvc.Sweep(ctx)
		require.NoError(t, err)
		assert.False(t, res.More || gres.More)
	}
	expiredOnce(t, s, OrgID, event.InvitationExpired, invs[1].ID)
	expiredOnce(t, s, HostID, event.GuestInvitationExpired, guests[1].ID)

	// Join links came later: an upgraded database has their tables, and
	// an upgraded organization's links take its roles.
	lsvc, err := link.NewService(link.Config{Store: s, Invitations: isvc, Keys: [][]byte{Key}, Clock: clock})
	require.NoError(t, err)
	l, err := lsvc.Create(ctx, link.CreateParams{OrganizationID: OrgID, Role: "admin", MaxUses: 1})
	require.NoError(t, err)
	r, err := lsvc.Redeem(ctx, lsvc.Token(l), invs[2].Email)
	require.NoError(t, err, "a link of an upgraded database redeems")
	assert.Equal(t, invitation.LegacyAssignedRoles("admin"), r.AssignedRoles)
	_, err = lsvc.Redeem(ctx, lsvc.Token(l), "other@example.com")
	assert.ErrorIs(t, err, link.ErrExhausted)
	guestTotals(t, s, "after the changes")
}

// guestTotals checks the total of the host's guest list under each filter,
// and the matches of email searches, which later releases keep in
// counters and a trigram index that the upgrade fills from the rows,
// against the rows themselves.
func guestTotals(t *testing.T, s Store, when string) {
	t.Helper()
	ctx := context.Background()
	list := func(q guest.ListQuery) ([]guest.Invitation, int) {
		q.HostOrganizationID, q.Now, q.OrderBy, q.Order, q.Limit = HostID, Now, guest.OrderByCreatedAt, store.Asc, 100
		items, total, err := s.ListGuestInvitations(ctx, q)
		require.NoError(t, err)
		return items, total
	}
	all, total := list(guest.ListQuery{})
	require.Equal(t, len(all), total, "%s: every guest invitation", when)
	yes, no := true, false
	for _, st := range [][]guest.Status{nil, {guest.StatusSent}, {guest.StatusAcceptedByGuest}, {guest.StatusAcceptedBySystem}} {
		for _, b := range []*bool{nil, &yes, &no} {
			for _, q := range []guest.ListQuery{{Statuses: st, Expired: b}, {Statuses: st, Archived: b}} {
				want := 0
				for _, g := range all {
					q.HostOrganizationID, q.Now = HostID, Now
					if q.Matches(g) {
						want++
					}
				}
				_, got := list(q)
				assert.Equal(t, want, got, "%s: statuses %v, expired %v, archived %v", when, st, q.Expired, q.Archived)
			}
		}
	}
	for _, g := range all {
		items, _ := list(guest.ListQuery{EmailContains: g.Email[2:]})
		assert.Contains(t, items, g, "%s: a search finds %s", when, g.Email)
	}
}

// expiredOnce checks that org's only event of type typ is about id.
func expiredOnce(t *testing.T, s Store, org uuid.UUID, typ event.Type, id uuid.UUID) {
	t.Helper()
	evs, err := s.ListEvents(context.Background(), event.ListQuery{OrganizationID: org, Types: []event.Type{typ}, Limit: 10})
	require.NoError(t, err)
	if assert.Len(t, evs, 1, "one %s event, for the record that expired before the upgrade", typ) {
		assert.Equal(t, id, evs[0].InvitationID)
	}
}

func records[T any](rows []Row[T]) []T {
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = r.Record
	}
	return out
}

// checkRecords checks that s holds exactly invs and guests, field for
// field, through every read of the store API.
func checkRecords(t *testing.T, s Store, invs []invitation.Invitation, guests []guest.Invitation) {
	t.Helper()
	ctx := context.Background()
	for _, want := range invs {
		same(t, want, "get "+want.Email)(s.GetInvitation(ctx, want.OrganizationID, want.ID))
		same(t, want, "find "+want.Email)(s.FindInvitation(ctx, want.ID))
	}
	newestFirst := slices.Clone(invs)
	slices.SortFunc(newestFirst, func(a, b invitation.Invitation) int { return b.CreatedAt.Compare(a.CreatedAt) })
	same(t, newestFirst, "list")(s.ListInvitations(ctx, invitation.ListQuery{OrganizationID: OrgID, Now: Now, Limit: 100}))
	// The records are in Invitations in this order of effective status.
	for i, st := range []invitation.Status{invitation.StatusPending, invitation.StatusExpired, invitation.StatusAccepted, invitation.StatusRevoked} {
		same(t, invs[i:i+1], "list "+string(st))(s.ListInvitations(ctx,
			invitation.ListQuery{OrganizationID: OrgID, Status: st, Now: Now, Limit: 100}))
	}
	same(t, invs[:1], "list for email")(s.ListInvitationsForEmail(ctx, invs[0].Email, Now, 100))

	for _, want := range guests {
		same(t, want, "get "+want.Email)(s.GetGuestInvitation(ctx, want.HostOrganizationID, want.ID))
		same(t, want, "find "+want.Email)(s.FindGuestInvitation(ctx, want.ID))
	}
	byEmail := slices.Clone(guests)
	slices.SortFunc(byEmail, func(a, b guest.Invitation) int { return strings.Compare(a.Email, b.Email) })
	glist, total, err := s.ListGuestInvitations(ctx, guest.ListQuery{HostOrganizationID: HostID, Now: Now,
		OrderBy: guest.OrderByEmail, Order: store.Asc, Limit: 100})
	require.NoError(t, err)
	assert.Equal(t, len(guests), total)
	assert.Equal(t, byEmail, glist, "guest list by email")
	expired := true
	glist, total, err = s.ListGuestInvitations(ctx, guest.ListQuery{HostOrganizationID: HostID, Now: Now,
		Expired: &expired, Statuses: []guest.Status{guest.StatusSent}, Limit: 100})
	require.NoError(t, err)
	assert.Equal(t, 1, total)
	assert.Equal(t, guests[1:2], glist, "expired guest invitations")
}

// same returns a check that a read returned want, exactly, and no error.
func same[T any](t *testing.T, want T, what string) func(T, error) {
	return func(got T, err error) {
		t.Helper()
		if assert.NoError(t, err, what) {
			assert.Equal(t, want, got, what)
		}
	}
}
