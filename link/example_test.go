package link_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/link"
	"github.com/invitekit/invitekit/memstore"
)

// A link of three uses for example.com addresses: each person redeems it
// once, with their own email, until the uses run out.
func Example() {
	ctx := context.Background()
	s := memstore.New()
	key := []byte("an example key of at least 32 bytes!")
	invs, err := invitation.NewService(invitation.Config{Store: s, Keys: [][]byte{key}})
	if err != nil {
		panic(err)
	}
	links, err := link.NewService(link.Config{Store: s, Invitations: invs, Keys: [][]byte{key}})
	if err != nil {
		panic(err)
	}
	l, err := links.Create(ctx, link.CreateParams{
		OrganizationID: uuid.New(), Role: invitation.RoleDeveloper, MaxUses: 2,
		AllowedDomains: []string{"example.com"},
	})
	if err != nil {
		panic(err)
	}
	tok := links.Token(l) // share this, as a URL say

	for _, addr := range []string{"ada@example.com", "ada@example.com", "eve@example.org", "bob@example.com", "carol@example.com"} {
		r, err := links.Redeem(ctx, tok, addr)
		switch {
		case errors.Is(err, link.ErrAlreadyRedeemed):
			fmt.Println(addr, "has joined already")
		case errors.Is(err, link.ErrDomainNotAllowed):
			fmt.Println(addr, "is not of an allowed domain")
		case errors.Is(err, link.ErrExhausted):
			fmt.Println(addr, "is too late: no uses left")
		case err != nil:
			panic(err)
		default:
			fmt.Println(r.Email, "joins as", r.Role)
		}
	}
	// Output:
	// ada@example.com joins as developer
	// ada@example.com has joined already
	// eve@example.org is not of an allowed domain
	// bob@example.com joins as developer
	// carol@example.com is too late: no uses left
}

// A RedeemHook writes the membership in the redemption's transaction
// (with sqlitestore or postgresstore, through their Tx function): when it
// fails, the use is not taken and nothing is recorded.
func ExampleService_Redeem_hook() {
	ctx := context.Background()
	s := memstore.New()
	key := []byte("an example key of at least 32 bytes!")
	invs, _ := invitation.NewService(invitation.Config{Store: s, Keys: [][]byte{key}})
	links, _ := link.NewService(link.Config{Store: s, Invitations: invs, Keys: [][]byte{key}})
	l, _ := links.Create(ctx, link.CreateParams{OrganizationID: uuid.New(), Role: invitation.RoleAdmin, MaxUses: 1,
		ExpireAt: time.Now().Add(time.Hour)})

	full := errors.New("the team is full")
	_, err := links.Redeem(ctx, links.Token(l), "ada@example.com", func(ctx context.Context, l link.Link, r link.Redemption) error {
		return full // say, the app's own seat limit
	})
	fmt.Println(errors.Is(err, full))
	got, _ := links.Get(ctx, l.OrganizationID, l.ID)
	fmt.Println(got.Uses, got.EffectiveStatus(links.Now()))
	// Output:
	// true
	// 0 active
}
