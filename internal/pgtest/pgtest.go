// Package pgtest points tests at a PostgreSQL server, or skips them and says
// so where a developer sees it. go test ./... shows nothing of a package
// that passes unless -v is given, so a skipped PostgreSQL run would go
// unnoticed; Main tells the terminal instead.
package pgtest

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"testing"
)

// Env names the variable that points the tests at a PostgreSQL server.
const Env = "INVITEKIT_TEST_POSTGRES_URL"

// Hint says how to run the skipped tests.
const Hint = Env + " is not set; to run them against a PostgreSQL server: " +
	Env + "='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' go test ./..."

var skipped atomic.Int64

// URL returns the server's URL, or skips tb (counting it for Main).
func URL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(Env)
	if u == "" {
		skipped.Add(1)
		tb.Skip(Hint)
	}
	return u
}

// Skipped returns how many tests URL has skipped so far.
func Skipped() int64 { return skipped.Load() }

// Main runs m and returns its exit code. When URL skipped tests, it says
// how many, on stderr (shown with -v or when the package fails) and on the
// controlling terminal if there is one (shown always).
func Main(pkg string, m *testing.M) int {
	code := m.Run()
	if n := Skipped(); n > 0 {
		report(pkg, n, os.Stderr, terminal())
	}
	return code
}

func report(pkg string, n int64, stderr, tty io.Writer) {
	msg := fmt.Sprintf("%s: %d PostgreSQL tests skipped: %s\n", pkg, n, Hint)
	fmt.Fprint(stderr, msg)
	if tty != nil {
		fmt.Fprint(tty, msg)
	}
}

// terminal returns the controlling terminal, or nil (in CI, say). go test
// keeps the test binary's own stdout and stderr unless the package fails,
// but not the terminal it was started from.
func terminal() io.Writer {
	tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
	if err != nil {
		return nil
	}
	return tty
}
