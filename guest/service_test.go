package guest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
	key    = bytes.Repeat([]byte("k"), 32)
	host   = uuid.MustParse("22222222-2222-4222-8222-222222222222")
	parent = uuid.MustParse("33333333-3333-4333-8333-333333333333")
	ctx    = context.Background()
)

// directory is a fixed Directory.
type directory map[uuid.UUID]string

func (d directory) OrganizationName(_ context.Context, id uuid.UUID) (string, error) {
	if id == uuid.MustParse("44444444-4444-4444-8444-444444444444") {
		return "", errors.New("directory is down")
	}
	name, ok := d[id]
	if !ok {
		return "", fmt.Errorf("organization %s: %w", id, store.ErrNotFound)
	}
	return name, nil
}

// counterReader is a deterministic nonce source.
type counterReader struct{ n byte }

func (r *counterReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.n
		r.n++
	}
	return len(p), nil
}

type fixture struct {
	svc   *guest.Service
	store *memstore.Store
	now   time.Time
}

func newFixture(t *testing.T, dir guest.Directory) *fixture {
	t.Helper()
	f := &fixture{store: memstore.New(), now: t0}
	ids := 0
	svc, err := guest.NewService(guest.Config{
		Store:     f.store,
		Keys:      [][]byte{key},
		Directory: dir,
		Clock:     func() time.Time { return f.now },
		NewID: func() (uuid.UUID, error) {
			ids++
			return uuid.UUID{0x01, 0x90, 0, byte(ids), 0x70, 0, 0x80}, nil
		},
		Rand: &counterReader{},
	})
	require.NoError(t, err)
	f.svc = svc
	return f
}

func (f *fixture) create(t *testing.T, email string) guest.Invitation {
	t.Helper()
	inv, err := f.svc.Create(ctx, guest.CreateParams{HostOrganizationID: host, Email: email, ExpiredAt: f.now.Add(48 * time.Hour)})
	require.NoError(t, err)
	return inv
}

func TestNewServiceRejectsBadConfig(t *testing.T) {
	t.Parallel()
	s := memstore.New()
	for name, cfg := range map[string]guest.Config{
		"no store":                  {Keys: [][]byte{key}},
		"no key":                    {Store: s},
		"short key":                 {Store: s, Keys: [][]byte{key[:16]}},
		"negative expiry":           {Store: s, Keys: [][]byte{key}, MaxExpiry: -time.Hour},
		"default expiry beyond max": {Store: s, Keys: [][]byte{key}, MaxExpiry: time.Hour, DefaultExpiry: 2 * time.Hour},
		"negative default expiry":   {Store: s, Keys: [][]byte{key}, DefaultExpiry: -time.Hour},
		"negative limit":            {Store: s, Keys: [][]byte{key}, Limits: &store.Limits{MaxOpen: -1}},
		"negative retention":        {Store: s, Keys: [][]byte{key}, Retention: -time.Hour},
		"batch too large":           {Store: s, Keys: [][]byte{key}, SweepBatch: 1001},
	} {
		_, err := guest.NewService(cfg)
		assert.Error(t, err, name)
	}
}

func TestCreate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, directory{parent: "Parent Org"})
	f.now = t0.Add(999 * time.Nanosecond)
	inv, err := f.svc.Create(ctx, guest.CreateParams{
		HostOrganizationID:   host,
		Email:                " Guest@Example.com",
		ExpiredAt:            t0.Add(24*time.Hour + 1500*time.Nanosecond).In(time.FixedZone("X", -5*3600)),
		ParentOrganizationID: &parent,
	})
	require.NoError(t, err)
	assert.Equal(t, guest.Invitation{
		ID:                     uuid.UUID{0x01, 0x90, 0, 1, 0x70, 0, 0x80},
		HostOrganizationID:     host,
		Email:                  "guest@example.com",
		FirstInvitationSentAt:  t0,
		LastInvitationSentAt:   t0,
		ExpiredAt:              t0.Add(24*time.Hour + time.Microsecond),
		Status:                 guest.StatusSent,
		CreatedAt:              t0,
		UpdatedAt:              t0,
		ParentOrganizationID:   &parent,
		ParentOrganizationName: ptr("Parent Org"),
		Nonce:                  []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	}, inv)
	assert.False(t, inv.Expired(f.now))
	tok := f.svc.Token(inv)
	assert.GreaterOrEqual(t, len(tok), 10, "documented token length 10-2000")
	assert.LessOrEqual(t, len(tok), 2000)

	got, err := f.svc.Get(ctx, host, inv.ID)
	require.NoError(t, err)
	assert.Equal(t, inv, got)
	assert.Equal(t, tok, f.svc.Token(got), "the token is the same on every read")
}

func ptr[T any](v T) *T { return &v }

func TestCreateValidates(t *testing.T) {
	t.Parallel()
	f := newFixture(t, directory{parent: "Parent Org"})
	unknown := uuid.New()
	cases := []struct {
		name   string
		p      guest.CreateParams
		fields []string
	}{
		{"no host", guest.CreateParams{Email: "g@example.com", ExpiredAt: t0.Add(time.Hour)}, []string{guest.FieldHostOrganizationID}},
		{"short email", guest.CreateParams{HostOrganizationID: host, Email: "ab", ExpiredAt: t0.Add(time.Hour)}, []string{guest.FieldEmail}},
		{"long email", guest.CreateParams{HostOrganizationID: host, Email: strings.Repeat("a", 90) + "@example.com", ExpiredAt: t0.Add(time.Hour)}, []string{guest.FieldEmail}},
		{"no expiry", guest.CreateParams{HostOrganizationID: host, Email: "g@example.com"}, []string{guest.FieldExpiredAt}},
		{"past expiry", guest.CreateParams{HostOrganizationID: host, Email: "g@example.com", ExpiredAt: t0}, []string{guest.FieldExpiredAt}},
		{"far expiry", guest.CreateParams{HostOrganizationID: host, Email: "g@example.com", ExpiredAt: t0.Add(366 * 24 * time.Hour)}, []string{guest.FieldExpiredAt}},
		{"unknown parent", guest.CreateParams{HostOrganizationID: host, Email: "g@example.com", ExpiredAt: t0.Add(time.Hour), ParentOrganizationID: &unknown}, []string{guest.FieldParentOrganizationID}},
		{"nil parent", guest.CreateParams{HostOrganizationID: host, Email: "g@example.com", ExpiredAt: t0.Add(time.Hour), ParentOrganizationID: &uuid.Nil}, []string{guest.FieldParentOrganizationID}},
		{"everything", guest.CreateParams{ParentOrganizationID: &unknown}, []string{guest.FieldHostOrganizationID, guest.FieldEmail, guest.FieldExpiredAt, guest.FieldParentOrganizationID}},
	}
	for _, c := range cases {
		_, err := f.svc.Create(ctx, c.p)
		var verr *store.ValidationError
		require.ErrorAs(t, err, &verr, c.name)
		var fields []string
		for _, fe := range verr.Fields {
			fields = append(fields, fe.Field)
		}
		assert.Equal(t, c.fields, fields, c.name)
	}
}

func TestDirectory(t *testing.T) {
	t.Parallel()
	without := newFixture(t, nil)
	inv, err := without.svc.Create(ctx, guest.CreateParams{HostOrganizationID: host, Email: "g@example.com", ExpiredAt: t0.Add(time.Hour), ParentOrganizationID: &parent})
	require.NoError(t, err)
	assert.Equal(t, &parent, inv.ParentOrganizationID)
	assert.Nil(t, inv.ParentOrganizationName, "without a directory the name is null")

	down := uuid.MustParse("44444444-4444-4444-8444-444444444444")
	f := newFixture(t, directory{parent: strings.Repeat("n", 301)})
	_, err = f.svc.Create(ctx, guest.CreateParams{HostOrganizationID: host, Email: "g@example.com", ExpiredAt: t0.Add(time.Hour), ParentOrganizationID: &down})
	require.Error(t, err)
	var verr *store.ValidationError
	assert.False(t, errors.As(err, &verr), "a failing directory is not the caller's fault")
	_, err = f.svc.Create(ctx, guest.CreateParams{HostOrganizationID: host, Email: "g@example.com", ExpiredAt: t0.Add(time.Hour), ParentOrganizationID: &parent})
	assert.ErrorContains(t, err, "301 characters", "a name beyond the documented 300 characters is refused")
}

func TestAccept(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	byGuest := f.create(t, "a@example.com")
	bySystem := f.create(t, "b@example.com")
	f.now = t0.Add(time.Hour)

	got, err := f.svc.AcceptByGuest(ctx, f.svc.Token(byGuest))
	require.NoError(t, err)
	assert.Equal(t, guest.StatusAcceptedByGuest, got.Status)
	assert.Equal(t, f.now, *got.AcceptedAt)
	assert.Equal(t, f.now, got.UpdatedAt)
	assert.False(t, got.Expired(got.ExpiredAt.Add(time.Hour)), "an accepted invitation never expires")

	got, err = f.svc.AcceptBySystem(ctx, host, bySystem.ID)
	require.NoError(t, err)
	assert.Equal(t, guest.StatusAcceptedBySystem, got.Status)
}

func TestAcceptRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		prepare func(t *testing.T, f *fixture, inv guest.Invitation) string
		want    error
	}{
		{"expired", func(t *testing.T, f *fixture, inv guest.Invitation) string {
			f.now = inv.ExpiredAt
			return f.svc.Token(inv)
		}, store.ErrExpired},
		{"archived", func(t *testing.T, f *fixture, inv guest.Invitation) string {
			_, err := f.svc.SetArchived(ctx, host, inv.ID, true)
			require.NoError(t, err)
			return f.svc.Token(inv)
		}, guest.ErrArchived},
		{"accepted by system first", func(t *testing.T, f *fixture, inv guest.Invitation) string {
			_, err := f.svc.AcceptBySystem(ctx, host, inv.ID)
			require.NoError(t, err)
			return f.svc.Token(inv)
		}, store.ErrAlreadyAccepted},
		{"tampered", func(t *testing.T, f *fixture, inv guest.Invitation) string {
			tok := []byte(f.svc.Token(inv))
			tok[len(tok)-1] ^= 1
			return string(tok)
		}, store.ErrInvalidToken},
		{"truncated", func(t *testing.T, f *fixture, inv guest.Invitation) string {
			return f.svc.Token(inv)[:20]
		}, store.ErrInvalidToken},
		{"organization token", func(t *testing.T, f *fixture, inv guest.Invitation) string {
			os, err := invitation.NewService(invitation.Config{Store: f.store, Keys: [][]byte{key}})
			require.NoError(t, err)
			oi, err := os.Create(ctx, invitation.CreateParams{OrganizationID: host, Email: inv.Email, Role: "admin"})
			require.NoError(t, err)
			return os.Token(oi)
		}, store.ErrInvalidToken},
		{"replaced by a resend", func(t *testing.T, f *fixture, inv guest.Invitation) string {
			_, err := f.svc.Resend(ctx, host, inv.ID, nil)
			require.NoError(t, err)
			return f.svc.Token(inv)
		}, store.ErrInvalidToken},
		{"deleted", func(t *testing.T, f *fixture, inv guest.Invitation) string {
			require.NoError(t, f.svc.Delete(ctx, host, inv.ID))
			return f.svc.Token(inv)
		}, store.ErrInvalidToken},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			inv := f.create(t, "g@example.com")
			tok := c.prepare(t, f, inv)
			before, _ := f.store.GetGuestInvitation(ctx, host, inv.ID)
			_, err := f.svc.AcceptByGuest(ctx, tok)
			assert.ErrorIs(t, err, c.want)
			after, _ := f.store.GetGuestInvitation(ctx, host, inv.ID)
			assert.Equal(t, before, after, "a refused accept changes nothing")
		})
	}
}

func TestAcceptBySystemRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	inv := f.create(t, "g@example.com")
	_, err := f.svc.AcceptBySystem(ctx, uuid.New(), inv.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "another host's invitation")
	_, err = f.svc.SetArchived(ctx, host, inv.ID, true)
	require.NoError(t, err)
	_, err = f.svc.AcceptBySystem(ctx, host, inv.ID)
	assert.ErrorIs(t, err, guest.ErrArchived)
	assert.ErrorIs(t, err, store.ErrConflict)
	_, err = f.svc.SetArchived(ctx, host, inv.ID, false)
	require.NoError(t, err)
	f.now = inv.ExpiredAt
	_, err = f.svc.AcceptBySystem(ctx, host, inv.ID)
	assert.ErrorIs(t, err, store.ErrExpired)
}

func TestArchive(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	inv := f.create(t, "g@example.com")
	f.now = t0.Add(time.Minute)
	got, err := f.svc.SetArchived(ctx, host, inv.ID, true)
	require.NoError(t, err)
	assert.True(t, got.Archived)
	assert.Equal(t, f.now, *got.ArchivedAt)
	assert.Equal(t, f.now, got.UpdatedAt)

	f.now = t0.Add(2 * time.Minute)
	again, err := f.svc.SetArchived(ctx, host, inv.ID, true)
	require.NoError(t, err)
	assert.Equal(t, got, again, "archiving an archived invitation changes nothing")

	got, err = f.svc.SetArchived(ctx, host, inv.ID, false)
	require.NoError(t, err)
	assert.False(t, got.Archived)
	assert.Nil(t, got.ArchivedAt)
	assert.Equal(t, f.now, got.UpdatedAt)

	// Unarchiving beside a newer open invitation for the same email is a
	// conflict, and changes nothing.
	_, err = f.svc.SetArchived(ctx, host, inv.ID, true)
	require.NoError(t, err)
	f.create(t, "g@example.com")
	_, err = f.svc.SetArchived(ctx, host, inv.ID, false)
	assert.ErrorIs(t, err, store.ErrAlreadyExists)
}

func TestResend(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	inv := f.create(t, "g@example.com")
	f.now = t0.Add(time.Hour)
	got, err := f.svc.Resend(ctx, host, inv.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, inv.FirstInvitationSentAt, got.FirstInvitationSentAt, "first sent time stays")
	assert.Equal(t, f.now, got.LastInvitationSentAt)
	assert.Equal(t, inv.ExpiredAt, got.ExpiredAt, "without a new expiry the expiry stays")
	assert.NotEqual(t, f.svc.Token(inv), f.svc.Token(got))

	// An expired invitation is revived: for the default expiry without a
	// new one, which a second resend may then set.
	f.now = inv.ExpiredAt
	tokenBefore := f.svc.Token(got)
	got, err = f.svc.Resend(ctx, host, inv.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, f.now.Add(guest.DefaultExpiry), got.ExpiredAt, "revived for the default expiry")
	assert.False(t, got.Expired(f.now))
	_, err = f.svc.AcceptByGuest(ctx, tokenBefore)
	assert.ErrorIs(t, err, store.ErrInvalidToken, "the revived invitation's old link is dead")
	newExpiry := f.now.Add(24 * time.Hour)
	got, err = f.svc.Resend(ctx, host, inv.ID, &newExpiry)
	require.NoError(t, err)
	assert.Equal(t, newExpiry, got.ExpiredAt)
	assert.False(t, got.Expired(f.now), "a resend with a new expiry revives it")
	_, err = f.svc.AcceptByGuest(ctx, f.svc.Token(got))
	require.NoError(t, err)

	_, err = f.svc.Resend(ctx, host, inv.ID, nil)
	assert.ErrorIs(t, err, store.ErrAlreadyAccepted)

	other := f.create(t, "h@example.com")
	past := f.now
	_, err = f.svc.Resend(ctx, host, other.ID, &past)
	var verr *store.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, guest.FieldExpiredAt, verr.Fields[0].Field)
	_, err = f.svc.SetArchived(ctx, host, other.ID, true)
	require.NoError(t, err)
	_, err = f.svc.Resend(ctx, host, other.ID, nil)
	assert.ErrorIs(t, err, guest.ErrArchived)
}

func TestListValidates(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for name, opts := range map[string]guest.ListOptions{
		"status":            {Statuses: []guest.Status{guest.StatusSent, "lost"}},
		"email":             {Email: strings.Repeat("e", 256)},
		"NUL":               {Email: "a\x00b"},
		"bad UTF8":          {Email: "\xff"},
		"order by":          {OrderBy: "password"},
		"order":             {Order: "up"},
		"limit":             {Limit: 101},
		"offset":            {Offset: -1},
		"cursor":            {Cursor: "nope"},
		"cursor and offset": {Cursor: "nope", Offset: 1},
	} {
		_, err := f.svc.List(ctx, host, opts)
		var verr *store.ValidationError
		assert.ErrorAs(t, err, &verr, name)
		assert.Equal(t, err, opts.Validate(), "%s: Validate is what List checks", name)
	}
	assert.NoError(t, guest.ListOptions{}.Validate(), "the zero options list with the defaults")
}

func TestList(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	a := f.create(t, "Alice@example.com")
	f.now = f.now.Add(time.Second)
	b := f.create(t, "bob@example.com")
	items := func(invs ...guest.Invitation) []guest.Item {
		out := make([]guest.Item, len(invs))
		for i, inv := range invs {
			out[i] = guest.Item{Invitation: inv, Token: f.svc.Token(inv)}
		}
		return out
	}
	res, err := f.svc.List(ctx, host, guest.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, guest.ListResult{Items: items(b, a), TotalItems: 2, Now: f.now}, res, "newest first by default")

	res, err = f.svc.List(ctx, host, guest.ListOptions{Email: "ALICE", OrderBy: guest.OrderByEmail, Order: store.Asc})
	require.NoError(t, err)
	assert.Equal(t, guest.ListResult{Items: items(a), TotalItems: 1, Now: f.now}, res, "email search ignores case")

	repeated := make([]guest.Status, 50)
	for i := range repeated {
		repeated[i] = []guest.Status{guest.StatusSent, guest.StatusAcceptedByGuest, guest.StatusAcceptedBySystem}[i%3]
	}
	res, err = f.svc.List(ctx, host, guest.ListOptions{Statuses: repeated})
	require.NoError(t, err)
	assert.Equal(t, guest.ListResult{Items: items(b, a), TotalItems: 2, Now: f.now}, res, "repeated statuses filter as one of each")
	res, err = f.svc.List(ctx, host, guest.ListOptions{Statuses: []guest.Status{guest.StatusAcceptedByGuest, guest.StatusAcceptedByGuest}})
	require.NoError(t, err)
	assert.Zero(t, res.TotalItems)

	res, err = f.svc.List(ctx, host, guest.ListOptions{Limit: 1, Offset: 1})
	require.NoError(t, err)
	assert.Equal(t, guest.ListResult{Items: items(a), TotalItems: 2, Now: f.now}, res)
}

func TestListCursor(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	var all []guest.Invitation // newest first, the default order
	for i := range 5 {
		if i%2 == 0 {
			f.now = f.now.Add(time.Second) // pairs tie on created_at
		}
		all = append([]guest.Invitation{f.create(t, fmt.Sprintf("g%d@example.com", i))}, all...)
	}
	require.NotEqual(t, all[0].ID, all[1].ID)
	ids := func(items []guest.Item) []uuid.UUID {
		out := make([]uuid.UUID, len(items))
		for i, item := range items {
			out[i] = item.ID
		}
		return out
	}
	var want []uuid.UUID
	for _, inv := range all {
		want = append(want, inv.ID)
	}
	// Pages of 2 from the start: Next on every page but the last.
	var got []uuid.UUID
	opts := guest.ListOptions{Limit: 2}
	for page := 0; ; page++ {
		require.Less(t, page, 3)
		res, err := f.svc.List(ctx, host, opts)
		require.NoError(t, err)
		assert.Equal(t, 5, res.TotalItems, "the total of every page is the list's")
		got = append(got, ids(res.Items)...)
		if res.Next == "" {
			assert.Equal(t, 2, page, "the third page is the last")
			break
		}
		opts.Cursor = res.Next
	}
	assert.Equal(t, want, got)

	// An offset page has a Next too, and a full last page has none.
	res, err := f.svc.List(ctx, host, guest.ListOptions{Limit: 2, Offset: 1})
	require.NoError(t, err)
	require.NotEmpty(t, res.Next)
	rest, err := f.svc.List(ctx, host, guest.ListOptions{Limit: 10, Cursor: res.Next})
	require.NoError(t, err)
	assert.Equal(t, want[3:], ids(rest.Items))
	assert.Empty(t, rest.Next)
	res, err = f.svc.List(ctx, host, guest.ListOptions{Limit: 5})
	require.NoError(t, err)
	assert.Empty(t, res.Next, "nothing follows a page that ends at the last invitation")

	// Filters may change between pages; the total follows them.
	_, err = f.svc.AcceptBySystem(ctx, host, all[4].ID)
	require.NoError(t, err)
	sent, err := f.svc.List(ctx, host, guest.ListOptions{Statuses: []guest.Status{guest.StatusSent}, Cursor: newestCursor(t, f)})
	require.NoError(t, err)
	assert.Equal(t, want[1:4], ids(sent.Items))
	assert.Equal(t, 4, sent.TotalItems)

	// The order may not: a cursor holds the position in one order only.
	byEmail, err := f.svc.List(ctx, host, guest.ListOptions{OrderBy: guest.OrderByEmail, Order: store.Asc, Limit: 1})
	require.NoError(t, err)
	for _, opts := range []guest.ListOptions{
		{Cursor: byEmail.Next},
		{Cursor: byEmail.Next, OrderBy: guest.OrderByEmail},
		{Cursor: byEmail.Next, Order: store.Asc},
	} {
		_, err := f.svc.List(ctx, host, opts)
		assertFieldErr(t, err, guest.FieldCursor)
		var verr *store.ValidationError
		require.ErrorAs(t, err, &verr)
		assert.Equal(t, "was made for order_by=email order=asc; repeat those or start over without a cursor", verr.Fields[0].Message)
		assert.Equal(t, err, opts.Validate())
	}
	_, err = f.svc.List(ctx, host, guest.ListOptions{Cursor: byEmail.Next, OrderBy: guest.OrderByEmail, Order: store.Asc})
	assert.NoError(t, err)
	// Against an invalid order only the order is wrong.
	assertFieldErr(t, guest.ListOptions{Cursor: byEmail.Next, OrderBy: "name", Order: store.Asc}.Validate(), guest.FieldOrderBy)

	newest := newestCursor(t, f)
	for name, c := range map[string]string{
		"garbage":                "garbage",
		"an organization cursor": store.Cursor{CreatedAt: all[0].CreatedAt, ID: all[0].ID}.String(),
		"a cut cursor":           newest[:len(newest)-2],
	} {
		err := guest.ListOptions{Cursor: c}.Validate()
		assertFieldErr(t, err, guest.FieldCursor)
		var verr *store.ValidationError
		require.ErrorAs(t, err, &verr, name)
		assert.Equal(t, "is not a cursor returned by this list", verr.Fields[0].Message, name)
	}
	var verr *store.ValidationError
	require.ErrorAs(t, guest.ListOptions{Cursor: newest, Offset: 2}.Validate(), &verr)
	assert.Equal(t, []store.FieldError{{Field: guest.FieldOffset, Message: "cannot be combined with cursor"}}, verr.Fields)
	assert.NoError(t, guest.ListOptions{Cursor: newest, Offset: 0}.Validate(), "offset 0 is no offset")
}

// newestCursor is the cursor after the newest invitation of host, in the
// default order.
func newestCursor(t *testing.T, f *fixture) string {
	t.Helper()
	res, err := f.svc.List(ctx, host, guest.ListOptions{Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, res.Next)
	return res.Next
}

func TestValidateCreate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, directory{parent: "Parent Org"})
	assert.NoError(t, f.svc.ValidateCreate(guest.CreateParams{HostOrganizationID: host, Email: "g@example.com", ExpiredAt: t0.Add(time.Hour), ParentOrganizationID: &parent}))
	fieldsOf := func(err error) []string {
		var verr *store.ValidationError
		require.ErrorAs(t, err, &verr)
		var fields []string
		for _, fe := range verr.Fields {
			fields = append(fields, fe.Field)
		}
		return fields
	}
	err := f.svc.ValidateCreate(guest.CreateParams{HostOrganizationID: host, Email: "x", ParentOrganizationID: &uuid.Nil})
	assert.Equal(t, []string{guest.FieldEmail, guest.FieldExpiredAt, guest.FieldParentOrganizationID}, fieldsOf(err))

	// Whether the Directory knows the parent is I/O, left to Create: the
	// failing Directory is not even asked.
	unknown, down := uuid.New(), uuid.MustParse("44444444-4444-4444-8444-444444444444")
	err = f.svc.ValidateCreate(guest.CreateParams{HostOrganizationID: host, Email: "x", ParentOrganizationID: &unknown})
	assert.Equal(t, []string{guest.FieldEmail, guest.FieldExpiredAt}, fieldsOf(err))
	assert.NoError(t, f.svc.ValidateCreate(guest.CreateParams{HostOrganizationID: host, Email: "g@example.com", ExpiredAt: t0.Add(time.Hour), ParentOrganizationID: &down}))
	_, err = f.svc.Create(ctx, guest.CreateParams{HostOrganizationID: host, Email: "x", ParentOrganizationID: &unknown})
	assert.Equal(t, []string{guest.FieldEmail, guest.FieldExpiredAt, guest.FieldParentOrganizationID}, fieldsOf(err))

	res, err := f.svc.List(ctx, host, guest.ListOptions{})
	require.NoError(t, err)
	assert.Zero(t, res.TotalItems, "validating stores nothing")
}

func TestInspect(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	inv := f.create(t, "a@example.com")
	tok := f.svc.Token(inv)

	got, err := f.svc.Inspect(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, inv, got)
	archived, err := f.svc.SetArchived(ctx, host, inv.ID, true)
	require.NoError(t, err)
	got, err = f.svc.Inspect(ctx, tok)
	require.NoError(t, err, "an archived invitation is still shown")
	assert.Equal(t, archived, got)

	other := f.create(t, "b@example.com")
	oldTok := f.svc.Token(other)
	f.now = t0.Add(time.Hour)
	other, err = f.svc.Resend(ctx, host, other.ID, nil)
	require.NoError(t, err)
	_, err = f.svc.Inspect(ctx, oldTok)
	assert.ErrorIs(t, err, store.ErrInvalidToken, "a token replaced by a resend")
	_, err = f.svc.AcceptByGuest(ctx, f.svc.Token(other))
	require.NoError(t, err)
	got, err = f.svc.Inspect(ctx, f.svc.Token(other))
	require.NoError(t, err, "an accepted invitation is still shown")
	assert.Equal(t, guest.StatusAcceptedByGuest, got.Status)

	_, err = f.svc.Inspect(ctx, tok[:len(tok)-1])
	assert.ErrorIs(t, err, store.ErrInvalidToken, "a truncated token")

	before, err := f.store.ListEvents(ctx, event.ListQuery{OrganizationID: host, Limit: 100})
	require.NoError(t, err)
	for range 3 {
		_, err = f.svc.Inspect(ctx, tok)
		require.NoError(t, err)
	}
	after, err := f.store.ListEvents(ctx, event.ListQuery{OrganizationID: host, Limit: 100})
	require.NoError(t, err)
	assert.Equal(t, before, after, "inspecting records nothing")

	require.NoError(t, f.svc.Delete(ctx, host, inv.ID))
	_, err = f.svc.Inspect(ctx, tok)
	assert.ErrorIs(t, err, store.ErrInvalidToken, "a deleted invitation's token")
}

// TestEmailPolicy: the strict default refuses look-alike and non-public
// addresses at create, each Config.EmailPolicy field accepts its own kind
// of intranet address, and the list's email search is text, not an
// address.
func TestEmailPolicy(t *testing.T) {
	t.Parallel()
	relaxed := map[string]guest.EmailPolicy{
		"ada@intranet":    {AllowSingleLabelDomain: true},
		"ada@localhost":   {AllowLocalhost: true},
		"ada@[192.0.2.1]": {AllowAddressLiteral: true},
	}
	for addr, policy := range relaxed {
		strict := newFixture(t, nil)
		p := guest.CreateParams{HostOrganizationID: host, Email: addr, ExpiredAt: t0.Add(time.Hour)}
		_, err := strict.svc.Create(ctx, p)
		assertFieldErr(t, err, guest.FieldEmail)
		assertFieldErr(t, strict.svc.ValidateCreate(p), guest.FieldEmail)

		f := newFixture(t, nil)
		svc, err := guest.NewService(guest.Config{Store: f.store, Keys: [][]byte{key}, Clock: func() time.Time { return t0 }, EmailPolicy: policy})
		require.NoError(t, err)
		require.NoError(t, svc.ValidateCreate(p))
		inv, err := svc.Create(ctx, p)
		require.NoError(t, err, addr)
		assert.Equal(t, addr, inv.Email)
	}
	f := newFixture(t, nil)
	f.create(t, "ada@example.com")
	for _, addr := range []string{"ada@example.com\u200b", "ada\u200b@example.com", "\u212aate@example.com", "a@-b.c", "a@b", "user@localhost", "user@[127.0.0.1]"} {
		_, err := f.svc.Create(ctx, guest.CreateParams{HostOrganizationID: host, Email: addr, ExpiredAt: t0.Add(time.Hour)})
		assertFieldErr(t, err, guest.FieldEmail)
	}
	// A search may be any part of an address, but never broken text.
	require.NoError(t, guest.ListOptions{Email: "@b"}.Validate())
	assertFieldErr(t, guest.ListOptions{Email: "\xff"}.Validate(), guest.FieldEmail)
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

// TestDefaultExpiryFollowsMaxExpiry: with a MaxExpiry shorter than the
// default revival, a revived invitation lives MaxExpiry.
func TestDefaultExpiryFollowsMaxExpiry(t *testing.T) {
	t.Parallel()
	s := memstore.New()
	now := t0
	svc, err := guest.NewService(guest.Config{Store: s, Keys: [][]byte{key}, MaxExpiry: time.Hour, Clock: func() time.Time { return now }})
	require.NoError(t, err)
	inv, err := svc.Create(ctx, guest.CreateParams{HostOrganizationID: host, Email: "g@example.com", ExpiredAt: now.Add(time.Hour)})
	require.NoError(t, err)
	now = inv.ExpiredAt
	got, err := svc.Resend(ctx, host, inv.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, now.Add(time.Hour), got.ExpiredAt)
}
