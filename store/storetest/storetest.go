// Package storetest is the conformance suite every invitekit store runs. A
// store's own test calls Run with a function that returns a new, empty
// store; the suite checks the whole storage contract of invitation.Store and
// guest.Store through it, as gocloud.dev's drivertest does for its drivers:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Backend {
//			s := memstore.New()
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
package storetest

import (
	"slices"
	"testing"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
)

// Backend is what a store under test provides: both domain stores and Close.
type Backend interface {
	invitation.Store
	guest.Store
	// Close releases everything the store holds.
	Close() error
}

// Run runs every conformance test as a subtest of t. newBackend is called
// once per subtest and must return a new store that holds nothing; it
// should register its own cleanup with t.Cleanup. Subtests run in parallel.
func Run(t *testing.T, newBackend func(t *testing.T) Backend) {
	t.Helper()
	for _, tc := range slices.Concat(invitationTests, invitationListTests, guestTests, guestListTests, claimTests, concurrencyTests, lifecycleTests) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newHarness(t, newBackend(t)))
		})
	}
}
