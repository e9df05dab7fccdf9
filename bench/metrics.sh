#!/usr/bin/env bash
# What /metrics costs: GET /tasks/{id} (wrk -t2 -c50, random ids of 10,000 seeded tasks) against
# the same binary and the same database, with metrics on and with --no-metrics, alternated
# (on, off, on, off, ...) in one run so that the machine's drift falls on both alike. Prints
# each run, the medians of each side and their ratio, and the server's own request count
# after the last "on" run against the requests wrk reported.
#
#   bench/metrics.sh      FEEDBASE_BIN (default .build-release/release/feedbase),
#                         BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_TASKS (10000)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${FEEDBASE_BIN:-$ROOT/.build-release/release/feedbase}
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
TASKS=${BENCH_TASKS:-10000}
for tool in wrk sqlite3 curl; do command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install $tool)" >&2; exit 1; }; done
[ -x "$BIN" ] || { echo "no binary at $BIN: swift build -c release --product feedbase --scratch-path .build-release" >&2; exit 1; }
WORK=$(mktemp -d /tmp/feedbase-metrics-bench.XXXXXX)
SERVER=""
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

"$BIN" migrate --db "$WORK/seed.sqlite" --migrations "$ROOT/migrations" >/dev/null 2>&1
sqlite3 -bail "$WORK/seed.sqlite" "
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) INSERT INTO projects (id, name) SELECT i, 'project ' || i FROM n;
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $TASKS)
    INSERT INTO tasks (id, project_id, title, done, priority) SELECT i, 1 + i % 50, 'task ' || i, abs(random()) % 2, 1 + abs(random()) % 5 FROM n;"

# run MODE: one server (metrics on, or --no-metrics) on a fresh copy of the seed, one wrk run.
run() {
    local mode=$1 port flags=()
    [ "$mode" = off ] && flags=(--no-metrics)
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cp "$WORK/seed.sqlite" "$WORK/run.sqlite"
    "$BIN" serve --port "$port" --db "$WORK/run.sqlite" --migrations "$ROOT/migrations" --log-level warning "${flags[@]}" 2>>"$WORK/server.log" &
    SERVER=$!
    for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$port/_health" && break; sleep 0.1; done
    BENCH_IDS=$TASKS wrk -t2 -c50 -d"${SECONDS_PER_RUN}s" --latency -s "$ROOT/bench/wrk/get-id.lua" "http://127.0.0.1:$port" >"$WORK/wrk.out" 2>&1
    local rps p50 p99 sent
    rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out")
    p50=$(awk '$1 == "50%" {print $2}' "$WORK/wrk.out")
    p99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.out")
    sent=$(awk '/requests in/ {print $1}' "$WORK/wrk.out")
    echo "$mode $rps $p50 $p99" >>"$WORK/results"
    printf '%-4s %10s req/s  p50 %-8s p99 %-8s (%s requests)\n' "$mode" "$rps" "$p50" "$p99" "$sent"
    if [ "$mode" = on ]; then
        # wrk counts the requests it finished; the server counts every answer it sent, a few
        # in flight when wrk stopped included.
        local counted
        counted=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^feedbase_http_requests_total\{method="GET",route="\/tasks\/:id",status="200"\}/ {print $2}')
        echo "     /metrics counted $counted GET /tasks/:id 200 (wrk: $sent)"
    fi
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
}

echo "GET by id, wrk -t2 -c50, ${SECONDS_PER_RUN} s per run, $ROUNDS rounds; cores: $(nproc), $(date -u +%Y-%m-%d)"
for _ in $(seq 1 "$ROUNDS"); do run on; run off; done
python3 - "$WORK/results" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
def ms(text):
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit): return float(text[:-len(unit)]) * factor
median = {mode: statistics.median(float(r[1]) for r in rows if r[0] == mode) for mode in ("on", "off")}
p50 = {mode: statistics.median(ms(r[2]) for r in rows if r[0] == mode) for mode in ("on", "off")}
p99 = {mode: statistics.median(ms(r[3]) for r in rows if r[0] == mode) for mode in ("on", "off")}
print(f"median req/s: on {median['on']:,.0f}, off {median['off']:,.0f}; on/off {median['on'] / median['off']:.3f}")
print(f"median p50: on {p50['on']:.2f} ms, off {p50['off']:.2f} ms; median p99: on {p99['on']:.2f} ms, off {p99['off']:.2f} ms")
spread = {mode: (min(float(r[1]) for r in rows if r[0] == mode), max(float(r[1]) for r in rows if r[0] == mode)) for mode in ("on", "off")}
print(f"range req/s: on {spread['on'][0]:,.0f}-{spread['on'][1]:,.0f}, off {spread['off'][0]:,.0f}-{spread['off'][1]:,.0f}")
PY
