package guest_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/store"
)

func Example() {
	ctx := context.Background()
	key := make([]byte, 32) // in production: a secret from configuration
	if _, err := rand.Read(key); err != nil {
		log.Fatal(err)
	}
	svc, err := guest.NewService(guest.Config{Store: memstore.New(), Keys: [][]byte{key}})
	if err != nil {
		log.Fatal(err)
	}
	hostOrg := uuid.New()

	inv, err := svc.Create(ctx, guest.CreateParams{
		HostOrganizationID: hostOrg,
		Email:              "guest@example.com",
		ExpiredAt:          time.Now().Add(14 * 24 * time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inv.Status, inv.Expired(svc.Now()))

	list, err := svc.List(ctx, hostOrg, guest.ListOptions{Statuses: []guest.Status{guest.StatusSent}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(list.TotalItems, "sent")

	// The guest presents the token from the invitation.
	accepted, err := svc.AcceptByGuest(ctx, svc.Token(inv))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(accepted.Status)

	// Accepted is final, however it was accepted.
	_, err = svc.AcceptBySystem(ctx, hostOrg, inv.ID)
	fmt.Println(errors.Is(err, store.ErrAlreadyAccepted))
	// Output:
	// sent false
	// 1 sent
	// accepted_by_guest
	// true
}
