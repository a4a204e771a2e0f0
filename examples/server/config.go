package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/postgresstore"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/webhook"
)

// config is everything the server reads from flags and the environment.
type config struct {
	addr        string
	db          string
	postgres    string
	pgSchema    string
	apiKeys     apiKeys
	connections map[[2]uuid.UUID]bool
	tokenKey    string // base64, from INVITEKIT_TOKEN_KEY
	webhooks    []string
	// webhookTimeout bounds one webhook request; a crashed server's
	// claims on events pass to the next relay after three of them.
	webhookTimeout time.Duration
	// webhookSecret signs the webhooks, from INVITEKIT_WEBHOOK_SECRET.
	webhookSecret webhook.Secret
	// smtp is the mail server invitations are sent through; "" sends
	// none.
	smtp     string
	mailFrom string
	// acceptURL is the page the emails link to; "" is the server's own
	// /accept, whose address is known once it listens.
	acceptURL string
	// rotateTokenKey allows a new token key beside a database that holds
	// invitations signed with the lost one.
	rotateTokenKey bool

	// Limits against clients that hold connections or guess secrets.
	maxConns          int
	idleTimeout       time.Duration
	readHeaderTimeout time.Duration
	// failures is how many failed authentications and token guesses a
	// client address may make per minute before it is answered 429.
	failures int
	// trustProxy takes the client address from X-Forwarded-For.
	trustProxy bool

	// sweepInterval is how often the sweep runs; 0 never.
	sweepInterval time.Duration
	// retention is how long the sweep keeps ended invitations; 0 keeps
	// them.
	retention time.Duration
	// limits bind every organization, for each kind of invitation.
	limits store.Limits
}

// environment lists the variables the server reads, for -h.
var environment = []struct{ name, usage string }{
	{"INVITEKIT_API_KEYS", "API keys, comma-separated: ID:SECRET@ORG (repeat @ORG for several organizations) or ID:SECRET@* " +
		"for every organization. Prefer it to -api-key, which other users see in the process list."},
	{"INVITEKIT_TOKEN_KEY", "base64 of at least 32 random bytes that sign invitation tokens; required with -postgres " +
		"(every instance needs the same key); without it the key is kept in a 0600 file beside the -db file."},
	{"INVITEKIT_WEBHOOK_SECRET", "whsec_ and the base64 of at least 24 random bytes, signing the webhooks; required with -webhook."},
}

// usage prints every flag and environment variable.
func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: server [flags]\n\nServes the invitekit API, the accept page, /healthz and /readyz.\n\nFlags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintf(w, "\nEnvironment:\n")
	for _, e := range environment {
		fmt.Fprintf(w, "  %s\n    \t%s\n", e.name, e.usage)
	}
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// parseConfig reads args (without the program name) and the environment
// through getenv. For -h or -help it writes the usage to help and returns
// flag.ErrHelp.
func parseConfig(args []string, getenv func(string) string, help io.Writer) (config, error) {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	// Parse errors are returned, not printed with the whole usage.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var c config
	var keys, conns, hooks listFlag
	fs.StringVar(&c.addr, "addr", ":8080", "address to listen on")
	fs.StringVar(&c.db, "db", "invitekit.db", `SQLite file to keep invitations in; ":memory:" keeps them in memory`)
	fs.StringVar(&c.postgres, "postgres", "", "PostgreSQL URL; overrides -db")
	fs.StringVar(&c.pgSchema, "postgres-schema", postgresstore.DefaultSchema, "PostgreSQL schema for the tables")
	fs.Var(&keys, "api-key", "API key as ID:SECRET@ORG[@ORG...] or ID:SECRET@* (repeatable); visible in the process list: prefer INVITEKIT_API_KEYS")
	fs.Var(&conns, "connection", "REQUESTER:TARGET organization IDs allowed to act across organizations (repeatable)")
	fs.Var(&hooks, "webhook", "URL to POST every event to, signed with INVITEKIT_WEBHOOK_SECRET (repeatable)")
	fs.DurationVar(&c.webhookTimeout, "webhook-timeout", 10*time.Second, "how long one delivery (a webhook request or an email) may take; "+
		"events a killed server was delivering are sent again after three times this")
	fs.StringVar(&c.smtp, "smtp", "", "send invitation emails through this SMTP server: smtp://[user:pass@]host:port "+
		"(STARTTLS when the server offers it) or smtps://... (TLS from the start)")
	fs.StringVar(&c.mailFrom, "mail-from", "", `sender of the invitation emails, e.g. "Acme <invites@acme.example>"; required with -smtp`)
	fs.StringVar(&c.acceptURL, "accept-url", "", "the accept page the emails link to (default: this server's own /accept)")
	fs.BoolVar(&c.rotateTokenKey, "rotate-token-key", false, "when the token key file beside a -db that holds invitations is missing, "+
		"create a new key instead of refusing to start: every invitation link already sent stops working")
	limitFlags(fs, &c)
	lifecycleFlags(fs, &c)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(help, fs)
		}
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	var err error
	if c.apiKeys, err = parseAPIKeys(getenv("INVITEKIT_API_KEYS"), keys); err != nil {
		return config{}, err
	}
	if err := checkLimits(c); err != nil {
		return config{}, err
	}
	if err := checkLifecycle(c); err != nil {
		return config{}, err
	}
	if c.connections, err = parseConnections(conns); err != nil {
		return config{}, err
	}
	c.tokenKey = getenv("INVITEKIT_TOKEN_KEY")
	if c.webhookTimeout < 100*time.Millisecond || c.webhookTimeout > time.Hour {
		return config{}, fmt.Errorf("-webhook-timeout %v: want 100ms to 1h", c.webhookTimeout)
	}
	if c.webhooks = hooks; len(hooks) > 0 {
		env := getenv("INVITEKIT_WEBHOOK_SECRET")
		if env == "" {
			return config{}, errors.New("-webhook needs INVITEKIT_WEBHOOK_SECRET (whsec_ and the base64 of at least 24 random bytes) to sign with")
		}
		if c.webhookSecret, err = webhook.ParseSecret(env); err != nil {
			return config{}, fmt.Errorf("INVITEKIT_WEBHOOK_SECRET: %w", err)
		}
	}
	if err := checkMail(c); err != nil {
		return config{}, err
	}
	return c, nil
}

// checkMail checks the mail flags together; the mail package checks each
// value again when the relay starts.
func checkMail(c config) error {
	if c.smtp == "" && c.mailFrom != "" {
		return errors.New("-mail-from needs -smtp, the server to send through")
	}
	if c.smtp != "" && c.mailFrom == "" {
		return errors.New("-smtp needs -mail-from, the address invitations come from")
	}
	if c.acceptURL != "" && c.smtp == "" {
		return errors.New("-accept-url is where emails link to: it needs -smtp")
	}
	if c.acceptURL != "" {
		u, err := url.Parse(c.acceptURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("-accept-url %q: want an absolute http or https URL", c.acceptURL)
		}
	}
	return nil
}

func parseConnections(list []string) (map[[2]uuid.UUID]bool, error) {
	conns := make(map[[2]uuid.UUID]bool, len(list))
	for _, pair := range list {
		r, t, ok := strings.Cut(pair, ":")
		requester, err1 := uuid.Parse(r)
		target, err2 := uuid.Parse(t)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("-connection %q: want REQUESTER:TARGET organization UUIDs", pair)
		}
		conns[[2]uuid.UUID{requester, target}] = true
	}
	return conns, nil
}

// limitFlags defines the flags that bound what one client can hold or try.
func limitFlags(fs *flag.FlagSet, c *config) {
	fs.IntVar(&c.maxConns, "max-conns", 1000, "most connections open at once; beyond it the longest idle ones are closed for new ones")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", time.Minute, "how long a keep-alive connection may wait for its next request")
	fs.DurationVar(&c.readHeaderTimeout, "read-header-timeout", 5*time.Second, "how long a client may take to send a request's headers")
	fs.IntVar(&c.failures, "auth-failures", 10, "failed authentications and invalid invitation tokens a client address may send per minute; "+
		"beyond it the address is answered 429 until its budget refills")
	fs.BoolVar(&c.trustProxy, "trust-forwarded-for", false, "take the client address from the last X-Forwarded-For entry "+
		"(only behind a proxy that sets it; otherwise clients choose their own address)")
}

func checkLimits(c config) error {
	if c.maxConns < 1 {
		return fmt.Errorf("-max-conns %d: want at least 1", c.maxConns)
	}
	if c.idleTimeout <= 0 || c.readHeaderTimeout <= 0 {
		return errors.New("-idle-timeout and -read-header-timeout must be positive")
	}
	if c.failures < 1 {
		return fmt.Errorf("-auth-failures %d: want at least 1", c.failures)
	}
	return nil
}

// lifecycleFlags defines the flags of the sweep and of the limits on each
// organization's invitations.
func lifecycleFlags(fs *flag.FlagSet, c *config) {
	fs.DurationVar(&c.sweepInterval, "sweep-interval", time.Minute, "how often to record the expiry of invitations "+
		"(their invitation.expired and guest_invitation.expired events) and, with -retention, delete old ones; 0 never does")
	fs.DurationVar(&c.retention, "retention", 0, "how long to keep an invitation after it was accepted, revoked or expired "+
		"before the sweep deletes it; 0 keeps every invitation")
	fs.IntVar(&c.limits.MaxOpen, "max-open", store.DefaultMaxOpen, "most open invitations an organization may have, "+
		"counted for each kind (organization and guest); beyond it creates are answered 429; 0 sets no limit")
	fs.IntVar(&c.limits.CreatesPerHour, "creates-per-hour", store.DefaultCreatesPerHour, "most invitations an organization "+
		"may create in any hour, counted for each kind; beyond it creates are answered 429; 0 sets no limit")
}

// minSweepInterval keeps a mistyped -sweep-interval (1ns) from querying
// the store in a tight loop.
const minSweepInterval = 100 * time.Millisecond

func checkLifecycle(c config) error {
	if c.sweepInterval != 0 && c.sweepInterval < minSweepInterval {
		return fmt.Errorf("-sweep-interval %v: want 0 (no sweep) or at least %v", c.sweepInterval, minSweepInterval)
	}
	if c.retention < 0 {
		return fmt.Errorf("-retention %v: want 0 (keep every invitation) or more", c.retention)
	}
	// Only the sweep deletes: a retention without it would be a promise
	// the server does not keep.
	if c.retention > 0 && c.sweepInterval == 0 {
		return errors.New("-retention needs the sweep to delete old invitations: it needs a -sweep-interval other than 0")
	}
	if c.limits.MaxOpen < 0 {
		return fmt.Errorf("-max-open %d: want 0 (no limit) or more", c.limits.MaxOpen)
	}
	if c.limits.CreatesPerHour < 0 {
		return fmt.Errorf("-creates-per-hour %d: want 0 (no limit) or more", c.limits.CreatesPerHour)
	}
	return nil
}
