package outbox

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// Defaults for the zero values of Config.
const (
	DefaultLease        = time.Minute
	DefaultTimeout      = 10 * time.Second
	DefaultBatchSize    = 100
	DefaultWorkers      = 16
	DefaultPollInterval = time.Second
	DefaultMaxAttempts  = 12
	DefaultBackoffBase  = time.Second
	DefaultBackoffMax   = time.Hour
)

// ErrInvalidConfig reports a Config that New refuses; the message names the
// field.
var ErrInvalidConfig = errors.New("outbox: invalid config")

// Config configures a Relay. Store and at least one subscriber are
// required; every zero duration or count takes its default.
type Config struct {
	// Store holds the events. When it also implements Listener, the relay
	// wakes as soon as events commit instead of at the next poll.
	Store Store
	// Subscribers receive every event, each under its own name.
	Subscribers []Subscriber
	// Owner names this relay in leases; it must differ between relays
	// sharing a store (and RunOnce must not run beside Run on one Relay),
	// since a settlement is accepted from the owner of the claim.
	// Default: host name, process ID and a random suffix.
	Owner string
	// Lease is how long a claim keeps other relays off an event. A relay
	// that stops mid-delivery leaves its events to others after Lease.
	// Default 1 minute.
	Lease time.Duration
	// Timeout bounds one delivery to one subscriber, and the wait for
	// in-flight deliveries at shutdown. Lease must be at least twice it,
	// so a delivery and its settlement end before another relay may take
	// the event. Default 10s.
	Timeout time.Duration
	// BatchSize is how many events one claim takes. Default 100.
	BatchSize int
	// Workers bounds the deliveries under way at once. Default 16.
	Workers int
	// PollInterval is how long the relay waits between claims when there
	// is nothing to do. Polling finds what wake-ups cannot announce:
	// retries coming due, expired leases, wake-ups lost. Default 1s.
	PollInterval time.Duration
	// MaxAttempts is how many failed attempts make an event dead.
	// Default 12, which with the default backoff spans about 17 hours.
	MaxAttempts int
	// BackoffBase is the delay after the first failed attempt; each later
	// one doubles it, up to BackoffMax. Defaults 1s and 1h.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// Clock returns the current time; time.Now when nil. Claims and
	// settlements use it, truncated to microseconds in UTC.
	Clock func() time.Time
	// Jitter returns a random duration in [0, d]; uniform when nil. Tests
	// make the retry schedule exact with a fixed one.
	Jitter func(d time.Duration) time.Duration
	// Logger receives one record per failure; slog.Default() when nil.
	Logger *slog.Logger
	// MeterProvider records the relay's metrics (see the package
	// documentation, Metrics): events settled by type and outcome, and,
	// while Run runs on a store that implements StatsReader, the store's
	// delivery lag and dead events. otel.GetMeterProvider() when nil: the
	// global provider, which records nothing until the application
	// installs one.
	MeterProvider metric.MeterProvider
}

// withDefaults returns cfg with its zero values replaced by defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Owner == "" {
		cfg.Owner = defaultOwner()
	}
	setDefault(&cfg.Lease, DefaultLease)
	setDefault(&cfg.Timeout, DefaultTimeout)
	setDefault(&cfg.BatchSize, DefaultBatchSize)
	setDefault(&cfg.Workers, DefaultWorkers)
	setDefault(&cfg.PollInterval, DefaultPollInterval)
	setDefault(&cfg.MaxAttempts, DefaultMaxAttempts)
	setDefault(&cfg.BackoffBase, DefaultBackoffBase)
	setDefault(&cfg.BackoffMax, DefaultBackoffMax)
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Jitter == nil {
		cfg.Jitter = uniformJitter
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

func setDefault[T time.Duration | int](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// validate checks a Config that has its defaults.
func (cfg Config) validate() error {
	if cfg.Store == nil {
		return invalid("Store is required")
	}
	if err := validateSubscribers(cfg.Subscribers); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"Lease", int64(cfg.Lease)}, {"Timeout", int64(cfg.Timeout)}, {"BatchSize", int64(cfg.BatchSize)},
		{"Workers", int64(cfg.Workers)}, {"PollInterval", int64(cfg.PollInterval)},
		{"MaxAttempts", int64(cfg.MaxAttempts)}, {"BackoffBase", int64(cfg.BackoffBase)},
		{"BackoffMax", int64(cfg.BackoffMax)},
	} {
		if f.v < 0 {
			return invalid("%s must not be negative", f.name)
		}
	}
	switch {
	case cfg.Lease < 2*cfg.Timeout:
		// A delivery may take Timeout, and its settlement as long again:
		// both must end while the lease keeps other relays off the event.
		return invalid("Lease (%v) must be at least twice Timeout (%v)", cfg.Lease, cfg.Timeout)
	case cfg.BackoffMax < cfg.BackoffBase:
		return invalid("BackoffMax (%v) must not be less than BackoffBase (%v)", cfg.BackoffMax, cfg.BackoffBase)
	}
	return nil
}

func validateSubscribers(subs []Subscriber) error {
	if len(subs) == 0 {
		return invalid("Subscribers: at least one is required")
	}
	seen := make(map[string]bool, len(subs))
	for i, s := range subs {
		switch {
		case s.Name == "":
			return invalid("Subscribers[%d].Name is empty", i)
		case len(s.Name) > maxSubscriberName:
			return invalid("Subscribers[%d].Name is longer than %d bytes", i, maxSubscriberName)
		case strings.Contains(s.Name, ","):
			// Stores may keep the acknowledging names as one
			// comma-separated value.
			return invalid("Subscribers[%d].Name %q contains a comma", i, s.Name)
		case seen[s.Name]:
			return invalid("Subscribers[%d].Name %q is not unique", i, s.Name)
		case s.Deliver == nil:
			return invalid("Subscribers[%d].Deliver (%q) is nil", i, s.Name)
		}
		seen[s.Name] = true
	}
	return nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
}

// defaultOwner names this process uniquely enough that two relays never
// share a name: the host and PID say where a lease holder runs, the random
// suffix separates relays in one process.
func defaultOwner() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), rand.Text()[:10])
}

func uniformJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(mathrand.Int64N(int64(d) + 1))
}
