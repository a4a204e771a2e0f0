package main

import (
	"crypto/rand"
	"encoding/base64"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReadmeShowsThisProgram keeps the README's quick start and this file
// one program: the README's Go block must be main.go from its package line.
func TestReadmeShowsThisProgram(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	src, err := os.ReadFile("main.go")
	require.NoError(t, err)
	program := string(src[strings.Index(string(src), "package main"):])
	require.Contains(t, string(readme), "```go\n"+program+"```\n",
		"README.md's quick start must show examples/quickstart/main.go from its package line, as it is")
}

// TestQuickStartPrints runs the program as the README says and checks what it
// prints: the email to send with its link, then the accepted invitation.
func TestQuickStartPrints(t *testing.T) {
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	t.Setenv("INVITE_KEY", base64.StdEncoding.EncodeToString(key))

	r, w, err := os.Pipe()
	require.NoError(t, err)
	stdout := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = stdout }()
	main()
	require.NoError(t, w.Close())
	out, err := io.ReadAll(r)
	require.NoError(t, err)

	require.Regexp(t, regexp.MustCompile(`^send ada@example\.com https://app\.example\.com/join\?token=[A-Za-z0-9_-]{40,}\nada@example\.com accepted\n$`), string(out))
}
