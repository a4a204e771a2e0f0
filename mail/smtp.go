package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	gomail "github.com/wneessen/go-mail"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/outbox"
)

// smtpServer is Config.SMTP, parsed.
type smtpServer struct {
	host        string
	port        int
	implicitTLS bool
	user, pass  string
	hasUser     bool
	tls         *tls.Config
	// tlsPolicy is STARTTLS when offered, or mandatory when the URL has
	// credentials or Config.RequireTLS is set.
	tlsPolicy gomail.TLSPolicy
	logAddr   string // host:port, for messages: never the credentials
}

// parseSMTP checks Config.SMTP. Its errors never repeat the URL, which may
// hold a password.
func parseSMTP(s string, tlsConfig *tls.Config, requireTLS bool) (smtpServer, error) {
	srv := smtpServer{tlsPolicy: gomail.TLSOpportunistic}
	if s == "" {
		return srv, invalid("SMTP is required")
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // *url.Error quotes the whole URL
		}
		return srv, invalid("SMTP is not a URL: %v", err)
	}
	switch u.Scheme {
	case "smtp":
		srv.port = 25
	case "smtps":
		srv.port, srv.implicitTLS = 465, true
	default:
		return srv, invalid("SMTP must be an smtp:// or smtps:// URL, not %q", u.Scheme)
	}
	srv.host = u.Hostname()
	if srv.host == "" {
		return srv, invalid("SMTP %q has no host", u.Redacted())
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return srv, invalid("SMTP %q: port must be 1 to 65535", u.Redacted())
		}
		srv.port = n
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return srv, invalid("SMTP %q must have no path, query or fragment", u.Redacted())
	}
	if u.User != nil {
		srv.user, srv.hasUser = u.User.Username(), true
		srv.pass, _ = u.User.Password()
	}
	if (srv.hasUser || requireTLS) && !srv.implicitTLS {
		// A server that authenticates must encrypt: without TLS the
		// credentials, or a hash of them, and the links would cross the
		// network in clear, to anyone who strips the STARTTLS offer.
		srv.tlsPolicy = gomail.TLSMandatory
	}
	srv.logAddr = net.JoinHostPort(srv.host, strconv.Itoa(srv.port))
	srv.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	if tlsConfig != nil {
		srv.tls = tlsConfig.Clone()
	}
	if srv.tls.ServerName == "" {
		srv.tls.ServerName = srv.host
	}
	return srv, nil
}

// send renders the email of ev and hands it to the server.
func (m *Mailer) send(ctx context.Context, ev event.Event, to string, d Data) error {
	r, err := m.templates.render(d)
	if err != nil {
		// The same templates on the same invitation fail the same way.
		return outbox.Permanent(fmt.Errorf("mail: %s %s: %w", ev.Type, ev.ID, err))
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(m.from)
	if err := msg.To(to); err != nil {
		return outbox.Permanent(fmt.Errorf("mail: %s %s: recipient: %w", ev.Type, ev.ID, err))
	}
	msg.Subject(r.subject)
	msg.SetMessageIDWithValue(ev.ID.String() + "@" + m.fromDomain)
	msg.SetDateWithValue(m.clock())
	msg.SetBodyString(gomail.TypeTextPlain, r.text)
	msg.AddAlternativeString(gomail.TypeTextHTML, r.html)

	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	err = m.dialAndSend(ctx, msg)
	if err == nil {
		return nil
	}
	if cause := context.Cause(ctx); cause != nil {
		// The connection was closed under the client: say why.
		err = fmt.Errorf("%w: %w", cause, err)
	}
	err = fmt.Errorf("mail: %s %s: send to %s via %s: %w", ev.Type, ev.ID, to, m.server.logAddr, err)
	if m.server.pass != "" && strings.Contains(err.Error(), m.server.pass) {
		err = &redacted{msg: strings.ReplaceAll(err.Error(), m.server.pass, "xxxxx"), err: err}
	}
	if rejected(err) {
		return outbox.Permanent(err)
	}
	return err
}

// dialAndSend delivers msg over one connection that lives no longer than
// ctx.
func (m *Mailer) dialAndSend(ctx context.Context, msg *gomail.Msg) error {
	opts := []gomail.Option{
		gomail.WithPort(m.server.port),
		// ctx is the bound: it closes the connection (see dial). go-mail's
		// own per-command deadline stays beyond it as a backstop, so that
		// the error a timeout gives names ctx's deadline.
		gomail.WithTimeout(2 * m.timeout),
		gomail.WithTLSPolicy(m.server.tlsPolicy),
		gomail.WithTLSConfig(m.server.tls),
		gomail.WithDialContextFunc(m.dialer(ctx)),
		gomail.WithoutNoop(),
		// One message per connection: a RSET after it only gives a server
		// that hangs up a way to fail a delivery it has made.
		gomail.WithoutRset(),
	}
	if m.server.hasUser {
		// Auto-discovery picks the strongest mechanism the server offers;
		// the mandatory TLS policy (parseSMTP) has encrypted the
		// connection before any of them runs.
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(m.server.user), gomail.WithPassword(m.server.pass))
	}
	client, err := gomail.NewClient(m.server.host, opts...)
	if err != nil {
		return err
	}
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	if err := client.SendWithSMTPClient(conn, msg); err != nil {
		return err
	}
	// The server has taken the message: a QUIT that fails must not make
	// the relay send it again.
	_ = client.CloseWithSMTPClient(conn)
	return nil
}

// dialer connects for one send. go-mail's own dialer would honour ctx only
// while dialing, so the connection is closed when ctx ends: a server that
// stalls mid-conversation cannot hold a send beyond its timeout or its
// caller's cancellation. With smtps it dials TLS itself; go-mail then sees
// a TLS connection, offers no STARTTLS and counts it as encrypted for AUTH.
func (m *Mailer) dialer(ctx context.Context) gomail.DialContextFunc {
	return func(dialCtx context.Context, network, addr string) (net.Conn, error) {
		d := &net.Dialer{}
		var conn net.Conn
		var err error
		if m.server.implicitTLS {
			conn, err = (&tls.Dialer{NetDialer: d, Config: m.server.tls}).DialContext(dialCtx, network, addr)
		} else {
			conn, err = d.DialContext(dialCtx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		context.AfterFunc(ctx, func() { _ = conn.Close() })
		return conn, nil
	}
}

// rejected reports a recipient the server refused for good: a 5xx reply to
// RCPT TO. A 4xx reply, or a connection lost during RCPT, is temporary.
func rejected(err error) bool {
	var se *gomail.SendError
	return errors.As(err, &se) && se.Reason == gomail.ErrSMTPRcptTo && !se.IsTemp() &&
		se.ErrorCode() >= 500 && se.ErrorCode() <= 599
}

// redacted is an error whose message has the SMTP password masked, in case
// a server or library repeats it; errors.Is and errors.As still see the
// original.
type redacted struct {
	msg string
	err error
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }
