package memstore_test

import (
	"testing"

	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Backend {
		s := memstore.New()
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
