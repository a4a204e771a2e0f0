package storetest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/storetest"
)

// A store runs the whole suite from one test in its own package: Run takes a
// function that returns a new, empty store for each test. memstore's
// conformance test is exactly this.
func Example() {
	conformance := func(t *testing.T) { // func TestConformance(t *testing.T) in mystore_test.go
		storetest.Run(t, func(t *testing.T) storetest.EventStore {
			s := memstore.New() // mystore.Open(...)
			t.Cleanup(func() { s.Close() })
			return s
		})
	}
	_ = conformance
}

// Race releases its callers at one instant, so they contend as concurrent
// requests do: of 20 creates for one email, the store lets exactly one
// through.
func ExampleRace() {
	ctx := context.Background()
	s := memstore.New()
	defer s.Close()
	svc, err := invitation.NewService(invitation.Config{Store: s, Keys: [][]byte{make([]byte, 32)}})
	if err != nil {
		log.Fatal(err)
	}
	org := uuid.New()
	errs := storetest.Race(20, func(int) error {
		_, err := svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "ada@example.com", Role: "admin"})
		return err
	})
	won, duplicates := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, store.ErrAlreadyExists):
			duplicates++
		}
	}
	fmt.Println(won, "created,", duplicates, "refused as duplicates")
	// Output: 1 created, 19 refused as duplicates
}

// A Clock shared by a service makes time-dependent rules exact: here an
// invitation expires when its TTL has passed, not a moment sooner.
func ExampleClock() {
	ctx := context.Background()
	clock := storetest.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	s := memstore.New()
	defer s.Close()
	svc, err := invitation.NewService(invitation.Config{Store: s, Keys: [][]byte{make([]byte, 32)},
		Clock: clock.Now, TTL: 24 * time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	inv, err := svc.Create(ctx, invitation.CreateParams{OrganizationID: uuid.New(), Email: "ada@example.com", Role: "admin"})
	if err != nil {
		log.Fatal(err)
	}
	clock.Advance(24*time.Hour - time.Microsecond)
	got, _ := svc.Get(ctx, inv.OrganizationID, inv.ID)
	fmt.Println(got.Status)
	clock.Advance(time.Microsecond)
	_, err = svc.Accept(ctx, svc.Token(inv), "ada@example.com")
	fmt.Println(errors.Is(err, store.ErrExpired))
	// Output:
	// pending
	// true
}
