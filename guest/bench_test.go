package guest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/store"
)

// noLimits lets a benchmark make more creates an hour in one organization
// than the default limits allow; it measures the create path without
// them, as it did before there were any.
var noLimits = &store.Limits{}

func benchService(b *testing.B) *guest.Service {
	b.Helper()
	svc, err := guest.NewService(guest.Config{Store: memstore.New(), Keys: [][]byte{key}, Limits: noLimits})
	if err != nil {
		b.Fatal(err)
	}
	return svc
}

func seed(b *testing.B, svc *guest.Service, n int) []guest.Invitation {
	b.Helper()
	out := make([]guest.Invitation, n)
	expiry := time.Now().Add(30 * 24 * time.Hour)
	for i := range n {
		inv, err := svc.Create(ctx, guest.CreateParams{HostOrganizationID: host, Email: fmt.Sprintf("guest%d@example.com", i), ExpiredAt: expiry})
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
		emails[i] = fmt.Sprintf("guest%d@example.com", i)
	}
	expiry := time.Now().Add(30 * 24 * time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := svc.Create(ctx, guest.CreateParams{HostOrganizationID: host, Email: emails[i], ExpiredAt: expiry}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	svc := benchService(b)
	invs := seed(b, svc, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := svc.Get(ctx, host, invs[i%len(invs)].ID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAcceptByGuest(b *testing.B) {
	svc := benchService(b)
	invs := seed(b, svc, b.N)
	tokens := make([]string, b.N)
	for i, inv := range invs {
		tokens[i] = svc.Token(inv)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := svc.AcceptByGuest(ctx, tokens[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkList reads the second page of 50 in the default order (newest
// first), with its total.
func BenchmarkList(b *testing.B) {
	for _, rows := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			svc := benchService(b)
			seed(b, svc, rows)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				res, err := svc.List(ctx, host, guest.ListOptions{Limit: 50, Offset: 50})
				if err != nil || len(res.Items) != 50 || res.TotalItems != rows {
					b.Fatal(err, len(res.Items), res.TotalItems)
				}
			}
		})
	}
}
