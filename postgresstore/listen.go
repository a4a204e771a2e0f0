package postgresstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/internal/sqlcore"
)

// notifyChannel is the channel the events table's trigger notifies, with
// the schema as the payload (see migration 0003).
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
