// Package baseline is a benchmark helper: the thinnest honest server of
// guest invitations, to measure invitekit's cost against, and (in its
// tests) the benchmarks that measure it and invitekit's guest lists at a
// million rows.
//
// The Server serves create, get and list of guest invitations on the
// table sqlitestore or postgresstore migrated, through the same driver
// (modernc.org/sqlite with database/sql, or a pgx v5 pool): plain
// net/http, one statement per request, no validation, no envelope, no
// tokens, no events, and no authentication beyond reading the
// Requester-Organization-ID header. Open the store on the database first,
// so that the table is the store's own, then OpenSQLite or NewPostgres on
// the same file or schema.
//
// # Benchmarks
//
// Both run on SQLite, and on PostgreSQL too when INVITEKIT_TEST_POSTGRES_URL
// is set (as for the store tests):
//
//	export INVITEKIT_TEST_POSTGRES_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//
// BenchmarkGuestList lists through our server (httpadapter, guest.Service
// and the store, over loopback HTTP) the invitations of one host of 1,000
// and one of 1,000,000, in one database with a third host of 10,000:
// every documented order_by in both directions and each filter, a page of
// 50 per request, one request at a time. It reports each request's median
// and 90th-percentile latency (p50-ms, p90-ms) and the total_items every
// response carried, which is checked against the count computed in Go.
// Give it a count of requests:
//
//	go test -run '^$' -bench GuestList -benchtime 20x -timeout 60m ./internal/baseline/
//	go test -run '^$' -bench 'GuestList/sqlite/1000000/email=' -benchtime 20x ./internal/baseline/
//
// The data set is generated from a seed (see dataset_test.go): about 80%
// sent, a third of those expired (their expiry recorded unless it passed
// in the last minute, as the example server's sweep, once a minute,
// leaves them), 10% accepted by the guest, 10% by the host, 5%
// archived, over the year before 2026-01-01, which is the listing
// server's clock. The rows are inserted directly into the migrated table
// (multi-row INSERTs on SQLite, COPY on PostgreSQL), so the table's
// triggers fire as for the store's own writes. The database is built once
// per process, which for a million rows takes minutes; the SQLite file is
// also kept in os.TempDir() between runs (invitekit-guestlist-*.db, about
// 1 GB), named after the migrations and the generator, so it is rebuilt
// when either changes. The PostgreSQL schema is dropped at exit.
// INVITEKIT_BENCH_SIZES=1000 lists only the small host (a quick run);
// the default is 1000,1000000.
//
// BenchmarkThroughput compares our server with the baseline on one
// database, for create, get and list (the first 50 of a host of 1,000,
// with the total): in each of INVITEKIT_BENCH_ROUNDS rounds (default 5)
// each server is loaded for INVITEKIT_BENCH_ROUND (default 10s) by 16
// client goroutines, each a keep-alive connection, the first of the two
// alternating from round to round, after an unmeasured warm-up of each.
// It reports the median requests per second of each (ours-req/s,
// baseline-req/s) and the median of the rounds' ratios (ours/baseline);
// -v shows every round. It does its work once per process whatever b.N.
// With the defaults each store takes about 5 minutes, beyond go test's
// default timeout for both:
//
//	go test -run '^$' -bench Throughput -benchtime 1x -v -timeout 60m ./internal/baseline/
//	INVITEKIT_BENCH_ROUND=1s INVITEKIT_BENCH_ROUNDS=3 go test -run '^$' -bench Throughput/sqlite -v ./internal/baseline/
//
// Our server is set up as examples/server is by default (one API key for
// every organization, Bearer authentication, a 10-second deadline per
// request, the same http.Server timeouts, a pgx pool of the default size)
// without what the baseline has no counterpart of: the throttling of
// failed authentications, the cap on connections, the request log and the
// metrics. Its limits are off (store.Limits{}), as the baseline has none;
// INVITEKIT_BENCH_LIMITS=example gives it the example's default limits
// (creates move to a new host every 500 per client, so that they are
// never refused). Our requests still do what the baseline's do not:
// authentication, validation, the documented envelope and errors, the
// signed invitation_token in every answer, and, on create, an event row
// written with the invitation (and a release of stale claims on a
// conflict). The load generator runs
// in the same process, on the same cores, as both servers, so each
// server's share of the CPU is smaller than on a machine of its own.
//
// TestSmoke runs every path of both benchmarks once at tiny sizes, and
// checks the answers against the rows computed in Go; it is part of
// go test ./... .
package baseline
