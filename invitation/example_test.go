package invitation_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/store"
)

// signingKey stands in for a secret loaded from configuration: at least 32
// random bytes, the same on every instance of the application.
func signingKey() []byte {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		log.Fatal(err)
	}
	return key
}

func Example() {
	ctx := context.Background()
	svc, err := invitation.NewService(invitation.Config{
		Store: memstore.New(),
		Keys:  [][]byte{signingKey()},
	})
	if err != nil {
		log.Fatal(err)
	}
	org := uuid.New()

	// Invite an email; send the token to it (in a link, say).
	inv, err := svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "Ada@Example.com", Role: "admin"})
	if err != nil {
		log.Fatal(err)
	}
	token := svc.Token(inv)
	fmt.Println(inv.Email, inv.Role, inv.Status)

	// List the organization's invitations, newest first.
	page, err := svc.List(ctx, org, invitation.ListOptions{Status: invitation.StatusPending})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(page.Invitations), "pending")

	// Only a user with the invited email can accept.
	_, err = svc.Accept(ctx, token, "eve@example.com")
	fmt.Println(errors.Is(err, invitation.ErrEmailMismatch))
	accepted, err := svc.Accept(ctx, token, "ada@example.com")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(accepted.Status)
	_, err = svc.Accept(ctx, token, "ada@example.com")
	fmt.Println(errors.Is(err, store.ErrAlreadyAccepted))
	// Output:
	// ada@example.com admin pending
	// 1 pending
	// true
	// accepted
	// true
}

func ExampleValidationError() {
	svc, err := invitation.NewService(invitation.Config{Store: memstore.New(), Keys: [][]byte{signingKey()}})
	if err != nil {
		log.Fatal(err)
	}
	_, err = svc.Create(context.Background(), invitation.CreateParams{OrganizationID: uuid.New(), Email: "not an email", Role: "Root!"})
	var verr *store.ValidationError
	if errors.As(err, &verr) {
		for _, f := range verr.Fields {
			fmt.Printf("%s: %s\n", f.Field, f.Message)
		}
	}
	// Output:
	// Email: must be a valid email address such as name@example.com
	// Role: must be 1 to 64 characters of a-z, 0-9, '_', '.', ':' or '-', starting with a letter
}

// An application plugs in its own roles with a RoleCatalog: here a map of
// each organization's custom roles. The system roles admin and developer
// need no entry: every organization has them.
func ExampleRoleCatalogFunc() {
	ctx := context.Background()
	org := uuid.New()
	billing := invitation.Role{ID: uuid.MustParse("0190f5a2-0000-7000-8000-0000000000b1"), Name: "Billing", Type: invitation.RoleTypeCustom}
	custom := map[uuid.UUID][]invitation.Role{org: {billing}}

	catalog := invitation.RoleCatalogFunc(func(_ context.Context, orgID uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]invitation.Role, error) {
		// A real catalog would query the application's database here.
		known := make(map[uuid.UUID]invitation.Role)
		for _, r := range custom[orgID] {
			known[r.ID] = r
		}
		return known, nil
	})
	svc, err := invitation.NewService(invitation.Config{Store: memstore.New(), Keys: [][]byte{signingKey()}, Roles: catalog})
	if err != nil {
		log.Fatal(err)
	}

	// What ClickHouse's CLI sends: role IDs, no role.
	inv, err := svc.Create(ctx, invitation.CreateParams{
		OrganizationID:  org,
		Email:           "ada@example.com",
		AssignedRoleIDs: []uuid.UUID{billing.ID, invitation.DeveloperRoleID},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range inv.AssignedRoles {
		fmt.Println(r.Name, r.Type)
	}
	fmt.Printf("role: %q\n", inv.Role)

	// An ID the organization has no role with names its position.
	_, err = svc.Create(ctx, invitation.CreateParams{
		OrganizationID:  org,
		Email:           "bob@example.com",
		AssignedRoleIDs: []uuid.UUID{invitation.AdminRoleID, uuid.MustParse("0190f5a2-0000-7000-8000-0000000000ff")},
	})
	var verr *store.ValidationError
	if errors.As(err, &verr) {
		fmt.Println(verr.Fields[0].Field, verr.Fields[0].Message)
	}
	// Output:
	// Billing custom
	// developer system
	// role: "developer"
	// AssignedRoleIDs[1] is not a role of the organization
}
