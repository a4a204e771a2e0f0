package sqlitestore_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/sqlitestore"
)

// Accept an invitation and add the membership in one transaction: if the
// membership cannot be written, the invitation stays pending, its token
// still works, and no event is recorded.
func Example_acceptInYourTransaction() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "invitekit-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// The application's own database, with its own tables; invitekit's
	// live beside them.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "app.db")+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE memberships (
		organization_id TEXT NOT NULL, email TEXT NOT NULL, role TEXT NOT NULL,
		PRIMARY KEY (organization_id, email))`); err != nil {
		log.Fatal(err)
	}
	s, err := sqlitestore.New(ctx, db)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	orgs, err := invitation.NewService(invitation.Config{Store: s, Keys: [][]byte{bytes.Repeat([]byte{1}, 32)}})
	if err != nil {
		log.Fatal(err)
	}

	org := uuid.New()
	inv, err := orgs.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "ada@example.com", Role: "admin"})
	if err != nil {
		log.Fatal(err)
	}

	// The hook runs inside the accept's transaction: what it writes
	// through sqlitestore.Tx commits with the accept, or not at all.
	addMember := func(ctx context.Context, inv invitation.Invitation) error {
		tx, _ := sqlitestore.Tx(ctx)
		_, err := tx.ExecContext(ctx, "INSERT INTO memberships VALUES ($1, $2, $3)",
			inv.OrganizationID.String(), inv.Email, inv.Role)
		return err
	}
	accepted, err := orgs.Accept(ctx, orgs.Token(inv), "ada@example.com", addMember)
	if err != nil {
		log.Fatal(err)
	}
	var role string
	if err := db.QueryRowContext(ctx, "SELECT role FROM memberships WHERE organization_id = $1 AND email = $2",
		org.String(), "ada@example.com").Scan(&role); err != nil {
		log.Fatal(err)
	}
	fmt.Println(accepted.Status, role)
	// Output: accepted admin
}
