package sqlitestore_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"github.com/pressly/goose/v3"

	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/sqlitestore"
	"github.com/invitekit/invitekit/store"
)

// Open a database file, and the services keep their invitations in it.
// Open creates the file and its schema on first use.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "invitekit-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := sqlitestore.Open(ctx, filepath.Join(dir, "invitekit.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	orgs, err := invitation.NewService(invitation.Config{
		Store: s,
		Keys:  [][]byte{bytes.Repeat([]byte{1}, 32)}, // tests only: use a random secret in production
		Clock: func() time.Time { return now },
	})
	if err != nil {
		log.Fatal(err)
	}
	org := uuid.New()
	inv, err := orgs.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "dev@example.com", Role: "developer"})
	if err != nil {
		log.Fatal(err)
	}
	_, err = orgs.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "dev@example.com", Role: "admin"})
	fmt.Println("second open invitation refused:", errors.Is(err, store.ErrAlreadyExists))

	accepted, err := orgs.Accept(ctx, orgs.Token(inv), "dev@example.com")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(accepted.Status, accepted.AcceptedAt.Format(time.RFC3339))
	// Output:
	// second open invitation refused: true
	// accepted 2026-01-02T15:04:05Z
}

// Bring your own *sql.DB: configure it in the DSN, so that every connection
// of its pool gets the settings the store relies on.
func ExampleNew() {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file::memory:?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // every connection to :memory: is a database of its own

	s, err := sqlitestore.New(ctx, db)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	_, err = s.FindInvitation(ctx, uuid.New())
	fmt.Println(errors.Is(err, store.ErrNotFound))
	// Output:
	// true
}

// Teams that run their migrations with goose apply Migrations themselves,
// and open the store with WithSchemaCheck: it changes nothing in the
// schema, and refuses a database that lacks a migration.
func ExampleMigrations() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "invitekit-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "invitekit.db")+
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	// Before the migrations have run, the store refuses the database.
	_, err = sqlitestore.New(ctx, db, sqlitestore.WithSchemaCheck())
	var tooOld *store.SchemaTooOldError
	if errors.As(err, &tooOld) {
		fmt.Println("refused at version", tooOld.Database)
	}

	p, err := goose.NewProvider(goose.DialectSQLite3, db, sqlitestore.Migrations())
	if err != nil {
		log.Fatal(err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("goose applied", len(results), "migrations")

	s, err := sqlitestore.New(ctx, db, sqlitestore.WithSchemaCheck())
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	_, err = s.FindInvitation(ctx, uuid.New())
	fmt.Println(errors.Is(err, store.ErrNotFound))
	// Output:
	// refused at version 0
	// goose applied 7 migrations
	// true
}
