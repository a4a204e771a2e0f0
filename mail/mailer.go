package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/outbox"
	"github.com/invitekit/invitekit/store"
)

// Defaults for the zero values of Config.
const (
	DefaultTimeout = 30 * time.Second
	DefaultName    = "email"
)

// ErrInvalidConfig reports a Config that New refuses; the message names the
// field.
var ErrInvalidConfig = errors.New("mail: invalid config")

// Config configures a Mailer. SMTP, From, AcceptURL and at least one of
// Invitations and Guests are required.
type Config struct {
	// SMTP is the server to send through: smtp://[user:pass@]host[:port]
	// (port 25 by default; STARTTLS whenever the server offers it) or
	// smtps://[user:pass@]host[:port] (TLS from the first byte; port 465
	// by default). With credentials the Mailer authenticates, and only
	// over TLS: an smtp:// server that offers no STARTTLS gets no
	// credentials and no email (see RequireTLS). Userinfo is
	// percent-decoded, so a password may hold any character.
	SMTP string
	// From is the sender, with or without a display name:
	// "Acme <invites@acme.test>". Its domain also names the Message-ID.
	From string
	// AcceptURL is the absolute http(s) URL of the accept page. Each email
	// links it with the query parameter token added; a query it already
	// has is kept.
	AcceptURL string
	// Invitations loads organization invitations when their events come;
	// with none, invitation.* events are ignored.
	Invitations *invitation.Service
	// Guests loads guest invitations when their events come; with none,
	// guest_invitation.* events are ignored.
	Guests *guest.Service
	// Names gives display names to the emails; optional (see Data).
	Names Names
	// Templates render the emails; DefaultTemplates() when nil.
	Templates *Templates
	// Timeout bounds one send: dial, TLS, AUTH and delivery.
	// DefaultTimeout when zero. The relay's own per-delivery timeout
	// applies as well; the shorter wins.
	Timeout time.Duration
	// RequireTLS refuses to send over an smtp:// connection whose server
	// does not offer STARTTLS (an error the relay retries), so a network
	// attacker who strips the offer cannot read the links. It is implied
	// when SMTP carries credentials.
	RequireTLS bool
	// TLSConfig is used for STARTTLS and smtps, e.g. to trust a private
	// CA. Its ServerName defaults to the SMTP host. Default: the system
	// roots, TLS 1.2 or later.
	TLSConfig *tls.Config
	// Name is the subscriber name the relay records acknowledgements
	// under; it must stay the same across restarts. DefaultName when
	// empty.
	Name string
	// Clock gives the Date header; time.Now when nil.
	Clock func() time.Time
}

// Names resolves the display names an email shows. Its OrganizationName is
// guest.Directory's method, so one application type can serve both.
type Names interface {
	// OrganizationName returns the display name of the organization id,
	// or an error wrapping store.ErrNotFound when it knows no such
	// organization.
	OrganizationName(ctx context.Context, id uuid.UUID) (string, error)
	// InviterName returns the display name of inviterID (an
	// invitation.Invitation's InviterID) within the organization, or an
	// error wrapping store.ErrNotFound when it knows no such inviter.
	InviterName(ctx context.Context, organizationID uuid.UUID, inviterID string) (string, error)
}

// Mailer sends invitation emails; it is an outbox subscriber (see
// Subscriber and Send). It is safe for concurrent use.
type Mailer struct {
	server      smtpServer
	from        *mail.Address
	fromDomain  string
	accept      *url.URL
	invitations *invitation.Service
	guests      *guest.Service
	names       Names
	templates   *Templates
	timeout     time.Duration
	name        string
	clock       func() time.Time
}

// New checks cfg and returns a Mailer. Errors wrap ErrInvalidConfig and
// name the field at fault; none shows the SMTP password.
func New(cfg Config) (*Mailer, error) {
	server, err := parseSMTP(cfg.SMTP, cfg.TLSConfig, cfg.RequireTLS)
	if err != nil {
		return nil, err
	}
	m := &Mailer{server: server, invitations: cfg.Invitations, guests: cfg.Guests, names: cfg.Names,
		templates: cfg.Templates, timeout: cfg.Timeout, name: cfg.Name, clock: cfg.Clock}
	if m.from, m.fromDomain, err = parseFrom(cfg.From); err != nil {
		return nil, err
	}
	if m.accept, err = parseAcceptURL(cfg.AcceptURL); err != nil {
		return nil, err
	}
	switch {
	case cfg.Invitations == nil && cfg.Guests == nil:
		return nil, invalid("Invitations or Guests is required: without either there is nothing to send")
	case cfg.Templates != nil && cfg.Templates.subject == nil:
		return nil, invalid("Templates must come from NewTemplates, ParseFS or DefaultTemplates")
	case cfg.Timeout < 0:
		return nil, invalid("Timeout must not be negative")
	}
	if m.templates == nil {
		m.templates = DefaultTemplates()
	}
	if m.timeout == 0 {
		m.timeout = DefaultTimeout
	}
	if m.name == "" {
		m.name = DefaultName
	}
	if m.clock == nil {
		m.clock = time.Now
	}
	return m, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
}

func parseFrom(from string) (*mail.Address, string, error) {
	if from == "" {
		return nil, "", invalid("From is required")
	}
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, "", invalid("From %q: %v", from, err)
	}
	at := strings.LastIndexByte(addr.Address, '@')
	if at < 0 || at == len(addr.Address)-1 {
		return nil, "", invalid("From %q has no domain", from)
	}
	return addr, addr.Address[at+1:], nil
}

func parseAcceptURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, invalid("AcceptURL is required")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, invalid("AcceptURL %q is not a URL", s)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, invalid("AcceptURL %q must be an absolute http or https URL", u.Redacted())
	}
	return u, nil
}

// Subscriber returns the Mailer as an outbox subscriber named Config.Name.
func (m *Mailer) Subscriber() outbox.Subscriber { return outbox.Func(m.name, m.Send) }

// Send emails the invitation ev is about, when ev asks for an email, and
// returns nil once the SMTP server accepted it or when there is nothing to
// send.
//
// Only invitation.created, invitation.resent, guest_invitation.created
// and guest_invitation.resent send (and only with the matching service in
// Config); every other event returns nil. Events carry no token, so Send
// reads the invitation through its service and links the token the
// invitation has now. It sends nothing, and returns nil, when the
// invitation is gone (deleted), no longer open at the service's clock
// (accepted, revoked, expired, archived), or was sent again after ev (its
// SentAt or LastInvitationSentAt is after ev.OccurredAt): the later resend
// event sends the current link, so one link is never emailed twice by two
// events.
//
// The email goes to the invitation's address from Config.From, as
// multipart/alternative with a text/plain and a text/html part. Its
// Message-ID is derived from ev.ID and the From domain, so the copies a
// repeated delivery (the relay delivers at least once) produces are
// recognisable as one message.
//
// Errors: a recipient the server refuses permanently (a 5xx reply to RCPT
// TO) is an outbox.Permanent error, as is a template that fails on this
// invitation: retrying cannot help. Everything else (the store or Names
// failing, the server unreachable, slow, refusing AUTH, or replying 4xx)
// is a plain error, which the relay retries with backoff, so nothing is
// lost while the server is down. Send honours ctx and gives up after
// Config.Timeout.
func (m *Mailer) Send(ctx context.Context, ev event.Event) error {
	var (
		to   string
		data Data
		err  error
	)
	switch ev.Type {
	case event.InvitationCreated, event.InvitationResent:
		if m.invitations == nil {
			return nil
		}
		to, data, err = m.organizationData(ctx, ev)
	case event.GuestInvitationCreated, event.GuestInvitationResent:
		if m.guests == nil {
			return nil
		}
		to, data, err = m.guestData(ctx, ev)
	default:
		return nil
	}
	if errors.Is(err, errNothingToSend) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mail: %s %s: %w", ev.Type, ev.ID, err)
	}
	return m.send(ctx, ev, to, data)
}

// errNothingToSend says the event's invitation needs no email (any more).
var errNothingToSend = errors.New("nothing to send")

// organizationData loads an organization invitation and returns its
// recipient and template data.
func (m *Mailer) organizationData(ctx context.Context, ev event.Event) (string, Data, error) {
	inv, err := m.invitations.Get(ctx, ev.OrganizationID, ev.InvitationID)
	if err != nil {
		return "", Data{}, loadErr(err)
	}
	if !inv.Open(m.invitations.Now()) || inv.SentAt.After(ev.OccurredAt) {
		return "", Data{}, errNothingToSend
	}
	d := Data{Kind: KindOrganization, Role: inv.Role, Email: inv.Email, ExpiresAt: inv.ExpireAt.UTC(),
		Link: m.link(m.invitations.Token(inv)), Resend: ev.Type == event.InvitationResent}
	if d.OrganizationName, err = m.organizationName(ctx, inv.OrganizationID); err != nil {
		return "", Data{}, err
	}
	if inv.InviterID != "" && m.names != nil {
		if d.InviterName, err = known(m.names.InviterName(ctx, inv.OrganizationID, inv.InviterID)); err != nil {
			return "", Data{}, fmt.Errorf("names: inviter %q: %w", inv.InviterID, err)
		}
	}
	return inv.Email, d, nil
}

// guestData loads a guest invitation and returns its recipient and
// template data.
func (m *Mailer) guestData(ctx context.Context, ev event.Event) (string, Data, error) {
	inv, err := m.guests.Get(ctx, ev.OrganizationID, ev.InvitationID)
	if err != nil {
		return "", Data{}, loadErr(err)
	}
	if !inv.Open(m.guests.Now()) || inv.LastInvitationSentAt.After(ev.OccurredAt) {
		return "", Data{}, errNothingToSend
	}
	d := Data{Kind: KindGuest, Email: inv.Email, ExpiresAt: inv.ExpiredAt.UTC(),
		Link: m.link(m.guests.Token(inv)), Resend: ev.Type == event.GuestInvitationResent}
	if d.OrganizationName, err = m.organizationName(ctx, inv.HostOrganizationID); err != nil {
		return "", Data{}, err
	}
	return inv.Email, d, nil
}

// loadErr turns a deleted invitation into nothing to send; any other
// failure is returned for a retry.
func loadErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return errNothingToSend
	}
	return err
}

// organizationName asks Names for the organization's name; "" when there
// is no Names or it does not know the organization.
func (m *Mailer) organizationName(ctx context.Context, id uuid.UUID) (string, error) {
	if m.names == nil {
		return "", nil
	}
	name, err := known(m.names.OrganizationName(ctx, id))
	if err != nil {
		return "", fmt.Errorf("names: organization %s: %w", id, err)
	}
	return name, nil
}

// known maps a name lookup's not found to no name, and makes a name one
// line: a line break in a display name can only be a mistake or an attack.
func known(name string, err error) (string, error) {
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return oneLine(name), err
}

// link returns the accept URL carrying tok.
func (m *Mailer) link(tok string) string {
	u := *m.accept
	q := u.Query()
	q.Set("token", tok)
	u.RawQuery = q.Encode()
	return u.String()
}
