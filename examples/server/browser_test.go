package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/internal/smtptest"
)

// chromium returns the path of a Chromium to drive. Without one the test
// is skipped, except in CI (CI set), where .ci/run installs Debian's
// chromium and a missing browser is a failure.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium on PATH; .ci/run installs Debian's chromium package")
	}
	t.Skip("no chromium on PATH (apt-get install chromium)")
	return ""
}

// browser is a headless Chromium tab.
type browser struct {
	t   *testing.T
	ctx context.Context
	// shots is where screenshots of each state go: INVITEKIT_SCREENSHOTS
	// when set (to look at them), else the test's temporary directory.
	shots string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // the CI machine runs as root
		chromedp.WindowSize(900, 700),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run starts the browser, which lives as long as the
	// context of that run: it gets no timeout; later steps do (step).
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")))
	shots := os.Getenv("INVITEKIT_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(shots, 0o755))
	return &browser{t: t, ctx: ctx, shots: shots}
}

// step runs steps, failing the test if they take more than 30 s (a
// selector that never appears).
func (b *browser) step(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	require.NoError(b.t, chromedp.Do(ctx, steps...))
}

// open loads url and returns the response's status, the page's heading and
// its main text, after saving a screenshot named shot.
func (b *browser) open(url, shot string) (status int, heading, text string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	require.NoError(b.t, err)
	heading, text = b.read(shot)
	return int(resp.Status), heading, text
}

// read returns the shown page's heading and main text, after saving a
// screenshot named shot.
func (b *browser) read(shot string) (heading, text string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	require.NoError(b.t, err)
	text, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	require.NoError(b.t, err)
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	require.NoError(b.t, err)
	require.NoError(b.t, os.WriteFile(filepath.Join(b.shots, shot+".png"), png, 0o644))
	return heading, text
}

// TestAcceptInBrowser is the path a person takes: an invitation created
// over the API arrives by email; its link opens the accept page in a
// browser, which shows the invitation without changing it; Accept accepts;
// the link then says so; a tampered link and a link replaced by a resend
// are invalid.
func TestAcceptInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the server binary and a browser")
	}
	t.Parallel()
	b := newBrowser(t)
	mails := smtptest.NewServer(t)
	p := start(t, build(t), []string{"INVITEKIT_API_KEYS=k:s@*"}, "-db", filepath.Join(t.TempDir(), "invitekit.db"),
		"-smtp", mails.URL(), "-mail-from", "Acme Invitations <invites@acme.example>")
	p.apiKey = [2]string{"k", "s"}
	org := uuid.NewString()
	invitations := "/v1/organizations/" + org + "/invitations"

	status, created := p.do(t, "POST", invitations, `{"email":"ada@example.com","role":"developer"}`)
	require.Equal(t, http.StatusOK, status, "%v", created)
	id := created["result"].(map[string]any)["id"].(string)

	msg := mails.Wait(t, 1, 30*time.Second)[0]
	assert.Equal(t, []string{"ada@example.com"}, msg.To)
	assert.Contains(t, msg.Header.Get("From"), "invites@acme.example")
	link := msg.Link()
	require.True(t, strings.HasPrefix(link, "http://"+p.addr+"/accept?token="), "the link goes to the server's own accept page: %q", link)
	assert.Contains(t, msg.HTML, "href=", "the HTML part links too")

	status, heading, text := b.open(link, "1-open")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "You are invited", heading)
	assert.NotContains(t, text, "ada@example.com", "the page asks for the address, so it does not show it")
	assert.Contains(t, text, "developer")
	assert.Contains(t, text, "Only the address this invitation was sent to can accept it.")
	status, _, _ = b.open(link, "1-open-again")
	assert.Equal(t, http.StatusOK, status)
	status, got := p.do(t, "GET", invitations+"/"+id, "")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "pending", got["result"].(map[string]any)["status"], "opening the link twice changed nothing")

	b.step(
		chromedp.SendKeys(chromedp.CSS("#email"), "eve@example.com"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[role="alert"]`)),
	)
	_, text = b.read("2-wrong-email")
	assert.Contains(t, text, "This invitation was sent to a different email address.")

	b.step(
		chromedp.Clear(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.com"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[role="status"]`)),
	)
	heading, text = b.read("3-accepted")
	assert.Equal(t, "Invitation accepted", heading)
	assert.Contains(t, text, "as developer")
	status, got = p.do(t, "GET", invitations+"/"+id, "")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "accepted", got["result"].(map[string]any)["status"])

	status, heading, text = b.open(link, "4-already-accepted")
	assert.Equal(t, http.StatusConflict, status)
	assert.Equal(t, "Invitation already accepted", heading)
	assert.Contains(t, text, "There is nothing more to do.")

	tampered := link[:len(link)-4] + strings.Map(func(r rune) rune {
		if r == 'A' {
			return 'B'
		}
		return 'A'
	}, link[len(link)-4:])
	status, heading, _ = b.open(tampered, "5-invalid")
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, "Invalid invitation link", heading)

	// A resend mails a new link; the first one stops working.
	// invite creates an invitation to email and applies change to it; it
	// returns the link of the email that comes of the create and of the
	// one that comes of the change, if any.
	invite := func(email, change string, n int) (created, changed string) {
		t.Helper()
		status, body := p.do(t, "POST", invitations, fmt.Sprintf(`{"email":%q,"role":"admin"}`, email))
		require.Equal(t, http.StatusOK, status, "%v", body)
		created = mails.Wait(t, n, 30*time.Second)[n-1].Link()
		status, body = p.do(t, "POST", invitations+"/"+body["result"].(map[string]any)["id"].(string)+"/"+change, "")
		require.Equal(t, http.StatusOK, status, "%v", body)
		if change == "resend" {
			changed = mails.Wait(t, n+1, 30*time.Second)[n].Link()
		}
		return created, changed
	}
	first, second := invite("bob@example.com", "resend", 2)
	require.NotEqual(t, first, second)
	_, heading, _ = b.open(first, "6-replaced")
	assert.Equal(t, "Invalid invitation link", heading)
	status, heading, _ = b.open(second, "7-resent-open")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "You are invited", heading)

	// A revoked invitation says so.
	revokedLink, _ := invite("cy@example.com", "revoke", 4)
	status, heading, _ = b.open(revokedLink, "8-revoked")
	assert.Equal(t, http.StatusConflict, status)
	assert.Equal(t, "Invitation revoked", heading)

	// A guest invitation needs no email: its token is the credential.
	status, created = p.do(t, "POST", "/guest-invitations",
		fmt.Sprintf(`{"email":"guest@example.com","expired_at":%q}`, time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339)), org)
	require.Equal(t, http.StatusCreated, status, "%v", created)
	guestLink := mails.Wait(t, 5, 30*time.Second)[4].Link()
	status, heading, text = b.open(guestLink, "9-guest-open")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "You are invited", heading)
	assert.Contains(t, text, "as a guest of")
	b.step(
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[role="status"]`)),
	)
	heading, _ = b.read("10-guest-accepted")
	assert.Equal(t, "Invitation accepted", heading)
	status, got = p.do(t, "GET", "/guest-invitations/"+created["id"].(string), "", org)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "accepted_by_guest", got["status"])
	p.stop(t)
	t.Logf("screenshots in %s", b.shots)
}
