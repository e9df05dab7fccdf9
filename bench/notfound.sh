#!/usr/bin/env bash
# A hidden row and an absent one, timed: Examples/secured with 1,000 notes of bob's, alice's key,
# then GET /notes/{id} of bob's rows (hidden from alice) and of ids past the end (absent),
# interleaved on one keep-alive connection, N (2,000) of each. Prints both latency distributions
# and whether every answer was a 404 with the same body (ids aside).
#
#   bench/notfound.sh            FEEDBASE_BIN (default .build-release/release/feedbase), N
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${FEEDBASE_BIN:-$ROOT/.build-release/release/feedbase}
WORK=$(mktemp -d /tmp/feedbase-notfound.XXXXXX)
SERVER=""
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" serve --port "$PORT" --db "$WORK/notes.sqlite" --migrations "$ROOT/Examples/secured/migrations" --log-level warning 2>"$WORK/log" &
SERVER=$!
for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$PORT/_health" && break; sleep 0.1; done
sqlite3 -cmd ".timeout 5000" "$WORK/notes.sqlite" \
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) INSERT INTO notes (owner, title) SELECT 'bob', 'note ' || i FROM n"
TOKEN=$("$BIN" keys create --db "$WORK/notes.sqlite" --role user --subject alice 2>/dev/null)
sleep 0.5  # the server reloads keys every 250 ms
python3 - "$PORT" "$TOKEN" "${N:-2000}" <<'PY'
import http.client, re, statistics, sys, time
port, token, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
connection = http.client.HTTPConnection("127.0.0.1", port)
headers = {"Authorization": "Bearer " + token}
times = {"hidden": [], "absent": []}
bodies = {"hidden": set(), "absent": set()}
statuses = set()
for i in range(n * 2 + 200):
    kind = "hidden" if i % 2 == 0 else "absent"
    item = (i // 2) % 1000 + 1 if kind == "hidden" else 5000 + (i // 2) % 1000
    start = time.perf_counter()
    connection.request("GET", f"/notes/{item}", headers=headers)
    response = connection.getresponse()
    body = response.read().decode()
    elapsed = (time.perf_counter() - start) * 1e6
    if i < 200:
        continue  # warm-up
    statuses.add(response.status)
    times[kind].append(elapsed)
    bodies[kind].add(re.sub(r'"requestId":"[^"]*"', "", body.replace(f"'{item}'", "'ID'").replace(f"/notes/{item}", "/notes/ID")))
for kind in ("hidden", "absent"):
    values = sorted(times[kind])
    print(f"{kind}: n {len(values)}, median {statistics.median(values):.0f} µs, p90 {values[int(len(values) * 0.9)]:.0f} µs, p99 {values[int(len(values) * 0.99)]:.0f} µs")
print(f"statuses: {sorted(statuses)}; bodies alike: {bodies['hidden'] == bodies['absent'] and len(bodies['hidden']) == 1}")
print(f"median ratio hidden / absent: {statistics.median(times['hidden']) / statistics.median(times['absent']):.3f}")
PY
echo "cores: $(nproc), $(date -u +%Y-%m-%d)"
