#!/usr/bin/env bash
# Load test of the example server with wrk (apt-get install wrk): GET one
# invitation, GET a list page of 50, POST creates, on a fresh SQLite file.
# Run from the repository root: bash examples/server/loadtest/run.sh
set -euo pipefail
dir=$(mktemp -d)
here=$(cd "$(dirname "$0")" && pwd)
go build -o "$dir/server" ./examples/server
org=0b5f8a34-1111-4c1e-9d55-3f2f6a1e2b7c
INVITEKIT_API_KEYS=demo:s3cret@$org "$dir/server" -db "$dir/bench.db" -addr 127.0.0.1:18181 >"$dir/server.out" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 50); do curl -fs http://127.0.0.1:18181/readyz >/dev/null && break; sleep 0.1; done
base=http://127.0.0.1:18181/v1/organizations/$org/invitations
for i in $(seq 1 60); do
	curl -fs -u demo:s3cret -H 'Content-Type: application/json' \
		-d "{\"email\":\"seed$i@example.com\",\"role\":\"admin\"}" "$base" >"$dir/last.json"
done
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["result"]["id"])' "$dir/last.json")
auth='Authorization: Basic ZGVtbzpzM2NyZXQ=' # demo:s3cret
echo "== GET one invitation"; wrk -t2 -c16 -d10s -H "$auth" "$base/$id"
echo "== GET list (limit=50)"; wrk -t2 -c16 -d10s -H "$auth" "$base?limit=50"
echo "== POST create"; wrk -t2 -c16 -d10s -s "$here/create.lua" "$base"
