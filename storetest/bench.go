package storetest

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/link"
)

// BenchmarkRedeem measures, on s, join-link redemptions through
// link.Service beside organization invitation creates through
// invitation.Service (its default limits, as an application has them):
// the two writes a new member costs, each with 1 and 16 concurrent
// callers. Every redemption is by a new email; the 16 callers share one
// link, as the people behind a shared link do, and a link is replaced
// when its uses run out. A store's benchmarks call it:
//
//	func BenchmarkRedeem(b *testing.B) { storetest.BenchmarkRedeem(b, newStore(b)) }
func BenchmarkRedeem(b *testing.B, s LinkStore) {
	ctx := context.Background()
	invs, err := invitation.NewService(invitation.Config{Store: s, Keys: [][]byte{key}})
	if err != nil {
		b.Fatal(err)
	}
	links, err := link.NewService(link.Config{Store: s, Invitations: invs, Keys: [][]byte{key}})
	if err != nil {
		b.Fatal(err)
	}
	for _, callers := range []int{1, 16} {
		b.Run(fmt.Sprintf("op=create/callers=%d", callers), func(b *testing.B) {
			// A new organization every 500 creates stays within the
			// default limits, which the creates still count and lock.
			orgs := make([]uuid.UUID, b.N/500+1)
			for i := range orgs {
				orgs[i] = uuid.New()
			}
			Callers(b, callers, func(i int) error {
				_, err := invs.Create(ctx, invitation.CreateParams{OrganizationID: orgs[i/500], Email: fmt.Sprintf("c%d@example.com", i), Role: "developer"})
				return err
			})
		})
		b.Run(fmt.Sprintf("op=redeem/callers=%d", callers), func(b *testing.B) {
			org := uuid.New()
			var mu sync.Mutex
			tokens := map[int]string{} // by the link's share of i
			token := func(i int) (string, error) {
				mu.Lock()
				defer mu.Unlock()
				n := i / link.MaxUsesLimit
				if tok, ok := tokens[n]; ok {
					return tok, nil
				}
				l, err := links.Create(ctx, link.CreateParams{OrganizationID: org, Role: "developer", MaxUses: link.MaxUsesLimit})
				if err != nil {
					return "", err
				}
				tokens[n] = links.Token(l)
				return tokens[n], nil
			}
			if _, err := token(0); err != nil {
				b.Fatal(err)
			}
			Callers(b, callers, func(i int) error {
				tok, err := token(i)
				if err == nil {
					_, err = links.Redeem(ctx, tok, fmt.Sprintf("r%d@example.com", i))
				}
				return err
			})
		})
	}
}

// Callers calls f(i) for i in [0, b.N) from n concurrent callers, for a
// store's benchmarks: with more than one caller it uses RunParallel with
// enough goroutines per GOMAXPROCS for n in all. The first error fails
// the benchmark.
func Callers(b *testing.B, n int, f func(i int) error) {
	b.ReportAllocs()
	b.ResetTimer()
	if n == 1 {
		for i := range b.N {
			if err := f(i); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((n + procs - 1) / procs)
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := f(int(next.Add(1) - 1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
