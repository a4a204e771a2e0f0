package postgresstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/storetest"
)

// What commitProxy does to the next COMMIT a client sends, once armed.
type commitFault int

const (
	// loseReply forwards the COMMIT to the server, then closes the
	// client's side at once: the server commits, the client never hears.
	loseReply commitFault = iota + 1
	// dropCommit closes the client's side instead of forwarding the
	// COMMIT: the transaction stays open on the server until its process
	// ends, which then rolls it back.
	dropCommit
	// loseReplyAndGoDown is loseReply after which the proxy closes every
	// client connection and refuses new ones: the server is unreachable.
	loseReplyAndGoDown
)

// commitProxy forwards TCP connections to the PostgreSQL server and, when
// armed, breaks the next COMMIT (a simple-protocol Query message, as pgx
// sends it) as its fault says. The server's side of a broken connection is
// kept open: its process lives on until the store terminates it.
type commitProxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu      sync.Mutex
	fault   commitFault
	clients []net.Conn
	down    bool
	// cutServerClosed is closed once the server has closed its side of
	// the broken connection, that is once its process has exited.
	cutServerClosed chan struct{}
}

func newCommitProxy(t *testing.T) *commitProxy {
	t.Helper()
	cfg, err := pgconn.ParseConfig(testURL(t))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &commitProxy{t: t, ln: ln, target: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), cutServerClosed: make(chan struct{})}
	var wg sync.WaitGroup
	var servers []net.Conn
	t.Cleanup(func() {
		p.goDown()
		p.mu.Lock()
		for _, s := range servers {
			_ = s.Close()
		}
		p.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = client.Close()
				continue
			}
			p.mu.Lock()
			if p.down {
				p.mu.Unlock()
				_ = client.Close()
				_ = server.Close()
				continue
			}
			p.clients = append(p.clients, client)
			servers = append(servers, server)
			p.mu.Unlock()
			cut, serverDone := make(chan struct{}), make(chan struct{})
			wg.Add(2)
			go func() { defer wg.Done(); p.toServer(client, server, cut, serverDone) }()
			go func() { defer wg.Done(); defer close(serverDone); p.toClient(server, client, cut) }()
		}
	}()
	return p
}

// params are the connection settings that point a store at the proxy.
func (p *commitProxy) params() []string {
	host, port, _ := net.SplitHostPort(p.ln.Addr().String())
	return []string{"host=" + host, "port=" + port}
}

// arm makes the next COMMIT fail as f says.
func (p *commitProxy) arm(f commitFault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = f
}

// goDown closes every client connection and the listener.
func (p *commitProxy) goDown() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	_ = p.ln.Close()
	for _, c := range p.clients {
		_ = c.Close()
	}
}

// toServer forwards the client's messages, looking at each; serverDone is
// closed when the server has closed its side.
func (p *commitProxy) toServer(client, server net.Conn, cut chan struct{}, serverDone <-chan struct{}) {
	defer func() { _ = client.Close() }()
	// Startup-phase messages have no type byte; an SSL or GSSAPI
	// encryption request is followed by another one.
	for {
		head := make([]byte, 8)
		if _, err := io.ReadFull(client, head); err != nil {
			return
		}
		msg := make([]byte, binary.BigEndian.Uint32(head[:4]))
		copy(msg, head)
		if _, err := io.ReadFull(client, msg[8:]); err != nil {
			return
		}
		if _, err := server.Write(msg); err != nil {
			return
		}
		if code := binary.BigEndian.Uint32(head[4:]); code != 80877103 && code != 80877104 {
			break
		}
	}
	for {
		head := make([]byte, 5)
		if _, err := io.ReadFull(client, head); err != nil {
			return
		}
		msg := make([]byte, 1+binary.BigEndian.Uint32(head[1:]))
		copy(msg, head)
		if _, err := io.ReadFull(client, msg[5:]); err != nil {
			return
		}
		if head[0] == 'Q' && bytes.EqualFold(bytes.TrimRight(msg[5:], "\x00; "), []byte("commit")) {
			p.mu.Lock()
			fault := p.fault
			p.fault = 0
			p.mu.Unlock()
			if fault != 0 {
				// Cut before the COMMIT goes on, so that none of its
				// reply is forwarded.
				close(cut)
				if fault != dropCommit {
					_, _ = server.Write(msg)
				}
				go func() {
					<-serverDone
					close(p.cutServerClosed)
				}()
				if fault == loseReplyAndGoDown {
					p.goDown()
				}
				return // closes the client's side
			}
		}
		if _, err := server.Write(msg); err != nil {
			return
		}
	}
}

// toClient forwards the server's messages until the connection is cut,
// then drains them until the server closes its side.
func (p *commitProxy) toClient(server, client net.Conn, cut chan struct{}) {
	buf := make([]byte, 32<<10)
	for {
		n, err := server.Read(buf)
		select {
		case <-cut:
			// Never forwarded: the reply to the COMMIT is lost.
		default:
			if n > 0 {
				if _, werr := client.Write(buf[:n]); werr != nil {
					select {
					case <-cut:
					default:
						_ = server.Close()
						return
					}
				}
			}
		}
		if err != nil {
			// The server closed its side (after a cancel request, say):
			// so does the proxy.
			_ = client.Close()
			return
		}
	}
}

// commitFaultSetup opens an instance through a commitProxy, with one
// pending invitation, and returns a function counting the invitation's
// change events (storetest.Change records an invitation.resent event).
func commitFaultSetup(t *testing.T) (*commitProxy, instance, invitation.Invitation, *storetest.Clock, string, func() int) {
	t.Helper()
	ctx := context.Background()
	proxy := newCommitProxy(t)
	clock := storetest.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	schema := newSchema(t)
	in := newInstance(t, schema, clock.Now, append(proxy.params(), "application_name="+randomName("invitekit_commit_"))...)
	inv, err := in.orgs.Create(ctx, invitation.CreateParams{OrganizationID: uuid.New(), Email: "a@example.com", Role: "admin"})
	require.NoError(t, err)
	changeEvents := func() int {
		var n int
		require.NoError(t, admin.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{schema, "events"}.Sanitize()+" WHERE type = $1",
			string(event.InvitationResent)).Scan(&n))
		return n
	}
	return proxy, in, inv, clock, schema, changeEvents
}

// revoke returns an update that revokes, counting its calls in calls.
func revoke(clock *storetest.Clock, calls *int, check func()) func(context.Context, *invitation.Invitation) (event.Event, error) {
	return storetest.Change(func(i *invitation.Invitation) error {
		*calls++
		if check != nil {
			check()
		}
		now := clock.Now()
		i.Status = invitation.StatusRevoked
		i.RevokedAt = &now
		return nil
	})
}

// statusOf reads the invitation's status behind the store's back.
func statusOf(t *testing.T, schema string, inv invitation.Invitation) string {
	t.Helper()
	var status string
	require.NoError(t, admin.QueryRow(context.Background(), "SELECT status FROM "+pgx.Identifier{schema, "invitations"}.Sanitize()+
		" WHERE id = $1", inv.ID).Scan(&status))
	return status
}

// TestCommitReplyLost loses the server's reply to an update's COMMIT (the
// connection closes, as a network failure would, once the COMMIT is on
// its way; the server commits): the store terminates the transaction's
// server process, which the proxy keeps alive, to be sure the transaction
// has ended, finds its event and reports success. The update ran once and
// is applied once.
func TestCommitReplyLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	proxy, in, inv, clock, schema, changeEvents := commitFaultSetup(t)

	proxy.arm(loseReply)
	calls := 0
	got, err := in.store.UpdateInvitation(ctx, inv.OrganizationID, inv.ID, clock.Now(), store.Limits{}, revoke(clock, &calls, nil))
	require.NoError(t, err, "the commit went through, and the call says so")
	assert.Equal(t, 1, calls, "never run again")
	assert.Equal(t, invitation.StatusRevoked, got.Status)
	select {
	case <-proxy.cutServerClosed:
	default:
		// Settling waited for the process to leave pg_stat_activity; its
		// socket may close a moment later.
		select {
		case <-proxy.cutServerClosed:
		case <-time.After(10 * time.Second):
			t.Fatal("the server process of the lost COMMIT was not ended")
		}
	}
	assert.Equal(t, "revoked", statusOf(t, schema, inv))
	assert.Equal(t, 1, changeEvents(), "applied once")

	_, err = in.orgs.Revoke(ctx, inv.OrganizationID, inv.ID)
	assert.ErrorIs(t, err, store.ErrRevoked, "the next call sees the one revoke")
}

// TestCommitNeverArrived drops an update's COMMIT on its way: its
// transaction stays open, holding the row lock, on a server process the
// proxy keeps alive. The store terminates that process, which rolls the
// transaction back, finds no event, and runs the update again: it
// succeeds, applied once.
func TestCommitNeverArrived(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	proxy, in, inv, clock, schema, changeEvents := commitFaultSetup(t)

	proxy.arm(dropCommit)
	calls := 0
	got, err := in.store.UpdateInvitation(ctx, inv.OrganizationID, inv.ID, clock.Now(), store.Limits{}, revoke(clock, &calls, func() {
		if calls > 1 {
			assert.Equal(t, "pending", statusOf(t, schema, inv), "the lost attempt left nothing behind")
			assert.Zero(t, changeEvents(), "nor an event")
		}
	}))
	require.NoError(t, err, "the transaction ran again")
	assert.Equal(t, 2, calls, "the lost attempt and the one that committed")
	assert.Equal(t, invitation.StatusRevoked, got.Status)
	assert.Equal(t, "revoked", statusOf(t, schema, inv))
	assert.Equal(t, 1, changeEvents(), "applied once")
}

// TestCommitLostWithTheServer loses an update's COMMIT reply and, with
// it, every way to the server: the store cannot make sure the
// transaction has ended, so, as documented, the call fails with
// store.ErrUnavailable and is not run again, although the server did
// commit it.
func TestCommitLostWithTheServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	proxy, in, inv, clock, schema, changeEvents := commitFaultSetup(t)

	proxy.arm(loseReplyAndGoDown)
	calls := 0
	_, err := in.store.UpdateInvitation(ctx, inv.OrganizationID, inv.ID, clock.Now(), store.Limits{}, revoke(clock, &calls, nil))
	require.Error(t, err)
	t.Logf("commit lost with the server: %v", err)
	assert.ErrorIs(t, err, store.ErrUnavailable)
	assert.Equal(t, 1, calls, "an unknown outcome is never run again")
	assert.False(t, errors.Is(err, store.ErrNotFound), "got %v", err)
	// The server process may still be finishing: wait for the commit.
	assert.Eventually(t, func() bool { return changeEvents() == 1 }, 10*time.Second, 10*time.Millisecond, "the server committed it once")
	assert.Equal(t, "revoked", statusOf(t, schema, inv))
}
