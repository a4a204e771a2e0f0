package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// walkthrough is the README's runnable walkthrough: the command that starts
// the server, and the shell blocks to paste after it, in order.
type walkthrough struct {
	server string
	blocks []string
}

// readWalkthrough extracts the fenced sh blocks that follow a
// "<!-- walkthrough -->" or "<!-- walkthrough: server -->" marker.
func readWalkthrough(t *testing.T, path string) walkthrough {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var w walkthrough
	lines := bufio.NewScanner(f)
	for n := 1; lines.Scan(); n++ {
		marker := strings.TrimSpace(lines.Text())
		if marker != "<!-- walkthrough -->" && marker != "<!-- walkthrough: server -->" {
			continue
		}
		require.True(t, lines.Scan(), "README.md:%d: a walkthrough marker at the end of the file", n)
		n++
		require.Equal(t, "```sh", lines.Text(), "README.md:%d: a walkthrough marker must precede a ```sh block", n)
		var block strings.Builder
		for lines.Scan() {
			n++
			if lines.Text() == "```" {
				break
			}
			block.WriteString(lines.Text() + "\n")
		}
		if marker == "<!-- walkthrough -->" {
			w.blocks = append(w.blocks, block.String())
			continue
		}
		require.Empty(t, w.server, "README.md:%d: a second server block", n)
		w.server = strings.TrimSpace(block.String())
	}
	require.NoError(t, lines.Err())
	return w
}

// commands joins a block's continuation lines, so that each string is one
// command as the shell reads it.
func commands(block string) []string {
	return strings.Split(strings.ReplaceAll(block, "\\\n", " "), "\n")
}

var checkedStatus = regexp.MustCompile(`--fail-with-body|%\{http_code\}.*\| grep -x [0-9]{3}\b`)

// TestReadmeWalkthrough runs the README's walkthrough as a reader pastes it:
// the server block starts the server (the binary built from this package in
// place of go run), and the shell blocks run in order in one bash, which
// stops at the first command that fails. Every curl in them must check its
// status, so an unexpected one fails the test.
func TestReadmeWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the server binary")
	}
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("the README walkthrough needs %s (.ci/run installs it)", tool)
			}
			t.Skipf("the README walkthrough needs %s on PATH", tool)
		}
	}
	w := readWalkthrough(t, "../../README.md")
	require.NotEmpty(t, w.server, "README.md has no <!-- walkthrough: server --> block")
	require.GreaterOrEqual(t, len(w.blocks), 4, "README.md's walkthrough blocks (setup, organization, links, guests, events)")
	for _, b := range w.blocks {
		for _, c := range commands(b) {
			if strings.Contains(c, "curl ") {
				require.Regexp(t, checkedStatus, c, "a walkthrough curl must fail on an unexpected status: --fail-with-body, or -w '%%{http_code}' | grep -x CODE")
			}
		}
	}

	const goRun = "go run ./examples/server"
	require.Equal(t, 1, strings.Count(w.server, goRun), "the server block runs %q once: %s", goRun, w.server)
	server := exec.Command("bash", "-c", strings.Replace(w.server, goRun, "exec "+build(t), 1)+" -addr 127.0.0.1:0")
	server.Dir = t.TempDir()
	p := startCmd(t, server)

	const api = "API=http://localhost:8080\n"
	script := strings.Join(w.blocks, "\n")
	require.Equal(t, 1, strings.Count(script, api), "the walkthrough sets %q once", api)
	script = strings.Replace(script, api, "API=http://"+p.addr+"\n", 1)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sh := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	sh.Dir = t.TempDir()
	out, err := sh.CombinedOutput()
	require.NoError(t, err, "the README walkthrough failed; its output:\n%s\nthe server's log:\n%s", out, p.log)
	// The last steps ran: an accepted invitation, a revoked link, and both
	// ways a guest invitation is accepted.
	for _, want := range []string{`"accepted"`, `"revoked"`, "accepted_by_guest", "accepted_by_system", "invitation.accepted"} {
		require.Contains(t, string(out), want, "the walkthrough's output")
	}
	p.stop(t)
}
