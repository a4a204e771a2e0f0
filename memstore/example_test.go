package memstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/store"
)

// One memstore serves both kinds of invitations, which makes it the store
// for unit tests of code built on invitekit. A fixed clock makes every time
// exact.
func Example() {
	ctx := context.Background()
	s := memstore.New()
	defer s.Close()

	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	key := bytes.Repeat([]byte{1}, 32) // tests only: use a random secret in production

	orgs, err := invitation.NewService(invitation.Config{Store: s, Keys: [][]byte{key}, Clock: clock})
	if err != nil {
		log.Fatal(err)
	}
	guests, err := guest.NewService(guest.Config{Store: s, Keys: [][]byte{key}, Clock: clock})
	if err != nil {
		log.Fatal(err)
	}
	org := uuid.New()

	inv, err := orgs.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "dev@example.com", Role: "developer"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("expires", inv.ExpireAt.Format(time.RFC3339))

	g, err := guests.Create(ctx, guest.CreateParams{HostOrganizationID: org, Email: "guest@example.com", ExpiredAt: now.Add(time.Hour)})
	if err != nil {
		log.Fatal(err)
	}
	now = now.Add(time.Hour) // the clock reaches expired_at
	fmt.Println("guest expired:", g.Expired(guests.Now()))
	_, err = guests.AcceptByGuest(ctx, guests.Token(g))
	fmt.Println("accept refused as expired:", errors.Is(err, store.ErrExpired))
	// Output:
	// expires 2026-01-09T15:04:05Z
	// guest expired: true
	// accept refused as expired: true
}
