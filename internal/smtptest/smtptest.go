// Package smtptest runs an SMTP server inside a test process, so tests of
// code that sends email (package mail, the example server, end-to-end
// tests) exercise a real SMTP conversation, with STARTTLS, implicit TLS and
// AUTH PLAIN when asked, and can read back what arrived.
//
// The server records every message and parses it with the standard library
// only (net/mail, mime, mime/multipart, mime/quotedprintable), so a test
// reads what a mail client would show, not what the sending library meant
// to write.
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Option configures a Server.
type Option func(*config)

type config struct {
	addr        string
	startTLS    bool
	implicitTLS bool
	user, pass  string
	replies     map[string]*smtp.SMTPError
	onMessage   func(Message)
	ln          net.Listener
}

// WithAddr listens on addr (host:port) instead of a free port on
// 127.0.0.1, so a test can start a server where clients already point,
// after they found nothing there.
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// WithListener serves on ln (plain TCP) instead of listening itself: a
// test that kept the port busy while the server was "down" hands it over
// without a moment in which another process could take the port.
func WithListener(ln net.Listener) Option { return func(c *config) { c.ln = ln } }

// WithOnMessage hands every message to f, from the connection's
// goroutine, instead of keeping it: for a long-running sink
// (examples/mailsink), whose memory must not grow with what it receives.
// Messages and Wait then see nothing.
func WithOnMessage(f func(Message)) Option { return func(c *config) { c.onMessage = f } }

// WithStartTLS offers STARTTLS with a certificate made at start for
// 127.0.0.1, ::1 and localhost; clients trust it through TLSConfig.
func WithStartTLS() Option { return func(c *config) { c.startTLS = true } }

// WithImplicitTLS speaks TLS from the first byte (smtps), with the same
// kind of certificate as WithStartTLS.
func WithImplicitTLS() Option { return func(c *config) { c.implicitTLS = true } }

// WithAuth requires AUTH PLAIN with user and pass before MAIL FROM. Like
// real servers, the server offers AUTH only over TLS, so combine it with
// WithStartTLS or WithImplicitTLS.
func WithAuth(user, pass string) Option {
	return func(c *config) { c.user, c.pass = user, pass }
}

// WithRecipientReply answers RCPT TO:<rcpt> with code and text instead of
// accepting it: 550 for a mailbox that does not exist, 451 for a
// temporary failure.
func WithRecipientReply(rcpt string, code int, text string) Option {
	return func(c *config) {
		if c.replies == nil {
			c.replies = make(map[string]*smtp.SMTPError)
		}
		c.replies[rcpt] = &smtp.SMTPError{Code: code, EnhancedCode: smtp.NoEnhancedCode, Message: text}
	}
}

// Server is an SMTP server that records the messages it receives. It is
// safe for concurrent use.
type Server struct {
	srv      *smtp.Server
	ln       net.Listener
	scheme   string
	user     *url.Userinfo
	tls      *tls.Config // for clients
	replies  map[string]*smtp.SMTPError
	userPass [2]string
	served   chan struct{}
	// onMessage, when set, takes every message instead of messages.
	onMessage func(Message)

	mu       sync.Mutex
	messages []Message
	changed  chan struct{} // closed and replaced on every message
}

// NewServer starts a Server and closes it when the test ends. It fails the
// test when the server cannot start.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := Start(opts...)
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a Server, for callers without a testing.TB (examples); they
// must Close it.
func Start(opts ...Option) (*Server, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.addr == "" {
		cfg.addr = "127.0.0.1:0"
	}
	s := &Server{
		scheme: "smtp", replies: cfg.replies, userPass: [2]string{cfg.user, cfg.pass},
		served: make(chan struct{}), changed: make(chan struct{}), onMessage: cfg.onMessage,
	}
	if cfg.user != "" {
		s.user = url.UserPassword(cfg.user, cfg.pass)
	}
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "localhost"
	// Bounds for examples/mailsink, which may be left running: no client
	// can hold a connection or the memory of a huge message for long.
	s.srv.MaxMessageBytes = 10 << 20
	s.srv.ReadTimeout = time.Minute
	s.srv.WriteTimeout = time.Minute
	s.srv.ErrorLog = log.New(io.Discard, "", 0) // a client hanging up is no news in a test
	var serverTLS *tls.Config
	if cfg.startTLS || cfg.implicitTLS {
		var err error
		serverTLS, s.tls, err = selfSigned()
		if err != nil {
			return nil, err
		}
	}
	ln := cfg.ln
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.addr); err != nil {
			return nil, fmt.Errorf("smtptest: listen: %w", err)
		}
	}
	switch {
	case cfg.implicitTLS:
		ln = tls.NewListener(ln, serverTLS)
		s.scheme = "smtps"
	case cfg.startTLS:
		s.srv.TLSConfig = serverTLS
	}
	s.ln = ln
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Addr returns the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns the server's address as mail.Config.SMTP takes it:
// smtp://host:port, or smtps:// with WithImplicitTLS, carrying the
// WithAuth credentials.
func (s *Server) URL() string {
	return (&url.URL{Scheme: s.scheme, User: s.user, Host: s.Addr()}).String()
}

// TLSConfig returns a client configuration that trusts the server's
// certificate, or nil when the server speaks no TLS.
func (s *Server) TLSConfig() *tls.Config {
	if s.tls == nil {
		return nil
	}
	return s.tls.Clone()
}

// Close stops the server and drops its connections. It may be called more
// than once.
func (s *Server) Close() {
	_ = s.srv.Close()
	// go-smtp closes only the listeners Serve has registered; one that
	// Serve has not reached yet would keep it accepting.
	_ = s.ln.Close()
	<-s.served
}

// Messages returns the messages received so far, in order of arrival.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Wait returns the first n messages once that many have arrived. It fails
// the test when they do not arrive within timeout, and when any of them
// could not be parsed.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := append([]Message(nil), s.messages...), s.changed
		s.mu.Unlock()
		if len(got) >= n {
			got = got[:n]
			for i, m := range got {
				if m.Err != nil {
					t.Fatalf("smtptest: message %d: %v", i, m.Err)
				}
			}
			return got
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("smtptest: %d of %d messages arrived within %v", len(got), n, timeout)
			return nil
		}
	}
}

func (s *Server) add(m Message) {
	if s.onMessage != nil {
		s.onMessage(m)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{s: b.s, tls: isTLS}, nil
}

// session is one SMTP connection; go-smtp calls it from one goroutine.
type session struct {
	s    *Server
	tls  bool
	user string // authenticated as
	from string
	to   []string
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string {
	if ss.s.userPass[0] == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != ss.s.userPass[0] || pass != ss.s.userPass[1] {
			return smtp.ErrAuthFailed
		}
		ss.user = user
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.userPass[0] != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if reply := ss.s.replies[to]; reply != nil {
		return reply
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := parse(raw)
	m.From, m.To, m.TLS, m.User = ss.from, append([]string(nil), ss.to...), ss.tls, ss.user
	ss.s.add(m)
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

// selfSigned makes a certificate for the loopback addresses and returns
// the server's configuration and a client's that trusts it.
func selfSigned() (server, client *tls.Config, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("smtptest: key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "smtptest"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:    []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("smtptest: certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("smtptest: certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
