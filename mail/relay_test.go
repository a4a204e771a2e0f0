package mail_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/internal/smtptest"
	"github.com/invitekit/invitekit/mail"
	"github.com/invitekit/invitekit/outbox"
	"github.com/invitekit/invitekit/store"
)

// Creating an organization invitation emails it through the relay, and the
// link in the email accepts it.
func TestRelayEmailsOrganizationInvitation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil)
	f.run(f.mailer(nil).Subscriber())

	inv := f.createOrg("Dev@Example.com")
	m := f.srv.Wait(t, 1, wait)[0]
	created := f.onlyEvent(event.InvitationCreated)
	assert.Equal(t, "invites@acme.test", m.From, "envelope sender")
	assert.Equal(t, []string{"dev@example.com"}, m.To, "envelope recipient: the normalised email")
	assert.Equal(t, `"Acme Invites" <invites@acme.test>`, m.Header.Get("From"))
	assert.Equal(t, "<dev@example.com>", m.Header.Get("To"))
	assert.Equal(t, "You're invited to Acme", m.Subject)
	assert.Equal(t, "<"+created.ID.String()+"@acme.test>", m.Header.Get("Message-Id"))
	assert.NotEmpty(t, m.Header.Get("Date"))
	assert.True(t, strings.HasPrefix(m.Header.Get("Content-Type"), "multipart/alternative;"), m.Header.Get("Content-Type"))
	assert.False(t, m.TLS, "the plain server offers no STARTTLS")

	link := acceptURL + "?token=" + f.orgs.Token(inv)
	assert.Equal(t, link, m.Link())
	for _, part := range []string{m.Text, m.HTML} {
		assert.Contains(t, part, "Ada Lovelace has invited you to join")
		assert.Contains(t, part, "as developer")
		assert.Contains(t, part, inv.ExpireAt.Format("2 January 2006 15:04 MST"))
		assert.Positive(t, strings.Count(part, link))
		assert.Equal(t, strings.Count(part, link), strings.Count(part, f.orgs.Token(inv)), "the token appears only in the link")
	}
	assert.Contains(t, m.HTML, `<a href="`+link+`" `, "the button links to the accept page")
	assert.NotContains(t, m.Text, "<", "the text part is plain")

	accepted, err := f.orgs.Accept(context.Background(), tokenOf(t, m), "dev@example.com")
	require.NoError(t, err)
	assert.Equal(t, inv.ID, accepted.ID)
}

// Creating a guest invitation emails it, and the guest accepts with the
// link's token.
func TestRelayEmailsGuestInvitation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil)
	f.run(f.mailer(nil).Subscriber())

	inv := f.createGuest("guest@example.com")
	m := f.srv.Wait(t, 1, wait)[0]
	created := f.onlyEvent(event.GuestInvitationCreated)
	assert.Equal(t, []string{"guest@example.com"}, m.To)
	assert.Equal(t, "You're invited as a guest to Acme", m.Subject)
	assert.Equal(t, "<"+created.ID.String()+"@acme.test>", m.Header.Get("Message-Id"))
	assert.Equal(t, acceptURL+"?token="+f.guests.Token(inv), m.Link())
	assert.Contains(t, m.Text, "You have been invited to join Acme as a guest.")
	assert.Contains(t, m.HTML, "You have been invited to join <strong>Acme</strong> as a guest.")

	accepted, err := f.guests.AcceptByGuest(context.Background(), tokenOf(t, m))
	require.NoError(t, err)
	assert.Equal(t, inv.ID, accepted.ID)
}

// A resend emails the new link; the first email's link is dead.
func TestRelayResendReplacesLink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, nil)
	f.run(f.mailer(nil).Subscriber())

	inv := f.createOrg("dev@example.com")
	first := f.srv.Wait(t, 1, wait)[0]
	_, err := f.orgs.Resend(ctx, f.org, inv.ID)
	require.NoError(t, err)
	second := f.srv.Wait(t, 2, wait)[1]

	assert.Equal(t, "Reminder: You're invited to Acme", second.Subject)
	assert.Contains(t, second.Text, "only the link below works")
	assert.NotEqual(t, first.Header.Get("Message-Id"), second.Header.Get("Message-Id"))
	old, cur := tokenOf(t, first), tokenOf(t, second)
	require.NotEqual(t, old, cur)
	_, err = f.orgs.Inspect(ctx, old)
	assert.ErrorIs(t, err, store.ErrInvalidToken)
	_, err = f.orgs.Accept(ctx, old, "dev@example.com")
	assert.ErrorIs(t, err, store.ErrInvalidToken)
	_, err = f.orgs.Accept(ctx, cur, "dev@example.com")
	assert.NoError(t, err)
}

// While the SMTP server is down every send fails and is retried; once a
// server listens where the Mailer points, every email arrives and every
// link works.
func TestRelayLosesNothingWhileSMTPIsDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// The mail server is down: its port hangs up on every connection
	// until the server starts below, on the same listener, so no other
	// process can take the port in between.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	down := make(chan struct{})
	go func() {
		defer close(down)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()

	f := newFixture(t, nil, nil)
	m := f.mailer(func(c *mail.Config) { c.SMTP = "smtp://" + addr })
	var failures atomic.Int64
	sub := m.Subscriber()
	f.run(outbox.Func(sub.Name, func(ctx context.Context, ev event.Event) error {
		err := sub.Deliver(ctx, ev)
		if err != nil {
			failures.Add(1)
		}
		return err
	}))

	const n = 10
	want := make(map[string]bool)
	for i := range n {
		org, gst := fmt.Sprintf("member%d@example.com", i), fmt.Sprintf("guest%d@example.com", i)
		f.createOrg(org)
		f.createGuest(gst)
		want[org], want[gst] = true, true
	}
	require.Eventually(t, func() bool { return failures.Load() >= 2*n }, wait, pollEvery,
		"every invitation's first send fails while the server is down")

	tcp := ln.(*net.TCPListener)
	require.NoError(t, tcp.SetDeadline(time.Now())) // ends the hanging-up loop
	<-down
	require.NoError(t, tcp.SetDeadline(time.Time{}))
	srv := smtptest.NewServer(t, smtptest.WithListener(ln))
	srv.Wait(t, 2*n, wait)
	// At least once: a repeat may stand in for another's email among the
	// first 2n, so wait for every recipient.
	require.Eventually(t, func() bool { return len(recipients(srv.Messages())) == 2*n }, wait, pollEvery)
	got := make(map[string]bool)
	for _, msg := range srv.Messages() {
		require.Len(t, msg.To, 1)
		rcpt := msg.To[0]
		if got[rcpt] {
			continue // at least once: a repeat is allowed, and its link was already used
		}
		got[rcpt] = true
		tok := tokenOf(t, msg)
		if strings.HasPrefix(rcpt, "guest") {
			_, err = f.guests.AcceptByGuest(ctx, tok)
		} else {
			_, err = f.orgs.Accept(ctx, tok, rcpt)
		}
		assert.NoError(t, err, rcpt)
	}
	assert.Equal(t, want, got, "every recipient got an email")
}

func recipients(msgs []smtptest.Message) map[string]bool {
	got := make(map[string]bool)
	for _, m := range msgs {
		for _, to := range m.To {
			got[to] = true
		}
	}
	return got
}
