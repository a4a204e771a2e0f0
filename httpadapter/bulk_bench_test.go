package httpadapter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/sqlitestore"
	"github.com/invitekit/invitekit/store"
)

// BenchmarkBulkCreate creates 100 invitations of a new organization over
// HTTP per operation, on a SQLite file and on PostgreSQL (with
// INVITEKIT_TEST_POSTGRES_URL), under the default limits: as one bulk
// request (one store transaction), and as 100 create requests one after
// the other on one keep-alive connection (a transaction each). The ratio
// of their ns/op is what a bulk create saves. Run it with
//
//	INVITEKIT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//		go test -run '^$' -bench BulkCreate -count 5 ./httpadapter/
func BenchmarkBulkCreate(b *testing.B) {
	const n = 100
	for _, st := range []struct {
		name string
		open func(b *testing.B) backend
	}{
		{"sqlite", func(b *testing.B) backend {
			s, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
			require.NoError(b, err)
			return s
		}},
		{"postgres", func(b *testing.B) backend { return openPostgres(b) }},
	} {
		b.Run(st.name, func(b *testing.B) {
			s := st.open(b)
			srv, client := bulkBenchServer(b, s, nil)
			unlimitedSrv, unlimited := bulkBenchServer(b, s, &store.Limits{})
			unlimitedURL := unlimitedSrv.URL
			items := make([]map[string]string, n)
			for i := range items {
				items[i] = map[string]string{"email": fmt.Sprintf("user%d@example.com", i), "role": "developer"}
			}
			bulk, err := json.Marshal(map[string]any{"invitations": items})
			require.NoError(b, err)
			post := func(path string, body []byte) []byte { return postTo(b, client, srv.URL+path, body) }
			b.Run("bulk", func(b *testing.B) {
				for b.Loop() {
					out := post(orgPath(uuid.New())+"/bulk", bulk)
					if bytes.Count(out, []byte(`"status":200`)) != n+1 {
						b.Fatalf("not every item was created: %s", out)
					}
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "invitations/s")
			})
			singles := func(url string, client *http.Client) func(b *testing.B) {
				return func(b *testing.B) {
					for b.Loop() {
						path := url + orgPath(uuid.New())
						for _, item := range items {
							body, err := json.Marshal(item)
							require.NoError(b, err)
							postTo(b, client, path, body)
						}
					}
					b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "invitations/s")
				}
			}
			b.Run("single", singles(srv.URL, client))
			// The same without limits: what counting them costs a create.
			b.Run("single-nolimits", singles(unlimitedURL, unlimited))
		})
	}
}

// postTo POSTs body to url and returns the response's body, failing on
// any status but 200.
func postTo(b *testing.B, client *http.Client, url string, body []byte) []byte {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(b, err)
	req.SetBasicAuth(keyID, keySecret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	require.NoError(b, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(b, err)
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("POST %s: %d %s", url, resp.StatusCode, out)
	}
	return out
}

// bulkBenchServer serves st under limits (nil: the default ones) over a
// real loopback server, and returns a client that keeps one connection
// alive.
func bulkBenchServer(b *testing.B, st backend, limits *store.Limits) (*httptest.Server, *http.Client) {
	b.Cleanup(func() { _ = st.Close() })
	svc, err := invitation.NewService(invitation.Config{Store: st, Keys: [][]byte{bytes.Repeat([]byte("b"), 32)}, Limits: limits})
	require.NoError(b, err)
	h, err := New(Config{Invitations: svc, Authenticate: APIKeys(testKeys), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(b, err)
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	transport := &http.Transport{MaxIdleConnsPerHost: 1}
	b.Cleanup(transport.CloseIdleConnections)
	return srv, &http.Client{Transport: transport}
}
