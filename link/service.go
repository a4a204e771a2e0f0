package link

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/internal/email"
	"github.com/invitekit/invitekit/internal/service"
	"github.com/invitekit/invitekit/internal/token"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
)

// Bounds of links and of list pages.
const (
	// DefaultTTL is how long a link stays redeemable when its create
	// gives no ExpireAt; MaxTTL bounds an ExpireAt given.
	DefaultTTL = 7 * 24 * time.Hour
	MaxTTL     = 365 * 24 * time.Hour

	// MaxUsesLimit is the largest MaxUses a link may have.
	MaxUsesLimit = 10000
	// MaxAllowedDomains is the most domains one link may restrict to.
	MaxAllowedDomains = 100

	DefaultLimit = 20
	MaxLimit     = 100
)

// Field names of the ValidationErrors this package returns: the Go names
// of the CreateParams and ListOptions fields, or of Redeem's email. Roles
// are named as invitation names them (invitation.FieldRole,
// invitation.FieldAssignedRoleIDs).
const (
	FieldOrganizationID  = "OrganizationID"
	FieldRole            = invitation.FieldRole
	FieldAssignedRoleIDs = invitation.FieldAssignedRoleIDs
	FieldMaxUses         = "MaxUses"
	FieldExpireAt        = "ExpireAt"
	// FieldAllowedDomains names CreateParams.AllowedDomains; an entry is
	// named by its index, as in "AllowedDomains[1]".
	FieldAllowedDomains = "AllowedDomains"
	FieldEmail          = invitation.FieldEmail
	FieldCursor         = "Cursor"
	FieldLimit          = "Limit"
)

// Config configures a Service. Store, Invitations and Keys are required.
type Config struct {
	// Store keeps the links and their redemptions.
	Store Store
	// Invitations is the service of the organizations' email
	// invitations: links take its role rules and catalog, its email
	// policy and its domain policy (invitation.Config.AllowedDomains), so
	// that an organization has one set of each.
	Invitations *invitation.Service
	// Keys sign and verify link tokens, as invitation.Config.Keys do
	// (the first signs, every key verifies; each at least 32 bytes). The
	// same keys as the invitations' are fine: a link token carries a kind
	// of its own.
	Keys [][]byte
	// TTL is how long a link stays redeemable when its create gives no
	// ExpireAt: 1 hour to MaxTTL, DefaultTTL when zero.
	TTL time.Duration
	// Clock returns the current time; time.Now when nil.
	Clock func() time.Time
	// NewID returns a new link or redemption ID; uuid.NewV7 when nil.
	NewID func() (uuid.UUID, error)
	// Rand is the source of token nonces; crypto/rand.Reader when nil.
	Rand io.Reader
}

// Service applies the link rules on top of a Store. It is safe for
// concurrent use.
type Service struct {
	core  *service.Core
	store Store
	inv   *invitation.Service
	ttl   time.Duration
}

// NewService checks cfg and returns a Service.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("link: Config.Store is required")
	}
	if cfg.Invitations == nil {
		return nil, errors.New("link: Config.Invitations is required: links take its roles and domain policy")
	}
	core, err := service.New(service.Config{
		Name: "link", Kind: token.KindLink, Keys: cfg.Keys, Clock: cfg.Clock, NewID: cfg.NewID, Rand: cfg.Rand,
	})
	if err != nil {
		return nil, err
	}
	s := &Service{core: core, store: cfg.Store, inv: cfg.Invitations, ttl: cfg.TTL}
	if s.ttl == 0 {
		s.ttl = DefaultTTL
	}
	if s.ttl < time.Hour || s.ttl > MaxTTL {
		return nil, fmt.Errorf("link: Config.TTL %v is outside %v to %v", s.ttl, time.Hour, MaxTTL)
	}
	return s, nil
}

// Now returns the service clock's current time in UTC, truncated to
// microseconds.
func (s *Service) Now() time.Time { return s.core.Now() }

// Token returns the token that redeems l: the same on every call.
func (s *Service) Token(l Link) string { return s.core.Token(l.ID, l.Nonce) }

// CreateParams are the inputs of Create. Roles follow the rules of
// invitation.CreateParams: AssignedRoleIDs, Role, or both.
type CreateParams struct {
	OrganizationID  uuid.UUID
	Role            string
	AssignedRoleIDs []uuid.UUID
	// MaxUses is the most redemptions: 1 to MaxUsesLimit.
	MaxUses int
	// ExpireAt is when the link stops working: after now, at most MaxTTL
	// ahead; zero is now plus Config.TTL.
	ExpireAt time.Time
	// AllowedDomains, when not empty, are the only email domains that may
	// redeem: at most MaxAllowedDomains, each a domain such as
	// example.com (compared exactly, so a subdomain is another domain),
	// each allowed by the organization's domain policy. Duplicates count
	// once.
	AllowedDomains []string
}

// Create validates p, resolves the roles it assigns and stores a new,
// active link. It fails with a *store.ValidationError naming each invalid
// field (see the Field constants), or with the error of the role catalog
// or the domain policy, wrapped. Share Token of the result.
func (s *Service) Create(ctx context.Context, p CreateParams) (Link, error) {
	now := s.Now()
	var verr store.ValidationError
	if p.OrganizationID == uuid.Nil {
		verr.Add(FieldOrganizationID, "is required")
	}
	if p.MaxUses < 1 || p.MaxUses > MaxUsesLimit {
		verr.Add(FieldMaxUses, fmt.Sprintf("must be 1 to %d", MaxUsesLimit))
	}
	expireAt := now.Add(s.ttl)
	if !p.ExpireAt.IsZero() {
		expireAt = p.ExpireAt.UTC().Truncate(time.Microsecond)
		if !expireAt.After(now) || expireAt.After(now.Add(MaxTTL)) {
			verr.Add(FieldExpireAt, "must be in the future, at most 365 days ahead")
		}
	}
	domains, err := s.allowedDomains(ctx, &verr, p)
	if err != nil {
		return Link{}, fmt.Errorf("link: create: %w", err)
	}
	role, roles, err := s.inv.AssignRoles(ctx, p.OrganizationID, p.Role, p.AssignedRoleIDs)
	var rerr *store.ValidationError
	switch {
	case errors.As(err, &rerr):
		verr.Fields = append(verr.Fields, rerr.Fields...)
	case err != nil:
		return Link{}, fmt.Errorf("link: create: %w", err)
	}
	if err := verr.Err(); err != nil {
		return Link{}, err
	}
	id, nonce, err := s.core.NewRecord()
	if err != nil {
		return Link{}, fmt.Errorf("link: create: %w", err)
	}
	l := Link{ID: id, OrganizationID: p.OrganizationID, Role: role, AssignedRoles: roles, MaxUses: p.MaxUses,
		AllowedDomains: domains, Nonce: nonce, CreatedAt: now, ExpireAt: expireAt}
	ev, err := s.event(ctx, event.InviteLinkCreated, l, now)
	if err == nil {
		err = s.store.CreateLink(ctx, l, ev)
	}
	if err != nil {
		return Link{}, fmt.Errorf("link: create: %w", err)
	}
	return l, nil
}

// allowedDomains normalises the AllowedDomains of p, adding what is wrong
// with them to verr; each must be within the organization's domain
// policy.
func (s *Service) allowedDomains(ctx context.Context, verr *store.ValidationError, p CreateParams) ([]string, error) {
	if len(p.AllowedDomains) == 0 {
		return nil, nil
	}
	if len(p.AllowedDomains) > MaxAllowedDomains {
		verr.Add(FieldAllowedDomains, fmt.Sprintf("must hold at most %d domains", MaxAllowedDomains))
		return nil, nil
	}
	var policy []string
	if p.OrganizationID != uuid.Nil {
		var err error
		if policy, err = s.inv.DomainPolicy(ctx, p.OrganizationID); err != nil {
			return nil, err
		}
	}
	var out []string
	for i, d := range p.AllowedDomains {
		norm, err := s.inv.NormalizeDomain(d)
		switch {
		case err != nil:
			verr.Add(store.Indexed(FieldAllowedDomains, i), err.Error())
		case len(policy) > 0 && !slices.Contains(policy, norm):
			verr.Add(store.Indexed(FieldAllowedDomains, i), "is outside the organization's domain policy")
		case !slices.Contains(out, norm):
			out = append(out, norm)
		}
	}
	return out, nil
}

// event returns the event of type typ about l at now by ctx's actor.
func (s *Service) event(ctx context.Context, typ event.Type, l Link, now time.Time) (event.Event, error) {
	return s.core.Event(ctx, typ, l.OrganizationID, l.ID, now, NewView(l, now))
}

// Get returns the link of orgID with id, or store.ErrNotFound.
func (s *Service) Get(ctx context.Context, orgID, id uuid.UUID) (Link, error) {
	l, err := s.store.GetLink(ctx, orgID, id)
	if err != nil {
		return Link{}, fmt.Errorf("link: get %s: %w", id, err)
	}
	return l, nil
}

// ListOptions select a page of List or ListRedemptions.
type ListOptions struct {
	// Cursor continues a list where the page that returned it as Next
	// ended; empty starts at the newest.
	Cursor string
	// Limit is the page size: 1 to MaxLimit, DefaultLimit when zero.
	Limit int
}

// Validate checks o as List and ListRedemptions do, and returns the same
// *store.ValidationError, or nil.
func (o ListOptions) Validate() error {
	_, _, err := o.page()
	return err
}

func (o ListOptions) page() (*store.Cursor, int, error) {
	var verr store.ValidationError
	var after *store.Cursor
	if o.Cursor != "" {
		c, err := store.ParseCursor(o.Cursor)
		if err != nil {
			verr.Add(FieldCursor, "is not a cursor returned by this list")
		}
		after = &c
	}
	limit := service.Limit(&verr, FieldLimit, o.Limit, DefaultLimit, MaxLimit)
	return after, limit, verr.Err()
}

// Page is one page of List.
type Page struct {
	Links []Link
	// Next is the cursor of the next page, empty on the last.
	Next string
	// Now is the instant to evaluate the links' statuses at.
	Now time.Time
}

// List returns a page of orgID's links, newest first.
func (s *Service) List(ctx context.Context, orgID uuid.UUID, o ListOptions) (Page, error) {
	after, limit, err := o.page()
	if err != nil {
		return Page{}, err
	}
	now := s.Now()
	ls, err := s.store.ListLinks(ctx, ListQuery{OrganizationID: orgID, After: after, Limit: limit + 1})
	if err != nil {
		return Page{}, fmt.Errorf("link: list: %w", err)
	}
	p := Page{Now: now}
	p.Links, p.Next = cut(ls, limit, func(l Link) store.Cursor { return store.Cursor{CreatedAt: l.CreatedAt, ID: l.ID} })
	return p, nil
}

// cut returns the first limit of items, and the cursor after the last of
// them when more follow.
func cut[T any](items []T, limit int, at func(T) store.Cursor) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, at(items[limit-1]).String()
}

// RedemptionPage is one page of ListRedemptions.
type RedemptionPage struct {
	Redemptions []Redemption
	// Next is the cursor of the next page, empty on the last.
	Next string
}

// ListRedemptions returns a page of the redemptions of orgID's link id,
// newest first: an audit of who joined through it. It fails with
// store.ErrNotFound when orgID has no such link.
func (s *Service) ListRedemptions(ctx context.Context, orgID, id uuid.UUID, o ListOptions) (RedemptionPage, error) {
	after, limit, err := o.page()
	if err != nil {
		return RedemptionPage{}, err
	}
	if _, err := s.store.GetLink(ctx, orgID, id); err != nil {
		return RedemptionPage{}, fmt.Errorf("link: list redemptions of %s: %w", id, err)
	}
	rs, err := s.store.ListRedemptions(ctx, RedemptionQuery{OrganizationID: orgID, LinkID: id, After: after, Limit: limit + 1})
	if err != nil {
		return RedemptionPage{}, fmt.Errorf("link: list redemptions of %s: %w", id, err)
	}
	var p RedemptionPage
	p.Redemptions, p.Next = cut(rs, limit, func(r Redemption) store.Cursor { return store.Cursor{CreatedAt: r.RedeemedAt, ID: r.ID} })
	return p, nil
}

// Revoke stops orgID's link id from working: later redemptions fail with
// ErrRevoked, and so does a second Revoke. Redemptions already made stay.
func (s *Service) Revoke(ctx context.Context, orgID, id uuid.UUID) (Link, error) {
	l, err := s.store.UpdateLink(ctx, orgID, id, func(ctx context.Context, l *Link) (event.Event, error) {
		now := s.Now()
		if err := l.revoke(now); err != nil {
			return event.Event{}, err
		}
		return s.event(ctx, event.InviteLinkRevoked, *l, now)
	})
	if err != nil {
		return Link{}, fmt.Errorf("link: revoke %s: %w", id, err)
	}
	return l, nil
}

// Inspect returns the link tok was issued for, whatever its status, and
// changes nothing: the read behind a page that shows a link before anyone
// redeems it. It fails with store.ErrInvalidToken for any token that is
// not a link's.
func (s *Service) Inspect(ctx context.Context, tok string) (Link, error) {
	return service.Inspect(ctx, s.core, tok, s.records())
}

// records are what the shared token flows need of links.
func (s *Service) records() service.Records[Link] {
	return service.Records[Link]{Find: s.store.FindLink, Nonce: func(l *Link) []byte { return l.Nonce }}
}

// RedeemHook is an application's part of a redemption, as
// invitation.AcceptHook is of an accept: it runs inside the store's
// transaction, after the link has taken the use and before anything
// commits, and gets the link and the redemption. A store with a database
// transaction puts it in ctx (sqlitestore.Tx, postgresstore.Tx), so the
// hook can write the membership in it. When the hook fails, nothing
// commits: the use is not taken, no redemption or event is recorded, and
// Redeem returns the hook's error (wrapped). It may run more than once,
// when the store retries a transaction the database aborted, and must not
// call the store or a Service.
type RedeemHook func(ctx context.Context, l Link, r Redemption) error

// Redeem takes one use of the link tok was issued for on behalf of a
// person whose verified email is addr, records the Redemption and returns
// it. It fails with a *store.ValidationError naming FieldEmail for an
// invalid address; store.ErrInvalidToken for any token that is not a
// link's; ErrDomainNotAllowed when the link's AllowedDomains or the
// organization's domain policy exclude the email's domain; ErrRevoked,
// ErrExpired, ErrAlreadyRedeemed when addr has redeemed the link before,
// or ErrExhausted when every use is taken. Of concurrent redemptions,
// across processes, never more than MaxUses succeed. The hooks run, in
// order, inside the redemption's transaction (see RedeemHook).
func (s *Service) Redeem(ctx context.Context, tok, addr string, hooks ...RedeemHook) (Redemption, error) {
	r, err := s.redeem(ctx, tok, addr, hooks)
	if err != nil {
		return Redemption{}, fmt.Errorf("link: redeem: %w", err)
	}
	return r, nil
}

func (s *Service) redeem(ctx context.Context, tok, addr string, hooks []RedeemHook) (Redemption, error) {
	norm, err := s.inv.NormalizeEmail(addr)
	if err != nil {
		return Redemption{}, err
	}
	found, presented, err := service.Find(ctx, s.core, tok, s.records())
	if err != nil {
		return Redemption{}, err
	}
	// The organization's policy is the application's hook: asked before
	// the transaction, which it must not wait in.
	policy, err := s.inv.DomainPolicy(ctx, found.OrganizationID)
	if err != nil {
		return Redemption{}, err
	}
	if !email.DomainIn(norm, policy) {
		return Redemption{}, ErrDomainNotAllowed
	}
	id, err := s.core.NewID()
	if err != nil {
		return Redemption{}, err
	}
	var redeemErr error
	_, r, err := s.store.RedeemLink(ctx, found.ID, norm, func(ctx context.Context, l *Link, redeemed bool) (Redemption, event.Event, error) {
		r, ev, err := s.take(ctx, l, id, norm, presented, redeemed, hooks)
		redeemErr = err
		return r, ev, err
	})
	if errors.Is(err, store.ErrNotFound) && redeemErr == nil {
		return Redemption{}, store.ErrInvalidToken // gone under the redemption
	}
	return r, err
}

// take is the redemption inside the store's transaction: it checks the
// locked link l, takes a use and runs the hooks.
func (s *Service) take(ctx context.Context, l *Link, id uuid.UUID, addr string, presented []byte, redeemed bool, hooks []RedeemHook) (Redemption, event.Event, error) {
	if !token.NonceEqual(presented, l.Nonce) {
		return Redemption{}, event.Event{}, store.ErrInvalidToken
	}
	// Read under the store's lock, so that a link's redemptions have
	// instants in the order they commit.
	now := s.Now()
	if err := l.redeem(now, addr, redeemed); err != nil {
		return Redemption{}, event.Event{}, err
	}
	r := Redemption{ID: id, LinkID: l.ID, OrganizationID: l.OrganizationID, Email: addr, Role: l.Role,
		AssignedRoles: l.AssignedRoles, RedeemedAt: now}
	for _, hook := range hooks {
		if err := hook(ctx, *l, r); err != nil {
			return Redemption{}, event.Event{}, err
		}
	}
	ev, err := s.core.Event(ctx, event.InviteLinkRedeemed, l.OrganizationID, l.ID, now, NewRedemptionView(r))
	return r, ev, err
}
