// Command server serves every invitekit route over HTTP: the organization
// invitation routes of the ClickHouse Cloud API, the join link routes in the
// same style, the guest invitation routes of the MyCreditApp API, and
// /openapi.json.
//
//	go run ./examples/server                   # SQLite file invitekit.db, port 8080
//	go run ./examples/server -db :memory:      # in memory
//	go run ./examples/server -postgres "$URL"  # PostgreSQL, for many instances
//
// API keys come from INVITEKIT_API_KEYS="id:secret@ORG,..." or -api-key
// id:secret@ORG; a key acts only for the organizations after its @s, or for
// every one with @*. With none, the server makes an @* key and prints it with
// a curl line to try. Cross-organization guest requests need -connection
// REQUESTER:TARGET. The token signing key comes from INVITEKIT_TOKEN_KEY
// (base64, at least 32 bytes) or from a 0600 file created beside the
// database; the server refuses to start when a database with invitations
// has lost its key file (-rotate-token-key makes a new one). Failed
// authentications and invalid tokens are throttled per client address, the
// connections held are capped, and /healthz and /readyz answer probes.
// GET /metrics serves the request, event and outbox metrics in the
// Prometheus text format, without an API key, as the probes are: it is for
// the operator's scraper (see metrics.go).
// Every change is recorded as an event, listed at
// /v1/organizations/{id}/events; with -webhook URL (repeatable) and
// INVITEKIT_WEBHOOK_SECRET the server also runs the outbox relay, which
// POSTs each event to every URL, signed as Standard Webhooks specify, and
// stops with the server. With -smtp and -mail-from it also emails every
// created or resent invitation, linking to -accept-url (by default its own
// /accept page, which shows the invitation and accepts it).
// Every minute (-sweep-interval) the server records each invitation that
// expired, with its event, and with -retention deletes those that ended
// longer ago; -max-open and -creates-per-hour limit the invitations of
// each organization.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/metric"

	"github.com/invitekit/invitekit/acceptpage"
	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/httpadapter"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/link"
	"github.com/invitekit/invitekit/mail"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/outbox"
	"github.com/invitekit/invitekit/postgresstore"
	"github.com/invitekit/invitekit/sqlitestore"
	"github.com/invitekit/invitekit/webhook"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// backend is a store for both kinds of invitations, their events and
// outbox.
type backend interface {
	invitation.Store
	guest.Store
	event.Store
	outbox.Store
	Close() error
}

// run serves until ctx is done, then shuts down gracefully.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stdout)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	// Bind first: a port in use fails before any file is created.
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", cfg.addr, err)
	}
	defer ln.Close()
	var generated apiKey
	if len(cfg.apiKeys) == 0 {
		id, secret := generateAPIKey()
		generated = apiKey{id: id, secret: secret, all: true}
		cfg.apiKeys[id] = generated
	}
	for id, k := range cfg.apiKeys {
		if k.all {
			logger.Warn("API key acts for every organization (@*); give it @ORG for each organization it should act for instead", "key", id)
		}
	}

	st, keyFile, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	key, err := loadTokenKey(ctx, cfg, keyFile, logger)
	if err != nil {
		return err
	}

	svc, err := newServices(st, key, cfg)
	if err != nil {
		return err
	}
	mp, metrics, err := newMetrics()
	if err != nil {
		return err
	}
	// Shut down last: the relay records until it has stopped.
	defer mp.Shutdown(context.WithoutCancel(ctx))
	handler, err := newHandler(st, svc, cfg, logger, mp, metrics)
	if err != nil {
		return err
	}
	if generated.id != "" {
		printTryIt(stdout, ln.Addr(), generated.id, generated.secret)
	}
	if cfg.acceptURL == "" {
		cfg.acceptURL = "http://" + hostPort(ln.Addr()) + "/accept"
	}
	// The relay and the sweep stop with the server, also when serving
	// fails.
	bgCtx, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	relayed, err := startRelay(bgCtx, st, svc, cfg, logger, mp)
	if err != nil {
		return err
	}
	swept := startSweep(bgCtx, cfg.sweepInterval, svc.sweepers(), logger)
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())
	err = serve(ctx, ln, handler, cfg, logger)
	// Wait for both before the store closes.
	stopBackground()
	<-swept
	return errors.Join(err, <-relayed)
}

// startRelay runs the outbox relay until ctx is done, with a webhook
// subscriber per URL of cfg and, with -smtp, the email subscriber. The
// channel receives Run's result; with no subscriber it receives nil at once.
// The relay records its metrics into mp.
func startRelay(ctx context.Context, st backend, svc services, cfg config, logger *slog.Logger, mp metric.MeterProvider) (<-chan error, error) {
	done := make(chan error, 1)
	var subs []outbox.Subscriber
	for _, url := range cfg.webhooks {
		s, err := webhook.New(webhook.Config{URL: url, Secret: cfg.webhookSecret, Timeout: cfg.webhookTimeout})
		if err != nil {
			return nil, fmt.Errorf("-webhook %q: %w", url, err)
		}
		subs = append(subs, s.Subscriber())
	}
	if cfg.smtp != "" {
		m, err := mail.New(mail.Config{SMTP: cfg.smtp, From: cfg.mailFrom, AcceptURL: cfg.acceptURL,
			Invitations: svc.invitations, Guests: svc.guests, Timeout: cfg.webhookTimeout})
		if err != nil {
			return nil, fmt.Errorf("-smtp: %w", err)
		}
		subs = append(subs, m.Subscriber())
		logger.Info("sending invitation emails", "accept_url", cfg.acceptURL)
	}
	if len(subs) == 0 {
		done <- nil
		return done, nil
	}
	relay, err := outbox.New(outbox.Config{Store: st, Subscribers: subs, Logger: logger,
		Timeout: cfg.webhookTimeout, Lease: 3 * cfg.webhookTimeout,
		// Backoff reaches its hour-long cap after 12 attempts; 24 more
		// ride out a receiver or mail server down for about a day before
		// an event is dead.
		MaxAttempts: 36, MeterProvider: mp})
	if err != nil {
		return nil, err
	}
	go func() { done <- relay.Run(ctx) }()
	return done, nil
}

// openStore opens the store cfg names and says where the token key file
// belongs ("" where there is nowhere to keep one).
func openStore(ctx context.Context, cfg config) (backend, string, error) {
	switch {
	case cfg.postgres != "":
		if cfg.tokenKey == "" {
			return nil, "", errors.New("with -postgres, set INVITEKIT_TOKEN_KEY: every instance must sign with the same key")
		}
		s, err := postgresstore.Open(ctx, cfg.postgres, postgresstore.WithSchema(cfg.pgSchema))
		return s, "", err
	case cfg.db == ":memory:":
		return memstore.New(), "", nil
	default:
		s, err := sqlitestore.Open(ctx, cfg.db)
		return s, cfg.db + ".key", err
	}
}

// services are the invitation services, and the join links', every part
// of the server shares.
type services struct {
	invitations *invitation.Service
	guests      *guest.Service
	// links is nil on a store that does not keep join links: their
	// routes are then absent.
	links *link.Service
}

// newServices makes both invitation services with the limits and retention
// of cfg, the same for both kinds of invitations, and the join links'
// service when the store keeps links.
func newServices(st backend, key []byte, cfg config) (services, error) {
	limits := cfg.limits
	orgs, err := invitation.NewService(invitation.Config{Store: st, Keys: [][]byte{key},
		Limits: &limits, Retention: cfg.retention})
	if err != nil {
		return services{}, err
	}
	guests, err := guest.NewService(guest.Config{Store: st, Keys: [][]byte{key},
		Limits: &limits, Retention: cfg.retention})
	if err != nil {
		return services{}, err
	}
	svc := services{invitations: orgs, guests: guests}
	// Links sign with the same key: their tokens carry a kind of their
	// own, so neither passes for the other.
	if ls, ok := st.(link.Store); ok {
		if svc.links, err = link.NewService(link.Config{Store: ls, Invitations: orgs, Keys: [][]byte{key}}); err != nil {
			return services{}, err
		}
	}
	return svc, nil
}

// newHandler serves the API at the root, recording its request metrics
// into mp, the accept page the emails link to at /accept, the probes, and
// metrics at /metrics.
func newHandler(st backend, svc services, cfg config, logger *slog.Logger, mp metric.MeterProvider, metrics http.Handler) (http.Handler, error) {
	api, err := httpadapter.New(httpadapter.Config{
		Invitations:           svc.invitations,
		Guests:                svc.guests,
		Links:                 svc.links,
		Events:                st,
		Authenticate:          httpadapter.APIKeys(cfg.apiKeys.secrets()),
		AuthorizeOrganization: cfg.apiKeys.authorize,
		AuthorizeConnection: func(_ context.Context, _ httpadapter.Principal, requester, target uuid.UUID) error {
			if cfg.connections[[2]uuid.UUID{requester, target}] {
				return nil
			}
			return httpadapter.ErrForbidden
		},
		Logger:        logger,
		MeterProvider: mp,
	})
	if err != nil {
		return nil, err
	}
	// The example has no user accounts, so the page asks for the
	// accepting email (Config.Email is nil).
	page, err := acceptpage.New(acceptpage.Config{Invitations: svc.invitations, Guests: svc.guests, Logger: logger})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/accept", page)
	mux.Handle("/", api)
	guarded, err := throttleGuesses(withDeadline(requestTimeout, mux), cfg)
	if err != nil {
		return nil, err
	}
	// Probes and scrapes are neither throttled nor logged: a load
	// balancer or Prometheus sends them every few seconds, maybe from an
	// address a client shares.
	top := http.NewServeMux()
	top.Handle("GET /healthz", healthz())
	top.Handle("GET /readyz", readyz(st, logger))
	top.Handle("GET /metrics", metrics)
	top.Handle("/", httpadapter.LogRequests(logger, guarded))
	return top, nil
}

// requestTimeout bounds the work of one request: the store's waits for
// connections, locks and statements end by then, and the client gets a 503
// with Retry-After. It is well inside the server's write timeout, so that
// the answer still reaches the client: work that outlived the write
// deadline would be done (a token rotated, say) for a client that only
// ever sees its connection close.
const (
	requestTimeout = 10 * time.Second
	writeTimeout   = 30 * time.Second
)

// withDeadline runs next with a request context that ends after d.
func withDeadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// serve runs an http.Server on ln until ctx is done, then gives requests in
// flight ten seconds to finish. It holds at most cfg.maxConns connections.
func serve(ctx context.Context, ln net.Listener, h http.Handler, cfg config, logger *slog.Logger) error {
	conns := newConnLimit(cfg.maxConns)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.readHeaderTimeout,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       cfg.idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ConnState:         conns.track,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(conns.listener(ln)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func generateAPIKey() (id, secret string) {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return "key-" + hex.EncodeToString(b[:4]), hex.EncodeToString(b[4:])
}

// hostPort is addr as a client on this machine reaches it: localhost for
// a server listening on every address.
func hostPort(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		return fmt.Sprintf("localhost:%d", tcp.Port)
	}
	return addr.String()
}

func printTryIt(w io.Writer, addr net.Addr, id, secret string) {
	host := hostPort(addr)
	fmt.Fprintf(w, "No API key configured; generated one for this run, acting for every organization:\n  INVITEKIT_API_KEYS=%s:%s@*\n", id, secret)
	fmt.Fprintf(w, "Try it:\n  curl -s -u %s:%s -H 'Content-Type: application/json' \\\n"+
		"    -d '{\"email\":\"ada@example.com\",\"role\":\"admin\"}' \\\n"+
		"    http://%s/v1/organizations/%s/invitations\n", id, secret, host, uuid.New())
}
