package memstore_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/storetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.EventStore {
		s := memstore.New()
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func TestNegativeOffsetDoesNotPanic(t *testing.T) {
	t.Parallel()
	s := memstore.New()
	_, total, err := s.ListGuestInvitations(context.Background(), guest.ListQuery{
		HostOrganizationID: uuid.New(), OrderBy: guest.OrderByCreatedAt, Order: store.Desc, Limit: 10, Offset: -5,
	})
	require.NoError(t, err)
	assert.Zero(t, total)
}
