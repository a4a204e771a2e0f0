package invitation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/internal/email"
	"github.com/invitekit/invitekit/internal/service"
	"github.com/invitekit/invitekit/internal/token"
	"github.com/invitekit/invitekit/store"
)

// Bounds of Config.TTL and of list pages.
const (
	DefaultTTL = 7 * 24 * time.Hour
	MinTTL     = time.Hour
	MaxTTL     = 365 * 24 * time.Hour

	DefaultLimit = 20
	MaxLimit     = 100

	// MaxBulk is the most invitations one CreateMany takes.
	MaxBulk = 100
	// MaxMetadataBytes bounds CreateParams.Metadata, compact.
	MaxMetadataBytes = service.MaxMetadataBytes
)

// Field names of the ValidationErrors this package returns: the Go names of
// the CreateParams and ListOptions fields (or of the argument) a message is
// about, in the domain's own terms. An adapter maps them to its wire names.
const (
	FieldOrganizationID = "OrganizationID"
	FieldEmail          = "Email"
	FieldRole           = "Role"
	// FieldAssignedRoleIDs names CreateParams.AssignedRoleIDs; an entry
	// is named by its index, as in "AssignedRoleIDs[2]".
	FieldAssignedRoleIDs = "AssignedRoleIDs"
	FieldStatus          = "Status"
	FieldCursor          = "Cursor"
	FieldLimit           = "Limit"
	FieldMetadata        = "Metadata"
	// FieldInvitations names the list of CreateMany.
	FieldInvitations = "Invitations"
)

// Email length bounds, in characters.
const (
	minEmailLen = 3
	maxEmailLen = 254
)

// EmailPolicy relaxes the rules on the domain of an email address, for
// applications on an intranet: its fields (AllowSingleLabelDomain,
// AllowLocalhost, AllowAddressLiteral) accept user@intranet,
// user@localhost and user@[192.0.2.1]. The zero EmailPolicy, the default,
// accepts only a fully qualified domain name such as example.com. An
// address is always trimmed and lowercased, and refused rather than
// repaired when it holds invisible or control characters, is not in
// Unicode NFC, or would lowercase a non-ASCII letter to an ASCII one: two
// addresses that look the same are never two invitations. guest uses the
// same type.
type EmailPolicy = email.Policy

// Config configures a Service. Store and Keys are required.
type Config struct {
	// Store keeps the invitations.
	Store Store
	// Keys sign and verify tokens. Keys[0] signs new tokens; every key
	// verifies, so a key can be rotated out without breaking the links
	// already sent. Each key must be at least 32 bytes.
	Keys [][]byte
	// TTL is how long an invitation stays acceptable after it is created or
	// resent: 1 hour to 365 days, DefaultTTL when zero.
	TTL time.Duration
	// EmailPolicy relaxes the rules on email domains (see EmailPolicy);
	// the zero value is the strict default. It applies wherever an email
	// enters: Create, Accept, the Email of List and ListForEmail.
	EmailPolicy EmailPolicy
	// ValidateRole checks a role and says what is wrong with it. The default
	// accepts 1 to 64 characters of [a-z0-9_.:-] starting with a letter.
	ValidateRole func(role string) error
	// Roles resolves the role IDs a create assigns (see RoleCatalog).
	// When nil, the organizations have only the two system roles, admin
	// (AdminRoleID) and developer (DeveloperRoleID).
	Roles RoleCatalog
	// Limits bound the open invitations and the creates per hour of
	// every organization (see store.Limits; a zero field sets no bound),
	// counted by the store, so they hold across instances. Nil is the
	// generous default: store.DefaultMaxOpen open invitations and
	// store.DefaultCreatesPerHour creates an hour. A create, a CreateMany
	// item or a Resend that revives an invitation fails with a
	// *store.LimitError (errors.Is store.ErrLimitExceeded) beyond them.
	Limits *store.Limits
	// LimitsFor, when set, returns the limits of each organization in
	// place of Limits: an application's plans, say. It is asked on every
	// Create, CreateMany and Resend; its error fails the call.
	LimitsFor func(ctx context.Context, orgID uuid.UUID) (store.Limits, error)
	// Retention is how long Sweep keeps an invitation after it ended
	// (accepted, revoked, or expired and its expiry recorded) before it
	// deletes it; 0, the default, keeps every invitation.
	Retention time.Duration
	// SweepBatch is the most invitations one transaction of Sweep
	// touches: 1 to 1000, 500 when zero.
	SweepBatch int
	// AllowedDomains, when set, returns the domain policy of each
	// organization: the email domains it takes members from (compared
	// exactly: sub.example.com is not example.com), any domain when it
	// returns none. Create and each CreateMany item refuse an email of
	// another domain with a *store.ValidationError naming FieldEmail;
	// link.Service applies the same policy to join links. It is asked
	// once per Create or CreateMany; its error fails the call.
	AllowedDomains func(ctx context.Context, orgID uuid.UUID) ([]string, error)
	// Clock returns the current time; time.Now when nil.
	Clock func() time.Time
	// NewID returns a new invitation ID; uuid.NewV7 when nil.
	NewID func() (uuid.UUID, error)
	// Rand is the source of token nonces; crypto/rand.Reader when nil.
	Rand io.Reader
}

// Service applies the invitation rules on top of a Store. It is safe for
// concurrent use.
type Service struct {
	core         *service.Core
	store        Store
	ttl          time.Duration
	validateRole func(string) error
	roles        RoleCatalog
	emailPolicy  EmailPolicy
	records      service.Records[Invitation]
	limiter      service.Limiter
	sweeper      service.Sweeper
	domains      func(ctx context.Context, orgID uuid.UUID) ([]string, error)
}

// NewService checks cfg and returns a Service.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("invitation: Config.Store is required")
	}
	core, err := service.New(service.Config{
		Name: "invitation", Kind: token.KindOrganization, Keys: cfg.Keys, Clock: cfg.Clock, NewID: cfg.NewID, Rand: cfg.Rand,
	})
	if err != nil {
		return nil, err
	}
	s := &Service{core: core, store: cfg.Store, ttl: cfg.TTL, validateRole: cfg.ValidateRole,
		roles: cfg.Roles, emailPolicy: cfg.EmailPolicy, domains: cfg.AllowedDomains,
		limiter: service.Limiter{Default: cfg.Limits, For: cfg.LimitsFor}}
	s.records = service.Records[Invitation]{Find: s.store.FindInvitation, Update: s.updateFound, Nonce: nonceOf}
	if err := s.limiter.Check("invitation"); err != nil {
		return nil, err
	}
	batch, err := service.CheckSweep("invitation", cfg.Retention, cfg.SweepBatch)
	if err != nil {
		return nil, err
	}
	s.sweeper = service.Sweeper{Name: "invitation", Retention: cfg.Retention, Batch: batch,
		Expire: s.expire, Purge: s.store.PurgeInvitations}
	if s.ttl == 0 {
		s.ttl = DefaultTTL
	}
	if s.ttl < MinTTL || s.ttl > MaxTTL {
		return nil, fmt.Errorf("invitation: Config.TTL %v is outside %v to %v", s.ttl, MinTTL, MaxTTL)
	}
	if s.validateRole == nil {
		s.validateRole = DefaultValidateRole
	}
	return s, nil
}

// updateFound runs change on found through the store's updater, for the
// accept flow, which finds an invitation by ID across organizations.
func (s *Service) updateFound(ctx context.Context, found Invitation, now time.Time, change func(context.Context, *Invitation) (event.Event, error)) (Invitation, error) {
	return s.store.UpdateInvitation(ctx, found.OrganizationID, found.ID, now, store.Limits{}, change)
}

// nonceOf lets the shared accept flow read the stored nonce it compares.
func nonceOf(inv *Invitation) []byte { return inv.Nonce }

var errRole = errors.New("must be 1 to 64 characters of a-z, 0-9, '_', '.', ':' or '-', starting with a letter")

// DefaultValidateRole accepts 1 to 64 characters of [a-z0-9_.:-] that start
// with a letter.
func DefaultValidateRole(role string) error {
	if len(role) < 1 || len(role) > 64 || role[0] < 'a' || role[0] > 'z' {
		return errRole
	}
	for i := 1; i < len(role); i++ {
		switch c := role[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_', c == '.', c == ':', c == '-':
		default:
			return errRole
		}
	}
	return nil
}

// Now returns the service clock's current time in UTC, truncated to
// microseconds, the precision every store keeps.
func (s *Service) Now() time.Time { return s.core.Now() }

// Token returns the token that accepts inv. It is derived from the stored
// nonce, so it is the same on every call until the invitation is resent.
func (s *Service) Token(inv Invitation) string {
	return s.core.Token(inv.ID, inv.Nonce)
}

// CreateParams are the inputs of Create. A create assigns roles: give
// AssignedRoleIDs, Role, or both.
//
//   - AssignedRoleIDs only: the invitation assigns those roles, and its
//     deprecated Role is derived from them: admin or developer when they
//     hold that system role (admin when both), empty otherwise.
//   - Role only: the invitation assigns the system role of that name
//     (LegacyAssignedRoles); a role other than admin or developer, which
//     Config.ValidateRole may allow, assigns none and is kept as it is.
//   - Both: AssignedRoleIDs decide what is assigned, and Role is kept as
//     given, unchecked against them: ClickHouse documents role as frozen
//     at its old value, not as a description of the assignment.
//   - Neither: a *store.ValidationError naming Role.
type CreateParams struct {
	OrganizationID uuid.UUID
	Email          string
	// Role is the deprecated single role (see CreateParams).
	Role string
	// AssignedRoleIDs are the IDs of the roles to assign: system role IDs
	// or IDs the Config.Roles catalog knows for the organization. At most
	// MaxAssignedRoles; duplicates count once; empty is the same as nil.
	AssignedRoleIDs []uuid.UUID
	// InviterID is optional.
	InviterID string
	// Metadata is optional: the application's JSON object, returned on
	// reads and carried in events and to accept hooks (to hand on to the
	// membership, say). At most MaxMetadataBytes once compacted; a name
	// twice in one object is refused. It is stored as encoding/json writes
	// it, compact and with <, > and & escaped, the bytes every read and
	// event then shows. Nil or JSON null is none.
	Metadata json.RawMessage
}

// ValidateCreate checks p as Create does before it touches anything, and
// returns the same *store.ValidationError naming each invalid field (see
// the Field constants), or nil. It does not ask the role catalog, so an
// assigned role ID the organization does not have passes it (Create
// refuses it). It has no side effects, so a caller can
// check a request it will not make, or merge the verdict with invalid
// values it found itself (store.ValidationError.Merge).
func (s *Service) ValidateCreate(p CreateParams) error {
	_, err := s.checkCreate(p)
	return err
}

// checked holds the normalised values of valid CreateParams.
type checked struct {
	email    string
	metadata json.RawMessage
}

// checkCreate validates p and returns its normalised values.
func (s *Service) checkCreate(p CreateParams) (checked, error) {
	var verr store.ValidationError
	var c checked
	if p.OrganizationID == uuid.Nil {
		verr.Add(FieldOrganizationID, "is required")
	}
	var err error
	if c.email, err = email.Normalize(p.Email, minEmailLen, maxEmailLen, s.emailPolicy); err != nil {
		verr.Add(FieldEmail, err.Error())
	}
	if c.metadata, err = service.Metadata(p.Metadata); err != nil {
		verr.Add(FieldMetadata, err.Error())
	}
	s.checkRoles(&verr, p.Role, p.AssignedRoleIDs)
	return c, verr.Err()
}

// checkRoles adds to verr what is wrong with a role and role IDs to
// assign, short of asking the catalog.
func (s *Service) checkRoles(verr *store.ValidationError, role string, ids []uuid.UUID) {
	checkRoleIDs(verr, ids)
	switch {
	case role != "":
		if err := s.validateRole(role); err != nil {
			verr.Add(FieldRole, err.Error())
		}
	case len(ids) == 0:
		verr.Add(FieldRole, "is required when no assigned role IDs are given")
	}
}

// Create validates p (see ValidateCreate), resolves the roles it assigns
// (see CreateParams and RoleCatalog) and stores a new pending invitation
// that expires after the configured TTL. It fails with a
// *store.ValidationError naming each invalid field, including each
// assigned role ID the organization has no role with; with the role
// catalog's error, wrapped; with store.ErrAlreadyExists when the
// organization already has an open invitation for the email; or with a
// *store.LimitError when the organization is at one of its limits (see
// Config.Limits). Send Token(inv) to the invitee.
func (s *Service) Create(ctx context.Context, p CreateParams) (Invitation, error) {
	policy, err := s.policyOf(ctx, p.OrganizationID)
	if err != nil {
		return Invitation{}, fmt.Errorf("invitation: create: %w", err)
	}
	inv, ev, err := s.prepare(ctx, p, s.Now(), policy)
	if err != nil {
		return Invitation{}, err
	}
	limits, err := s.limiter.Limits(ctx, p.OrganizationID)
	if err == nil {
		err = service.CreateOne(limits,
			func() error { return s.store.CreateInvitation(ctx, inv, inv.CreatedAt, ev) },
			func(l store.Limits) ([]error, error) {
				return s.store.CreateInvitations(ctx, []Invitation{inv}, inv.CreatedAt, []event.Event{ev}, l)
			})
	}
	if err != nil {
		return Invitation{}, fmt.Errorf("invitation: create: %w", err)
	}
	return inv, nil
}

// prepare validates p and returns the invitation it creates at now, with
// its event. It fails with the *store.ValidationError of ValidateCreate, or
// the catalog's, as they are.
func (s *Service) prepare(ctx context.Context, p CreateParams, now time.Time, policy []string) (Invitation, event.Event, error) {
	c, err := s.checkCreate(p)
	if err != nil {
		return Invitation{}, event.Event{}, err
	}
	if !email.DomainIn(c.email, policy) {
		verr := &store.ValidationError{}
		verr.Add(FieldEmail, "must have a domain the organization's domain policy allows")
		return Invitation{}, event.Event{}, verr
	}
	role, roles, err := s.assign(ctx, p)
	if err != nil {
		return Invitation{}, event.Event{}, err
	}
	id, nonce, err := s.core.NewRecord()
	if err != nil {
		return Invitation{}, event.Event{}, fmt.Errorf("invitation: create: %w", err)
	}
	inv := Invitation{
		ID:             id,
		OrganizationID: p.OrganizationID,
		Email:          c.email,
		Role:           role,
		AssignedRoles:  roles,
		InviterID:      p.InviterID,
		Status:         StatusPending,
		Nonce:          nonce,
		CreatedAt:      now,
		SentAt:         now,
		ExpireAt:       now.Add(s.ttl),
		Metadata:       c.metadata,
	}
	ev, err := s.event(ctx, event.InvitationCreated, inv, now)
	if err != nil {
		return Invitation{}, event.Event{}, fmt.Errorf("invitation: create: %w", err)
	}
	return inv, ev, nil
}

// CreateResult is the outcome of one item of CreateMany: the invitation
// created, or Err, the error Create would have returned for that item
// alone.
type CreateResult struct {
	Invitation Invitation
	Err        error
}

// CreateMany creates an invitation for each of ps, for the organization
// orgID, in one store transaction, and returns one result per item, in
// order: each item succeeds or fails on its own (partial success). An item
// fails with what Create would return for it: a *store.ValidationError,
// store.ErrAlreadyExists (also for the second item of one email), or a
// *store.LimitError once the organization reaches a limit (the items
// before it count). Each p.OrganizationID must be orgID or uuid.Nil. The
// call itself fails, creating nothing, with a *store.ValidationError
// naming FieldInvitations when ps holds no item or more than MaxBulk, and
// with the error of the role catalog, LimitsFor or the store.
//
// Being one transaction, a batch costs one commit instead of one per
// invitation, and a store that fails (store.ErrUnavailable) leaves none of
// it written.
func (s *Service) CreateMany(ctx context.Context, orgID uuid.UUID, ps []CreateParams) ([]CreateResult, error) {
	if n := len(ps); n < 1 || n > MaxBulk {
		verr := &store.ValidationError{}
		verr.Add(FieldInvitations, fmt.Sprintf("must hold 1 to %d invitations, holds %d", MaxBulk, n))
		return nil, verr
	}
	policy, err := s.policyOf(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("invitation: create many: %w", err)
	}
	res := make([]CreateResult, len(ps))
	now := s.Now()
	var invs []Invitation
	var evs []event.Event
	var at []int // the item of each of invs
	for i, p := range ps {
		if p.OrganizationID == uuid.Nil {
			p.OrganizationID = orgID
		}
		if p.OrganizationID != orgID {
			verr := &store.ValidationError{}
			verr.Add(FieldOrganizationID, "must be the organization of the batch")
			res[i].Err = verr
			continue
		}
		inv, ev, err := s.prepare(ctx, p, now, policy)
		var verr *store.ValidationError
		switch {
		case errors.As(err, &verr):
			res[i].Err = err
			continue
		case err != nil:
			return nil, err
		}
		invs, evs, at = append(invs, inv), append(evs, ev), append(at, i)
	}
	if len(invs) == 0 {
		return res, nil
	}
	limits, err := s.limiter.Limits(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("invitation: create many: %w", err)
	}
	errs, err := s.store.CreateInvitations(ctx, invs, now, evs, limits)
	if err != nil {
		return nil, fmt.Errorf("invitation: create many: %w", err)
	}
	for j, i := range at {
		if errs[j] != nil {
			res[i].Err = fmt.Errorf("invitation: create: %w", errs[j])
			continue
		}
		res[i].Invitation = invs[j]
	}
	return res, nil
}

// assign returns the deprecated role and the roles a valid p assigns, by
// the rules of CreateParams. The roles are a snapshot: later changes to
// the catalog do not change what an invitation shows or assigns, as
// ClickHouse keeps its role frozen, and reads cost no catalog lookup.
func (s *Service) assign(ctx context.Context, p CreateParams) (string, []Role, error) {
	if len(p.AssignedRoleIDs) == 0 {
		return p.Role, LegacyAssignedRoles(p.Role), nil
	}
	roles, err := s.resolveRoles(ctx, p.OrganizationID, p.AssignedRoleIDs)
	if err != nil {
		return "", nil, err
	}
	if p.Role != "" {
		return p.Role, roles, nil
	}
	return legacyRole(roles), roles, nil
}

// event returns the event of type typ about inv, changed at now by ctx's
// actor.
func (s *Service) event(ctx context.Context, typ event.Type, inv Invitation, now time.Time) (event.Event, error) {
	return s.core.Event(ctx, typ, inv.OrganizationID, inv.ID, now, NewView(inv, now))
}

// update applies transition to the invitation of orgID with id inside the
// store's updater, under limits, and records the event typ of the change.
func (s *Service) update(ctx context.Context, op string, orgID, id uuid.UUID, limits store.Limits, typ event.Type, transition func(now time.Time, inv *Invitation) error) (Invitation, error) {
	inv, err := s.store.UpdateInvitation(ctx, orgID, id, s.Now(), limits, func(ctx context.Context, inv *Invitation) (event.Event, error) {
		// The clock is read again under the store's lock, so that the
		// instants of one invitation's changes (and events) come in the
		// order the changes commit.
		now := s.Now()
		if err := transition(now, inv); err != nil {
			return event.Event{}, err
		}
		return s.event(ctx, typ, *inv, now)
	})
	if err != nil {
		return Invitation{}, fmt.Errorf("invitation: %s %s: %w", op, id, err)
	}
	return inv, nil
}

// Get returns the invitation of orgID with id, or store.ErrNotFound.
func (s *Service) Get(ctx context.Context, orgID, id uuid.UUID) (Invitation, error) {
	inv, err := s.store.GetInvitation(ctx, orgID, id)
	if err != nil {
		return Invitation{}, fmt.Errorf("invitation: get %s: %w", id, err)
	}
	return inv, nil
}

// ListOptions select a page of List.
type ListOptions struct {
	// Status, when set, keeps invitations with this effective status.
	Status Status
	// Email, when set, keeps invitations addressed to this email.
	Email string
	// Cursor continues a list where the page that returned it as Next
	// ended. Empty starts at the newest invitation.
	Cursor string
	// Limit is the page size: 1 to MaxLimit, DefaultLimit when zero.
	Limit int
}

// Page is one page of List.
type Page struct {
	Invitations []Invitation
	// Next is the cursor of the next page, empty on the last page.
	Next string
	// Now is the instant the page was evaluated at: its Status filter
	// compared effective statuses at Now. Show each invitation's
	// EffectiveStatus(Now), so one page never mixes two instants.
	Now time.Time
}

// Validate checks o as List does before it runs a query, and returns the
// same *store.ValidationError naming each invalid field (see the Field
// constants), or nil. It has no side effects. It checks Email under the
// default EmailPolicy: with a Config.EmailPolicy, use Service.ValidateList.
func (o ListOptions) Validate() error {
	_, err := o.query(uuid.Nil, time.Time{}, EmailPolicy{})
	return err
}

// ValidateList is ListOptions.Validate under the service's EmailPolicy:
// exactly what List checks.
func (s *Service) ValidateList(o ListOptions) error {
	_, err := o.query(uuid.Nil, time.Time{}, s.emailPolicy)
	return err
}

// query turns o into the store query of orgID's list at now, its email
// checked under policy.
func (o ListOptions) query(orgID uuid.UUID, now time.Time, policy EmailPolicy) (ListQuery, error) {
	q := ListQuery{OrganizationID: orgID, Status: o.Status, Now: now}
	var verr store.ValidationError
	if o.Status != "" && !o.Status.Valid() {
		verr.Add(FieldStatus, "must be one of pending, accepted, revoked, expired")
	}
	if o.Email != "" {
		addr, err := email.Normalize(o.Email, minEmailLen, maxEmailLen, policy)
		if err != nil {
			verr.Add(FieldEmail, err.Error())
		}
		q.Email = addr
	}
	if o.Cursor != "" {
		c, err := store.ParseCursor(o.Cursor)
		if err != nil {
			verr.Add(FieldCursor, "is not a cursor returned by this list")
		}
		q.After = &c
	}
	q.Limit = service.Limit(&verr, FieldLimit, o.Limit, DefaultLimit, MaxLimit)
	return q, verr.Err()
}

// List returns a page of orgID's invitations, newest first. It fails with
// the *store.ValidationError of ValidateList before it runs any query.
func (s *Service) List(ctx context.Context, orgID uuid.UUID, opts ListOptions) (Page, error) {
	now := s.Now()
	q, err := opts.query(orgID, now, s.emailPolicy)
	if err != nil {
		return Page{}, err
	}
	// One more than the page tells whether another page follows.
	want := q.Limit
	q.Limit++
	items, err := s.store.ListInvitations(ctx, q)
	if err != nil {
		return Page{}, fmt.Errorf("invitation: list: %w", err)
	}
	p := Page{Now: now}
	if len(items) > want {
		items = items[:want]
		last := items[want-1]
		p.Next = store.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}.String()
	}
	p.Invitations = items
	return p, nil
}

// ListForEmail returns up to limit (1 to MaxLimit, MaxLimit when zero) open
// invitations addressed to addr across all organizations, newest first: what
// a signed-in user can still accept.
func (s *Service) ListForEmail(ctx context.Context, addr string, limit int) ([]Invitation, error) {
	var verr store.ValidationError
	norm, err := email.Normalize(addr, minEmailLen, maxEmailLen, s.emailPolicy)
	if err != nil {
		verr.Add(FieldEmail, err.Error())
	}
	limit = service.Limit(&verr, FieldLimit, limit, MaxLimit, MaxLimit)
	if err := verr.Err(); err != nil {
		return nil, err
	}
	items, err := s.store.ListInvitationsForEmail(ctx, norm, s.Now(), limit)
	if err != nil {
		return nil, fmt.Errorf("invitation: list for email: %w", err)
	}
	return items, nil
}

// Delete removes the invitation of orgID with id, whatever its status. Its
// token stops working.
func (s *Service) Delete(ctx context.Context, orgID, id uuid.UUID) error {
	now := s.Now()
	err := s.store.DeleteInvitation(ctx, orgID, id, func(inv Invitation) (event.Event, error) {
		return s.event(ctx, event.InvitationDeleted, inv, now)
	})
	if err != nil {
		return fmt.Errorf("invitation: delete %s: %w", id, err)
	}
	return nil
}

// Revoke moves a pending invitation, expired or not, to revoked. It fails
// with store.ErrAlreadyAccepted or store.ErrRevoked when the invitation is final.
func (s *Service) Revoke(ctx context.Context, orgID, id uuid.UUID) (Invitation, error) {
	return s.update(ctx, "revoke", orgID, id, store.Limits{}, event.InvitationRevoked, func(now time.Time, inv *Invitation) error {
		return inv.revoke(now)
	})
}

// Resend rotates the token of a pending invitation, so earlier links stop
// working, sets SentAt to now and moves ExpireAt to now plus the TTL. An
// expired invitation is revived: it is open again, and a later Sweep
// records its new expiry when that passes. Send Token of the result. It
// fails with store.ErrAlreadyAccepted or store.ErrRevoked for a final
// invitation; reviving one fails with store.ErrAlreadyExists when the
// organization has opened another invitation for the email since, and
// with a *store.LimitError when it is at its limit of open invitations.
func (s *Service) Resend(ctx context.Context, orgID, id uuid.UUID) (Invitation, error) {
	nonce, err := s.core.NewNonce()
	if err != nil {
		return Invitation{}, fmt.Errorf("invitation: resend %s: %w", id, err)
	}
	limits, err := s.limiter.Limits(ctx, orgID)
	if err != nil {
		return Invitation{}, fmt.Errorf("invitation: resend %s: %w", id, err)
	}
	return s.update(ctx, "resend", orgID, id, limits, event.InvitationResent, func(now time.Time, inv *Invitation) error {
		return inv.resend(now, s.ttl, nonce)
	})
}

// Sweep records, once each, the expiry of invitations whose ExpireAt has
// passed while they were pending, with an invitation.expired event, and,
// with a Config.Retention, deletes the invitations that ended more than
// Retention ago (their last event says how they ended; no event records
// the deletion). One call does a bounded amount of work, each part in a
// transaction of at most Config.SweepBatch invitations: call it
// periodically, and again at once while the result says More. Any number
// of instances may sweep at the same time: each expiry is recorded once.
//
// An invitation revoked after its expiry passed but before a sweep saw it,
// or revived by Resend, has no invitation.expired event for that expiry.
func (s *Service) Sweep(ctx context.Context) (store.SweepResult, error) {
	return s.sweeper.Sweep(ctx, s.Now())
}

// expire records up to limit expiries at now.
func (s *Service) expire(ctx context.Context, now time.Time, limit int) (int, error) {
	return s.store.ExpireInvitations(ctx, now, limit, func(inv Invitation) (event.Event, error) {
		return s.event(ctx, event.InvitationExpired, inv, now)
	})
}

// Inspect returns the invitation tok was issued for, whatever its status,
// and changes nothing, so a page behind the link can say what the
// invitation is before anyone accepts it (link scanners and chat previews
// fetch links). Its EffectiveStatus at Now tells whether it can still be
// accepted. It fails with store.ErrInvalidToken for any token that is not
// the invitation's current one, including a token replaced by Resend and
// the token of a deleted invitation.
func (s *Service) Inspect(ctx context.Context, tok string) (Invitation, error) {
	return service.Inspect(ctx, s.core, tok, s.records)
}

// NormalizeEmail returns addr as the service stores and compares emails:
// trimmed and lowercased, checked under the EmailPolicy. It fails with a
// *store.ValidationError naming FieldEmail, as Create would for addr. Two
// inputs are the same email exactly when their normal forms are equal, so
// compare an address from elsewhere (a signed-in user's) with this, not
// with strings.EqualFold, which folds the Kelvin sign to k.
func (s *Service) NormalizeEmail(addr string) (string, error) {
	norm, err := email.Normalize(addr, minEmailLen, maxEmailLen, s.emailPolicy)
	if err != nil {
		verr := &store.ValidationError{}
		verr.Add(FieldEmail, err.Error())
		return "", verr
	}
	return norm, nil
}

// AcceptHook is an application's part of an accept: it runs inside the
// store's transaction, after the invitation has moved to accepted and
// before anything commits, and gets that accepted invitation. A store with
// a database transaction puts it in ctx (sqlitestore.Tx, postgresstore.Tx),
// so the hook can write its own rows, a membership, in it. When the hook
// fails, nothing commits: the invitation stays pending, its token still
// works, no event is recorded, and Accept returns the hook's error
// (wrapped). A hook may run more than once, when a store retries a
// transaction the database aborted; it must do all its work through the
// transaction. It must not call the store or a Service: it runs while the
// store holds the invitation (memstore: its lock; SQLite: the one write
// transaction; PostgreSQL: the row lock), so such a call waits for itself.
type AcceptHook func(ctx context.Context, inv Invitation) error

// Accept accepts the invitation tok was issued for, on behalf of a user whose
// verified email is userEmail. It fails with store.ErrInvalidToken for any token
// that is not the invitation's current one, ErrEmailMismatch when the
// invitation is addressed to another email, store.ErrExpired, store.ErrAlreadyAccepted
// or store.ErrRevoked. Of concurrent accepts of one invitation exactly one
// succeeds. The hooks run, in order, inside the accept's transaction (see
// AcceptHook).
func (s *Service) Accept(ctx context.Context, tok, userEmail string, hooks ...AcceptHook) (Invitation, error) {
	addr, err := s.NormalizeEmail(userEmail)
	if err != nil {
		return Invitation{}, err
	}
	return service.AcceptByToken(ctx, s.core, tok, s.records, func(ctx context.Context, now time.Time, inv *Invitation) (event.Event, error) {
		if err := inv.accept(now, addr); err != nil {
			return event.Event{}, err
		}
		for _, hook := range hooks {
			if err := hook(ctx, *inv); err != nil {
				return event.Event{}, err
			}
		}
		return s.event(ctx, event.InvitationAccepted, *inv, now)
	})
}
