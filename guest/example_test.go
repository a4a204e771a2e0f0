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

// A list is read page by page: each page's Next is the Cursor of the one
// after it, and the last page has none. A cursor holds its place however
// many invitations come and go between two pages.
func ExampleService_List() {
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
	for _, email := range []string{"cy@example.com", "ada@example.com", "bo@example.com"} {
		_, err := svc.Create(ctx, guest.CreateParams{
			HostOrganizationID: hostOrg, Email: email, ExpiredAt: time.Now().Add(24 * time.Hour),
		})
		if err != nil {
			log.Fatal(err)
		}
	}

	opts := guest.ListOptions{OrderBy: guest.OrderByEmail, Order: guest.Asc, Limit: 2}
	for {
		page, err := svc.List(ctx, hostOrg, opts)
		if err != nil {
			log.Fatal(err)
		}
		for _, item := range page.Items {
			fmt.Printf("%s (%d in all)\n", item.Email, page.TotalItems)
		}
		if page.Next == "" {
			break
		}
		opts.Cursor = page.Next
	}
	// Output:
	// ada@example.com (3 in all)
	// bo@example.com (3 in all)
	// cy@example.com (3 in all)
}
