package mail_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/internal/smtptest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/mail"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/outbox"
)

// A Mailer is one of the relay's subscribers: creating an invitation
// records its event, and the relay hands it to the Mailer, which emails the
// invitee a link to the accept page. An application starts relay.Run(ctx)
// in a goroutine; here RunOnce delivers what is due, so the output is
// exact.
func Example() {
	ctx := context.Background()
	smtpServer, err := smtptest.Start() // in production: your mail server
	if err != nil {
		log.Fatal(err)
	}
	defer smtpServer.Close()

	s := memstore.New()
	defer s.Close()
	key := bytes.Repeat([]byte{1}, 32) // tests only: use a random secret in production
	invitations, err := invitation.NewService(invitation.Config{Store: s, Keys: [][]byte{key}})
	if err != nil {
		log.Fatal(err)
	}
	mailer, err := mail.New(mail.Config{
		SMTP:        smtpServer.URL(), // e.g. smtp://user:pass@mail.example.com:587
		From:        "Acme <invites@acme.test>",
		AcceptURL:   "https://app.acme.test/accept",
		Invitations: invitations,
	})
	if err != nil {
		log.Fatal(err)
	}
	relay, err := outbox.New(outbox.Config{Store: s, Subscribers: []outbox.Subscriber{mailer.Subscriber()}})
	if err != nil {
		log.Fatal(err)
	}

	_, err = invitations.Create(ctx, invitation.CreateParams{OrganizationID: uuid.New(), Email: "dev@example.com", Role: "developer"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := relay.RunOnce(ctx); err != nil {
		log.Fatal(err)
	}

	for _, m := range smtpServer.Messages() {
		fmt.Println("To:", m.To)
		fmt.Println("Subject:", m.Subject)
		fmt.Println(strings.Split(m.Text, "\r\n")[2])
		fmt.Println(strings.HasPrefix(m.Link(), "https://app.acme.test/accept?token="))
	}
	// Output:
	// To: [dev@example.com]
	// Subject: You're invited to an organization
	// You have been invited to join an organization as developer.
	// true
}
