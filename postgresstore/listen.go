package postgresstore

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/invitekit/invitekit/internal/sqlcore"
)

// notifyChannel is the channel stores notify when events commit, with the
// schema as the payload, so stores in other schemas ignore it.
const notifyChannel = "invitekit_events"

// ListenEvents implements outbox.Listener: the channel receives soon after
// events commit in the store's schema, from any instance, through
// PostgreSQL's LISTEN/NOTIFY. It holds one connection taken out of the pool
// until ctx ends, and a goroutine that waits on it; when the connection
// breaks, it reconnects and sends one wake-up, since notifications may have
// been missed meanwhile. This is the one goroutine the store starts, and
// only when asked.
func (s *Store) ListenEvents(ctx context.Context) (<-chan struct{}, error) {
	conn, err := s.listen(ctx)
	if err != nil {
		return nil, err
	}
	ch := make(chan struct{}, 1)
	go s.forward(ctx, conn, ch)
	return ch, nil
}

// listen returns a connection of its own that listens on notifyChannel.
func (s *Store) listen(ctx context.Context) (*pgx.Conn, error) {
	if err := sqlcore.Check(ctx, s.Core, "listen for events"); err != nil {
		return nil, err
	}
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	// Hijacked, the connection leaves the pool: no other caller gets a
	// connection that listens, and Close of the pool does not wait for it.
	conn := c.Hijack()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return conn, nil
}

func (s *Store) forward(ctx context.Context, conn *pgx.Conn, ch chan<- struct{}) {
	defer func() {
		if conn != nil {
			_ = conn.Close(context.WithoutCancel(ctx))
		}
	}()
	wake := func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	for backoff := 100 * time.Millisecond; ctx.Err() == nil; {
		if conn == nil {
			var err error
			if conn, err = s.listen(ctx); err != nil {
				select {
				case <-ctx.Done():
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, 10*time.Second)
				continue
			}
			backoff = 100 * time.Millisecond
			wake()
		}
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			_ = conn.Close(context.WithoutCancel(ctx))
			conn = nil
			continue
		}
		if n.Payload == s.schema {
			wake()
		}
	}
}

// notifier announces commits of events to the relays of every instance
// with NOTIFY. It is sent after the commit, not inside the transaction: a
// transaction that notifies takes a database-wide lock at commit, which
// made concurrent creates 2.5 times slower. Commits that land while one
// NOTIFY is in flight are announced by one more, so a burst of writes costs
// two notifications, and no writer waits for them. The goroutine that sends
// them lives only while there is something to send; Close waits for it.
// They go over a connection of the notifier's own, opened on first use: a
// pool connection it had used could be handed to a caller broken (by a
// restart, a killed backend) before the pool notices.
type notifier struct {
	pool    *pgxpool.Pool
	payload string
	conn    *pgx.Conn // only send and close touch it

	mu               sync.Mutex
	running, pending bool
	wg               sync.WaitGroup
}

// Notify implements sqlcore.Notifier.
func (n *notifier) Notify() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.running {
		n.pending = true
		return
	}
	n.running = true
	n.wg.Add(1)
	go n.send()
}

func (n *notifier) send() {
	defer n.wg.Done()
	for {
		// A lost notification only delays delivery until the relay's
		// next poll: the error is not worth reporting to a writer that
		// has committed.
		n.notify()
		n.mu.Lock()
		if !n.pending {
			n.running = false
			n.mu.Unlock()
			return
		}
		n.pending = false
		n.mu.Unlock()
	}
}

func (n *notifier) notify() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n.conn == nil {
		cfg := n.pool.Config().ConnConfig
		// Named apart, so operators tell it from the pool's connections.
		cfg.RuntimeParams["application_name"] = strings.TrimSpace(cfg.RuntimeParams["application_name"] + " invitekit-notify")
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return
		}
		n.conn = conn
	}
	if _, err := n.conn.Exec(ctx, "SELECT pg_notify($1, $2)", notifyChannel, n.payload); err != nil {
		n.closeConn()
	}
}

func (n *notifier) closeConn() {
	if n.conn != nil {
		_ = n.conn.Close(context.Background())
		n.conn = nil
	}
}

// close waits for the notification in flight and closes the connection.
func (n *notifier) close() {
	n.wg.Wait()
	n.closeConn()
}
