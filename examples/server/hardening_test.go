package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/memstore"
)

// fails runs the binary, which must exit non-zero at start, and returns
// what it wrote.
func fails(t *testing.T, env []string, args ...string) string {
	t.Helper()
	return failsAs(t, false, env, args...)
}

// failsUnprivileged is fails for a user file permissions bind: as root,
// the binary runs as nobody (see sharedDir).
func failsUnprivileged(t *testing.T, env []string, args ...string) string {
	t.Helper()
	return failsAs(t, os.Geteuid() == 0, env, args...)
}

// sharedDir returns a new directory nobody can reach, for
// failsUnprivileged: a test's TempDir is 0700.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	require.NoError(t, os.Chmod(dir, 0o777))
	return dir
}

func failsAs(t *testing.T, nobody bool, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(build(t), append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	if nobody {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	done := make(chan struct{})
	time.AfterFunc(30*time.Second, func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
		}
	})
	out, err := cmd.CombinedOutput()
	close(done)
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "the server must refuse to start: %s", out)
	assert.NotEqual(t, 0, exit.ExitCode())
	return string(out)
}

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
}

// created makes a database with one invitation, by the server itself,
// and returns its path and the invitation's token.
func created(t *testing.T, dir string) (db, token string) {
	t.Helper()
	db = filepath.Join(dir, "invitekit.db")
	p := start(t, build(t), []string{"INVITEKIT_API_KEYS=k:s@*"}, "-db", db)
	p.apiKey = [2]string{"k", "s"}
	status, body := p.do(t, "POST", "/v1/organizations/"+uuid.NewString()+"/invitations", `{"email":"ada@example.com","role":"admin"}`)
	require.Equal(t, http.StatusOK, status, "%v", body)
	p.stop(t)
	return db, body["result"].(map[string]any)["token"].(string)
}

func TestStartRefusesReadOnlyDatabase(t *testing.T) {
	skipShort(t)
	keys := []string{"INVITEKIT_API_KEYS=k:s@*"}

	t.Run("read-only file", func(t *testing.T) {
		db, _ := created(t, sharedDir(t))
		require.NoError(t, os.Chmod(db, 0o444))
		out := failsUnprivileged(t, keys, "-db", db)
		assert.Contains(t, out, "database is read-only: file "+db+" is not writable")
	})
	t.Run("read-only directory", func(t *testing.T) {
		db, _ := created(t, sharedDir(t))
		require.NoError(t, os.Chmod(db, 0o666))
		require.NoError(t, os.Chmod(filepath.Dir(db), 0o555))
		out := failsUnprivileged(t, keys, "-db", db)
		assert.Contains(t, out, "database is read-only: directory "+filepath.Dir(db)+" is not writable")
		assert.Contains(t, out, "-wal and -shm")
	})
	t.Run("missing directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "nope")
		out := fails(t, keys, "-db", filepath.Join(dir, "invitekit.db"))
		assert.Contains(t, out, "directory "+dir+" does not exist")
		assert.NotContains(t, out, "unable to open database file")
	})
}

func TestStartRefusesPortInUse(t *testing.T) {
	skipShort(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	dir := t.TempDir()
	out := fails(t, nil, "-addr", ln.Addr().String(), "-db", filepath.Join(dir, "invitekit.db"))
	assert.Contains(t, out, "cannot listen on "+ln.Addr().String())
	assert.Contains(t, out, "address already in use")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "no database or key file is created for a server that cannot listen")
}

func TestFilesAreOwnerOnly(t *testing.T) {
	skipShort(t)
	db := filepath.Join(t.TempDir(), "invitekit.db")
	p := start(t, build(t), []string{"INVITEKIT_API_KEYS=k:s@*"}, "-db", db)
	p.apiKey = [2]string{"k", "s"}
	status, _ := p.do(t, "POST", "/v1/organizations/"+uuid.NewString()+"/invitations", `{"email":"ada@example.com","role":"admin"}`)
	require.Equal(t, http.StatusOK, status)
	for _, f := range []string{db, db + "-wal", db + "-shm", db + ".key"} {
		st, err := os.Stat(f)
		require.NoError(t, err)
		assert.Equal(t, fs.FileMode(0o600), st.Mode().Perm(), f)
	}
	p.stop(t)
}

func TestLostTokenKey(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	db, token := created(t, dir)
	require.NoError(t, os.Remove(db+".key"))

	out := fails(t, []string{"INVITEKIT_API_KEYS=k:s@*"}, "-db", db)
	assert.Contains(t, out, "the token key file "+db+".key is missing, but the database "+db+" holds invitations")
	assert.Contains(t, out, "-rotate-token-key")
	_, err := os.Stat(db + ".key")
	assert.ErrorIs(t, err, fs.ErrNotExist, "a refused start creates no key")

	p := start(t, build(t), []string{"INVITEKIT_API_KEYS=k:s@*"}, "-db", db, "-rotate-token-key")
	p.apiKey = [2]string{"k", "s"}
	p.logged(t, "every invitation link and token sent before is now invalid")
	status, body := p.do(t, "POST", "/v1/invitations/accept", fmt.Sprintf(`{"token":%q,"email":"ada@example.com"}`, token))
	assert.Equal(t, http.StatusNotFound, status, "the old link died with its key: %v", body)
	p.stop(t)
	st, err := os.Stat(db + ".key")
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), st.Mode().Perm())

	// A key file again: the flag left on changes nothing.
	again := start(t, build(t), []string{"INVITEKIT_API_KEYS=k:s@*"}, "-db", db, "-rotate-token-key")
	assert.Contains(t, again.log.String(), "-rotate-token-key has no effect")
	again.stop(t)
}

func TestScopedKeys(t *testing.T) {
	skipShort(t)
	mine, other := uuid.NewString(), uuid.NewString()
	p := start(t, build(t), []string{"INVITEKIT_API_KEYS=scoped:s1@" + mine + ",admin:s2@*"}, "-db", ":memory:")
	p.apiKey = [2]string{"scoped", "s1"}

	status, body := p.do(t, "POST", "/v1/organizations/"+mine+"/invitations", `{"email":"ada@example.com","role":"admin"}`)
	assert.Equal(t, http.StatusOK, status, "%v", body)
	status, body = p.do(t, "GET", "/v1/organizations/"+other+"/invitations", "")
	assert.Equal(t, http.StatusForbidden, status, "%v", body)
	status, _ = p.do(t, "POST", "/v1/organizations/"+other+"/invitations", `{"email":"ada@example.com","role":"admin"}`)
	assert.Equal(t, http.StatusForbidden, status)
	status, _ = p.do(t, "GET", "/v1/organizations/"+other+"/events", "")
	assert.Equal(t, http.StatusForbidden, status)

	expiry := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	status, body = p.do(t, "POST", "/guest-invitations", `{"email":"g@example.com","expired_at":"`+expiry+`"}`, mine)
	assert.Equal(t, http.StatusCreated, status, "%v", body)
	status, body = p.do(t, "GET", "/guest-invitations", "", other)
	assert.Equal(t, http.StatusForbidden, status, "a key acts as its own organizations only: %v", body)

	p.apiKey = [2]string{"admin", "s2"}
	status, _ = p.do(t, "GET", "/v1/organizations/"+other+"/invitations", "")
	assert.Equal(t, http.StatusOK, status, "@* acts for every organization")

	p.logged(t, "API key acts for every organization")
	log := p.log.String()
	assert.Contains(t, log, "key=admin")
	assert.NotContains(t, log, "key=scoped")
	assert.NotContains(t, log, "s2", "the warning names the key, not its secret")
	p.stop(t)
}

func TestStartRefusesMalformedKeys(t *testing.T) {
	skipShort(t)
	out := fails(t, []string{"INVITEKIT_API_KEYS=a:b@*,c:secret d:e@*"}, "-db", ":memory:")
	assert.Contains(t, out, "INVITEKIT_API_KEYS entry 2")
	assert.NotContains(t, out, "secret d", "the error never quotes a secret")
}

func TestHelp(t *testing.T) {
	skipShort(t)
	out, err := exec.Command(build(t), "-h").CombinedOutput()
	require.NoError(t, err, "-h exits 0: %s", out)
	for _, name := range []string{"INVITEKIT_API_KEYS", "INVITEKIT_TOKEN_KEY", "INVITEKIT_WEBHOOK_SECRET",
		"-addr", "-db", "-api-key", "-rotate-token-key", "-max-conns", "-idle-timeout", "-read-header-timeout",
		"-auth-failures", "-trust-forwarded-for", "-webhook", "-smtp", "-sweep-interval", "-retention", "-max-open", "-creates-per-hour"} {
		assert.Contains(t, string(out), name)
	}
	out, err = exec.Command(build(t), "-help").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "INVITEKIT_API_KEYS")
}

// idleConn is a keep-alive connection that sent one request and waits.
type idleConn struct {
	conn net.Conn
	r    *bufio.Reader
}

func openIdle(t *testing.T, addr string) idleConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return idleConn{conn, r}
}

// open reports whether the server still holds c open.
func (c idleConn) open() bool {
	_ = c.conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := c.r.Peek(1)
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestConnectionCap(t *testing.T) {
	skipShort(t)
	const max, idle = 5, 40
	p := start(t, build(t), []string{"INVITEKIT_API_KEYS=k:s@*"}, "-db", ":memory:", "-max-conns", fmt.Sprint(max), "-idle-timeout", "1m")
	var conns []idleConn
	for range idle {
		conns = append(conns, openIdle(t, p.addr))
	}
	// Every one of them was served, although the cap is far lower: each
	// new one took the place of the longest idle.
	held := 0
	for _, c := range conns {
		if c.open() {
			held++
		}
	}
	assert.LessOrEqual(t, held, max, "the server holds no more than -max-conns connections")
	assert.Positive(t, held)

	// The client gives up long before the idle ones time out (1m): a
	// bound in wall time would fail on a loaded machine.
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Get("http://" + p.addr + "/healthz")
	require.NoError(t, err, "a new client is served while idle connections fill the cap, without waiting for them to time out")
	resp.Body.Close()
	p.stop(t)
}

// from returns a client whose connections come from the loopback address
// ip, so that one test can be several clients.
func from(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

// send sends a request through c and returns its status, Retry-After and
// problem type.
func send(t *testing.T, c *http.Client, method, url, body string, auth [2]string) (status int, retryAfter, problem string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if auth[0] != "" {
		req.SetBasicAuth(auth[0], auth[1])
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var p struct{ Type string }
	if strings.Contains(resp.Header.Get("Content-Type"), "json") {
		_ = json.NewDecoder(resp.Body).Decode(&p)
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), p.Type
}

func TestThrottleGuesses(t *testing.T) {
	skipShort(t)
	const budget = 3
	p := start(t, build(t), []string{"INVITEKIT_API_KEYS=k:s@*"}, "-db", ":memory:", "-auth-failures", fmt.Sprint(budget))
	list := "http://" + p.addr + "/v1/organizations/" + uuid.NewString() + "/invitations"
	good, wrong := [2]string{"k", "s"}, [2]string{"k", "guess"}

	attacker := from("127.0.0.2")
	for i := range budget {
		status, _, _ := send(t, attacker, "GET", list, "", wrong)
		require.Equal(t, http.StatusUnauthorized, status, "guess %d", i+1)
	}
	status, retry, problem := send(t, attacker, "GET", list, "", wrong)
	assert.Equal(t, http.StatusTooManyRequests, status)
	assert.Equal(t, "urn:invitekit:problem:rate-limited", problem)
	// One failure refills every 60s/3, less the time the guesses took.
	secs, err := strconv.Atoi(retry)
	require.NoError(t, err, "Retry-After %q", retry)
	assert.InDelta(t, 20, secs, 5, "one failure refills every 60s/3")
	status, _, _ = send(t, attacker, "GET", list, "", good)
	assert.Equal(t, http.StatusTooManyRequests, status, "the address is blocked, whatever it sends")

	status, _, _ = send(t, from("127.0.0.3"), "GET", list, "", good)
	assert.Equal(t, http.StatusOK, status, "a client from another address is unaffected")

	// Token guesses, on every route a token opens.
	for ip, guess := range map[string][3]string{
		"127.0.0.4": {"POST", "/v1/invitations/accept", `{"token":"guess","email":"a@example.com"}`},
		"127.0.0.5": {"POST", "/guest-invitations/accept", `{"invitation_token":"guess"}`},
		"127.0.0.6": {"GET", "/accept?token=guess", ""},
	} {
		c := from(ip)
		for range budget {
			status, _, _ := send(t, c, guess[0], "http://"+p.addr+guess[1], guess[2], good)
			require.Equal(t, http.StatusNotFound, status, "%s", guess[1])
		}
		status, retry, _ := send(t, c, guess[0], "http://"+p.addr+guess[1], guess[2], good)
		assert.Equal(t, http.StatusTooManyRequests, status, "%s", guess[1])
		assert.NotEmpty(t, retry)
	}
	p.stop(t)
}

func TestHealthAndReadiness(t *testing.T) {
	skipShort(t)
	p := start(t, build(t), []string{"INVITEKIT_API_KEYS=k:s@*"}, "-db", filepath.Join(t.TempDir(), "invitekit.db"))
	for _, path := range []string{"/healthz", "/readyz"} {
		status, _, _ := send(t, http.DefaultClient, "GET", "http://"+p.addr+path, "", [2]string{})
		assert.Equal(t, http.StatusOK, status, "%s needs no credentials", path)
	}
	p.stop(t)
}

func TestReadyzWithoutStore(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	cfg, err := parseConfig(nil, env(map[string]string{"INVITEKIT_API_KEYS": "k:s@*"}), io.Discard)
	require.NoError(t, err)
	svc, err := newServices(st, make([]byte, 32), cfg)
	require.NoError(t, err)
	h, err := newHandler(st, svc, cfg, discardLogger(), nil, http.NotFoundHandler())
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	for _, path := range []string{"/readyz", "/healthz"} {
		resp, err = http.Head(srv.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "HEAD %s, as some probes send", path)
	}

	require.NoError(t, st.Close())
	resp, err = http.Get(srv.URL + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "the store no longer answers")
	assert.Equal(t, "5", resp.Header.Get("Retry-After"))
	resp, err = http.Get(srv.URL + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the process is still up")
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
