#!/usr/bin/env bash
# The writer's worst pause under sustained writes: PATCH a random task of 10,000 with
# `wrk -t2 -c8 --latency` for 60 s, once with WAL checkpoints in the writes' commits (SQLite's
# default, `--wal-checkpoint commit`) and once on the checkpointer thread (`background`, the
# default), in one run. Prints per mode: requests/s, p50, p99, p99.9 and max latency, and the
# largest WAL file seen (sampled every 100 ms). The max is the worst pause a writer saw.
#
# Usage: bash bench/checkpoint.sh
#   BENCH_SECONDS=60          seconds per mode
#   BENCH_FEEDBASE_BIN=PATH   the binary (default: build release into .build-release/)
#   BENCH_MODES="commit background"
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
DURATION=${BENCH_SECONDS:-60}
MODES=${BENCH_MODES:-commit background}
for name in $(compgen -e); do
    case $name in FEEDBASE_*) unset "$name" ;; esac
done
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 2; }

BIN=${BENCH_FEEDBASE_BIN:-}
if [ -z "$BIN" ]; then
    (cd "$ROOT" && swift build -c release --scratch-path .build-release --product feedbase >&2)
    BIN="$ROOT/.build-release/release/feedbase"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/feedbase-checkpoint.XXXXXX")
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

# patch.lua, plus the tail of the latency distribution printed by done().
cat >"$WORK/patch-tail.lua" <<LUA
dofile("$BENCH/wrk/patch.lua")
local counted_done = done
function done(summary, latency, requests)
  counted_done(summary, latency, requests)
  io.write(string.format("TAIL %.3f %.3f %.3f %.3f\\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000))
end
LUA

echo "# $(date -u +%Y-%m-%d), $(nproc) cores, ${DURATION} s of PATCH per mode, wrk -t2 -c8"
echo "| checkpoints | req/s | p50 ms | p99 ms | p99.9 ms | max ms | largest WAL MiB |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for mode in $MODES; do
    dir="$WORK/$mode"
    mkdir -p "$dir"
    "$BIN" serve --port 0 --db "$dir/bench.sqlite" --migrations "$ROOT/migrations" --log-level notice \
        --wal-checkpoint "$mode" 2>"$dir/log" &
    PID=$!
    port=
    for _ in $(seq 1 300); do
        port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$dir/log" | grep -o '[0-9]*$' || true)
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || { echo "the server did not start: $(cat "$dir/log")" >&2; exit 1; }
    base="http://127.0.0.1:$port"
    curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"name":"bench"}' "$base/projects"
    python3 - "$base" <<'PY'
import json, sys, urllib.request
for start in range(0, 10000, 1000):
    body = json.dumps([{"project_id": 1, "title": f"task {n}", "priority": n % 5 + 1} for n in range(start, start + 1000)]).encode()
    request = urllib.request.Request(sys.argv[1] + "/tasks", body, {"Content-Type": "application/json"})
    urllib.request.urlopen(request).read()
PY
    # The largest WAL file, sampled while wrk runs.
    (largest=0; end=$((SECONDS + DURATION + 2)); while [ $SECONDS -lt $end ]; do
        size=$(stat -c %s "$dir/bench.sqlite-wal" 2>/dev/null || echo 0)
        [ "$size" -gt "$largest" ] && largest=$size && echo "$largest" >"$dir/wal"
        sleep 0.1
    done) &
    sampler=$!
    BENCH_IDS=10000 wrk -t2 -c8 -d"${DURATION}s" --timeout 10s -s "$WORK/patch-tail.lua" "$base" >"$dir/wrk" 2>&1 || true
    wait "$sampler" || true
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
    python3 - "$mode" "$dir/wrk" "$dir/wal" <<'PY'
import re, sys
mode, path, wal = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path).read()
tail = re.search(r"^TAIL ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)$", text, re.M)
rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
non2xx = re.search(r"^NON2XX (\d+)", text, re.M)
try:
    largest = int(open(wal).read()) / (1 << 20)
except OSError:
    largest = 0.0
if not tail or not rate:
    print(f"| {mode} | wrk failed: {text[-300:]!r} |")
else:
    p50, p99, p999, worst = (float(v) for v in tail.groups())
    errors = f" ({non2xx.group(1)} non-2xx)" if non2xx and non2xx.group(1) != "0" else ""
    print(f"| {mode} | {float(rate.group(1)):.0f}{errors} | {p50:.2f} | {p99:.2f} | {p999:.2f} | {worst:.1f} | {largest:.1f} |")
PY
done
