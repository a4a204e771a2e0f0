// Package storetest is the conformance suite every invitekit store runs, as
// gocloud.dev's drivertest is for its drivers. A store's own test calls the
// suite of each domain it implements with a function that returns a new,
// empty store; the suite checks that domain's whole storage contract
// through it:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Backend {
//			s := memstore.New()
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// A store of one domain runs its part alone: RunInvitationStore for an
// invitation.Store, RunGuestStore for a guest.Store, RunLinkStore for a
// link.Store (with the invitation.Store its roles come from). Run runs
// them all, and the event suite.
//
// Clock, Race and OneWinner are exported for stores' own tests of things the
// suite cannot reach (several instances, a killed connection).
package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/link"
)

// InvitationStore is an invitation.Store under test.
type InvitationStore interface {
	invitation.Store
	// Close releases everything the store holds; every later call fails
	// with store.ErrClosed.
	Close() error
}

// GuestStore is a guest.Store under test.
type GuestStore interface {
	guest.Store
	// Close releases everything the store holds; every later call fails
	// with store.ErrClosed.
	Close() error
}

// Backend is a store of every domain under test.
type Backend interface {
	invitation.Store
	guest.Store
	link.Store
	Close() error
}

// RunInvitationStore runs every conformance test of invitation.Store as a
// subtest of t. newStore is called once per subtest and must return a new
// store that holds nothing; it should register its own cleanup with
// t.Cleanup. Subtests run in parallel.
func RunInvitationStore(t *testing.T, newStore func(t *testing.T) InvitationStore) {
	t.Helper()
	run(t, invitationSuite, func(t *testing.T) *harness {
		s := newStore(t)
		require.NotNil(t, s, "newStore returned nil")
		return newHarness(t, s, nil, s.Close)
	})
}

// RunGuestStore runs every conformance test of guest.Store, as
// RunInvitationStore does for invitation.Store.
func RunGuestStore(t *testing.T, newStore func(t *testing.T) GuestStore) {
	t.Helper()
	run(t, guestSuite, func(t *testing.T) *harness {
		s := newStore(t)
		require.NotNil(t, s, "newStore returned nil")
		return newHarness(t, nil, s, s.Close)
	})
}

// Run runs every suite on a store of both domains with its event log and
// outbox.
func Run(t *testing.T, newBackend func(t *testing.T) EventStore) {
	t.Helper()
	t.Run("Invitation", func(t *testing.T) {
		RunInvitationStore(t, func(t *testing.T) InvitationStore { return newBackend(t) })
	})
	t.Run("Guest", func(t *testing.T) {
		RunGuestStore(t, func(t *testing.T) GuestStore { return newBackend(t) })
	})
	t.Run("Link", func(t *testing.T) {
		RunLinkStore(t, func(t *testing.T) LinkStore { return newBackend(t) })
	})
	t.Run("Events", func(t *testing.T) {
		RunEventStore(t, newBackend)
	})
}

var (
	invitationSuite = [][]test{invitationTests, invitationListTests, invitationClaimTests,
		invitationConcurrencyTests, invitationLifecycleTests}
	guestSuite = [][]test{guestTests, guestListTests, guestCursorTests, guestTotalTests, guestClaimTests, guestConcurrencyTests, guestLifecycleTests}
)

func run(t *testing.T, suite [][]test, newHarness func(t *testing.T) *harness) {
	t.Helper()
	for _, tests := range suite {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.run(t, newHarness(t))
			})
		}
	}
}
