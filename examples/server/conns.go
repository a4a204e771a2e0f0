package main

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// connLimit caps the connections a server holds open, so that clients
// holding idle connections cannot exhaust its file descriptors. At the cap
// it closes, to make room, the connection without a request in progress
// (idle between keep-alive requests, or new) that has been quiet longest:
// a new client is served, and an idle client loses only a connection it
// reopens. A connection that has just sent bytes is the last one chosen,
// as they may be a request the server has not finished reading. When
// every connection is busy with a request, Accept waits until one closes
// or goes idle, and further connections wait in the kernel's backlog.
//
// Wrap the listener with listener and pass track as the http.Server's
// ConnState.
type connLimit struct {
	slots chan struct{} // one per open connection
	done  chan struct{} // closed by the listener's Close
	// quiet is signalled when a connection stops having a request in
	// progress, so that an Accept waiting for a slot can close it
	// rather than wait for the idle timeout.
	quiet chan struct{}

	mu sync.Mutex
	// waiting holds the connections without a request in progress, and
	// when each was last active.
	waiting map[net.Conn]time.Time
}

func newConnLimit(max int) *connLimit {
	return &connLimit{slots: make(chan struct{}, max), done: make(chan struct{}), quiet: make(chan struct{}, 1),
		waiting: map[net.Conn]time.Time{}}
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
		select {
		case c.quiet <- struct{}{}:
		default:
		}
	default:
		delete(c.waiting, conn)
	}
}

// read records that conn received bytes: while it waits, they begin a
// request the server reports only once it has read the whole header.
func (c *connLimit) read(conn net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.waiting[conn]; ok {
		c.waiting[conn] = time.Now()
	}
}

// acquire takes a slot for a new connection, closing the quietest waiting
// connection while there is none; it returns false when the listener is
// closed first.
func (c *connLimit) acquire() bool {
	for {
		select {
		case c.slots <- struct{}{}:
			return true
		default:
		}
		c.closeQuietest()
		select {
		case c.slots <- struct{}{}:
			return true
		case <-c.quiet:
		case <-c.done:
			return false
		}
	}
}

func (c *connLimit) closeQuietest() {
	c.mu.Lock()
	var quietest net.Conn
	var since time.Time
	for conn, t := range c.waiting {
		if quietest == nil || t.Before(since) {
			quietest, since = conn, t
		}
	}
	delete(c.waiting, quietest)
	c.mu.Unlock()
	if quietest != nil {
		// The server's read fails, and it closes the connection, which
		// frees the slot.
		quietest.Close()
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
	return &limitConn{Conn: conn, limit: l.limit}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.limit.done) })
	return l.Listener.Close()
}

// limitConn frees its slot when first closed.
type limitConn struct {
	net.Conn
	limit     *connLimit
	closeOnce sync.Once
}

func (c *limitConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.limit.read(c)
	}
	return n, err
}

// CloseWrite passes the server's half-close through: after refusing a
// body it did not read (413), net/http sends FIN and waits before closing,
// so that the reset the unread upload causes does not discard the answer
// on the client (BSD and Windows stacks do). It finds the method on the
// connection it accepted, which is this wrapper.
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() { <-c.limit.slots })
	return err
}
