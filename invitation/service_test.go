package invitation_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/store"
)

var (
	t0     = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	keyOld = bytes.Repeat([]byte("o"), 32)
	keyNew = bytes.Repeat([]byte("n"), 32)
	org    = uuid.MustParse("11111111-1111-4111-8111-111111111111")
	ctx    = context.Background()
)

// fixture is a Service on a memstore with a fake clock and fixed IDs and
// nonces, so every field of a result can be asserted exactly.
type fixture struct {
	svc   *invitation.Service
	store *memstore.Store
	now   time.Time
	ids   int
}

// counterReader is a deterministic nonce source: each read returns the next
// bytes of 0, 1, 2, ...
type counterReader struct{ n byte }

func (r *counterReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.n
		r.n++
	}
	return len(p), nil
}

func newFixture(t *testing.T, mutate ...func(*invitation.Config)) *fixture {
	t.Helper()
	f := &fixture{store: memstore.New(), now: t0}
	cfg := invitation.Config{
		Store: f.store,
		Keys:  [][]byte{keyOld},
		Clock: func() time.Time { return f.now },
		NewID: func() (uuid.UUID, error) {
			f.ids++
			return uuid.UUID{0x01, 0x90, byte(f.ids >> 8), byte(f.ids), 0x70, 0, 0x80}, nil
		},
		Rand: &counterReader{},
	}
	for _, m := range mutate {
		m(&cfg)
	}
	svc, err := invitation.NewService(cfg)
	require.NoError(t, err)
	f.svc = svc
	return f
}

func (f *fixture) create(t *testing.T, email string) invitation.Invitation {
	t.Helper()
	inv, err := f.svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: email, Role: "developer"})
	require.NoError(t, err)
	return inv
}

func TestNewServiceRejectsBadConfig(t *testing.T) {
	t.Parallel()
	s := memstore.New()
	cases := map[string]invitation.Config{
		"no store":           {Keys: [][]byte{keyOld}},
		"no key":             {Store: s},
		"short key":          {Store: s, Keys: [][]byte{keyOld[:31]}},
		"short ttl":          {Store: s, Keys: [][]byte{keyOld}, TTL: time.Minute},
		"long ttl":           {Store: s, Keys: [][]byte{keyOld}, TTL: 366 * 24 * time.Hour},
		"negative limit":     {Store: s, Keys: [][]byte{keyOld}, Limits: &store.Limits{MaxOpen: -1}},
		"negative rate":      {Store: s, Keys: [][]byte{keyOld}, Limits: &store.Limits{CreatesPerHour: -1}},
		"negative retention": {Store: s, Keys: [][]byte{keyOld}, Retention: -time.Hour},
		"batch too large":    {Store: s, Keys: [][]byte{keyOld}, SweepBatch: 1001},
		"negative batch":     {Store: s, Keys: [][]byte{keyOld}, SweepBatch: -1},
	}
	for name, cfg := range cases {
		_, err := invitation.NewService(cfg)
		assert.Error(t, err, name)
	}
}

func TestCreate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.now = time.Date(2026, 5, 1, 14, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))
	inv, err := f.svc.Create(ctx, invitation.CreateParams{
		OrganizationID: org, Email: "  Ada.Lovelace@Example.COM ", Role: "admin", InviterID: "u1",
	})
	require.NoError(t, err)
	created := time.Date(2026, 5, 1, 12, 0, 0, 123456000, time.UTC)
	assert.Equal(t, invitation.Invitation{
		ID:             uuid.UUID{0x01, 0x90, 0, 1, 0x70, 0, 0x80},
		OrganizationID: org,
		Email:          "ada.lovelace@example.com",
		Role:           "admin",
		AssignedRoles:  []invitation.Role{{ID: invitation.AdminRoleID, Name: "admin", Type: invitation.RoleTypeSystem}},
		InviterID:      "u1",
		Status:         invitation.StatusPending,
		Nonce:          []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
		CreatedAt:      created,
		SentAt:         created,
		ExpireAt:       created.Add(invitation.DefaultTTL),
	}, inv, "UTC, truncated to microseconds, email lowercased, 7 days to live, role admin assigns the system role")

	got, err := f.svc.Get(ctx, org, inv.ID)
	require.NoError(t, err)
	assert.Equal(t, inv, got)
	assert.Equal(t, invitation.StatusPending, got.EffectiveStatus(f.now))
}

func TestCreateValidates(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cases := []struct {
		name   string
		p      invitation.CreateParams
		fields []string
	}{
		{"no organization", invitation.CreateParams{Email: "a@example.com", Role: "admin"}, []string{invitation.FieldOrganizationID}},
		{"bad email", invitation.CreateParams{OrganizationID: org, Email: "not-an-email", Role: "admin"}, []string{invitation.FieldEmail}},
		{"display name", invitation.CreateParams{OrganizationID: org, Email: "Ada <ada@example.com>", Role: "admin"}, []string{invitation.FieldEmail}},
		{"long email", invitation.CreateParams{OrganizationID: org, Email: strings.Repeat("a", 250) + "@x.io", Role: "admin"}, []string{invitation.FieldEmail}},
		{"no role", invitation.CreateParams{OrganizationID: org, Email: "a@example.com"}, []string{invitation.FieldRole}},
		{"bad role", invitation.CreateParams{OrganizationID: org, Email: "a@example.com", Role: "Admin!"}, []string{invitation.FieldRole}},
		{"long role", invitation.CreateParams{OrganizationID: org, Email: "a@example.com", Role: "a" + strings.Repeat("b", 64)}, []string{invitation.FieldRole}},
		{"everything", invitation.CreateParams{}, []string{invitation.FieldOrganizationID, invitation.FieldEmail, invitation.FieldRole}},
	}
	for _, c := range cases {
		_, err := f.svc.Create(ctx, c.p)
		var verr *store.ValidationError
		require.ErrorAs(t, err, &verr, c.name)
		assert.Equal(t, err, f.svc.ValidateCreate(c.p), "%s: ValidateCreate is what Create checks", c.name)
		var fields []string
		for _, fe := range verr.Fields {
			fields = append(fields, fe.Field)
			assert.NotEmpty(t, fe.Message)
		}
		assert.Equal(t, c.fields, fields, c.name)
	}
	page, err := f.svc.List(ctx, org, invitation.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, page.Invitations, "nothing invalid was stored")
}

func TestCustomRoleRule(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *invitation.Config) {
		c.ValidateRole = func(role string) error {
			if role != "admin" && role != "developer" {
				return errors.New("must be admin or developer")
			}
			return nil
		}
	})
	f.create(t, "a@example.com")
	_, err := f.svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "b@example.com", Role: "viewer"})
	var verr *store.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, []store.FieldError{{Field: invitation.FieldRole, Message: "must be admin or developer"}}, verr.Fields)
}

func TestCreateDuplicate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.create(t, "dup@example.com")
	_, err := f.svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "DUP@example.com", Role: "admin"})
	assert.ErrorIs(t, err, store.ErrAlreadyExists, "the same email in another case is the same invitee")
}

func TestAccept(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	inv := f.create(t, "ada@example.com")
	f.now = t0.Add(time.Hour)
	got, err := f.svc.Accept(ctx, f.svc.Token(inv), " ADA@example.com")
	require.NoError(t, err)
	acceptedAt := t0.Add(time.Hour)
	want := inv
	want.Status, want.AcceptedAt = invitation.StatusAccepted, &acceptedAt
	assert.Equal(t, want, got)
}

func TestAcceptRefusals(t *testing.T) {
	t.Parallel()
	otherKey := bytes.Repeat([]byte("x"), 32)
	cases := []struct {
		name string
		// prepare changes the world and returns the token and email to
		// accept with.
		prepare func(t *testing.T, f *fixture, inv invitation.Invitation) (string, string)
		want    error
	}{
		{"wrong email", func(t *testing.T, f *fixture, inv invitation.Invitation) (string, string) {
			return f.svc.Token(inv), "eve@example.com"
		}, invitation.ErrEmailMismatch},
		{"expired", func(t *testing.T, f *fixture, inv invitation.Invitation) (string, string) {
			f.now = inv.ExpireAt
			return f.svc.Token(inv), inv.Email
		}, store.ErrExpired},
		{"revoked", func(t *testing.T, f *fixture, inv invitation.Invitation) (string, string) {
			_, err := f.svc.Revoke(ctx, org, inv.ID)
			require.NoError(t, err)
			return f.svc.Token(inv), inv.Email
		}, store.ErrRevoked},
		{"accepted twice", func(t *testing.T, f *fixture, inv invitation.Invitation) (string, string) {
			_, err := f.svc.Accept(ctx, f.svc.Token(inv), inv.Email)
			require.NoError(t, err)
			return f.svc.Token(inv), inv.Email
		}, store.ErrAlreadyAccepted},
		{"tampered", func(t *testing.T, f *fixture, inv invitation.Invitation) (string, string) {
			tok := []byte(f.svc.Token(inv))
			tok[10] ^= 1
			return string(tok), inv.Email
		}, store.ErrInvalidToken},
		{"truncated", func(t *testing.T, f *fixture, inv invitation.Invitation) (string, string) {
			tok := f.svc.Token(inv)
			return tok[:len(tok)-4], inv.Email
		}, store.ErrInvalidToken},
		{"guest token", func(t *testing.T, f *fixture, inv invitation.Invitation) (string, string) {
			gs, err := guest.NewService(guest.Config{Store: f.store, Keys: [][]byte{keyOld}, Clock: func() time.Time { return f.now }})
			require.NoError(t, err)
			g, err := gs.Create(ctx, guest.CreateParams{HostOrganizationID: org, Email: inv.Email, ExpiredAt: f.now.Add(time.Hour)})
			require.NoError(t, err)
			return gs.Token(g), inv.Email
		}, store.ErrInvalidToken},
		{"signed by an unknown key", func(t *testing.T, f *fixture, inv invitation.Invitation) (string, string) {
			other, err := invitation.NewService(invitation.Config{Store: f.store, Keys: [][]byte{otherKey}})
			require.NoError(t, err)
			return other.Token(inv), inv.Email
		}, store.ErrInvalidToken},
		{"replaced by a resend", func(t *testing.T, f *fixture, inv invitation.Invitation) (string, string) {
			_, err := f.svc.Resend(ctx, org, inv.ID)
			require.NoError(t, err)
			return f.svc.Token(inv), inv.Email
		}, store.ErrInvalidToken},
		{"deleted", func(t *testing.T, f *fixture, inv invitation.Invitation) (string, string) {
			require.NoError(t, f.svc.Delete(ctx, org, inv.ID))
			return f.svc.Token(inv), inv.Email
		}, store.ErrInvalidToken},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			inv := f.create(t, "ada@example.com")
			tok, email := c.prepare(t, f, inv)
			before, _ := f.store.GetInvitation(ctx, org, inv.ID)
			_, err := f.svc.Accept(ctx, tok, email)
			assert.ErrorIs(t, err, c.want)
			after, _ := f.store.GetInvitation(ctx, org, inv.ID)
			assert.Equal(t, before, after, "a refused accept changes nothing")
		})
	}
}

func TestAcceptBadEmailInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	inv := f.create(t, "ada@example.com")
	_, err := f.svc.Accept(ctx, f.svc.Token(inv), "nope")
	var verr *store.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, invitation.FieldEmail, verr.Fields[0].Field)
}

func TestKeyRotationKeepsTokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	inv := f.create(t, "ada@example.com")
	oldTok := f.svc.Token(inv)

	rotated, err := invitation.NewService(invitation.Config{
		Store: f.store, Keys: [][]byte{keyNew, keyOld}, Clock: func() time.Time { return f.now },
	})
	require.NoError(t, err)
	assert.NotEqual(t, oldTok, rotated.Token(inv), "the new key signs")
	_, err = rotated.Accept(ctx, oldTok, "ada@example.com")
	assert.NoError(t, err, "a token signed with the old key still works")

	inv2 := f.create(t, "bob@example.com")
	retired, err := invitation.NewService(invitation.Config{Store: f.store, Keys: [][]byte{keyNew}})
	require.NoError(t, err)
	_, err = retired.Accept(ctx, f.svc.Token(inv2), "bob@example.com")
	assert.ErrorIs(t, err, store.ErrInvalidToken, "once the old key is removed its tokens die")
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	inv := f.create(t, "ada@example.com")
	f.now = inv.ExpireAt.Add(time.Hour)
	got, err := f.svc.Revoke(ctx, org, inv.ID)
	require.NoError(t, err, "an expired invitation can still be revoked")
	assert.Equal(t, invitation.StatusRevoked, got.Status)
	assert.Equal(t, f.now, *got.RevokedAt)
	_, err = f.svc.Revoke(ctx, org, inv.ID)
	assert.ErrorIs(t, err, store.ErrRevoked)
	assert.ErrorIs(t, err, store.ErrConflict)

	accepted := f.create(t, "bob@example.com")
	_, err = f.svc.Accept(ctx, f.svc.Token(accepted), "bob@example.com")
	require.NoError(t, err)
	_, err = f.svc.Revoke(ctx, org, accepted.ID)
	assert.ErrorIs(t, err, store.ErrAlreadyAccepted)

	_, err = f.svc.Revoke(ctx, uuid.New(), accepted.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "another organization's invitation")
}

func TestResend(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	inv := f.create(t, "ada@example.com")
	f.now = t0.Add(24 * time.Hour)
	got, err := f.svc.Resend(ctx, org, inv.ID)
	require.NoError(t, err)
	assert.Equal(t, inv.CreatedAt, got.CreatedAt)
	assert.Equal(t, f.now, got.SentAt)
	assert.Equal(t, f.now.Add(invitation.DefaultTTL), got.ExpireAt)
	assert.NotEqual(t, inv.Nonce, got.Nonce)
	assert.NotEqual(t, f.svc.Token(inv), f.svc.Token(got))
	_, err = f.svc.Accept(ctx, f.svc.Token(got), "ada@example.com")
	assert.NoError(t, err, "the new token works")

	_, err = f.svc.Resend(ctx, org, inv.ID)
	assert.ErrorIs(t, err, store.ErrAlreadyAccepted)

	// An expired invitation is revived: a new token and a new expiry,
	// open again, and the old link dead.
	expired := f.create(t, "bob@example.com")
	f.now = expired.ExpireAt
	revived, err := f.svc.Resend(ctx, org, expired.ID)
	require.NoError(t, err)
	assert.Equal(t, f.now.Add(invitation.DefaultTTL), revived.ExpireAt)
	assert.True(t, revived.Open(f.now))
	_, err = f.svc.Accept(ctx, f.svc.Token(expired), "bob@example.com")
	assert.ErrorIs(t, err, store.ErrInvalidToken, "the expired link stays dead")
	_, err = f.svc.Accept(ctx, f.svc.Token(revived), "bob@example.com")
	assert.NoError(t, err, "the revived link accepts")

	// Reviving beside a newer open invitation for the email is a
	// conflict, and changes nothing.
	old := f.create(t, "cy@example.com")
	f.now = old.ExpireAt
	newer := f.create(t, "cy@example.com")
	_, err = f.svc.Resend(ctx, org, old.ID)
	assert.ErrorIs(t, err, store.ErrAlreadyExists)
	got, err = f.svc.Get(ctx, org, old.ID)
	require.NoError(t, err)
	assert.Equal(t, old, got, "the refused revive changed nothing")
	_, err = f.svc.Revoke(ctx, org, newer.ID)
	require.NoError(t, err)
	_, err = f.svc.Resend(ctx, org, old.ID)
	assert.NoError(t, err, "once the newer one is revoked, the old one revives")

	// Revoked invitations stay final.
	_, err = f.svc.Resend(ctx, org, newer.ID)
	assert.ErrorIs(t, err, store.ErrRevoked)
}

func TestListValidates(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	bad := map[string]invitation.ListOptions{
		"status":         {Status: "gone"},
		"limit":          {Limit: invitation.MaxLimit + 1},
		"negative limit": {Limit: -1},
		"cursor":         {Cursor: "not-a-cursor"},
		"email":          {Email: "x"},
	}
	for name, opts := range bad {
		_, err := f.svc.List(ctx, org, opts)
		var verr *store.ValidationError
		assert.ErrorAs(t, err, &verr, name)
		assert.Equal(t, err, opts.Validate(), "%s: Validate is what List checks", name)
	}
	assert.NoError(t, invitation.ListOptions{}.Validate(), "the zero options list with the defaults")
}

func TestListPages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var want []uuid.UUID
	for _, e := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		f.now = f.now.Add(time.Second)
		want = append([]uuid.UUID{f.create(t, e).ID}, want...)
	}
	p1, err := f.svc.List(ctx, org, invitation.ListOptions{Limit: 2})
	require.NoError(t, err)
	require.Len(t, p1.Invitations, 2)
	require.NotEmpty(t, p1.Next)
	assert.Equal(t, f.now, p1.Now, "a page says the instant its statuses are evaluated at")
	p2, err := f.svc.List(ctx, org, invitation.ListOptions{Limit: 2, Cursor: p1.Next})
	require.NoError(t, err)
	assert.Empty(t, p2.Next, "the last page has no next cursor")
	got := []uuid.UUID{p1.Invitations[0].ID, p1.Invitations[1].ID, p2.Invitations[0].ID}
	assert.Equal(t, want, got)

	exact, err := f.svc.List(ctx, org, invitation.ListOptions{Limit: 3})
	require.NoError(t, err)
	assert.Len(t, exact.Invitations, 3)
	assert.Empty(t, exact.Next, "a page that ends exactly at the end has no next cursor")
}

func TestListForEmail(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	inv := f.create(t, "ada@example.com")
	f.create(t, "bob@example.com")
	got, err := f.svc.ListForEmail(ctx, "ADA@example.com", 0)
	require.NoError(t, err)
	assert.Equal(t, []invitation.Invitation{inv}, got)
	_, err = f.svc.ListForEmail(ctx, "ada@example.com", invitation.MaxLimit+1)
	assert.Error(t, err)
}

func TestDelete(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	inv := f.create(t, "ada@example.com")
	assert.ErrorIs(t, f.svc.Delete(ctx, uuid.New(), inv.ID), store.ErrNotFound)
	require.NoError(t, f.svc.Delete(ctx, org, inv.ID))
	_, err := f.svc.Get(ctx, org, inv.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func TestEffectiveStatus(t *testing.T) {
	t.Parallel()
	inv := invitation.Invitation{Status: invitation.StatusPending, ExpireAt: t0}
	assert.Equal(t, invitation.StatusPending, inv.EffectiveStatus(t0.Add(-time.Microsecond)))
	assert.Equal(t, invitation.StatusExpired, inv.EffectiveStatus(t0))
	inv.Status = invitation.StatusAccepted
	assert.Equal(t, invitation.StatusAccepted, inv.EffectiveStatus(t0.Add(time.Hour)), "final statuses never expire")
}

func TestDefaultValidateRole(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"a", "admin", "developer", "org:billing.read-only_2", "a" + strings.Repeat("9", 63)} {
		assert.NoError(t, invitation.DefaultValidateRole(ok), ok)
	}
	for _, bad := range []string{"", "Admin", "1admin", "_a", "a b", "a/b", "a\x00", "é", "a" + strings.Repeat("b", 64), "adminé"} {
		assert.Error(t, invitation.DefaultValidateRole(bad), "%q", bad)
	}
}

func TestInspect(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	inv := f.create(t, "ada@example.com")
	tok := f.svc.Token(inv)

	got, err := f.svc.Inspect(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, inv, got)
	got, err = f.svc.Inspect(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, inv, got, "inspecting twice changes nothing")
	evs, err := f.store.ListEvents(ctx, event.ListQuery{OrganizationID: org, Limit: 10})
	require.NoError(t, err)
	assert.Len(t, evs, 1, "only the create recorded an event")

	f.now = inv.ExpireAt
	got, err = f.svc.Inspect(ctx, tok)
	require.NoError(t, err, "an expired invitation is still shown")
	assert.Equal(t, invitation.StatusExpired, got.EffectiveStatus(f.now))

	f.now = t0.Add(time.Hour)
	_, err = f.svc.Accept(ctx, tok, "ada@example.com")
	require.NoError(t, err)
	got, err = f.svc.Inspect(ctx, tok)
	require.NoError(t, err, "an accepted invitation is still shown")
	assert.Equal(t, invitation.StatusAccepted, got.Status)

	resent := f.create(t, "bob@example.com")
	oldTok := f.svc.Token(resent)
	resent, err = f.svc.Resend(ctx, org, resent.ID)
	require.NoError(t, err)
	_, err = f.svc.Inspect(ctx, oldTok)
	assert.ErrorIs(t, err, store.ErrInvalidToken, "a token replaced by a resend")
	_, err = f.svc.Inspect(ctx, f.svc.Token(resent))
	assert.NoError(t, err)

	gone := f.create(t, "cy@example.com")
	require.NoError(t, f.svc.Delete(ctx, org, gone.ID))
	_, err = f.svc.Inspect(ctx, f.svc.Token(gone))
	assert.ErrorIs(t, err, store.ErrInvalidToken, "a deleted invitation's token")
	for _, bad := range []string{"", "x", tok[:len(tok)-2], tok + "A"} {
		_, err = f.svc.Inspect(ctx, bad)
		assert.ErrorIs(t, err, store.ErrInvalidToken, "token %q", bad)
	}
}

// TestEmailPolicy: the strict default refuses look-alike and non-public
// addresses wherever an email enters, and each Config.EmailPolicy field
// accepts its own kind of intranet address, there too.
func TestEmailPolicy(t *testing.T) {
	t.Parallel()
	relaxed := map[string]invitation.EmailPolicy{
		"ada@intranet":           {AllowSingleLabelDomain: true},
		"ada@localhost":          {AllowLocalhost: true},
		"ada@[192.0.2.1]":        {AllowAddressLiteral: true},
		"ada@[IPv6:2001:db8::1]": {AllowAddressLiteral: true},
	}
	for addr, policy := range relaxed {
		strict := newFixture(t)
		_, err := strict.svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: addr, Role: "developer"})
		assertFieldErr(t, err, invitation.FieldEmail)
		assertFieldErr(t, strict.svc.ValidateList(invitation.ListOptions{Email: addr}), invitation.FieldEmail)
		_, err = strict.svc.ListForEmail(ctx, addr, 0)
		assertFieldErr(t, err, invitation.FieldEmail)

		f := newFixture(t, func(c *invitation.Config) { c.EmailPolicy = policy })
		inv := f.create(t, addr)
		assert.Equal(t, strings.ToLower(addr), inv.Email)
		require.NoError(t, f.svc.ValidateList(invitation.ListOptions{Email: addr}))
		page, err := f.svc.List(ctx, org, invitation.ListOptions{Email: addr})
		require.NoError(t, err)
		assert.Len(t, page.Invitations, 1, addr)
		mine, err := f.svc.ListForEmail(ctx, addr, 0)
		require.NoError(t, err)
		assert.Len(t, mine, 1, addr)
		_, err = f.svc.Accept(ctx, f.svc.Token(inv), strings.ToUpper(addr))
		require.NoError(t, err, addr)
		// ListOptions.Validate knows no service: it keeps the default.
		assertFieldErr(t, invitation.ListOptions{Email: addr}.Validate(), invitation.FieldEmail)
	}
}

// TestLookAlikeEmails: of addresses that look the same, one invitation can
// be open; the others are refused, not stored as different addresses.
func TestLookAlikeEmails(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	inv := f.create(t, "ada@example.com")
	for _, addr := range []string{"ada@example.com\u200b", "ada\u200b@example.com", "\u212aate@example.com", "\xff\xfe@example.com"} {
		_, err := f.svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: addr, Role: "developer"})
		assertFieldErr(t, err, invitation.FieldEmail)
		_, err = f.svc.Accept(ctx, f.svc.Token(inv), addr)
		assertFieldErr(t, err, invitation.FieldEmail)
	}
	_, err := f.svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "ADA@example.com", Role: "developer"})
	assert.ErrorIs(t, err, store.ErrAlreadyExists)
	norm, err := f.svc.NormalizeEmail(" Ada@Example.com ")
	require.NoError(t, err)
	assert.Equal(t, "ada@example.com", norm)
	_, err = f.svc.NormalizeEmail("\u212aate@example.com")
	assertFieldErr(t, err, invitation.FieldEmail)
}

// assertFieldErr checks that err is a *store.ValidationError naming
// exactly field.
func assertFieldErr(t *testing.T, err error, field string) {
	t.Helper()
	var verr *store.ValidationError
	if assert.ErrorAs(t, err, &verr) {
		require.Len(t, verr.Fields, 1, "%v", err)
		assert.Equal(t, field, verr.Fields[0].Field)
	}
}

// TestCreateManyFailsAsAWhole: a failure that is not one item's (the role
// catalog's) fails the call and creates nothing.
func TestCreateManyFailsAsAWhole(t *testing.T) {
	t.Parallel()
	failing := errors.New("catalog down")
	f := newFixture(t, func(c *invitation.Config) {
		c.Roles = invitation.RoleCatalogFunc(func(context.Context, uuid.UUID, []uuid.UUID) (map[uuid.UUID]invitation.Role, error) {
			return nil, failing
		})
	})
	custom := uuid.New()
	_, err := f.svc.CreateMany(ctx, org, []invitation.CreateParams{
		{Email: "a@example.com", Role: "admin"},
		{Email: "b@example.com", AssignedRoleIDs: []uuid.UUID{custom}},
	})
	assert.ErrorIs(t, err, failing)
	page, err := f.svc.List(ctx, org, invitation.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, page.Invitations, "nothing was created")
}

// TestCreateManyReturnsWhatCreateWould: every item's result is what Create
// returns for it alone, the token included.
func TestCreateManyReturnsWhatCreateWould(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res, err := f.svc.CreateMany(ctx, org, []invitation.CreateParams{
		{Email: " Ada@Example.com", Role: "admin", InviterID: "u1", Metadata: []byte(`{ "team" : "core" }`)},
	})
	require.NoError(t, err)
	require.Len(t, res, 1)
	require.NoError(t, res[0].Err)
	inv := res[0].Invitation
	assert.Equal(t, "ada@example.com", inv.Email)
	assert.Equal(t, `{"team":"core"}`, string(inv.Metadata))
	assert.Equal(t, t0.Add(invitation.DefaultTTL), inv.ExpireAt)
	got, err := f.svc.Get(ctx, org, inv.ID)
	require.NoError(t, err)
	assert.Equal(t, inv, got)
	_, err = f.svc.Accept(ctx, f.svc.Token(inv), "ada@example.com")
	assert.NoError(t, err, "its token accepts it")
}
