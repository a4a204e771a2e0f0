package sqlitestore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/storetest"
)

// New must not depend on the caller's DSN asking for IMMEDIATE
// transactions: with the driver's default, DEFERRED, a transaction that
// reads before it writes fails with SQLITE_BUSY, without waiting, when
// another connection wrote first. Here two stores, each on a pool of
// several connections and neither DSN with _txlock, race to accept one
// invitation, as two processes sharing a file would.
func TestNewWritesWithoutTxlockNeverFailBusy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	services := make([]*invitation.Service, 2)
	for i := range services {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		s, err := New(ctx, db)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		services[i], err = invitation.NewService(invitation.Config{Store: s, Keys: [][]byte{bytes.Repeat([]byte{7}, 32)}})
		require.NoError(t, err)
	}
	inv, err := services[0].Create(ctx, invitation.CreateParams{OrganizationID: uuid.New(), Email: "race@example.com", Role: "admin"})
	require.NoError(t, err)
	tok := services[0].Token(inv)

	const racers = 30
	errs := storetest.Race(racers, func(i int) error {
		_, err := services[i%len(services)].Accept(ctx, tok, "race@example.com")
		return err
	})

	wins := 0
	for i, err := range errs {
		if err == nil {
			wins++
			continue
		}
		var se *sqlite.Error
		if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY {
			t.Errorf("racer %d: SQLITE_BUSY reached the caller: %v", i, err)
			continue
		}
		assert.ErrorIs(t, err, store.ErrAlreadyAccepted, "racer %d", i)
	}
	assert.Equal(t, 1, wins, "exactly one accept wins")
}
