// Command quickstart is the README's quick start: it invites an email to an
// organization and accepts the invitation as that user.
//
//	export INVITE_KEY=$(head -c 32 /dev/urandom | base64)
//	go run ./examples/quickstart
package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"log"
	"os"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/memstore"
)

func main() {
	// The token signing key: at least 32 secret bytes, base64 as everywhere
	// in invitekit, the same on every instance. Add the old key after the new
	// one when you rotate, so links already sent keep working.
	key, err := base64.StdEncoding.DecodeString(os.Getenv("INVITE_KEY"))
	if err != nil || len(key) < 32 {
		log.Fatal("set INVITE_KEY to at least 32 random bytes in base64: export INVITE_KEY=$(head -c 32 /dev/urandom | base64)")
	}
	ctx := context.Background()
	svc, err := invitation.NewService(invitation.Config{Store: memstore.New(), Keys: [][]byte{key}})
	if err != nil {
		log.Fatal(err)
	}
	org := uuid.New()
	inv, err := svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "Ada@Example.com", Role: "admin"})
	if err != nil {
		log.Fatal(err) // *store.ValidationError names each bad field; store.ErrAlreadyExists for a duplicate
	}
	fmt.Println("send", inv.Email, "https://app.example.com/join?token="+svc.Token(inv))

	// Later, when the signed-in user ada@example.com follows the link:
	accepted, err := svc.Accept(ctx, svc.Token(inv), "ada@example.com")
	if err != nil {
		log.Fatal(err) // store.ErrInvalidToken, invitation.ErrEmailMismatch, store.ErrExpired, store.ErrAlreadyAccepted, store.ErrRevoked
	}
	fmt.Println(accepted.Email, accepted.Status)
}
