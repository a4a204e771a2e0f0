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
	"github.com/invitekit/invitekit/webhook"
)

// config is everything the server reads from flags and the environment.
type config struct {
	addr        string
	db          string
	postgres    string
	pgSchema    string
	apiKeys     map[string]string // key ID -> secret
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
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// parseConfig reads args (without the program name) and the environment
// through getenv.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var keys, conns, hooks listFlag
	fs.StringVar(&c.addr, "addr", ":8080", "address to listen on")
	fs.StringVar(&c.db, "db", "invitekit.db", `SQLite file to keep invitations in; ":memory:" keeps them in memory`)
	fs.StringVar(&c.postgres, "postgres", "", "PostgreSQL URL; overrides -db")
	fs.StringVar(&c.pgSchema, "postgres-schema", postgresstore.DefaultSchema, "PostgreSQL schema for the tables")
	fs.Var(&keys, "api-key", "API key as ID:SECRET (repeatable; also INVITEKIT_API_KEYS=id:secret,...)")
	fs.Var(&conns, "connection", "REQUESTER:TARGET organization IDs allowed to act across organizations (repeatable)")
	fs.Var(&hooks, "webhook", "URL to POST every event to, signed with INVITEKIT_WEBHOOK_SECRET (repeatable)")
	fs.DurationVar(&c.webhookTimeout, "webhook-timeout", 10*time.Second, "how long one delivery (a webhook request or an email) may take; "+
		"events a killed server was delivering are sent again after three times this")
	fs.StringVar(&c.smtp, "smtp", "", "send invitation emails through this SMTP server: smtp://[user:pass@]host:port "+
		"(STARTTLS when the server offers it) or smtps://... (TLS from the start)")
	fs.StringVar(&c.mailFrom, "mail-from", "", `sender of the invitation emails, e.g. "Acme <invites@acme.example>"; required with -smtp`)
	fs.StringVar(&c.acceptURL, "accept-url", "", "the accept page the emails link to (default: this server's own /accept)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if env := getenv("INVITEKIT_API_KEYS"); env != "" {
		keys = append(strings.Split(env, ","), keys...)
	}
	var err error
	if c.apiKeys, err = parseAPIKeys(keys); err != nil {
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

func parseAPIKeys(list []string) (map[string]string, error) {
	keys := make(map[string]string, len(list))
	for _, kv := range list {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		id, secret, ok := strings.Cut(kv, ":")
		if !ok || id == "" || secret == "" {
			return nil, errors.New("an API key must look like ID:SECRET")
		}
		if _, dup := keys[id]; dup {
			return nil, fmt.Errorf("API key ID %q is given twice", id)
		}
		keys[id] = secret
	}
	return keys, nil
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
