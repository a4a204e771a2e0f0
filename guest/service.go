package guest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/internal/email"
	"github.com/invitekit/invitekit/internal/service"
	"github.com/invitekit/invitekit/internal/token"
	"github.com/invitekit/invitekit/store"
)

// Bounds of the documented fields and of list pages.
const (
	DefaultMaxExpiry = 365 * 24 * time.Hour
	// DefaultExpiry is how long Resend revives an expired invitation for
	// when it is given no new expiry, unless Config.DefaultExpiry says
	// otherwise.
	DefaultExpiry = 7 * 24 * time.Hour

	// MaxMetadataBytes bounds CreateParams.Metadata, compact.
	MaxMetadataBytes = service.MaxMetadataBytes

	DefaultLimit = 20
	MaxLimit     = 100

	minEmailLen         = 3
	maxEmailLen         = 100
	maxEmailSearchLen   = 255
	maxOrganizationName = 300
)

// Field names of the ValidationErrors this package returns: the Go names of
// the CreateParams and ListOptions fields (or of the argument) a message is
// about, in the domain's own terms. An adapter maps them to its wire names.
const (
	FieldHostOrganizationID   = "HostOrganizationID"
	FieldEmail                = "Email"
	FieldExpiredAt            = "ExpiredAt"
	FieldParentOrganizationID = "ParentOrganizationID"
	FieldStatuses             = "Statuses"
	FieldOrderBy              = "OrderBy"
	FieldOrder                = "Order"
	FieldLimit                = "Limit"
	FieldOffset               = "Offset"
	FieldCursor               = "Cursor"
	FieldMetadata             = "Metadata"
)

// EmailPolicy relaxes the rules on the domain of an email address, for
// applications on an intranet; it is invitation.EmailPolicy, one type for
// both domains (see there). The zero EmailPolicy, the default, accepts
// only a fully qualified domain name such as example.com.
type EmailPolicy = email.Policy

// Config configures a Service. Store and Keys are required.
type Config struct {
	// Store keeps the invitations.
	Store Store
	// Keys sign and verify tokens. Keys[0] signs new tokens; every key
	// verifies, so a key can be rotated out without breaking the links
	// already sent. Each key must be at least 32 bytes.
	Keys [][]byte
	// Directory names parent organizations. Without one,
	// parent_organization_name is null and any parent ID is accepted.
	Directory Directory
	// EmailPolicy relaxes the rules on email domains (see EmailPolicy) of
	// Create; the zero value is the strict default. The Email of List is
	// a search, not an address, and is not checked against it.
	EmailPolicy EmailPolicy
	// MaxExpiry bounds how far ahead of now expired_at may be;
	// DefaultMaxExpiry when zero.
	MaxExpiry time.Duration
	// DefaultExpiry is how long an expired invitation that Resend revives
	// without a new expired_at stays open: DefaultExpiry when zero, at
	// most MaxExpiry.
	DefaultExpiry time.Duration
	// Limits bound the open invitations and the creates per hour of
	// every host organization, as invitation.Config.Limits does: nil is
	// the generous default, a zero field sets no bound. A create, or a
	// Resend or unarchive that opens an invitation again, fails with a
	// *store.LimitError beyond them.
	Limits *store.Limits
	// LimitsFor, when set, returns the limits of each host organization
	// in place of Limits. It is asked on every Create, Resend and
	// SetArchived(false); its error fails the call.
	LimitsFor func(ctx context.Context, hostID uuid.UUID) (store.Limits, error)
	// Retention is how long Sweep keeps an invitation after it ended
	// (accepted, or expired and its expiry recorded) before it deletes
	// it; 0, the default, keeps every invitation.
	Retention time.Duration
	// SweepBatch is the most invitations one transaction of Sweep
	// touches: 1 to 1000, 500 when zero.
	SweepBatch int
	// Clock returns the current time; time.Now when nil.
	Clock func() time.Time
	// NewID returns a new invitation ID; uuid.NewV7 when nil.
	NewID func() (uuid.UUID, error)
	// Rand is the source of token nonces; crypto/rand.Reader when nil.
	Rand io.Reader
}

// Service applies the guest invitation rules on top of a Store. It is safe
// for concurrent use.
type Service struct {
	core          *service.Core
	store         Store
	directory     Directory
	maxExpiry     time.Duration
	defaultExpiry time.Duration
	emailPolicy   EmailPolicy
	records       service.Records[Invitation]
	limiter       service.Limiter
	sweeper       service.Sweeper
}

// NewService checks cfg and returns a Service.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("guest: Config.Store is required")
	}
	core, err := service.New(service.Config{
		Name: "guest", Kind: token.KindGuest, Keys: cfg.Keys, Clock: cfg.Clock, NewID: cfg.NewID, Rand: cfg.Rand,
	})
	if err != nil {
		return nil, err
	}
	if cfg.MaxExpiry < 0 {
		return nil, fmt.Errorf("guest: Config.MaxExpiry %v is negative", cfg.MaxExpiry)
	}
	s := &Service{core: core, store: cfg.Store, directory: cfg.Directory, maxExpiry: cfg.MaxExpiry,
		defaultExpiry: cfg.DefaultExpiry, emailPolicy: cfg.EmailPolicy,
		limiter: service.Limiter{Default: cfg.Limits, For: cfg.LimitsFor}}
	if s.maxExpiry == 0 {
		s.maxExpiry = DefaultMaxExpiry
	}
	if s.defaultExpiry == 0 {
		s.defaultExpiry = min(DefaultExpiry, s.maxExpiry)
	}
	if s.defaultExpiry < 0 || s.defaultExpiry > s.maxExpiry {
		return nil, fmt.Errorf("guest: Config.DefaultExpiry %v is outside 0 to MaxExpiry (%v)", cfg.DefaultExpiry, s.maxExpiry)
	}
	if err := s.limiter.Check("guest"); err != nil {
		return nil, err
	}
	batch, err := service.CheckSweep("guest", cfg.Retention, cfg.SweepBatch)
	if err != nil {
		return nil, err
	}
	s.sweeper = service.Sweeper{Name: "guest", Retention: cfg.Retention, Batch: batch,
		Expire: s.expire, Purge: s.store.PurgeGuestInvitations}
	s.records = service.Records[Invitation]{Find: s.store.FindGuestInvitation, Update: s.updateFound, Nonce: nonceOf}
	return s, nil
}

// updateFound runs change on found through the store's updater, for the
// accept flow, which finds an invitation by ID across host organizations.
func (s *Service) updateFound(ctx context.Context, found Invitation, now time.Time, change func(context.Context, *Invitation) (event.Event, error)) (Invitation, error) {
	return s.store.UpdateGuestInvitation(ctx, found.HostOrganizationID, found.ID, now, store.Limits{}, change)
}

// nonceOf lets the shared accept flow read the stored nonce it compares.
func nonceOf(inv *Invitation) []byte { return inv.Nonce }

// Now returns the service clock's current time in UTC, truncated to
// microseconds, the precision every store keeps.
func (s *Service) Now() time.Time { return s.core.Now() }

// Token returns the invitation_token of inv. It is derived from the stored
// nonce, so it is the same on every read until the invitation is resent.
func (s *Service) Token(inv Invitation) string {
	return s.core.Token(inv.ID, inv.Nonce)
}

// Item is an invitation with its invitation_token, as every read of the
// documented API shows it. The token is derived from the stored nonce (see
// Token), never stored.
type Item struct {
	Invitation
	Token string
}

// Item pairs inv with its current token.
func (s *Service) Item(inv Invitation) Item {
	return Item{Invitation: inv, Token: s.Token(inv)}
}

// CreateParams are the inputs of Create.
type CreateParams struct {
	HostOrganizationID uuid.UUID
	Email              string
	ExpiredAt          time.Time
	// ParentOrganizationID is optional.
	ParentOrganizationID *uuid.UUID
	// Metadata is optional: the application's JSON object, returned on
	// reads and carried in events and to accept hooks, with the bounds and
	// the stored form of invitation.CreateParams.Metadata
	// (MaxMetadataBytes once compacted, no name twice in one object).
	// Nil or JSON null is none.
	Metadata json.RawMessage
}

// Create validates p (see ValidateCreate), asks the Directory for the
// parent organization's name, and stores a new sent invitation. It fails
// with a *store.ValidationError naming each invalid field (including a
// parent organization the Directory does not know), with
// store.ErrAlreadyExists when the host already has an open invitation for
// the email, or with a *store.LimitError when the host is at one of its
// limits (see Config.Limits).
func (s *Service) Create(ctx context.Context, p CreateParams) (Invitation, error) {
	now := s.Now()
	v, verr := s.checkCreate(now, p)
	// The Directory is asked even when other fields are invalid, so one
	// answer names an unknown parent together with the rest.
	parentName, err := s.parentName(ctx, p.ParentOrganizationID, &verr)
	if err != nil {
		return Invitation{}, err
	}
	if err := verr.Err(); err != nil {
		return Invitation{}, err
	}
	id, nonce, err := s.core.NewRecord()
	if err != nil {
		return Invitation{}, fmt.Errorf("guest: create: %w", err)
	}
	inv := Invitation{
		ID:                     id,
		HostOrganizationID:     p.HostOrganizationID,
		Email:                  v.email,
		FirstInvitationSentAt:  now,
		LastInvitationSentAt:   now,
		ExpiredAt:              v.expiredAt,
		Status:                 StatusSent,
		CreatedAt:              now,
		UpdatedAt:              now,
		ParentOrganizationID:   p.ParentOrganizationID,
		ParentOrganizationName: parentName,
		Nonce:                  nonce,
		Metadata:               v.metadata,
	}
	ev, err := s.event(ctx, event.GuestInvitationCreated, inv, now)
	if err != nil {
		return Invitation{}, fmt.Errorf("guest: create: %w", err)
	}
	limits, err := s.limiter.Limits(ctx, p.HostOrganizationID)
	if err == nil {
		err = service.CreateOne(limits,
			func() error { return s.store.CreateGuestInvitation(ctx, inv, now, ev) },
			func(l store.Limits) ([]error, error) {
				return s.store.CreateGuestInvitations(ctx, []Invitation{inv}, now, []event.Event{ev}, l)
			})
	}
	if err != nil {
		return Invitation{}, fmt.Errorf("guest: create: %w", err)
	}
	return inv, nil
}

// event returns the event of type typ about inv, changed at now by ctx's
// actor.
func (s *Service) event(ctx context.Context, typ event.Type, inv Invitation, now time.Time) (event.Event, error) {
	return s.core.Event(ctx, typ, inv.HostOrganizationID, inv.ID, now, NewView(inv, now))
}

// ValidateCreate checks p as Create does before any I/O, at the service's
// current time, and returns the same *store.ValidationError naming each
// invalid field (see the Field constants), or nil. Only whether the
// Directory knows the parent organization is left to Create. It has no
// side effects, so a caller can check a request it will not make, or merge
// the verdict with invalid values it found itself
// (store.ValidationError.Merge).
func (s *Service) ValidateCreate(p CreateParams) error {
	_, verr := s.checkCreate(s.Now(), p)
	return verr.Err()
}

// valid holds the normalised values of valid CreateParams.
type valid struct {
	email     string
	expiredAt time.Time
	metadata  json.RawMessage
}

// checkCreate validates p at now, without I/O.
func (s *Service) checkCreate(now time.Time, p CreateParams) (valid, store.ValidationError) {
	var (
		v    valid
		verr store.ValidationError
		err  error
		msg  string
	)
	if p.HostOrganizationID == uuid.Nil {
		verr.Add(FieldHostOrganizationID, "is required")
	}
	if v.email, err = email.Normalize(p.Email, minEmailLen, maxEmailLen, s.emailPolicy); err != nil {
		verr.Add(FieldEmail, err.Error())
	}
	if v.expiredAt, msg = s.checkExpiry(now, p.ExpiredAt); msg != "" {
		verr.Add(FieldExpiredAt, msg)
	}
	if p.ParentOrganizationID != nil && *p.ParentOrganizationID == uuid.Nil {
		verr.Add(FieldParentOrganizationID, "must not be the nil UUID")
	}
	if v.metadata, err = service.Metadata(p.Metadata); err != nil {
		verr.Add(FieldMetadata, err.Error())
	}
	return v, verr
}

// checkExpiry truncates t to the stored precision and says what is wrong with
// it as an expiry at now, if anything.
func (s *Service) checkExpiry(now, t time.Time) (time.Time, string) {
	t = t.UTC().Truncate(time.Microsecond)
	switch {
	case t.IsZero():
		return t, "is required"
	case !t.After(now):
		return t, "must be in the future"
	case t.Sub(now) > s.maxExpiry:
		return t, "must be at most " + days(s.maxExpiry) + " ahead"
	}
	return t, ""
}

// parentName asks the Directory for the name of the parent organization,
// unless there is none to ask about (no parent, the nil UUID checkCreate
// refuses, or no Directory). An unknown organization is added to verr;
// other Directory failures are returned.
func (s *Service) parentName(ctx context.Context, id *uuid.UUID, verr *store.ValidationError) (*string, error) {
	if id == nil || *id == uuid.Nil || s.directory == nil {
		return nil, nil
	}
	name, err := s.directory.OrganizationName(ctx, *id)
	if errors.Is(err, store.ErrNotFound) {
		verr.Add(FieldParentOrganizationID, "names no known organization")
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("guest: directory: organization %s: %w", id, err)
	}
	if n := utf8.RuneCountInString(name); n < 1 || n > maxOrganizationName {
		return nil, fmt.Errorf("guest: directory: organization %s has a name of %d characters, want 1 to %d",
			id, n, maxOrganizationName)
	}
	return &name, nil
}

// Get returns the invitation of hostID with id, or store.ErrNotFound.
func (s *Service) Get(ctx context.Context, hostID, id uuid.UUID) (Invitation, error) {
	inv, err := s.store.GetGuestInvitation(ctx, hostID, id)
	if err != nil {
		return Invitation{}, fmt.Errorf("guest: get %s: %w", id, err)
	}
	return inv, nil
}

// ListOptions are the documented filters, ordering and paging of the list.
type ListOptions struct {
	// Statuses keeps invitations with any of these statuses.
	Statuses []Status
	// Email keeps invitations whose email contains it, ignoring case; 1 to
	// 255 characters.
	Email string
	// Expired and Archived, when set, keep invitations whose expired and
	// archived fields equal them.
	Expired  *bool
	Archived *bool
	// OrderBy defaults to created_at; Order to desc.
	OrderBy OrderBy
	Order   store.Direction
	// Limit is 1 to MaxLimit, DefaultLimit when zero. Offset is at least 0.
	// The time a page takes grows with Offset, as every store counts its
	// way past the skipped invitations; a Cursor's does not.
	Limit  int
	Offset int
	// Cursor continues the list after the page whose ListResult.Next it
	// is: a keyset page, which neither repeats nor skips an invitation
	// when invitations are created or deleted between two requests. It is
	// valid only with the OrderBy and Order of the list that made it (the
	// filters may differ), and not with an Offset above 0. Empty starts
	// at the first invitation (or at Offset).
	Cursor string
}

// ListResult is one page of List and the number of matching invitations.
type ListResult struct {
	// Items carry their tokens: the documented API shows invitation_token
	// on every read.
	Items []Item
	// TotalItems is the number of invitations that match the filters,
	// however the page was reached (Offset or Cursor).
	TotalItems int
	// Next is the Cursor of the page after this one, on every page that
	// has one, offset pages included, so a client can switch to keyset
	// paging at any page; empty on the last page.
	Next string
	// Now is the instant the page was evaluated at: its Expired filter
	// used it. Show each item's Expired(Now), so one page never mixes two
	// instants.
	Now time.Time
}

// Validate checks o as List does before it runs a query, and returns the
// same *store.ValidationError naming each invalid field (see the Field
// constants), or nil. It has no side effects.
func (o ListOptions) Validate() error {
	_, err := o.query(uuid.Nil, time.Time{})
	return err
}

// query turns o into the store query of hostID's list at now.
func (o ListOptions) query(hostID uuid.UUID, now time.Time) (ListQuery, error) {
	q := ListQuery{
		HostOrganizationID: hostID,
		Statuses:           distinctStatuses(o.Statuses),
		EmailContains:      strings.ToLower(o.Email),
		Expired:            o.Expired,
		Archived:           o.Archived,
		Now:                now,
		OrderBy:            cmp.Or(o.OrderBy, OrderByCreatedAt),
		Order:              cmp.Or(o.Order, store.Desc),
		Offset:             o.Offset,
	}
	var verr store.ValidationError
	for _, st := range o.Statuses {
		if !st.Valid() {
			verr.Add(FieldStatuses, fmt.Sprintf("%q is not one of sent, accepted_by_guest, accepted_by_system", st))
			break
		}
	}
	switch n := utf8.RuneCountInString(o.Email); {
	case !utf8.ValidString(o.Email) || strings.ContainsRune(o.Email, 0):
		verr.Add(FieldEmail, "must be valid UTF-8 text without NUL characters")
	case o.Email != "" && n > maxEmailSearchLen:
		verr.Add(FieldEmail, fmt.Sprintf("must be 1 to %d characters", maxEmailSearchLen))
	}
	if !q.OrderBy.Valid() {
		verr.Add(FieldOrderBy, "must be one of email, first_invitation_sent_at, last_invitation_sent_at, "+
			"expired_at, accepted_at, archived_at, created_at, updated_at")
	}
	if !q.Order.Valid() {
		verr.Add(FieldOrder, "must be asc or desc")
	}
	q.Limit = service.Limit(&verr, FieldLimit, o.Limit, DefaultLimit, MaxLimit)
	switch {
	case q.Offset < 0:
		verr.Add(FieldOffset, "must be at least 0")
	case q.Offset > 0 && o.Cursor != "":
		verr.Add(FieldOffset, "cannot be combined with cursor")
	}
	if o.Cursor != "" {
		c, err := decodeCursor(o.Cursor)
		if err == nil && q.OrderBy.Valid() && q.Order.Valid() {
			// Against an invalid order the cursor cannot be
			// judged; the order's own error says enough.
			err = c.continues(q)
		}
		var cerr *cursorError
		if errors.As(err, &cerr) {
			verr.Add(FieldCursor, cerr.msg)
		} else {
			q.After = &c.after
		}
	}
	return q, verr.Err()
}

// List returns a page of hostID's invitations that match opts, and the
// cursor of the next page when there is one. It fails with the
// *store.ValidationError of opts.Validate before it runs any query; a
// Cursor that is not one List returned, or that was made for another
// OrderBy or Order, is invalid (FieldCursor).
func (s *Service) List(ctx context.Context, hostID uuid.UUID, opts ListOptions) (ListResult, error) {
	now := s.Now()
	q, err := opts.query(hostID, now)
	if err != nil {
		return ListResult{}, err
	}
	// One more than the page tells whether another page follows.
	want := q.Limit
	q.Limit++
	invs, total, err := s.store.ListGuestInvitations(ctx, q)
	if err != nil {
		return ListResult{}, fmt.Errorf("guest: list: %w", err)
	}
	res := ListResult{TotalItems: total, Now: now}
	if len(invs) > want {
		invs = invs[:want]
		res.Next = encodeCursor(q.OrderBy, q.Order, invs[want-1])
	}
	res.Items = make([]Item, len(invs))
	for i, inv := range invs {
		res.Items[i] = s.Item(inv)
	}
	return res, nil
}

// distinctStatuses sorts and de-duplicates a status filter, and drops it
// when it names every status, so stores see at most three values however
// many a request repeats.
func distinctStatuses(in []Status) []Status {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 3 && out[0].Valid() && out[1].Valid() && out[2].Valid() {
		return nil
	}
	return out
}

// update runs change on the invitation of hostID with id through the store's
// transactional updater, under limits, and records the event of the type
// change returns; an empty type means change changed nothing, and nothing
// is written.
func (s *Service) update(ctx context.Context, op string, hostID, id uuid.UUID, limits store.Limits, change func(now time.Time, inv *Invitation) (event.Type, error)) (Invitation, error) {
	inv, err := s.store.UpdateGuestInvitation(ctx, hostID, id, s.Now(), limits, func(ctx context.Context, inv *Invitation) (event.Event, error) {
		// The clock is read again under the store's lock, so that the
		// instants of one invitation's changes (and events) come in the
		// order the changes commit.
		now := s.Now()
		typ, err := change(now, inv)
		if err != nil || typ == "" {
			return event.Event{}, err
		}
		return s.event(ctx, typ, *inv, now)
	})
	if err != nil {
		return Invitation{}, fmt.Errorf("guest: %s %s: %w", op, id, err)
	}
	return inv, nil
}

// SetArchived archives or unarchives an invitation; setting the value it
// already has changes nothing. Unarchiving fails with store.ErrAlreadyExists when
// the invitation would become open beside another open invitation for the
// same email, and with a *store.LimitError when it would become open while
// the host is at its limit of open invitations.
func (s *Service) SetArchived(ctx context.Context, hostID, id uuid.UUID, archived bool) (Invitation, error) {
	var limits store.Limits
	if !archived {
		var err error
		if limits, err = s.limiter.Limits(ctx, hostID); err != nil {
			return Invitation{}, fmt.Errorf("guest: set archived %s: %w", id, err)
		}
	}
	return s.update(ctx, "set archived", hostID, id, limits, func(now time.Time, inv *Invitation) (event.Type, error) {
		switch {
		case inv.Archived == archived:
			return "", nil
		case archived:
			inv.setArchived(now, true)
			return event.GuestInvitationArchived, nil
		}
		inv.setArchived(now, false)
		return event.GuestInvitationUnarchived, nil
	})
}

// Resend rotates the token, so earlier links stop working, and sets
// last_invitation_sent_at to now; first_invitation_sent_at stays. When
// expiredAt is not nil it becomes the new expiry (same bounds as at
// create). An expired invitation is revived: it is open again until
// expiredAt or, without one, for Config.DefaultExpiry, and a later Sweep
// records its new expiry when that passes. It fails with
// store.ErrAlreadyAccepted or ErrArchived; reviving fails with
// store.ErrAlreadyExists when the host has opened another invitation for
// the email since, and with a *store.LimitError when the host is at its
// limit of open invitations.
func (s *Service) Resend(ctx context.Context, hostID, id uuid.UUID, expiredAt *time.Time) (Invitation, error) {
	nonce, err := s.core.NewNonce()
	if err != nil {
		return Invitation{}, fmt.Errorf("guest: resend %s: %w", id, err)
	}
	limits, err := s.limiter.Limits(ctx, hostID)
	if err != nil {
		return Invitation{}, fmt.Errorf("guest: resend %s: %w", id, err)
	}
	return s.update(ctx, "resend", hostID, id, limits, func(now time.Time, inv *Invitation) (event.Type, error) {
		var newExpiry *time.Time
		if expiredAt != nil {
			t, msg := s.checkExpiry(now, *expiredAt)
			if msg != "" {
				verr := &store.ValidationError{}
				verr.Add(FieldExpiredAt, msg)
				return "", verr
			}
			newExpiry = &t
		}
		return event.GuestInvitationResent, inv.resend(now, newExpiry, now.Add(s.defaultExpiry), nonce)
	})
}

// Sweep records, once each, the expiry of invitations whose expired_at has
// passed while they were sent (archived or not), with a
// guest_invitation.expired event, and, with a Config.Retention, deletes
// the invitations that ended more than Retention ago, exactly as
// invitation.Service.Sweep does: a bounded amount of work per call, in
// transactions of at most Config.SweepBatch invitations, safe on any
// number of instances at once.
func (s *Service) Sweep(ctx context.Context) (store.SweepResult, error) {
	return s.sweeper.Sweep(ctx, s.Now())
}

// expire records up to limit expiries at now.
func (s *Service) expire(ctx context.Context, now time.Time, limit int) (int, error) {
	return s.store.ExpireGuestInvitations(ctx, now, limit, func(inv Invitation) (event.Event, error) {
		return s.event(ctx, event.GuestInvitationExpired, inv, now)
	})
}

// AcceptHook is an application's part of an accept: it runs inside the
// store's transaction, after the invitation has moved to accepted and
// before anything commits, exactly as invitation.AcceptHook does (a store
// with a database transaction puts it in ctx; when the hook fails nothing
// commits and no event is recorded; it may run more than once; it must not
// call the store or a Service).
type AcceptHook func(ctx context.Context, inv Invitation) error

// AcceptBySystem accepts an invitation on the guest's behalf, by ID, as
// accepted_by_system. It fails with store.ErrAlreadyAccepted, ErrArchived or
// store.ErrExpired. The hooks run, in order, inside the accept's
// transaction (see AcceptHook).
func (s *Service) AcceptBySystem(ctx context.Context, hostID, id uuid.UUID, hooks ...AcceptHook) (Invitation, error) {
	inv, err := s.store.UpdateGuestInvitation(ctx, hostID, id, s.Now(), store.Limits{}, func(ctx context.Context, inv *Invitation) (event.Event, error) {
		return s.accept(ctx, s.Now(), inv, StatusAcceptedBySystem, hooks) // under the lock, as in update
	})
	if err != nil {
		return Invitation{}, fmt.Errorf("guest: accept %s: %w", id, err)
	}
	return inv, nil
}

// accept moves inv to the accepted status by, runs the hooks and returns
// the event of the change.
func (s *Service) accept(ctx context.Context, now time.Time, inv *Invitation, by Status, hooks []AcceptHook) (event.Event, error) {
	if err := inv.accept(now, by); err != nil {
		return event.Event{}, err
	}
	for _, hook := range hooks {
		if err := hook(ctx, *inv); err != nil {
			return event.Event{}, err
		}
	}
	return s.event(ctx, event.GuestInvitationAccepted, *inv, now)
}

// Inspect returns the invitation tok was issued for, whatever its status,
// and changes nothing, so a page behind the link can say what the
// invitation is before the guest accepts it (link scanners and chat
// previews fetch links). Its Status, Archived and Expired at Now tell
// whether it can still be accepted. It fails with store.ErrInvalidToken for
// any token that is not the invitation's current one, including a token
// replaced by Resend and the token of a deleted invitation.
func (s *Service) Inspect(ctx context.Context, tok string) (Invitation, error) {
	return service.Inspect(ctx, s.core, tok, s.records)
}

// AcceptByGuest accepts the invitation tok was issued for, as
// accepted_by_guest: the token is the guest's credential. It fails with
// store.ErrInvalidToken for any token that is not the invitation's current one,
// store.ErrAlreadyAccepted, ErrArchived or store.ErrExpired. Of concurrent accepts of
// one invitation exactly one succeeds. The hooks run, in order, inside the
// accept's transaction (see AcceptHook).
func (s *Service) AcceptByGuest(ctx context.Context, tok string, hooks ...AcceptHook) (Invitation, error) {
	return service.AcceptByToken(ctx, s.core, tok, s.records, func(ctx context.Context, now time.Time, inv *Invitation) (event.Event, error) {
		return s.accept(ctx, now, inv, StatusAcceptedByGuest, hooks)
	})
}

// Delete removes the invitation of hostID with id, whatever its status. Its
// token stops working.
func (s *Service) Delete(ctx context.Context, hostID, id uuid.UUID) error {
	now := s.Now()
	err := s.store.DeleteGuestInvitation(ctx, hostID, id, func(inv Invitation) (event.Event, error) {
		return s.event(ctx, event.GuestInvitationDeleted, inv, now)
	})
	if err != nil {
		return fmt.Errorf("guest: delete %s: %w", id, err)
	}
	return nil
}

// days writes d in whole days where it is a whole number of days, as
// people count expiry.
func days(d time.Duration) string {
	const day = 24 * time.Hour
	if d%day == 0 {
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}
