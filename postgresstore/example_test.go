package postgresstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"os"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/postgresstore"
)

// Every instance of an application opens the store on the same database;
// the first one creates the tables, the others find them. It needs a
// server, so it is compiled but not run by go test.
func Example() {
	ctx := context.Background()
	s, err := postgresstore.Open(ctx, os.Getenv("DATABASE_URL"), postgresstore.WithSchema("invitekit"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	// Every instance must share the key; load it from your secret store.
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		log.Fatal(err)
	}
	orgs, err := invitation.NewService(invitation.Config{Store: s, Keys: [][]byte{key}})
	if err != nil {
		log.Fatal(err)
	}
	// The same store serves guest invitations.
	if _, err := guest.NewService(guest.Config{Store: s, Keys: [][]byte{key}}); err != nil {
		log.Fatal(err)
	}

	inv, err := orgs.Create(ctx, invitation.CreateParams{OrganizationID: uuid.New(), Email: "dev@example.com", Role: "developer"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("send this link:", "https://app.example.com/join?token="+orgs.Token(inv))
}

// An application that already has a pgx pool passes it to New; the store
// then leaves the pool open when it is closed.
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	s, err := postgresstore.New(ctx, pool)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
}

// A schema name PostgreSQL would truncate is refused before connecting,
// so two stores can never end up sharing one schema by accident.
func ExampleWithSchema() {
	_, err := postgresstore.Open(context.Background(), "postgres://localhost/app",
		postgresstore.WithSchema("invitekit_for_the_tenant_with_a_name_much_too_long_for_postgresql"))
	fmt.Println(err)
	// Output:
	// postgresstore: schema name "invitekit_for_the_tenant_with_a_name_much_too_long_for_postgresql" must be 1 to 63 bytes
}
