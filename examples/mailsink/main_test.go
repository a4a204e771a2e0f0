package main

import (
	"bufio"
	"context"
	"io"
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/mail"
	"github.com/invitekit/invitekit/memstore"
)

// TestPrintsTheLink runs the sink as the README does and sends it an
// invitation with the mail package: what it prints has the recipient, the
// subject and a link that accepts.
func TestPrintsTheLink(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, w := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, w, io.Discard); w.Close() }()

	// The sink prints from the SMTP session: read its output as it comes.
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	first := <-lines
	m := regexp.MustCompile(`listening on (\S+); use -smtp (\S+)$`).FindStringSubmatch(first)
	require.NotNil(t, m, first)
	assert.Equal(t, "smtp://"+m[1], m[2])

	st := memstore.New()
	orgs, err := invitation.NewService(invitation.Config{Store: st, Keys: [][]byte{make([]byte, 32)}})
	require.NoError(t, err)
	mailer, err := mail.New(mail.Config{SMTP: m[2], From: "invites@acme.example", AcceptURL: "http://localhost:8080/accept", Invitations: orgs})
	require.NoError(t, err)
	org := uuid.New()
	inv, err := orgs.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "ada@example.com", Role: "admin"})
	require.NoError(t, err)
	evs, err := st.ListEvents(ctx, event.ListQuery{OrganizationID: org, Limit: 1})
	require.NoError(t, err)
	require.NoError(t, mailer.Send(ctx, evs[0]))

	var printed []string
	link := regexp.MustCompile(`^Accept link: http://localhost:8080/accept\?token=(\S+)$`)
	var tok string
	deadline := time.After(10 * time.Second)
	for tok == "" {
		select {
		case line := <-lines:
			printed = append(printed, line)
			if m := link.FindStringSubmatch(line); m != nil {
				tok = m[1]
			}
		case <-deadline:
			t.Fatalf("no link printed; printed: %q", printed)
		}
	}
	assert.Contains(t, printed, "=== mail to ada@example.com")
	assert.Contains(t, printed, "From: <invites@acme.example>")
	require.NotEmpty(t, tok, "printed: %q", printed)
	_, err = orgs.Accept(ctx, tok, "ada@example.com")
	assert.NoError(t, err, "the printed link's token accepts")
	assert.Equal(t, orgs.Token(inv), tok)

	cancel()
	require.NoError(t, <-done)
}
