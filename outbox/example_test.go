package outbox_test

import (
	"bytes"
	"context"
	"fmt"
	"log"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/outbox"
)

// A Func subscriber receives every event the invitation service records. An
// application starts relay.Run(ctx) in a goroutine and cancels ctx to stop
// it; here RunOnce delivers what is due, one batch at a time, so the output
// is exact.
func Example() {
	ctx := context.Background()
	s := memstore.New()
	defer s.Close()
	key := bytes.Repeat([]byte{1}, 32) // tests only: use a random secret in production
	invitations, err := invitation.NewService(invitation.Config{Store: s, Keys: [][]byte{key}})
	if err != nil {
		log.Fatal(err)
	}
	org := uuid.New()
	inv, err := invitations.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "dev@example.com", Role: "developer"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := invitations.Revoke(ctx, org, inv.ID); err != nil {
		log.Fatal(err)
	}

	relay, err := outbox.New(outbox.Config{
		Store: s,
		Subscribers: []outbox.Subscriber{
			outbox.Func("printer", func(ctx context.Context, ev event.Event) error {
				fmt.Println(ev.Type, ev.InvitationID == inv.ID)
				return nil
			}),
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	// An invitation's events come one claim at a time, in order.
	for {
		n, err := relay.RunOnce(ctx)
		if err != nil {
			log.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	// Output:
	// invitation.created true
	// invitation.revoked true
}
