package postgresstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // the database/sql driver "pgx", for goose
	"github.com/pressly/goose/v3"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/postgresstore"
	"github.com/invitekit/invitekit/store"
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

// Teams that run their migrations with goose apply Migrations themselves,
// with the store's schema as the search path (the files name their tables
// unqualified, and goose then keeps its version table in that schema too),
// and every instance opens the store with WithSchemaCheck, which creates
// and changes nothing and refuses a schema that lacks a migration. It
// needs a server, so it is compiled but not run by go test.
func ExampleMigrations() {
	ctx := context.Background()
	url := os.Getenv("DATABASE_URL") // postgres://app@db.example.com/app

	// The deployment's migration step: create the schema, then let goose
	// apply the migrations in it.
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS invitekit"); err != nil {
		log.Fatal(err)
	}
	db, err := sql.Open("pgx", url+"?search_path=invitekit") // or "&search_path=..." after other parameters
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, postgresstore.Migrations())
	if err != nil {
		log.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		log.Fatal(err)
	}

	// Each instance of the application.
	s, err := postgresstore.New(ctx, pool, postgresstore.WithSchema("invitekit"), postgresstore.WithSchemaCheck())
	var tooOld *store.SchemaTooOldError
	if errors.As(err, &tooOld) {
		log.Fatalf("run the migrations first: the schema is at version %d, this build needs %d", tooOld.Database, tooOld.Wanted)
	}
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
}
