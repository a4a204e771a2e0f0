package mail_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/internal/smtptest"
	"github.com/invitekit/invitekit/mail"
	"github.com/invitekit/invitekit/outbox"
	"github.com/invitekit/invitekit/storetest"
)

var testNow = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

// Events that need no email return nil and send nothing: every other
// type, and invitations that are gone, closed, or overtaken by a resend.
// Each case would send if its check were missing.
func TestSendSkips(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	type fixtureChange func(f *fixture, clock *storetest.Clock, id uuid.UUID)
	expire := func(_ *fixture, clock *storetest.Clock, _ uuid.UUID) { clock.Advance(8 * 24 * time.Hour) }
	type test struct {
		name  string
		guest bool // the invitation created is a guest invitation
		// after changes the invitation once its created event is recorded.
		after fixtureChange
		// typ, when set, replaces the type of the created event sent.
		typ    event.Type
		change func(*mail.Config)
	}
	tests := []test{
		{name: "organization accepted", after: func(f *fixture, _ *storetest.Clock, id uuid.UUID) {
			inv, err := f.orgs.Get(ctx, f.org, id)
			require.NoError(t, err)
			_, err = f.orgs.Accept(ctx, f.orgs.Token(inv), inv.Email)
			require.NoError(t, err)
		}},
		{name: "organization revoked", after: func(f *fixture, _ *storetest.Clock, id uuid.UUID) {
			_, err := f.orgs.Revoke(ctx, f.org, id)
			require.NoError(t, err)
		}},
		{name: "organization deleted", after: func(f *fixture, _ *storetest.Clock, id uuid.UUID) {
			require.NoError(t, f.orgs.Delete(ctx, f.org, id))
		}},
		{name: "organization expired", after: expire},
		{name: "organization superseded by a resend", after: func(f *fixture, clock *storetest.Clock, id uuid.UUID) {
			clock.Advance(time.Minute)
			_, err := f.orgs.Resend(ctx, f.org, id)
			require.NoError(t, err)
		}},
		{name: "organization event without Invitations", change: func(c *mail.Config) { c.Invitations = nil }},
		{name: "guest accepted", guest: true, after: func(f *fixture, _ *storetest.Clock, id uuid.UUID) {
			_, err := f.guests.AcceptBySystem(ctx, f.org, id)
			require.NoError(t, err)
		}},
		{name: "guest archived", guest: true, after: func(f *fixture, _ *storetest.Clock, id uuid.UUID) {
			_, err := f.guests.SetArchived(ctx, f.org, id, true)
			require.NoError(t, err)
		}},
		{name: "guest deleted", guest: true, after: func(f *fixture, _ *storetest.Clock, id uuid.UUID) {
			require.NoError(t, f.guests.Delete(ctx, f.org, id))
		}},
		{name: "guest expired", guest: true, after: expire},
		{name: "guest superseded by a resend", guest: true, after: func(f *fixture, clock *storetest.Clock, id uuid.UUID) {
			clock.Advance(time.Minute)
			_, err := f.guests.Resend(ctx, f.org, id, nil)
			require.NoError(t, err)
		}},
		{name: "guest event without Guests", guest: true, change: func(c *mail.Config) { c.Guests = nil }},
	}
	// Every type but the four that send, about an open invitation.
	for _, typ := range event.Types {
		switch typ {
		case event.InvitationCreated, event.InvitationResent, event.GuestInvitationCreated, event.GuestInvitationResent:
			continue
		}
		tests = append(tests, test{name: "type " + string(typ), typ: typ})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := storetest.NewClock(testNow)
			f := newFixture(t, clock.Now, nil)
			m := f.mailer(tt.change)
			id, created := f.createOrg("dev@example.com").ID, event.InvitationCreated
			if tt.guest {
				id, created = f.createGuest("guest@example.com").ID, event.GuestInvitationCreated
			}
			ev := f.onlyEvent(created)
			if tt.after != nil {
				tt.after(f, clock, id)
			}
			if tt.typ != "" {
				ev.Type = tt.typ
			}
			assert.NoError(t, m.Send(ctx, ev))
			assert.Empty(t, f.srv.Messages())
		})
	}
}

// The resend that overtook a created event sends, and its link works.
func TestSendResendAfterCreated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := storetest.NewClock(testNow)
	f := newFixture(t, clock.Now, nil)
	m := f.mailer(func(c *mail.Config) { c.Clock = func() time.Time { return testNow } })
	inv := f.createGuest("guest@example.com")
	clock.Advance(time.Minute)
	_, err := f.guests.Resend(ctx, f.org, inv.ID, nil)
	require.NoError(t, err)

	require.NoError(t, m.Send(ctx, f.events(event.GuestInvitationCreated)[0]))
	require.NoError(t, m.Send(ctx, f.events(event.GuestInvitationResent)[0]))
	msgs := f.srv.Wait(t, 1, wait)
	require.Len(t, f.srv.Messages(), 1, "only the resend sends")
	assert.Equal(t, "Reminder: You're invited as a guest to Acme", msgs[0].Subject)
	assert.Equal(t, "Fri, 02 Jan 2026 15:04:05 +0000", msgs[0].Header.Get("Date"), "Date comes from Config.Clock")
	_, err = f.guests.AcceptByGuest(ctx, tokenOf(t, msgs[0]))
	assert.NoError(t, err)
}

// Failures that a retry may cure are plain errors; the names directory
// may not know an organization or inviter, which is no failure.
func TestSendErrorsAndUnknownNames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("store down", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil, nil)
		f.createOrg("dev@example.com")
		ev := f.events(event.InvitationCreated)[0]
		require.NoError(t, f.store.Close())
		err := f.mailer(nil).Send(ctx, ev)
		require.Error(t, err)
		assert.False(t, outbox.IsPermanent(err))
		assert.Empty(t, f.srv.Messages())
	})
	t.Run("names failing", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil, nil)
		f.createOrg("dev@example.com")
		f.names.set(func(n *names) { n.err = errors.New("directory down") })
		err := f.mailer(nil).Send(ctx, f.events(event.InvitationCreated)[0])
		require.ErrorContains(t, err, "directory down")
		assert.False(t, outbox.IsPermanent(err))
		assert.Empty(t, f.srv.Messages())
	})
	t.Run("names not knowing", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil, nil)
		f.createOrg("dev@example.com")
		f.names.set(func(n *names) { n.orgs, n.inviters = nil, nil })
		require.NoError(t, f.mailer(nil).Send(ctx, f.events(event.InvitationCreated)[0]))
		m := f.srv.Wait(t, 1, wait)[0]
		assert.Equal(t, "You're invited to an organization", m.Subject)
		assert.Contains(t, m.Text, "You have been invited to join an organization as developer.")
	})
	t.Run("no names", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil, nil)
		f.createGuest("guest@example.com")
		require.NoError(t, f.mailer(func(c *mail.Config) { c.Names = nil }).Send(ctx, f.events(event.GuestInvitationCreated)[0]))
		m := f.srv.Wait(t, 1, wait)[0]
		assert.Equal(t, "You're invited as a guest to an organization", m.Subject)
	})
}

// sendOne creates an organization invitation for to and sends its created
// event with a Mailer on srv.
func sendOne(t *testing.T, srv *smtptest.Server, to string, change func(*mail.Config)) (*fixture, error) {
	t.Helper()
	f := newFixture(t, nil, srv)
	f.createOrg(to)
	return f, f.mailer(change).Send(context.Background(), f.events(event.InvitationCreated)[0])
}

func TestSendOverTLS(t *testing.T) {
	t.Parallel()
	t.Run("STARTTLS when offered", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.NewServer(t, smtptest.WithStartTLS())
		_, err := sendOne(t, srv, "dev@example.com", nil)
		require.NoError(t, err)
		assert.True(t, srv.Wait(t, 1, wait)[0].TLS)
	})
	t.Run("smtps", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.NewServer(t, smtptest.WithImplicitTLS())
		require.True(t, strings.HasPrefix(srv.URL(), "smtps://"))
		_, err := sendOne(t, srv, "dev@example.com", nil)
		require.NoError(t, err)
		assert.True(t, srv.Wait(t, 1, wait)[0].TLS)
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.NewServer(t, smtptest.WithStartTLS())
		_, err := sendOne(t, srv, "dev@example.com", func(c *mail.Config) { c.TLSConfig = nil })
		require.ErrorContains(t, err, "certificate")
		assert.False(t, outbox.IsPermanent(err))
		assert.Empty(t, srv.Messages())
	})
}

func TestSendAuthenticates(t *testing.T) {
	t.Parallel()
	const user, pass = "mailer", "s3cret:p@ss/word"
	t.Run("credentials from the URL", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.NewServer(t, smtptest.WithStartTLS(), smtptest.WithAuth(user, pass))
		_, err := sendOne(t, srv, "dev@example.com", nil)
		require.NoError(t, err)
		assert.Equal(t, user, srv.Wait(t, 1, wait)[0].User)
	})
	t.Run("wrong password", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.NewServer(t, smtptest.WithImplicitTLS(), smtptest.WithAuth(user, pass))
		const wrong = "wr0ng-hunter2"
		_, err := sendOne(t, srv, "dev@example.com", func(c *mail.Config) {
			c.SMTP = "smtps://" + user + ":" + wrong + "@" + srv.Addr()
		})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "535")
		assert.NotContains(t, err.Error(), wrong)
		assert.False(t, outbox.IsPermanent(err), "credentials can be fixed; the relay retries")
		assert.Empty(t, srv.Messages())
	})
}

// Credentials, and any email with RequireTLS, go only over TLS: a server
// that offers no STARTTLS (or a network attacker who strips the offer)
// gets neither.
func TestSendRefusesCleartext(t *testing.T) {
	t.Parallel()
	for name, change := range map[string]func(*mail.Config){
		"credentials": func(c *mail.Config) {
			c.SMTP = strings.Replace(c.SMTP, "smtp://", "smtp://mailer:hunter2@", 1)
		},
		"RequireTLS": func(c *mail.Config) { c.RequireTLS = true },
	} {
		srv := smtptest.NewServer(t) // no STARTTLS
		_, err := sendOne(t, srv, "dev@example.com", change)
		require.Error(t, err, name)
		assert.NotContains(t, err.Error(), "hunter2", name)
		assert.False(t, outbox.IsPermanent(err), "%s: a server can be fixed; the relay retries", name)
		assert.Empty(t, srv.Messages(), name)
	}
}

// A server that takes the message and then fails QUIT has the message:
// Send reports success, so the relay does not send it again.
func TestSendSucceedsWhenOnlyQuitFails(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	delivered := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		say := func(line string) { _, _ = fmt.Fprintf(c, "%s\r\n", line) }
		say("220 localhost ESMTP")
		var data strings.Builder
		for inData := false; ; {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
			case inData && cmd == ".":
				say("250 queued")
				delivered <- data.String()
				return // hang up instead of answering QUIT
			case inData:
				data.WriteString(line)
			case strings.HasPrefix(cmd, "EHLO"):
				say("250 localhost")
			case cmd == "DATA":
				say("354 go ahead")
				inData = true
			default:
				say("250 ok")
			}
		}
	}()
	_, err = sendOne(t, nil, "dev@example.com", func(c *mail.Config) { c.SMTP = "smtp://" + ln.Addr().String() })
	assert.NoError(t, err)
	assert.Contains(t, <-delivered, "To: <dev@example.com>")
}

// A recipient refused for good ends the event; a temporary refusal is
// retried.
func TestSendRecipientRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		code      int
		permanent bool
	}{{550, true}, {451, false}} {
		srv := smtptest.NewServer(t, smtptest.WithRecipientReply("dev@example.com", tt.code, "not now or never"))
		_, err := sendOne(t, srv, "dev@example.com", nil)
		require.Error(t, err, tt.code)
		assert.Contains(t, err.Error(), "not now or never", tt.code)
		assert.Equal(t, tt.permanent, outbox.IsPermanent(err), tt.code)
		assert.Empty(t, srv.Messages(), tt.code)
	}
}

// silentServer accepts connections and never says a word. accepted
// receives once per connection.
func silentServer(t *testing.T) (addr string, accepted <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ch := make(chan struct{}, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			ch <- struct{}{}
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
	})
	return ln.Addr().String(), ch
}

func TestSendGivesUp(t *testing.T) {
	t.Parallel()
	t.Run("after Timeout", func(t *testing.T) {
		t.Parallel()
		addr, _ := silentServer(t)
		start := time.Now()
		_, err := sendOne(t, nil, "dev@example.com", func(c *mail.Config) {
			c.SMTP, c.Timeout = "smtp://"+addr, 200*time.Millisecond
		})
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), wait, "well before the test's own patience runs out")
		assert.False(t, outbox.IsPermanent(err))
	})
	t.Run("when ctx is cancelled", func(t *testing.T) {
		t.Parallel()
		addr, accepted := silentServer(t)
		f := newFixture(t, nil, nil)
		f.createOrg("dev@example.com")
		m := f.mailer(func(c *mail.Config) { c.SMTP = "smtp://" + addr }) // Timeout: wait
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-accepted
			cancel()
		}()
		err := m.Send(ctx, f.events(event.InvitationCreated)[0])
		assert.ErrorIs(t, err, context.Canceled)
	})
}

// Names are shown, not obeyed: escaped in HTML, and never a header.
func TestSendEscapes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("HTML", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil, nil)
		const evil = `<script>alert(1)</script>`
		f.names.set(func(n *names) { n.orgs[f.org] = evil })
		f.createOrg("dev@example.com")
		require.NoError(t, f.mailer(nil).Send(ctx, f.events(event.InvitationCreated)[0]))
		m := f.srv.Wait(t, 1, wait)[0]
		assert.Contains(t, m.HTML, "&lt;script&gt;alert(1)&lt;/script&gt;")
		assert.NotContains(t, m.HTML, "<script")
		assert.Contains(t, m.Text, evil)
		assert.Equal(t, "You're invited to "+evil, m.Subject)
	})
	t.Run("header injection", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil, nil)
		f.names.set(func(n *names) {
			n.orgs[f.org] = "Acme\r\nBcc: victim@attacker.test\r\n\r\nforged body"
			n.inviters["user_1"] = "Ada\r\nCc: victim@attacker.test"
		})
		f.createOrg("dev@example.com")
		require.NoError(t, f.mailer(nil).Send(ctx, f.events(event.InvitationCreated)[0]))
		m := f.srv.Wait(t, 1, wait)[0]
		assert.Equal(t, []string{"dev@example.com"}, m.To)
		assert.Empty(t, m.Header.Get("Bcc"))
		assert.Empty(t, m.Header.Get("Cc"))
		assert.Equal(t, "You're invited to Acme Bcc: victim@attacker.test forged body", m.Subject)
		head, _, _ := strings.Cut(string(m.Raw), "\r\n\r\n")
		assert.NotRegexp(t, `(?m)^(Bcc|Cc):`, head)
		assert.Contains(t, m.Text, "Ada Cc: victim@attacker.test has invited you to join Acme Bcc: victim@attacker.test forged body as developer.",
			"names are one line in the body too")
	})
}

func TestSendWithOverriddenTemplates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("strings", func(t *testing.T) {
		t.Parallel()
		tmpl, err := mail.NewTemplates(
			`Join {{.OrganizationName}} as {{.Role}}`,
			"Kind {{.Kind}}, resend {{.Resend}}: {{.Link}}",
			`<p>{{.InviterName}} <a href="{{.Link}}">join</a></p>`)
		require.NoError(t, err)
		f := newFixture(t, nil, nil)
		inv := f.createOrg("dev@example.com")
		require.NoError(t, f.mailer(func(c *mail.Config) { c.Templates = tmpl }).Send(ctx, f.events(event.InvitationCreated)[0]))
		m := f.srv.Wait(t, 1, wait)[0]
		link := acceptURL + "?token=" + f.orgs.Token(inv)
		assert.Equal(t, "Join Acme as developer", m.Subject)
		assert.Equal(t, "Kind organization, resend false: "+link, m.Text)
		assert.Equal(t, `<p>Ada Lovelace <a href="`+link+`">join</a></p>`, m.HTML)
	})
	t.Run("fs with only a subject", func(t *testing.T) {
		t.Parallel()
		tmpl, err := mail.ParseFS(fstest.MapFS{mail.SubjectFile: {Data: []byte("Welcome, {{.Email}}\n")}})
		require.NoError(t, err)
		f := newFixture(t, nil, nil)
		f.createGuest("guest@example.com")
		m := f.mailer(func(c *mail.Config) {
			c.Templates = tmpl
			c.AcceptURL = "https://app.test/accept?lang=en"
		})
		require.NoError(t, m.Send(ctx, f.events(event.GuestInvitationCreated)[0]))
		msg := f.srv.Wait(t, 1, wait)[0]
		assert.Equal(t, "Welcome, guest@example.com", msg.Subject, "one line, trimmed")
		assert.Contains(t, msg.Text, "You have been invited to join Acme as a guest.", "the default text stays")
		assert.True(t, strings.HasPrefix(msg.Link(), "https://app.test/accept?lang=en&token="), msg.Link())
	})
	t.Run("invalid", func(t *testing.T) {
		t.Parallel()
		_, err := mail.NewTemplates("{{.Nope}}", "", "")
		assert.ErrorContains(t, err, "Nope", "a field Data lacks fails at parse, not at send")
		_, err = mail.NewTemplates("", "{{if}}", "")
		assert.Error(t, err)
		_, err = mail.ParseFS(fstest.MapFS{mail.HTMLFile: {Data: []byte("{{.Link")}})
		assert.Error(t, err)
	})
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil)
	tests := []struct {
		name   string
		change func(*mail.Config)
		field  string
	}{
		{"no SMTP", func(c *mail.Config) { c.SMTP = "" }, "SMTP is required"},
		{"SMTP not a URL", func(c *mail.Config) { c.SMTP = "smtp://user:hunter2@host/%zz" }, "SMTP"},
		{"SMTP scheme", func(c *mail.Config) { c.SMTP = "https://mail.example.com" }, "SMTP"},
		{"SMTP host", func(c *mail.Config) { c.SMTP = "smtp://user:hunter2@:25" }, "SMTP"},
		{"SMTP port", func(c *mail.Config) { c.SMTP = "smtp://user:hunter2@mail.example.com:99999" }, "SMTP"},
		{"SMTP path", func(c *mail.Config) { c.SMTP = "smtp://user:hunter2@mail.example.com/inbox" }, "SMTP"},
		{"no From", func(c *mail.Config) { c.From = "" }, "From is required"},
		{"From not an address", func(c *mail.Config) { c.From = "Acme invites" }, "From"},
		{"no AcceptURL", func(c *mail.Config) { c.AcceptURL = "" }, "AcceptURL is required"},
		{"relative AcceptURL", func(c *mail.Config) { c.AcceptURL = "/accept" }, "AcceptURL"},
		{"AcceptURL scheme", func(c *mail.Config) { c.AcceptURL = "ftp://app.test/accept" }, "AcceptURL"},
		{"no service", func(c *mail.Config) { c.Invitations, c.Guests = nil, nil }, "Invitations or Guests"},
		{"zero Templates", func(c *mail.Config) { c.Templates = &mail.Templates{} }, "Templates"},
		{"negative Timeout", func(c *mail.Config) { c.Timeout = -time.Second }, "Timeout"},
	}
	for _, tt := range tests {
		cfg := f.config()
		tt.change(&cfg)
		_, err := mail.New(cfg)
		require.ErrorIs(t, err, mail.ErrInvalidConfig, tt.name)
		assert.Contains(t, err.Error(), tt.field, tt.name)
		assert.NotContains(t, err.Error(), "hunter2", tt.name)
	}

	m := f.mailer(nil)
	assert.Equal(t, mail.DefaultName, m.Subscriber().Name)
	assert.Equal(t, "email-eu", f.mailer(func(c *mail.Config) { c.Name = "email-eu" }).Subscriber().Name)
	_, err := mail.New(mail.Config{SMTP: "smtps://mail.example.com", From: "invites@acme.test",
		AcceptURL: acceptURL, Guests: f.guests, Templates: mail.DefaultTemplates()})
	assert.NoError(t, err, "the minimum")
}
