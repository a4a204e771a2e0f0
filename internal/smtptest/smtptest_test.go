package smtptest_test

import (
	"crypto/tls"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/internal/smtptest"
)

const wait = 10 * time.Second

// crlf writes a message with the line endings SMTP requires.
func crlf(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

// A message is read as a mail client would: encoded words decoded, the
// parts of nested multiparts found, each transfer encoding undone.
func TestServerParsesMessage(t *testing.T) {
	t.Parallel()
	srv := smtptest.NewServer(t)
	msg := crlf(
		"From: sender@example.com",
		"To: rcpt@example.com",
		"Subject: =?utf-8?q?Caf=C3=A9_invitation?=",
		"Content-Type: multipart/mixed; boundary=outer",
		"",
		"--outer",
		"Content-Type: multipart/alternative; boundary=inner",
		"",
		"--inner",
		"Content-Type: text/plain; charset=utf-8",
		"Content-Transfer-Encoding: quoted-printable",
		"",
		"Caf=C3=A9: https://app.test/accept?lang=3Den&token=3Dabc",
		"--inner",
		"Content-Type: text/html; charset=utf-8",
		"Content-Transfer-Encoding: base64",
		"",
		"PHA+Q2Fmw6k8L3A+",
		"--inner--",
		"--outer--",
	)
	require.NoError(t, smtp.SendMail(srv.Addr(), nil, "bounce@example.com", []string{"rcpt@example.com", "cc@example.com"}, msg))

	m := srv.Wait(t, 1, wait)[0]
	assert.NoError(t, m.Err)
	assert.Equal(t, "bounce@example.com", m.From)
	assert.Equal(t, []string{"rcpt@example.com", "cc@example.com"}, m.To)
	assert.False(t, m.TLS)
	assert.Empty(t, m.User)
	assert.Equal(t, "Café invitation", m.Subject)
	assert.Equal(t, "Café: https://app.test/accept?lang=en&token=abc", m.Text)
	assert.Equal(t, "<p>Café</p>", m.HTML)
	assert.Equal(t, "https://app.test/accept?lang=en&token=abc", m.Link())
	assert.Equal(t, msg, m.Raw)
	assert.Equal(t, "smtp://"+srv.Addr(), srv.URL())
	assert.Nil(t, srv.TLSConfig())
}

func TestServerLinkFromHTMLAndParseErrors(t *testing.T) {
	t.Parallel()
	srv := smtptest.NewServer(t)
	html := crlf("Subject: x", "Content-Type: text/html", "", `<a href="https://app.test/a?x=1&amp;token=t1">go</a>`)
	bad := crlf("Subject: x", "Content-Type: multipart/alternative", "", "no boundary")
	for _, msg := range [][]byte{html, bad} {
		require.NoError(t, smtp.SendMail(srv.Addr(), nil, "a@example.com", []string{"b@example.com"}, msg))
	}
	require.Eventually(t, func() bool { return len(srv.Messages()) == 2 }, wait, time.Millisecond)
	msgs := srv.Messages()
	assert.Equal(t, "https://app.test/a?x=1&token=t1", msgs[0].Link())
	assert.Error(t, msgs[1].Err, "a multipart without a boundary")
}

// Credentials are asked for, and only offered over TLS.
func TestServerSTARTTLSAndAuth(t *testing.T) {
	t.Parallel()
	srv := smtptest.NewServer(t, smtptest.WithStartTLS(), smtptest.WithAuth("u", "p@ss word"))
	assert.Equal(t, "smtp://u:p%40ss%20word@"+srv.Addr(), srv.URL())

	c, err := smtp.Dial(srv.Addr())
	require.NoError(t, err)
	defer c.Close()
	ok, _ := c.Extension("AUTH")
	assert.False(t, ok, "no AUTH before TLS")
	var tpErr *textproto.Error
	require.ErrorAs(t, c.Mail("a@example.com"), &tpErr, "MAIL needs AUTH")
	assert.Equal(t, 502, tpErr.Code)

	cfg := srv.TLSConfig()
	cfg.ServerName = "127.0.0.1"
	require.NoError(t, c.StartTLS(cfg))
	require.NoError(t, c.Auth(smtp.PlainAuth("", "u", "p@ss word", "127.0.0.1")))
	send(t, c, "rcpt@example.com")

	m := srv.Wait(t, 1, wait)[0]
	assert.True(t, m.TLS)
	assert.Equal(t, "u", m.User)
}

// A server can start where clients already point, speaking TLS at once.
func TestServerImplicitTLSAtAddr(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	srv := smtptest.NewServer(t, smtptest.WithImplicitTLS(), smtptest.WithAddr(addr))
	assert.Equal(t, "smtps://"+addr, srv.URL())
	conn, err := tls.Dial("tcp", addr, srv.TLSConfig()) // the certificate names 127.0.0.1
	require.NoError(t, err)
	c, err := smtp.NewClient(conn, "127.0.0.1")
	require.NoError(t, err)
	defer c.Close()
	ok, _ := c.Extension("STARTTLS")
	assert.False(t, ok, "no STARTTLS inside TLS")
	send(t, c, "rcpt@example.com")
	assert.True(t, srv.Wait(t, 1, wait)[0].TLS)
	srv.Close()
	srv.Close() // idempotent
}

func TestServerRecipientReply(t *testing.T) {
	t.Parallel()
	srv := smtptest.NewServer(t, smtptest.WithRecipientReply("gone@example.com", 550, "no such user"))
	c, err := smtp.Dial(srv.Addr())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Mail("a@example.com"))
	var tpErr *textproto.Error
	require.ErrorAs(t, c.Rcpt("gone@example.com"), &tpErr)
	assert.Equal(t, 550, tpErr.Code)
	assert.Equal(t, "no such user", tpErr.Msg)
	send(t, c, "ok@example.com")
	assert.Equal(t, []string{"ok@example.com"}, srv.Wait(t, 1, wait)[0].To, "the refused recipient is not recorded")
}

// send sends a minimal message to rcpt on c, after a reset.
func send(t *testing.T, c *smtp.Client, rcpt string) {
	t.Helper()
	require.NoError(t, c.Reset())
	require.NoError(t, c.Mail("a@example.com"))
	require.NoError(t, c.Rcpt(rcpt))
	w, err := c.Data()
	require.NoError(t, err)
	_, err = w.Write(crlf("Subject: hi", "", "hello"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
}
