package memstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/storetest"
)

// These benchmarks measure the store alone, with invitations the services
// would have built; the services' own benchmarks add validation, IDs and
// token work on top.

var (
	benchCtx = context.Background()
	benchT0  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

func benchInvitations(org uuid.UUID, n int) []invitation.Invitation {
	out := make([]invitation.Invitation, n)
	for i := range out {
		at := benchT0.Add(time.Duration(i) * time.Microsecond)
		out[i] = invitation.Invitation{
			ID: uuid.Must(uuid.NewV7()), OrganizationID: org, Email: fmt.Sprintf("user%d@example.com", i),
			Role: "developer", Status: invitation.StatusPending, Nonce: make([]byte, 16),
			CreatedAt: at, SentAt: at, ExpireAt: at.Add(7 * 24 * time.Hour),
		}
	}
	return out
}

func fill(b *testing.B, s *memstore.Store, invs []invitation.Invitation) {
	b.Helper()
	for _, inv := range invs {
		if err := s.CreateInvitation(benchCtx, inv, benchT0, storetest.NewEvent(event.InvitationCreated)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreateInvitation(b *testing.B) {
	s := memstore.New()
	invs := benchInvitations(uuid.New(), b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := s.CreateInvitation(benchCtx, invs[i], benchT0, storetest.NewEvent(event.InvitationCreated)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetInvitation(b *testing.B) {
	s := memstore.New()
	org := uuid.New()
	invs := benchInvitations(org, 1000)
	fill(b, s, invs)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.GetInvitation(benchCtx, org, invs[i%len(invs)].ID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAcceptInvitation(b *testing.B) {
	s := memstore.New()
	org := uuid.New()
	invs := benchInvitations(org, b.N)
	fill(b, s, invs)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		_, err := s.UpdateInvitation(benchCtx, org, invs[i].ID, benchT0, store.Limits{}, storetest.Change(func(inv *invitation.Invitation) error {
			inv.Status = invitation.StatusAccepted
			inv.AcceptedAt = &benchT0
			return nil
		}))
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkListInvitations(b *testing.B) {
	for _, rows := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			s := memstore.New()
			org := uuid.New()
			invs := benchInvitations(org, rows)
			fill(b, s, invs)
			mid := invs[rows/2]
			q := invitation.ListQuery{
				OrganizationID: org, Now: benchT0, Limit: 50,
				After: &store.Cursor{CreatedAt: mid.CreatedAt, ID: mid.ID},
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				page, err := s.ListInvitations(benchCtx, q)
				if err != nil || len(page) != 50 {
					b.Fatal(err, len(page))
				}
			}
		})
	}
}

// BenchmarkRedeem compares join-link redemptions with invitation creates,
// both through their services.
func BenchmarkRedeem(b *testing.B) {
	storetest.BenchmarkRedeem(b, memstore.New())
}
