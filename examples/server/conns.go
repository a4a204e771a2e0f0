package main

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// connLimit caps the connections a server holds open, so that clients
// holding idle connections cannot exhaust its file descriptors. At the cap
// it closes the connection that has waited longest without a request in
// progress (idle between keep-alive requests, or new and not yet sending)
// to make room: a new client is served, and an idle client loses only a
// connection it reopens. When every connection is busy with a request,
// Accept waits until one closes, and further connections wait in the
// kernel's backlog.
//
// Wrap the listener with listener and pass track as the http.Server's
// ConnState.
type connLimit struct {
	slots chan struct{} // one per open connection
	done  chan struct{} // closed by the listener's Close

	mu sync.Mutex
	// waiting holds the connections without a request in progress, and
	// since when.
	waiting map[net.Conn]time.Time
}

func newConnLimit(max int) *connLimit {
	return &connLimit{slots: make(chan struct{}, max), done: make(chan struct{}), waiting: map[net.Conn]time.Time{}}
}

// listener returns ln limited to the cap.
func (c *connLimit) listener(ln net.Listener) net.Listener {
	return &limitListener{Listener: ln, limit: c}
}

// track is the http.Server's ConnState hook.
func (c *connLimit) track(conn net.Conn, state http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch state {
	case http.StateNew, http.StateIdle:
		c.waiting[conn] = time.Now()
	default:
		delete(c.waiting, conn)
	}
}

// acquire takes a slot for a new connection, closing the connection that
// waited longest when there is none; it returns false when the listener is
// closed first.
func (c *connLimit) acquire() bool {
	select {
	case c.slots <- struct{}{}:
		return true
	default:
	}
	c.closeOldestWaiting()
	select {
	case c.slots <- struct{}{}:
		return true
	case <-c.done:
		return false
	}
}

func (c *connLimit) closeOldestWaiting() {
	c.mu.Lock()
	var oldest net.Conn
	var since time.Time
	for conn, t := range c.waiting {
		if oldest == nil || t.Before(since) {
			oldest, since = conn, t
		}
	}
	delete(c.waiting, oldest)
	c.mu.Unlock()
	if oldest != nil {
		// The server's read fails, and it closes the connection, which
		// frees the slot.
		oldest.Close()
	}
}

// limitListener is a listener whose connections hold a slot of limit until
// closed.
type limitListener struct {
	net.Listener
	limit     *connLimit
	closeOnce sync.Once
}

// Accept takes a slot only once a client connected, so that nothing is
// closed to make room for a connection that may never come; the one
// connection accepted while waiting for a slot is over the cap.
func (l *limitListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if !l.limit.acquire() {
		conn.Close()
		return nil, net.ErrClosed
	}
	return &limitConn{Conn: conn, slots: l.limit.slots}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.limit.done) })
	return l.Listener.Close()
}

// limitConn frees its slot when first closed.
type limitConn struct {
	net.Conn
	slots     chan struct{}
	closeOnce sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() { <-c.slots })
	return err
}
