package baseline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/store"
)

// TestSmoke runs every path of the benchmarks once, at tiny sizes, on
// SQLite and (with INVITEKIT_TEST_POSTGRES_URL) PostgreSQL, and checks the
// answers against the rows computed in Go, so that the harness cannot rot
// while nobody runs the benchmarks.
func TestSmoke(t *testing.T) {
	for _, storeName := range []string{"sqlite", "postgres"} {
		t.Run(storeName, func(t *testing.T) {
			if storeName == "postgres" {
				postgresURL(t)
			}
			t.Parallel()
			t.Run("list", func(t *testing.T) { smokeList(t, storeName) })
			t.Run("throughput", func(t *testing.T) { smokeThroughput(t, storeName) })
		})
	}
}

// rowsOf returns h's invitations.
func rowsOf(t *testing.T, h hostSpec) []guest.Invitation {
	t.Helper()
	var rows []guest.Invitation
	require.NoError(t, h.generate(func(inv guest.Invitation) error {
		rows = append(rows, inv)
		return nil
	}))
	return rows
}

// firstPage returns the IDs of the first page of q over rows, by brute
// force.
func firstPage(rows []guest.Invitation, q guest.ListQuery) (ids []uuid.UUID, total int) {
	var match []guest.Invitation
	for _, inv := range rows {
		if q.Matches(inv) {
			match = append(match, inv)
		}
	}
	slices.SortFunc(match, q.Compare)
	for _, inv := range match[:min(q.Limit, len(match))] {
		ids = append(ids, inv.ID)
	}
	return ids, len(match)
}

func pageIDs(p listPage) []uuid.UUID {
	var ids []uuid.UUID
	for _, it := range p.Items {
		ids = append(ids, it.ID)
	}
	return ids
}

func smokeList(t *testing.T, storeName string) {
	d := newDataset([]int{50, 20}, 10)
	var e *listEnv
	if storeName == "sqlite" {
		path := filepath.Join(t.TempDir(), "list.db")
		require.NoError(t, buildSQLite(context.Background(), path, d))
		e = sqliteListEnv(t, path, d, t.Cleanup)
	} else {
		e = postgresListEnv(t, d, t.Cleanup)
	}
	// A page smaller than the totals, so that the order is checked.
	const limit = 7
	cases := listCases()
	for _, h := range d.listed {
		rows := rowsOf(t, h)
		totals, err := expectedTotals(h, cases)
		require.NoError(t, err)
		for _, c := range cases {
			want, total := firstPage(rows, c.listQuery(h.id, limit))
			page, _, err := e.list(h.id, c, limit)
			require.NoError(t, err)
			assert.Equal(t, total, totals[c.name], "%d rows, %s: the benchmarks' expected total", h.rows, c.name)
			assert.NoError(t, checkTotal(page, total, limit), "%d rows, %s", h.rows, c.name)
			assert.Equal(t, want, pageIDs(page), "%d rows, %s", h.rows, c.name)
		}
		assert.Equal(t, 5, totals["email="+rareEmail], "%d rows", h.rows)
		assert.Equal(t, h.rows, totals["email="+commonEmail], "%d rows", h.rows)
	}
}

func smokeThroughput(t *testing.T, storeName string) {
	d := throughputHost(60)
	var e *throughputEnv
	if storeName == "sqlite" {
		e = sqliteThroughputEnv(t, t.TempDir(), d, &store.Limits{}, t.Cleanup)
	} else {
		e = postgresThroughputEnv(t, d, &store.Limits{}, t.Cleanup)
	}
	for _, op := range loadOps {
		c, err := compare(e, op, rounds{n: 1, each: 100 * time.Millisecond, conns: 16})
		require.NoError(t, err, op.name)
		assert.Positive(t, c.ours, op.name)
		assert.Positive(t, c.baseline, op.name)
		t.Logf("%s: %s", op.name, c.log[0])
	}

	// What the load checked only by status: the bodies.
	client := newClient(1)
	rows := rowsOf(t, e.host)
	want, total := firstPage(rows, listCase{}.listQuery(e.host.id, throughputList))
	for _, base := range []string{e.ours, e.baseline} {
		var page listPage
		call(t, client, newRequest(http.MethodGet, base+fmt.Sprintf("/guest-invitations?limit=%d", throughputList), e.host.id, nil),
			http.StatusOK, &page)
		assert.NoError(t, checkTotal(page, total, throughputList), base)
		assert.Equal(t, want, pageIDs(page), base)

		var got struct {
			ID    uuid.UUID `json:"id"`
			Email string    `json:"email"`
		}
		call(t, client, newRequest(http.MethodGet, base+"/guest-invitations/"+rows[3].ID.String(), e.host.id, nil),
			http.StatusOK, &got)
		assert.Equal(t, rows[3].ID, got.ID, base)
		assert.Equal(t, rows[3].Email, got.Email, base)

		host := uuid.New()
		body := fmt.Appendf(nil, `{"email":"ada@example.com","expired_at":%q}`, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
		var created struct {
			ID uuid.UUID `json:"id"`
		}
		call(t, client, newRequest(http.MethodPost, base+"/guest-invitations", host, body), http.StatusCreated, &created)
		call(t, client, newRequest(http.MethodGet, base+"/guest-invitations?limit=50", host, nil), http.StatusOK, &page)
		assert.NoError(t, checkTotal(page, 1, 50), base)
		assert.Equal(t, []uuid.UUID{created.ID}, pageIDs(page), base)
	}
}

// call sends req and decodes its answer, which must have status.
func call(t *testing.T, client *http.Client, req *http.Request, status int, out any) {
	t.Helper()
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, status, resp.StatusCode, "%s %s: %s", req.Method, req.URL, body)
	require.NoError(t, json.Unmarshal(body, out), "%s", body)
}

// TestDatasetMix checks the generator's proportions, which the
// benchmarks' filters rely on, on 10,000 rows.
func TestDatasetMix(t *testing.T) {
	h := newHost("mix", 10_000)
	var sent, byGuest, bySystem, expired, recorded, archived, rare int
	emails := map[string]bool{}
	var last time.Time
	require.NoError(t, h.generate(func(inv guest.Invitation) error {
		switch inv.Status {
		case guest.StatusSent:
			sent++
		case guest.StatusAcceptedByGuest:
			byGuest++
		case guest.StatusAcceptedBySystem:
			bySystem++
		}
		if inv.Expired(dataNow) {
			expired++
			if inv.ExpiryRecorded {
				recorded++
			}
		}
		if inv.Archived {
			archived++
			assert.NotNil(t, inv.ArchivedAt)
		}
		assert.Equal(t, inv.Status != guest.StatusSent, inv.AcceptedAt != nil)
		assert.True(t, inv.CreatedAt.After(last), "created in order")
		last = inv.CreatedAt
		assert.True(t, inv.CreatedAt.Before(dataNow) && inv.UpdatedAt.Before(dataNow))
		assert.False(t, inv.LastInvitationSentAt.Before(inv.FirstInvitationSentAt))
		assert.False(t, emails[inv.Email], "email %s twice", inv.Email)
		emails[inv.Email] = true
		if inv.ExpiryRecorded {
			assert.True(t, inv.Expired(dataNow.Add(-time.Minute)))
		}
		if strings.Contains(inv.Email, rareEmail) {
			rare++
		}
		return nil
	}))
	within := func(name string, n int, lo, hi float64) {
		f := float64(n) / float64(h.rows)
		assert.True(t, f >= lo && f <= hi, "%s: %.3f, want %.2f to %.2f", name, f, lo, hi)
	}
	within("sent", sent, 0.77, 0.83)
	within("accepted_by_guest", byGuest, 0.08, 0.12)
	within("accepted_by_system", bySystem, 0.08, 0.12)
	within("expired", expired, 0.24, 0.30)
	within("archived", archived, 0.04, 0.06)
	// The sweep has recorded every expiry but those of the last minute.
	assert.InDelta(t, 1, float64(recorded)/float64(expired), 0.01)
	assert.Equal(t, 5, rare)
}
