package httpadapter

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/memstore"
	"github.com/invitekit/invitekit/store"
)

// noLimits lets a benchmark make more creates an hour in one organization
// than the default limits allow; it measures the create path without
// them, as it did before there were any.
var noLimits = &store.Limits{}

// The benchmarks run each operation three ways: on the service directly
// (service), through the Handler over a real loopback connection with a
// keep-alive client (http), and through Handler.ServeHTTP in-process
// (handler), which separates the adapter's own cost (routing, auth, JSON)
// from the network stack's. All report req/s.

type benchFixture struct {
	svc     *invitation.Service
	handler *Handler
	server  *httptest.Server
	client  *http.Client
}

func newBenchFixture(b *testing.B) *benchFixture {
	b.Helper()
	st := memstore.New()
	b.Cleanup(func() { _ = st.Close() })
	svc, err := invitation.NewService(invitation.Config{Store: st, Keys: [][]byte{bytes.Repeat([]byte("b"), 32)}, Limits: noLimits})
	require.NoError(b, err)
	h, err := New(Config{Invitations: svc, Authenticate: APIKeys(testKeys), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(b, err)
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	transport := &http.Transport{MaxIdleConnsPerHost: 4}
	b.Cleanup(transport.CloseIdleConnections)
	return &benchFixture{svc: svc, handler: h, server: srv, client: &http.Client{Transport: transport}}
}

// call sends one request and drains the response, failing on any status
// but 200.
func (bf *benchFixture) call(b *testing.B, method, path string, body []byte) {
	req, err := http.NewRequestWithContext(context.Background(), method, bf.server.URL+path, bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.SetBasicAuth(keyID, keySecret)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := bf.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s %s: %d", method, path, resp.StatusCode)
	}
}

// serve is call in-process, without the network.
func (bf *benchFixture) serve(b *testing.B, method, path string, body []byte) {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.SetBasicAuth(keyID, keySecret)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	bf.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("%s %s: %d", method, path, rec.Code)
	}
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func BenchmarkCreate(b *testing.B) {
	bf := newBenchFixture(b)
	ctx := context.Background()
	b.Run("service", func(b *testing.B) {
		org := uuid.New()
		for i := range b.N {
			_, err := bf.svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: fmt.Sprintf("u%d@example.com", i), Role: "admin"})
			if err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b)
	})
	b.Run("handler", func(b *testing.B) {
		path := orgPath(uuid.New())
		for i := range b.N {
			bf.serve(b, http.MethodPost, path, fmt.Appendf(nil, `{"email":"u%d@example.com","role":"admin"}`, i))
		}
		reportRate(b)
	})
	b.Run("http", func(b *testing.B) {
		path := orgPath(uuid.New())
		for i := range b.N {
			bf.call(b, http.MethodPost, path, fmt.Appendf(nil, `{"email":"u%d@example.com","role":"admin"}`, i))
		}
		reportRate(b)
	})
}

func BenchmarkGet(b *testing.B) {
	bf := newBenchFixture(b)
	ctx := context.Background()
	org := uuid.New()
	inv, err := bf.svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "get@example.com", Role: "admin"})
	require.NoError(b, err)
	b.Run("service", func(b *testing.B) {
		for range b.N {
			if _, err := bf.svc.Get(ctx, org, inv.ID); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b)
	})
	path := orgPath(org) + "/" + inv.ID.String()
	b.Run("handler", func(b *testing.B) {
		for range b.N {
			bf.serve(b, http.MethodGet, path, nil)
		}
		reportRate(b)
	})
	b.Run("http", func(b *testing.B) {
		for range b.N {
			bf.call(b, http.MethodGet, path, nil)
		}
		reportRate(b)
	})
}

// BenchmarkList reads the first page of 20 of an organization's 1,000
// invitations.
func BenchmarkList(b *testing.B) {
	bf := newBenchFixture(b)
	ctx := context.Background()
	org := uuid.New()
	for i := range 1000 {
		_, err := bf.svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: fmt.Sprintf("l%d@example.com", i), Role: "admin"})
		require.NoError(b, err)
	}
	b.Run("service", func(b *testing.B) {
		for range b.N {
			if _, err := bf.svc.List(ctx, org, invitation.ListOptions{Limit: 20}); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b)
	})
	path := orgPath(org) + "?limit=20"
	b.Run("handler", func(b *testing.B) {
		for range b.N {
			bf.serve(b, http.MethodGet, path, nil)
		}
		reportRate(b)
	})
	b.Run("http", func(b *testing.B) {
		for range b.N {
			bf.call(b, http.MethodGet, path, nil)
		}
		reportRate(b)
	})
}
