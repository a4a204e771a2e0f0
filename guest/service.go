package guest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/internal/email"
	"github.com/invitekit/invitekit/internal/token"
	"github.com/invitekit/invitekit/store"
)

// Bounds of the documented fields and of list pages.
const (
	DefaultMaxExpiry = 365 * 24 * time.Hour

	DefaultLimit = 20
	MaxLimit     = 100

	minEmailLen         = 3
	maxEmailLen         = 100
	maxEmailSearchLen   = 255
	maxOrganizationName = 300
)

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
	// MaxExpiry bounds how far ahead of now expired_at may be;
	// DefaultMaxExpiry when zero.
	MaxExpiry time.Duration
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
	store     Store
	signer    *token.Signer
	directory Directory
	maxExpiry time.Duration
	clock     func() time.Time
	newID     func() (uuid.UUID, error)
	rand      io.Reader
}

// NewService checks cfg and returns a Service.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("guest: Config.Store is required")
	}
	signer, err := token.NewSigner(cfg.Keys)
	if err != nil {
		return nil, fmt.Errorf("guest: Config.Keys: %w", err)
	}
	if cfg.MaxExpiry < 0 {
		return nil, fmt.Errorf("guest: Config.MaxExpiry %v is negative", cfg.MaxExpiry)
	}
	s := &Service{
		store:     cfg.Store,
		signer:    signer,
		directory: cfg.Directory,
		maxExpiry: cfg.MaxExpiry,
		clock:     cfg.Clock,
		newID:     cfg.NewID,
		rand:      cfg.Rand,
	}
	if s.maxExpiry == 0 {
		s.maxExpiry = DefaultMaxExpiry
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.newID == nil {
		s.newID = uuid.NewV7
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	return s, nil
}

// Now returns the service clock's current time in UTC, truncated to
// microseconds, the precision every store keeps.
func (s *Service) Now() time.Time {
	return s.clock().UTC().Truncate(time.Microsecond)
}

// Token returns the invitation_token of inv. It is derived from the stored
// nonce, so it is the same on every read until the invitation is resent.
func (s *Service) Token(inv Invitation) string {
	return s.signer.Sign(token.KindGuest, inv.ID, inv.Nonce)
}

// CreateParams are the inputs of Create.
type CreateParams struct {
	HostOrganizationID uuid.UUID
	Email              string
	ExpiredAt          time.Time
	// ParentOrganizationID is optional.
	ParentOrganizationID *uuid.UUID
}

// Create validates p and stores a new sent invitation. It fails with a
// *store.ValidationError naming each invalid field (including a parent
// organization the Directory does not know), or with store.ErrAlreadyExists when
// the host already has an open invitation for the email.
func (s *Service) Create(ctx context.Context, p CreateParams) (Invitation, error) {
	now := s.Now()
	v, err := s.validate(ctx, now, p)
	if err != nil {
		return Invitation{}, err
	}
	id, err := s.newID()
	if err != nil {
		return Invitation{}, fmt.Errorf("guest: create: new ID: %w", err)
	}
	nonce, err := token.NewNonce(s.rand)
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
		ParentOrganizationName: v.parentName,
		Nonce:                  nonce,
	}
	if err := s.store.CreateGuestInvitation(ctx, inv, now); err != nil {
		return Invitation{}, fmt.Errorf("guest: create: %w", err)
	}
	return inv, nil
}

// Validate checks p as Create would, without storing anything: it returns
// the same *store.ValidationError naming each invalid field, or nil. Adapters use
// it to report the fields they could not even parse together with the rest.
func (s *Service) Validate(ctx context.Context, p CreateParams) error {
	_, err := s.validate(ctx, s.Now(), p)
	return err
}

// valid holds the normalised values of valid CreateParams.
type valid struct {
	email      string
	expiredAt  time.Time
	parentName *string
}

func (s *Service) validate(ctx context.Context, now time.Time, p CreateParams) (valid, error) {
	var (
		v    valid
		verr store.ValidationError
		err  error
		msg  string
	)
	if p.HostOrganizationID == uuid.Nil {
		verr.Add("host_organization_id", "is required")
	}
	if v.email, err = email.Normalize(p.Email, minEmailLen, maxEmailLen); err != nil {
		verr.Add("email", err.Error())
	}
	if v.expiredAt, msg = s.checkExpiry(now, p.ExpiredAt); msg != "" {
		verr.Add("expired_at", msg)
	}
	if v.parentName, err = s.parentName(ctx, p.ParentOrganizationID, &verr); err != nil {
		return valid{}, err
	}
	return v, verr.Err()
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

// parentName asks the Directory for the name of the parent organization. An
// unknown organization is added to verr; other Directory failures are
// returned.
func (s *Service) parentName(ctx context.Context, id *uuid.UUID, verr *store.ValidationError) (*string, error) {
	if id == nil {
		return nil, nil
	}
	if *id == uuid.Nil {
		verr.Add("parent_organization_id", "must not be the nil UUID")
		return nil, nil
	}
	if s.directory == nil {
		return nil, nil
	}
	name, err := s.directory.OrganizationName(ctx, *id)
	if errors.Is(err, store.ErrNotFound) {
		verr.Add("parent_organization_id", "names no known organization")
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
	Limit  int
	Offset int
}

// ListResult is one page of List and the number of matching invitations.
type ListResult struct {
	Items      []Invitation
	TotalItems int
}

// List returns a page of hostID's invitations that match opts.
func (s *Service) List(ctx context.Context, hostID uuid.UUID, opts ListOptions) (ListResult, error) {
	q := ListQuery{
		HostOrganizationID: hostID,
		Statuses:           opts.Statuses,
		EmailContains:      strings.ToLower(opts.Email),
		Expired:            opts.Expired,
		Archived:           opts.Archived,
		Now:                s.Now(),
		OrderBy:            opts.OrderBy,
		Order:              opts.Order,
		Limit:              opts.Limit,
		Offset:             opts.Offset,
	}
	var verr store.ValidationError
	for _, st := range q.Statuses {
		if !st.Valid() {
			verr.Add("statuses", fmt.Sprintf("%q is not one of sent, accepted_by_guest, accepted_by_system", st))
			break
		}
	}
	switch n := utf8.RuneCountInString(opts.Email); {
	case !utf8.ValidString(opts.Email) || strings.ContainsRune(opts.Email, 0):
		verr.Add("email", "must be valid UTF-8 text without NUL characters")
	case opts.Email != "" && n > maxEmailSearchLen:
		verr.Add("email", fmt.Sprintf("must be 1 to %d characters", maxEmailSearchLen))
	}
	q.Statuses = distinctStatuses(q.Statuses)
	if q.OrderBy == "" {
		q.OrderBy = OrderByCreatedAt
	}
	if !q.OrderBy.Valid() {
		verr.Add("order_by", "must be one of email, first_invitation_sent_at, last_invitation_sent_at, "+
			"expired_at, accepted_at, archived_at, created_at, updated_at")
	}
	if q.Order == "" {
		q.Order = store.Desc
	}
	if !q.Order.Valid() {
		verr.Add("order", "must be asc or desc")
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	if q.Limit < 1 || q.Limit > MaxLimit {
		verr.Add("limit", fmt.Sprintf("must be 1 to %d", MaxLimit))
	}
	if q.Offset < 0 {
		verr.Add("offset", "must be at least 0")
	}
	if err := verr.Err(); err != nil {
		return ListResult{}, err
	}
	items, total, err := s.store.ListGuestInvitations(ctx, q)
	if err != nil {
		return ListResult{}, fmt.Errorf("guest: list: %w", err)
	}
	return ListResult{Items: items, TotalItems: total}, nil
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
// transactional updater.
func (s *Service) update(ctx context.Context, op string, hostID, id uuid.UUID, change func(now time.Time, inv *Invitation) error) (Invitation, error) {
	now := s.Now()
	inv, err := s.store.UpdateGuestInvitation(ctx, hostID, id, now, func(inv *Invitation) error {
		return change(now, inv)
	})
	if err != nil {
		return Invitation{}, fmt.Errorf("guest: %s %s: %w", op, id, err)
	}
	return inv, nil
}

// SetArchived archives or unarchives an invitation; setting the value it
// already has changes nothing. Unarchiving fails with store.ErrAlreadyExists when
// the invitation would become open beside another open invitation for the
// same email.
func (s *Service) SetArchived(ctx context.Context, hostID, id uuid.UUID, archived bool) (Invitation, error) {
	return s.update(ctx, "set archived", hostID, id, func(now time.Time, inv *Invitation) error {
		inv.setArchived(now, archived)
		return nil
	})
}

// Resend rotates the token, so earlier links stop working, and sets
// last_invitation_sent_at to now; first_invitation_sent_at stays. When
// expiredAt is not nil it becomes the new expiry (same bounds as at
// create), which can revive an expired invitation. It fails with
// store.ErrAlreadyAccepted, ErrArchived, or store.ErrExpired when the invitation is
// expired and no new expiry is given.
func (s *Service) Resend(ctx context.Context, hostID, id uuid.UUID, expiredAt *time.Time) (Invitation, error) {
	nonce, err := token.NewNonce(s.rand)
	if err != nil {
		return Invitation{}, fmt.Errorf("guest: resend %s: %w", id, err)
	}
	return s.update(ctx, "resend", hostID, id, func(now time.Time, inv *Invitation) error {
		var newExpiry *time.Time
		if expiredAt != nil {
			t, msg := s.checkExpiry(now, *expiredAt)
			if msg != "" {
				verr := &store.ValidationError{}
				verr.Add("expired_at", msg)
				return verr
			}
			newExpiry = &t
		}
		return inv.resend(now, newExpiry, nonce)
	})
}

// AcceptBySystem accepts an invitation on the guest's behalf, by ID, as
// accepted_by_system. It fails with store.ErrAlreadyAccepted, ErrArchived or
// store.ErrExpired.
func (s *Service) AcceptBySystem(ctx context.Context, hostID, id uuid.UUID) (Invitation, error) {
	return s.update(ctx, "accept", hostID, id, func(now time.Time, inv *Invitation) error {
		return inv.accept(now, StatusAcceptedBySystem)
	})
}

// AcceptByGuest accepts the invitation tok was issued for, as
// accepted_by_guest: the token is the guest's credential. It fails with
// store.ErrInvalidToken for any token that is not the invitation's current one,
// store.ErrAlreadyAccepted, ErrArchived or store.ErrExpired. Of concurrent accepts of
// one invitation exactly one succeeds.
func (s *Service) AcceptByGuest(ctx context.Context, tok string) (Invitation, error) {
	id, nonce, err := s.signer.Verify(token.KindGuest, tok)
	if err != nil {
		return Invitation{}, fmt.Errorf("guest: accept: %w", err)
	}
	found, err := s.store.FindGuestInvitation(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		// A deleted invitation's token is as dead as a forged one.
		return Invitation{}, fmt.Errorf("guest: accept: %w", store.ErrInvalidToken)
	}
	if err != nil {
		return Invitation{}, fmt.Errorf("guest: accept: %w", err)
	}
	inv, err := s.update(ctx, "accept", found.HostOrganizationID, id, func(now time.Time, inv *Invitation) error {
		if !token.NonceEqual(nonce, inv.Nonce) {
			return store.ErrInvalidToken
		}
		return inv.accept(now, StatusAcceptedByGuest)
	})
	if errors.Is(err, store.ErrNotFound) {
		return Invitation{}, fmt.Errorf("guest: accept: %w", store.ErrInvalidToken)
	}
	return inv, err
}

// Delete removes the invitation of hostID with id, whatever its status. Its
// token stops working.
func (s *Service) Delete(ctx context.Context, hostID, id uuid.UUID) error {
	if err := s.store.DeleteGuestInvitation(ctx, hostID, id); err != nil {
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
