package httpadapter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/memstore"
)

// BenchmarkGuestList reads a page of 50 of a host organization's guest
// invitations through Handler.ServeHTTP in-process, on memstore, into a
// ResponseWriter that discards the body as a connection's buffered writer
// would take it, so that what it measures is the adapter's work (auth,
// query parsing, the service's list and token signing, rendering), not a
// database's, the network's or an httptest.ResponseRecorder's growing
// buffer. Half the invitations have a parent organization and
// metadata, so nullable members are rendered both ways. Run it with
//
//	go test -run '^$' -bench GuestList -benchmem -count 5 ./httpadapter/
func BenchmarkGuestList(b *testing.B) {
	const n = 50
	st := memstore.New()
	b.Cleanup(func() { _ = st.Close() })
	svc, err := guest.NewService(guest.Config{Store: st, Keys: [][]byte{bytes.Repeat([]byte("b"), 32)}, Limits: noLimits})
	require.NoError(b, err)
	h, err := New(Config{Guests: svc, Authenticate: APIKeys(testKeys), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(b, err)

	ctx := context.Background()
	host := uuid.New()
	expiry := time.Now().Add(30 * 24 * time.Hour)
	for i := range n {
		p := guest.CreateParams{HostOrganizationID: host, Email: fmt.Sprintf("guest%d@example.com", i), ExpiredAt: expiry}
		if i%2 == 0 {
			parent := uuid.New()
			p.ParentOrganizationID = &parent
			p.Metadata = json.RawMessage(fmt.Sprintf(`{"team":"t%d","seat":%d}`, i, i))
		}
		_, err := svc.Create(ctx, p)
		require.NoError(b, err)
	}
	path := fmt.Sprintf("/guest-invitations?limit=%d", n)
	headers := guestHeaders(host, host)

	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.SetBasicAuth(keyID, keySecret)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		w := &discardWriter{header: make(http.Header)}
		h.ServeHTTP(w, req)
		if w.status != http.StatusOK || w.n == 0 {
			b.Fatalf("GET %s: %d, %d bytes", path, w.status, w.n)
		}
	}
	reportRate(b)
}

// discardWriter is an http.ResponseWriter that keeps the status and the
// number of body bytes and drops the body.
type discardWriter struct {
	header http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(p)
	return len(p), nil
}
