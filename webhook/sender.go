package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/outbox"
)

// DefaultTimeout bounds one request when Config.Timeout is zero. The
// relay's own per-delivery timeout applies as well; the shorter wins.
const DefaultTimeout = 10 * time.Second

// Bounds on what is read of a response: enough of the body to say why a
// receiver refused, and enough more to let the connection be reused,
// without letting a receiver make the sender read without end.
const (
	snippetLen = 512
	drainLen   = 64 << 10
)

// ErrInvalidConfig reports a Config that New refuses; the message names the
// field.
var ErrInvalidConfig = errors.New("webhook: invalid config")

// Config configures a Sender. URL and Secret are required.
type Config struct {
	// URL is the receiver's endpoint, http or https.
	URL string
	// Secret signs every request.
	Secret Secret
	// Name is the subscriber name the relay records acknowledgements
	// under; it must stay the same across restarts. Default: "webhook-"
	// and a hash of URL, so a new URL is a new subscriber.
	Name string
	// Client sends the requests. The default follows no redirects (a 3xx
	// is a failure, as the specification advises: the URL should be
	// updated instead). A Client given here is used as it is.
	Client *http.Client
	// Timeout bounds each request; DefaultTimeout when zero.
	Timeout time.Duration
	// Clock returns the time of each attempt for webhook-timestamp;
	// time.Now when nil.
	Clock func() time.Time
}

// Sender delivers events to one webhook endpoint. It is safe for
// concurrent use.
type Sender struct {
	url     string
	logURL  string // without credentials, for error messages
	name    string
	secret  Secret
	client  *http.Client
	timeout time.Duration
	clock   func() time.Time
}

// New checks cfg and returns a Sender.
func New(cfg Config) (*Sender, error) {
	u, err := url.Parse(cfg.URL)
	switch {
	case cfg.URL == "":
		return nil, fmt.Errorf("%w: URL is required", ErrInvalidConfig)
	case err != nil:
		return nil, fmt.Errorf("%w: URL: %w", ErrInvalidConfig, err)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return nil, fmt.Errorf("%w: URL %q must be an absolute http or https URL", ErrInvalidConfig, u.Redacted())
	case cfg.Secret.IsZero():
		return nil, fmt.Errorf("%w: Secret is required (see ParseSecret)", ErrInvalidConfig)
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("%w: Timeout must not be negative", ErrInvalidConfig)
	}
	s := &Sender{url: cfg.URL, logURL: u.Redacted(), name: cfg.Name, secret: cfg.Secret,
		client: cfg.Client, timeout: cfg.Timeout, clock: cfg.Clock}
	if s.name == "" {
		sum := sha256.Sum256([]byte(cfg.URL))
		s.name = "webhook-" + hex.EncodeToString(sum[:6])
	}
	if s.client == nil {
		s.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	return s, nil
}

// Subscriber returns the Sender as an outbox subscriber.
func (s *Sender) Subscriber() outbox.Subscriber { return outbox.Func(s.name, s.Send) }

// StatusError reports a response other than 2xx.
type StatusError struct {
	URL        string // without credentials
	StatusCode int
	// Body is the start of the response body, to say why the receiver
	// refused.
	Body string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("webhook: POST %s: status %d", e.URL, e.StatusCode)
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Send POSTs ev to the endpoint, signed. It returns nil on any 2xx
// response. 410 Gone, by which the specification lets a receiver say it
// wants no more webhooks, is an outbox.Permanent error: the relay stops
// retrying the event. Every other status, and every transport error or
// timeout, is an error the relay retries; a status error is a
// *StatusError.
func (s *Sender) Send(ctx context.Context, ev event.Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return outbox.Permanent(fmt.Errorf("webhook: encode event %s: %w", ev.ID, err))
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: POST %s: %w", s.logURL, err)
	}
	id, now := ev.ID.String(), s.clock()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(s.secret, id, now, body))
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: POST %s: %w", s.logURL, stripURL(err))
	}
	defer resp.Body.Close()
	return s.check(resp)
}

// check reads a bounded part of the response and turns its status into
// the outcome of the delivery.
func (s *Sender) check(resp *http.Response) error {
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, snippetLen))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLen))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	err := &StatusError{URL: s.logURL, StatusCode: resp.StatusCode, Body: clean(snippet)}
	if resp.StatusCode == http.StatusGone {
		return outbox.Permanent(err)
	}
	return err
}

// stripURL drops the request URL that *url.Error repeats, since the caller
// names it without credentials.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// clean makes a response snippet safe to log: valid UTF-8, one line,
// trimmed.
func clean(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}
