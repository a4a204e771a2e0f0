package invitation_test

import (
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/store"
)

// noLimits lets a benchmark make more creates an hour in one organization
// than the default limits allow; it measures the create path without
// them, as it did before there were any.
var noLimits = &store.Limits{}

// benchService returns a Service on a fresh memstore with the default
// clock, IDs and nonces, as an application would run it.
func benchService(b *testing.B) *invitation.Service {
	b.Helper()
	svc, err := invitation.NewService(invitation.Config{Store: memstore.New(), Keys: [][]byte{keyOld}, Limits: noLimits})
	if err != nil {
		b.Fatal(err)
	}
	return svc
}

// seed creates n pending invitations in org and returns them.
func seed(b *testing.B, svc *invitation.Service, org uuid.UUID, n int) []invitation.Invitation {
	b.Helper()
	out := make([]invitation.Invitation, n)
	for i := range n {
		inv, err := svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: fmt.Sprintf("user%d@example.com", i), Role: "developer"})
		if err != nil {
			b.Fatal(err)
		}
		out[i] = inv
	}
	return out
}

func BenchmarkCreate(b *testing.B) {
	svc := benchService(b)
	emails := make([]string, b.N)
	for i := range emails {
		emails[i] = fmt.Sprintf("user%d@example.com", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: emails[i], Role: "developer"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	svc := benchService(b)
	invs := seed(b, svc, org, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := svc.Get(ctx, org, invs[i%len(invs)].ID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAccept(b *testing.B) {
	svc := benchService(b)
	invs := seed(b, svc, org, b.N)
	tokens := make([]string, b.N)
	for i, inv := range invs {
		tokens[i] = svc.Token(inv)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := svc.Accept(ctx, tokens[i], invs[i].Email); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkList reads a page of 50 from the middle of an organization's
// list, by cursor, as a client paging through it does.
func BenchmarkList(b *testing.B) {
	for _, rows := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			svc := benchService(b)
			seed(b, svc, org, rows)
			seed(b, svc, uuid.New(), 1000) // a neighbour
			first, err := svc.List(ctx, org, invitation.ListOptions{Limit: 50})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				page, err := svc.List(ctx, org, invitation.ListOptions{Limit: 50, Cursor: first.Next})
				if err != nil || len(page.Invitations) != 50 {
					b.Fatal(err, len(page.Invitations))
				}
			}
		})
	}
}
