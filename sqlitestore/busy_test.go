package sqlitestore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/httpadapter"
	"github.com/invitekit/invitekit/invitation"
)

// holdWriteLock opens path as another process would and takes the file's
// write lock (BEGIN IMMEDIATE); the returned function lets go of it.
func holdWriteLock(t *testing.T, path string) (conn *sql.Conn, release func()) {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)&_pragma=journal_mode(WAL)")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	conn, err = db.Conn(ctx)
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE")
	require.NoError(t, err)
	released := false
	release = func() {
		if !released {
			released = true
			_, err := conn.ExecContext(ctx, "ROLLBACK")
			assert.NoError(t, err)
			assert.NoError(t, conn.Close())
		}
	}
	t.Cleanup(release)
	return conn, release
}

// TestDriverClassifiesBusy checks the driver's errors with real SQLite
// errors: a file locked by another writer is unavailable, a constraint is
// not.
func TestDriverClassifiesBusy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "busy.db")
	s, err := Open(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	var d driver

	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	require.NoError(t, err)
	defer other.Close()
	_, err = other.ExecContext(ctx, "CREATE TABLE t (x INTEGER PRIMARY KEY)")
	require.NoError(t, err)
	_, err = other.ExecContext(ctx, "INSERT INTO t VALUES (1)")
	require.NoError(t, err)
	_, err = other.ExecContext(ctx, "INSERT INTO t VALUES (1)")
	require.Error(t, err)
	assert.True(t, d.Unique(err))
	assert.False(t, d.Unavailable(err), "a constraint is not busy")

	_, release := holdWriteLock(t, path)
	_, err = other.ExecContext(ctx, "INSERT INTO t VALUES (2)")
	require.Error(t, err)
	t.Logf("write while another holds the lock: %v", err)
	assert.True(t, d.Unavailable(err), "SQLITE_BUSY")
	assert.False(t, d.Retryable(err))
	assert.False(t, d.Lost(err))
	release()

	assert.False(t, d.Unavailable(errors.New("database is locked")), "words are not codes")
	assert.False(t, d.Unavailable(context.DeadlineExceeded))
}

// TestBusyFileIs503 has another process hold the database's write lock
// while a client creates invitations over HTTP: after the busy timeout the
// creates are answered 503 with Retry-After (organization and guest
// shapes), nothing is stored, and once the lock is released the same
// creates work.
func TestBusyFileIs503(t *testing.T) {
	t.Parallel()
	const busyTimeout = 500 * time.Millisecond
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "busy.db")
	s, err := Open(ctx, path, WithBusyTimeout(busyTimeout))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	key := bytes.Repeat([]byte{7}, 32)
	orgs, err := invitation.NewService(invitation.Config{Store: s, Keys: [][]byte{key}})
	require.NoError(t, err)
	guests, err := guest.NewService(guest.Config{Store: s, Keys: [][]byte{key}})
	require.NoError(t, err)
	h, err := httpadapter.New(httpadapter.Config{Invitations: orgs, Guests: guests,
		Authenticate: httpadapter.APIKeys(map[string]string{"key": "secret"})})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	org := uuid.New()
	post := func(path string, body any) (status int, retryAfter string, reply map[string]any, took time.Duration) {
		t.Helper()
		b, err := json.Marshal(body)
		require.NoError(t, err)
		req, err := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(b))
		require.NoError(t, err)
		req.SetBasicAuth("key", "secret")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(httpadapter.RequesterHeader, org.String())
		req.Header.Set(httpadapter.TargetHeader, org.String())
		start := time.Now()
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		took = time.Since(start)
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&reply))
		return resp.StatusCode, resp.Header.Get("Retry-After"), reply, took
	}
	orgBody := map[string]any{"email": "busy@example.com", "role": "admin"}
	guestBody := map[string]any{"email": "guest@example.com", "expired_at": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)}
	orgPath := "/v1/organizations/" + org.String() + "/invitations"

	conn, release := holdWriteLock(t, path)
	status, retryAfter, reply, took := post(orgPath, orgBody)
	assert.Equal(t, http.StatusServiceUnavailable, status, "%v", reply)
	assert.NotEmpty(t, retryAfter)
	assert.Equal(t, float64(503), reply["status"])
	assert.Equal(t, httpadapter.ProblemTypePrefix+"unavailable", reply["type"])
	assert.GreaterOrEqual(t, took, busyTimeout, "waited out the busy timeout")
	assert.Less(t, took, busyTimeout+3*time.Second)
	t.Logf("organization create while another process held the lock: %d after %v", status, took)

	status, retryAfter, reply, _ = post("/guest-invitations", guestBody)
	assert.Equal(t, http.StatusServiceUnavailable, status, "%v", reply)
	assert.NotEmpty(t, retryAfter)
	assert.Equal(t, httpadapter.ProblemTypePrefix+"unavailable", reply["type"])

	var rows, events int
	require.NoError(t, conn.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM invitations) + (SELECT count(*) FROM guest_invitations), (SELECT count(*) FROM events)").Scan(&rows, &events))
	assert.Zero(t, rows, "nothing stored")
	assert.Zero(t, events, "no event")

	release()
	status, _, reply, _ = post(orgPath, orgBody)
	assert.Equal(t, http.StatusOK, status, "%v", reply)
	status, _, reply, _ = post("/guest-invitations", guestBody)
	assert.Equal(t, http.StatusCreated, status, "%v", reply)
	list, err := orgs.List(ctx, org, invitation.ListOptions{Limit: 10})
	require.NoError(t, err)
	assert.Len(t, list.Invitations, 1, "one create, once")
}
