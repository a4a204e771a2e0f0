package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/internal/pgtest"
)

// process is the example server binary running as a user runs it.
type process struct {
	cmd    *exec.Cmd
	addr   string
	apiKey [2]string // generated ID and secret, when the server made one
	done   chan error
	// log is what the server wrote to stderr.
	log *syncBuffer
}

// syncBuffer is a bytes.Buffer a process writes while a test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// binary is the example server built once for every test, in binDir.
var (
	binDir   string
	buildBin = sync.OnceValues(func() (string, error) {
		bin := filepath.Join(binDir, "server")
		// With the test binary's -race, so that the build reuses the
		// packages that go test has just compiled (SQLite above all)
		// instead of compiling them all a second time.
		args := []string{"build", "-o", bin}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("go build: %w: %s", err, out)
		}
		return bin, nil
	})
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "invitekit-server-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	// Tests run the binary as an unprivileged user when they run as root
	// (see unprivileged), who needs to reach it.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := pgtest.Main("examples/server", m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// build returns the server binary, built as a user builds it.
func build(t *testing.T) string {
	t.Helper()
	bin, err := buildBin()
	require.NoError(t, err)
	return bin
}

var (
	listening = regexp.MustCompile(`^listening on (\S+)$`)
	generated = regexp.MustCompile(`^\s+INVITEKIT_API_KEYS=([^:]+):([^@\s]+)@\*$`)
)

func start(t *testing.T, bin string, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	return startCmd(t, cmd)
}

// startCmd starts cmd, a server process, and waits until it listens.
func startCmd(t *testing.T, cmd *exec.Cmd) *process {
	t.Helper()
	p := &process{cmd: cmd, done: make(chan error, 1), log: &syncBuffer{}}
	p.cmd.Stderr = p.log
	stdout, err := p.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })

	lines := bufio.NewScanner(stdout)
	for p.addr == "" && lines.Scan() {
		if m := generated.FindStringSubmatch(lines.Text()); m != nil {
			p.apiKey = [2]string{m[1], m[2]}
		}
		if m := listening.FindStringSubmatch(lines.Text()); m != nil {
			p.addr = m[1]
		}
	}
	require.NotEmpty(t, p.addr, "the server never said where it listens")
	go func() {
		_, _ = io.Copy(io.Discard, stdout)
		p.done <- p.cmd.Wait()
	}()
	return p
}

// logged asserts that the server logs want, soon: its stderr reaches the
// log through a pipe, behind what it has written to stdout.
func (p *process) logged(t *testing.T, want string) {
	t.Helper()
	assert.Eventually(t, func() bool { return strings.Contains(p.log.String(), want) }, 10*time.Second, 10*time.Millisecond,
		"the server never logged %q:\n%s", want, p.log)
}

// stop sends SIGTERM and expects a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.done:
		require.NoError(t, err, "the server exits 0 after SIGTERM")
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not stop within 15 s of SIGTERM")
	}
}

// do sends a request with the process's API key; org, when set, is sent as
// both guest organization headers, with Bearer authentication.
func (p *process) do(t *testing.T, method, path, body string, org ...string) (int, map[string]any) {
	t.Helper()
	status, _, out := p.doHeader(t, method, path, body, org...)
	return status, out
}

// doHeader is do that also returns the response's header.
func (p *process) doHeader(t *testing.T, method, path, body string, org ...string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+p.addr+path, strings.NewReader(body))
	require.NoError(t, err)
	req.SetBasicAuth(p.apiKey[0], p.apiKey[1])
	if len(org) > 0 {
		req.Header.Set("Authorization", "Bearer "+p.apiKey[1])
		if org[0] != "" {
			req.Header.Set("Requester-Organization-ID", org[0])
			req.Header.Set("Target-Organization-ID", org[0])
		}
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, resp.Header, out
}

func TestServerBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	bin := build(t)
	db := filepath.Join(t.TempDir(), "invitekit.db")
	org := uuid.NewString()

	first := start(t, bin, nil, "-db", db)
	require.NotEmpty(t, first.apiKey[0], "with no API key configured the server generates and prints one")
	status, created := first.do(t, "POST", "/v1/organizations/"+org+"/invitations", `{"email":"Ada@Example.com","role":"admin"}`)
	require.Equal(t, http.StatusOK, status, "%v", created)
	result := created["result"].(map[string]any)
	assert.Equal(t, "ada@example.com", result["email"])
	token := result["token"].(string)
	first.stop(t)

	st, err := os.Stat(db + ".key")
	require.NoError(t, err, "the token key is kept beside the database")
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	// A restart with the same file and key keeps the invitation and its
	// token.
	key := fmt.Sprintf("INVITEKIT_API_KEYS=%s:%s@*", first.apiKey[0], first.apiKey[1])
	second := start(t, bin, []string{key}, "-db", db)
	second.apiKey = first.apiKey
	status, list := second.do(t, "GET", "/v1/organizations/"+org+"/invitations", "")
	require.Equal(t, http.StatusOK, status)
	assert.Len(t, list["result"], 1)
	status, accepted := second.do(t, "POST", "/v1/invitations/accept", fmt.Sprintf(`{"token":%q,"email":"ada@example.com"}`, token))
	assert.Equal(t, http.StatusOK, status, "%v", accepted)
	status, _ = second.do(t, "GET", "/openapi.json", "")
	assert.Equal(t, http.StatusOK, status)
	second.stop(t)
}

func TestServerMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	p := start(t, build(t), []string{"INVITEKIT_API_KEYS=k:s@*"}, "-db", ":memory:")
	p.apiKey = [2]string{"k", "s"}
	status, body := p.do(t, "GET", "/v1/organizations/"+uuid.NewString()+"/invitations", "")
	assert.Equal(t, http.StatusOK, status, "%v", body)
	p.apiKey = [2]string{"k", "wrong"}
	status, _ = p.do(t, "GET", "/v1/organizations/"+uuid.NewString()+"/invitations", "")
	assert.Equal(t, http.StatusUnauthorized, status)
	p.stop(t)
}

// postgresSchema returns the test database's URL and a schema name of the
// test's own, dropped when it ends; it skips the test without a database
// or with -short, and marks it parallel.
func postgresSchema(t *testing.T) (url, schema string) {
	url = pgtest.URL(t)
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	schema = "server_test_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err == nil {
			_, _ = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
			_ = conn.Close(ctx)
		}
	})
	return url, schema
}

func TestServerPostgres(t *testing.T) {
	url, schema := postgresSchema(t)
	bin := build(t)
	env := []string{"INVITEKIT_API_KEYS=k:s@*", "INVITEKIT_TOKEN_KEY=" + base64.StdEncoding.EncodeToString(make([]byte, 32))}
	org := uuid.NewString()

	// Two instances on one database, as the store is meant to be run.
	a := start(t, bin, env, "-postgres", url, "-postgres-schema", schema)
	b := start(t, bin, env, "-postgres", url, "-postgres-schema", schema)
	a.apiKey, b.apiKey = [2]string{"k", "s"}, [2]string{"k", "s"}
	expiry := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	status, body := a.do(t, "POST", "/guest-invitations", `{"email":"g@example.com","expired_at":"`+expiry+`"}`, org)
	require.Equal(t, http.StatusCreated, status, "%v", body)
	status, body = b.do(t, "POST", "/guest-invitations/accept", fmt.Sprintf(`{"invitation_token":%q}`, body["invitation_token"]), "")
	assert.Equal(t, http.StatusOK, status, "%v", body)
	assert.Equal(t, "accepted_by_guest", body["status"], "one instance accepts what the other created")
	a.stop(t)
	b.stop(t)
}

func TestServerPostgresNeedsTokenKey(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	t.Parallel()
	out, err := exec.Command(build(t), "-addr", "127.0.0.1:0", "-postgres", "postgres://127.0.0.1:1/none").CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "INVITEKIT_TOKEN_KEY", "instances must share a key, so the server does not invent one")
}
