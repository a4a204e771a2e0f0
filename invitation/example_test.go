package invitation_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"time"

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

// CreateMany creates a batch in one transaction; each item succeeds or
// fails on its own.
func ExampleService_CreateMany() {
	ctx := context.Background()
	svc, err := invitation.NewService(invitation.Config{Store: memstore.New(), Keys: [][]byte{signingKey()}})
	if err != nil {
		log.Fatal(err)
	}
	org := uuid.New()
	res, err := svc.CreateMany(ctx, org, []invitation.CreateParams{
		{Email: "ada@example.com", Role: "admin", Metadata: []byte(`{"team": "compilers"}`)},
		{Email: "not an email", Role: "admin"},
		{Email: "ADA@example.com", Role: "developer"},
	})
	if err != nil {
		log.Fatal(err) // the store, the role catalog or LimitsFor failed: nothing was created
	}
	for i, r := range res {
		switch {
		case r.Err == nil:
			fmt.Println(i, "created", r.Invitation.Email, string(r.Invitation.Metadata))
		case errors.Is(r.Err, store.ErrAlreadyExists):
			fmt.Println(i, "already invited")
		default:
			fmt.Println(i, r.Err)
		}
	}
	// Output:
	// 0 created ada@example.com {"team":"compilers"}
	// 1 invitekit: invalid input: Email: must be a valid email address such as name@example.com
	// 2 already invited
}

// Limits bound what each organization may have and make; LimitsFor gives
// each organization its own, from the application's plans say.
func ExampleConfig_limits() {
	ctx := context.Background()
	free := uuid.New()
	svc, err := invitation.NewService(invitation.Config{
		Store: memstore.New(),
		Keys:  [][]byte{signingKey()},
		LimitsFor: func(_ context.Context, org uuid.UUID) (store.Limits, error) {
			if org == free {
				return store.Limits{MaxOpen: 1, CreatesPerHour: 20}, nil
			}
			return store.Limits{MaxOpen: store.DefaultMaxOpen, CreatesPerHour: store.DefaultCreatesPerHour}, nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	_, err = svc.Create(ctx, invitation.CreateParams{OrganizationID: free, Email: "ada@example.com", Role: "admin"})
	fmt.Println(err)
	_, err = svc.Create(ctx, invitation.CreateParams{OrganizationID: free, Email: "bob@example.com", Role: "admin"})
	var limit *store.LimitError
	if errors.As(err, &limit) {
		fmt.Println(limit.Limit, limit.Max, "retry after", limit.RetryAfter)
	}
	// Output:
	// <nil>
	// max-open 1 retry after 168h0m0s
}

// Sweep records each expiry once, with an invitation.expired event, and
// deletes invitations that ended more than Retention ago. Run it
// periodically, on any number of instances.
func ExampleService_Sweep() {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := memstore.New()
	svc, err := invitation.NewService(invitation.Config{
		Store: s, Keys: [][]byte{signingKey()}, Retention: 30 * 24 * time.Hour,
		Clock: func() time.Time { return now },
	})
	if err != nil {
		log.Fatal(err)
	}
	org := uuid.New()
	if _, err := svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "ada@example.com", Role: "admin"}); err != nil {
		log.Fatal(err)
	}
	sweep := func() {
		for {
			res, err := svc.Sweep(ctx)
			if err != nil {
				log.Fatal(err)
			}
			fmt.Printf("expired %d, purged %d\n", res.Expired, res.Purged)
			if !res.More {
				return
			}
		}
	}
	now = now.Add(invitation.DefaultTTL)
	sweep()
	sweep()
	now = now.Add(31 * 24 * time.Hour)
	sweep()
	// Output:
	// expired 1, purged 0
	// expired 0, purged 0
	// expired 0, purged 1
}
