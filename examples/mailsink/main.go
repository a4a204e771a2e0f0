// Command mailsink is an SMTP server for trying invitation emails on your
// own machine: it accepts every message and prints its recipients, subject,
// text part and accept link, and sends nothing on.
//
//	go run ./examples/mailsink                       # listens on 127.0.0.1:2525
//	go run ./examples/server -smtp smtp://127.0.0.1:2525 -mail-from 'Acme <invites@acme.example>'
//
// It is for development only: no TLS, no authentication, no relaying.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/invitekit/invitekit/internal/smtptest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mailsink:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done, printing each message to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mailsink", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:2525", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	var mu sync.Mutex // messages arrive on their connections' goroutines
	srv, err := smtptest.Start(smtptest.WithAddr(*addr), smtptest.WithOnMessage(func(m smtptest.Message) {
		mu.Lock()
		defer mu.Unlock()
		show(stdout, m)
	}))
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "mailsink: listening on %s; use -smtp %s\n", srv.Addr(), srv.URL())
	<-ctx.Done()
	return nil
}

func show(w io.Writer, m smtptest.Message) {
	fmt.Fprintf(w, "\n=== mail to %s\n", strings.Join(m.To, ", "))
	if m.Err != nil {
		fmt.Fprintf(w, "(could not read it: %v)\n", m.Err)
		return
	}
	fmt.Fprintf(w, "From: %s\nSubject: %s\n\n%s\n", m.Header.Get("From"), m.Subject, strings.TrimSpace(m.Text))
	if link := m.Link(); link != "" {
		fmt.Fprintf(w, "\nAccept link: %s\n", link)
	}
}
