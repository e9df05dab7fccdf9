#!/usr/bin/env bash
# Feedbase on PostgreSQL against Feedbase on SQLite, and 1, 2, 3 nodes over one PostgreSQL
# (issue #21), in one run on loopback, on a throwaway PostgreSQL cluster (as pg-sequencer.sh gets
# one: initdb in a temporary directory, the `postgres` user under root, default settings but the
# address, port and socket directory; durable: fsync and synchronous_commit on).
#
#   engines  one node on each engine over the same seeded data (50 projects, 10,000 tasks, the same
#            rows on both), run.sh's REST cases with `wrk -t2 -c50 --latency`, interleaved (each
#            case on SQLite, then on PostgreSQL): req/s, p50/p99, non-2xx, socket errors, the
#            PG/SQLite ratio per case; feedbase's peak RSS on each; postgres's memory (Pss summed
#            over its processes, so shared buffers count once).
#   feed     bench/fanout's Fanout on each engine: FEED_SUBSCRIBERS WebSocket subscribers on /_feed
#            while a paced writer POSTs FEED_RATE/s (commit → delivery latency), then as fast as it
#            can (FEED_MAX_RATE/s asked: the write rate sustained with the subscribers attached).
#   nodes    N `feedbase serve --db postgres://…` over one database (a fresh copy of the seeded one
#            per N); one wrk (-t6 -c48) whose threads are spread over the nodes (BENCH_NODES, in
#            wrk/common.lua): aggregate req/s for GET by id, the page, POST and PATCH, with the CPU
#            seconds of the feedbase nodes and of postgres per case, the machine's busy share, and
#            the wait events of postgres's active backends sampled every 0.5 s; then Fanout with
#            its writer on node 1 and its subscribers on node N (cross-node delivery).
#
# Usage: bash bench/pg.sh     (about 8 minutes with the defaults, more with BENCH_REPEAT)
#   BENCH_SECONDS=10          seconds per wrk case
#   BENCH_REPEAT=1            rounds of every case (2 on a loaded machine: both are reported)
#   BENCH_PARTS="engines feed nodes"   which parts to run
#   BENCH_NODE_COUNTS="1 2 3" node counts of the nodes part
#   BENCH_NODE_CONNECTIONS=48 wrk's connections in the nodes part (spread over the nodes)
#   BENCH_BUILD_FEEDBASE=1    build feedbase (release, .build-release/) and Fanout first; 0: don't
#   BENCH_FEEDBASE_BIN=PATH   use this feedbase binary (no build)
#   BENCH_KEEP=1              keep the temporary directory (its path is printed)
#   BENCH_PG_SETTINGS="-c wal_writer_delay=10ms"   extra postgres settings (default: none)
#   FEED_SUBSCRIBERS=100 FEED_RATE=100 FEED_SECONDS=10 FEED_MAX_RATE=4000 FEED_MAX_SECONDS=3
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
DURATION=${BENCH_SECONDS:-10}
REPEAT=${BENCH_REPEAT:-1}
PARTS=${BENCH_PARTS:-engines feed nodes}
NODE_COUNTS=${BENCH_NODE_COUNTS:-1 2 3}
NODE_CONNECTIONS=${BENCH_NODE_CONNECTIONS:-48}
FEED_SUBSCRIBERS=${FEED_SUBSCRIBERS:-100}
FEED_RATE=${FEED_RATE:-100}
FEED_SECONDS=${FEED_SECONDS:-10}
FEED_MAX_RATE=${FEED_MAX_RATE:-4000}
FEED_MAX_SECONDS=${FEED_MAX_SECONDS:-3}
TASKS=10000
WAIT_SECONDS=30
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_SECONDS must be a positive integer" >&2; exit 2; }
[[ $REPEAT =~ ^[1-9]$ ]] || { echo "BENCH_REPEAT must be 1 to 9" >&2; exit 2; }

# Feedbase reads FEEDBASE_* variables as option defaults: none from the caller's shell leaks in.
for name in $(compgen -e); do
    case $name in FEEDBASE_*) unset "$name" ;; esac
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/feedbase-pgbench.XXXXXX")
PIDS=()
PGBIN=$(command -v initdb >/dev/null 2>&1 && dirname "$(readlink -f "$(command -v initdb)")" || ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
AS=()
log() { echo "[pg-bench] $*" >&2; }

stop_server() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do stop_server "$pid"; done
    if [ -f "$WORK/data/postmaster.pid" ]; then
        "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

RESULTS="$WORK/results.tsv"
: >"$RESULTS"
record() { (IFS=$'\t'; echo "$*") >>"$RESULTS"; }
wanted() { [[ " $PARTS " == *" $1 "* ]]; }
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
record load start "$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- binaries
for tool in wrk sqlite3 curl; do command -v "$tool" >/dev/null || { echo "$tool is missing (apt-get install $tool)" >&2; exit 1; }; done
[ -x "$PGBIN/initdb" ] || { echo "no PostgreSQL server binaries (install Debian's postgresql)" >&2; exit 1; }
source_bin=${BENCH_FEEDBASE_BIN:-}
if [ -z "$source_bin" ]; then
    if [ "${BENCH_BUILD_FEEDBASE:-1}" = 1 ]; then
        log "building feedbase (release, .build-release) and Fanout (bench/fanout)"
        (cd "$ROOT" && timeout 3000 swift build -c release --product feedbase --scratch-path .build-release) >"$WORK/build.log" 2>&1 ||
            { log "feedbase build failed: $(tail -n 5 "$WORK/build.log" | tr '\n' ' ')"; exit 1; }
        (cd "$BENCH/fanout" && timeout 3000 swift build -c release --product Fanout) >>"$WORK/build.log" 2>&1 ||
            log "Fanout build failed (the feed cases are skipped): $(tail -n 5 "$WORK/build.log" | tr '\n' ' ')"
    fi
    source_bin="$ROOT/.build-release/release/feedbase"
fi
[ -x "$source_bin" ] || { echo "no feedbase binary at $source_bin" >&2; exit 1; }
# A copy, so a rebuild during the run cannot swap the binary under the benchmark.
FEEDBASE="$WORK/feedbase"
cp "$source_bin" "$FEEDBASE"
FANOUT="$BENCH/fanout/.build/release/Fanout"
[ -x "$FANOUT" ] || { log "no $FANOUT: the feed cases are skipped"; FANOUT=""; }
record version feedbase "$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?'), built $(date -u -r "$source_bin" '+%Y-%m-%d %H:%M UTC')"
record version postgres "$("$PGBIN/postgres" --version | awk '{print $3}')"
record version sqlite "$(sqlite3 --version | awk '{print $1}')"
record version wrk "$(wrk -v 2>&1 | head -n 1 | awk '{print $2}')"
[ -n "${BENCH_PG_SETTINGS:-}" ] && record version "postgres settings" "$BENCH_PG_SETTINGS"

# ---------------------------------------------------------------- PostgreSQL
if [ "$(id -u)" = 0 ]; then
    chown postgres: "$WORK"
    AS=(setpriv --reuid=postgres --regid=postgres --clear-groups --)
fi
PGPORT=$(free_port)
"${AS[@]}" "$PGBIN/initdb" -D "$WORK/data" -A trust -U postgres -E UTF8 --locale=C >"$WORK/initdb.log" 2>&1
"${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$PGPORT -c unix_socket_directories=$WORK ${BENCH_PG_SETTINGS:-}" start >/dev/null
PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres)
POSTMASTER=$(head -n 1 "$WORK/data/postmaster.pid")
pg_url() { echo "postgres://postgres@127.0.0.1:$PGPORT/$1"; }

# The same rows on both engines: one SQL text both accept (TRUE/FALSE literals), seeded.
python3 - "$TASKS" >"$WORK/seed.sql" <<'PY'
import random, sys
tasks = int(sys.argv[1])
rng = random.Random(21)
print("INSERT INTO projects (id, name) VALUES " + ",".join(f"({i}, 'project {i}')" for i in range(1, 51)) + ";")
rows = (f"({i}, {1 + i % 50}, 'task {i}', {rng.choice(['TRUE', 'FALSE'])}, {rng.randint(1, 5)})" for i in range(1, tasks + 1))
print("INSERT INTO tasks (id, project_id, title, done, priority) VALUES " + ",".join(rows) + ";")
PY
log "seeding: SQLite file and the PostgreSQL template database"
timeout 60 "$FEEDBASE" migrate --db "$WORK/sqlite.db" --migrations "$ROOT/migrations" >"$WORK/migrate.log" 2>&1
timeout 60 sqlite3 -bail "$WORK/sqlite.db" <"$WORK/seed.sql"
"${PSQL[@]}" -d postgres -c "CREATE DATABASE seed"
timeout 60 "$FEEDBASE" migrate --db "$(pg_url seed)" --migrations "$ROOT/migrations" >>"$WORK/migrate.log" 2>&1
"${PSQL[@]}" -d seed -f "$WORK/seed.sql" \
    -c "SELECT setval(pg_get_serial_sequence('projects', 'id'), 50), setval(pg_get_serial_sequence('tasks', 'id'), $TASKS)" \
    -c "VACUUM ANALYZE" >/dev/null
[ "$(sqlite3 "$WORK/sqlite.db" 'SELECT count(*) FROM tasks')" = "$TASKS" ]
[ "$("${PSQL[@]}" -d seed -At -c 'SELECT count(*) FROM tasks')" = "$TASKS" ]

# start_node NAME DB: a durable feedbase node on a free port, log lines of requests off. Sets
# NODE_PID and NODE_PORT; waits at most WAIT_SECONDS for /_health.
start_node() {
    local name=$1 db=$2
    NODE_PORT=$(free_port)
    "$FEEDBASE" serve --host 127.0.0.1 --port "$NODE_PORT" --db "$db" --migrations "$ROOT/migrations" \
        --synchronous FULL --log-level notice >"$WORK/$name.log" 2>&1 &
    NODE_PID=$!
    PIDS+=("$NODE_PID")
    local deadline=$((SECONDS + WAIT_SECONDS))
    while [ "$SECONDS" -lt "$deadline" ]; do
        kill -0 "$NODE_PID" 2>/dev/null || { echo "$name exited: $(tail -n 3 "$WORK/$name.log")" >&2; exit 1; }
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$NODE_PORT/_health" && return 0
        sleep 0.1
    done
    echo "$name: no answer within $WAIT_SECONDS s" >&2
    exit 1
}

# CPU ticks (user + system) of the given processes; postgres's are its postmaster's children.
cpu_ticks() {
    local pid total=0 t
    for pid in "$@"; do
        t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
        total=$((total + t))
    done
    echo "$total"
}
postgres_pids() { echo "$POSTMASTER" $(ps --ppid "$POSTMASTER" -o pid= 2>/dev/null); }
# The machine's busy and total jiffies (every process, ours and the neighbours' builds).
machine_ticks() { awk '/^cpu / {busy = $2 + $3 + $4 + $7 + $8; print busy, busy + $5 + $6}' /proc/stat; }
# Wait events of postgres's active client backends, sampled every 0.5 s until killed.
sample_waits() {
    while :; do
        "${PSQL[@]}" -d postgres -At -F ' ' -c "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU'), count(*)
            FROM pg_stat_activity WHERE backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid()
            GROUP BY 1" >>"$1" 2>/dev/null || true
        echo "--" >>"$1"
        sleep 0.5
    done
}

# wrk_case KIND LABEL CASE ROUND THREADS CONNECTIONS NODE-PIDS WRK-ARGS...: one wrk run, with the
# CPU of the nodes and of postgres and the wait events over it.
wrk_case() {
    local kind=$1 label=$2 case=$3 round=$4 threads=$5 connections=$6 nodes=$7
    shift 7
    local out="$WORK/wrk-$label-$case-$round.txt" waits="$WORK/waits-$label-$case-$round.txt"
    : >"$waits"
    sample_waits "$waits" &
    local sampler=$!
    local fb0 pg0 m0 fb1 pg1 m1 t0 t1
    # shellcheck disable=SC2086
    fb0=$(cpu_ticks $nodes); pg0=$(cpu_ticks $(postgres_pids)); m0=$(machine_ticks); t0=$(date +%s.%N)
    if ! timeout $((DURATION + 60)) wrk -t"$threads" -c"$connections" -d"${DURATION}s" --timeout 5s --latency "$@" >"$out" 2>&1; then
        echo "WRK FAILED" >>"$out"
    fi
    # shellcheck disable=SC2086
    fb1=$(cpu_ticks $nodes); pg1=$(cpu_ticks $(postgres_pids)); m1=$(machine_ticks); t1=$(date +%s.%N)
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    record "$kind" "$label" "$case" "$round" "$out" "$((fb1 - fb0))" "$((pg1 - pg0))" "$m0" "$m1" "$t0" "$t1" "$waits"
    log "$label $case (round $round): $(awk '/Requests\/sec/ {printf "%s req/s", $2} /^NON2XX/ {printf ", non-2xx %s", $2} /WRK FAILED/ {printf "wrk failed"}' "$out")"
}
# rest_case KIND LABEL CASE ROUND THREADS CONNECTIONS NODE-PIDS BASE-URL: one of run.sh's cases.
rest_case() {
    local case=$3 base=$8
    local head=("${@:1:7}")
    case $case in
        get-id) BENCH_IDS=$TASKS wrk_case "${head[@]}" -s "$BENCH/wrk/get-id.lua" "$base" ;;
        page) wrk_case "${head[@]}" -s "$BENCH/wrk/get.lua" "$base/tasks?done=eq.false&order=priority.desc&limit=20" ;;
        page-embed) wrk_case "${head[@]}" -s "$BENCH/wrk/get.lua" "$base/tasks?done=eq.false&order=priority.desc&limit=20&select=*,project(*)" ;;
        post) wrk_case "${head[@]}" -s "$BENCH/wrk/post.lua" "$base/tasks" ;;
        patch) BENCH_IDS=$TASKS wrk_case "${head[@]}" -s "$BENCH/wrk/patch.lua" "$base" ;;
    esac
}
# fanout KIND LABEL ROUND SUBSCRIBER-PORT WRITE-PORT RATE SECONDS
FANOUT_RUNS=0
fanout() {
    FANOUT_RUNS=$((FANOUT_RUNS + 1))
    local out="$WORK/fanout-$FANOUT_RUNS-$2-$3-$6.txt"
    if [ -z "$FANOUT" ]; then return 0; fi
    ulimit -n 8192 2>/dev/null || true
    timeout 300 "$FANOUT" --port "$4" --write-port "$5" --subscribers "$FEED_SUBSCRIBERS" --rate "$6" --seconds "$7" >"$out" 2>&1 ||
        echo "FANOUT FAILED ($?)" >>"$out"
    record "$1" "$2" "$6" "$3" "$out"
    log "$2 fanout at $6/s (round $3): $(grep -E '^writes|^events|short' "$out" | tr '\n' ' ')"
}
pg_memory() {
    local pid pss=0 kb
    for pid in $(postgres_pids); do
        kb=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
        pss=$((pss + ${kb:-0}))
    done
    echo "$pss"
}
CASES="get-id page page-embed post patch"

# ---------------------------------------------------------------- engines and feed
if wanted engines || wanted feed; then
    "${PSQL[@]}" -d postgres -c "CREATE DATABASE engines TEMPLATE seed"
    start_node sqlite "$WORK/sqlite.db"; SQLITE_PID=$NODE_PID; SQLITE_PORT=$NODE_PORT
    start_node postgres "$(pg_url engines)"; PG_PID=$NODE_PID; PG_PORT=$NODE_PORT
    if wanted engines; then
        for round in $(seq 1 "$REPEAT"); do
            for case in $CASES; do
                rest_case rest sqlite "$case" "$round" 2 50 "$SQLITE_PID" "http://127.0.0.1:$SQLITE_PORT"
                rest_case rest postgres "$case" "$round" 2 50 "$PG_PID" "http://127.0.0.1:$PG_PORT"
            done
        done
        record load engines "$(cut -d' ' -f1-3 /proc/loadavg)"
    fi
    if wanted feed; then
        for round in $(seq 1 "$REPEAT"); do
            fanout feed sqlite "$round" "$SQLITE_PORT" "$SQLITE_PORT" "$FEED_RATE" "$FEED_SECONDS"
            fanout feed postgres "$round" "$PG_PORT" "$PG_PORT" "$FEED_RATE" "$FEED_SECONDS"
            fanout feed sqlite "$round" "$SQLITE_PORT" "$SQLITE_PORT" "$FEED_MAX_RATE" "$FEED_MAX_SECONDS"
            fanout feed postgres "$round" "$PG_PORT" "$PG_PORT" "$FEED_MAX_RATE" "$FEED_MAX_SECONDS"
        done
        record load feed "$(cut -d' ' -f1-3 /proc/loadavg)"
    fi
    record rss sqlite "$(awk '/^VmHWM/ {print $2}' "/proc/$SQLITE_PID/status")"
    record rss postgres "$(awk '/^VmHWM/ {print $2}' "/proc/$PG_PID/status")"
    record pgmem engines "$(pg_memory)"
    stop_server "$SQLITE_PID"
    stop_server "$PG_PID"
fi

# ---------------------------------------------------------------- 1, 2, 3 nodes over one PostgreSQL
if wanted nodes; then
    for n in $NODE_COUNTS; do
        "${PSQL[@]}" -d postgres -c "CREATE DATABASE nodes_$n TEMPLATE seed"
        node_pids=() node_ports=() addresses=""
        for i in $(seq 1 "$n"); do
            start_node "node$n-$i" "$(pg_url "nodes_$n")"
            node_pids+=("$NODE_PID"); node_ports+=("$NODE_PORT")
            addresses+="${addresses:+,}127.0.0.1:$NODE_PORT"
        done
        base="http://127.0.0.1:${node_ports[0]}"
        for round in $(seq 1 "$REPEAT"); do
            for case in get-id page post patch; do
                BENCH_NODES=$addresses rest_case nodes "$n" "$case" "$round" 6 "$NODE_CONNECTIONS" "${node_pids[*]}" "$base"
            done
        done
        for round in $(seq 1 "$REPEAT"); do
            fanout nodefeed "$n" "$round" "${node_ports[$((n - 1))]}" "${node_ports[0]}" "$FEED_RATE" "$FEED_SECONDS"
        done
        record connections "$n" "$("${PSQL[@]}" -d postgres -At -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'nodes_$n'")"
        for pid in "${node_pids[@]}"; do stop_server "$pid"; done
        record load "nodes $n" "$(cut -d' ' -f1-3 /proc/loadavg)"
    done
fi

python3 "$BENCH/pg_report.py" "$RESULTS" "$(nproc)" "$DURATION" "$FEED_SUBSCRIBERS"
