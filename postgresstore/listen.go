package postgresstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/invitekit/invitekit/internal/sqlcore"
	"github.com/invitekit/invitekit/store"
)

// notifyChannel is the channel stores notify when events commit, with the
// schema as the payload, so stores in other schemas ignore it.
const notifyChannel = "invitekit_events"

// ListenEvents implements outbox.Listener: the channel receives soon after
// events commit in the store's schema, from any instance, through
// PostgreSQL's LISTEN/NOTIFY. It holds one connection taken out of the pool
// until ctx ends, and a goroutine that waits on it; when the connection
// breaks, it reconnects and sends one wake-up, since notifications may have
// been missed meanwhile. The channel is closed when ctx ends, or when the
// connection breaks after the store has been closed. This is the one goroutine the store starts, and
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
	return ownConn(ctx, s.pool, "invitekit-listen", "LISTEN "+notifyChannel)
}

// ownConn takes a connection out of pool, so that it has the pool's
// settings and hooks but no other caller ever gets it and the pool's Close
// does not wait for it, names it (so operators tell it from the pool's
// connections) and runs setup on it.
func ownConn(ctx context.Context, pool *pgxpool.Pool, name, setup string) (*pgx.Conn, error) {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	conn := c.Hijack()
	app := strings.TrimSpace(conn.Config().RuntimeParams["application_name"] + " " + name)
	_, err = conn.Exec(ctx, "SELECT set_config('application_name', $1, false)", app)
	if err == nil && setup != "" {
		_, err = conn.Exec(ctx, setup)
	}
	if err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return conn, nil
}

// forward signals ch for each notification of the store's schema until ctx
// ends or the store closes; then it closes ch.
func (s *Store) forward(ctx context.Context, conn *pgx.Conn, ch chan<- struct{}) {
	defer func() {
		if conn != nil {
			_ = conn.Close(context.WithoutCancel(ctx))
		}
		close(ch)
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
				if errors.Is(err, store.ErrClosed) {
					return
				}
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
// them lives only while there is something to send; close waits for it and
// stops any more. They go over a connection of the notifier's own, opened
// on first use: a pool connection it had used could be handed to a caller
// broken (by a restart, a killed backend) before the pool notices.
type notifier struct {
	pool    *pgxpool.Pool
	payload string
	conn    *pgx.Conn // only send, then close after it, touch it

	mu                       sync.Mutex
	running, pending, closed bool
	wg                       sync.WaitGroup
}

// Notify implements sqlcore.Notifier.
func (n *notifier) Notify() {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.closed:
	case n.running:
		n.pending = true
	default:
		n.running = true
		n.wg.Add(1)
		go n.send()
	}
}

func (n *notifier) send() {
	defer n.wg.Done()
	for {
		n.notify()
		n.mu.Lock()
		if !n.pending || n.closed {
			n.running = false
			n.mu.Unlock()
			return
		}
		n.pending = false
		n.mu.Unlock()
	}
}

// notify sends one NOTIFY. A lost notification only delays delivery until
// the relays' next poll: the error is not worth reporting to a writer that
// has committed.
func (n *notifier) notify() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n.conn == nil {
		conn, err := ownConn(ctx, n.pool, "invitekit-notify", "")
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

// close stops notifications, waits for the one in flight and closes the
// connection.
func (n *notifier) close() {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.wg.Wait()
	n.closeConn()
}
