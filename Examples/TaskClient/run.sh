#!/usr/bin/env bash
# Runs the TaskClient example end to end: builds feedbase and the example, serves the shipped
# migrations from a fresh database in a temporary directory on a free port, runs the example
# against it, stops the server with SIGTERM. Exits with the example's status. Every wait is bounded.
# FEEDBASE_BIN=path uses a feedbase binary already built instead of building one.
set -euo pipefail

example="$(cd "$(dirname "$0")" && pwd)"
top="$(cd "$example/../.." && pwd)"
build_timeout="${BUILD_TIMEOUT:-1800}"   # seconds, per build; a first build fetches and compiles the generator
tmp="$(mktemp -d "${TMPDIR:-/tmp}/feedbase-taskclient.XXXXXX")"
server_pid=""

stop_server() {
    [ -n "$server_pid" ] || return 0
    if kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        # The server drains in-flight requests for at most 10 s; give it 15.
        for _ in $(seq 1 150); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$server_pid" 2>/dev/null; then
            echo "run.sh: the server ignored SIGTERM for 15 s; killing it" >&2
            kill -KILL "$server_pid" 2>/dev/null || true
        fi
    fi
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}
cleanup() {
    stop_server
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "${FEEDBASE_BIN:-}" ]; then
    feedbase="$(cd "$(dirname "$FEEDBASE_BIN")" && pwd)/$(basename "$FEEDBASE_BIN")"   # a binary already built (CI)
else
    echo "run.sh: building feedbase" >&2
    (cd "$top" && timeout "$build_timeout" swift build --product feedbase --scratch-path .build-example-main)
    feedbase="$(cd "$top" && swift build --product feedbase --scratch-path .build-example-main --show-bin-path)/feedbase"
fi

echo "run.sh: building the example" >&2
(cd "$example" && timeout "$build_timeout" swift build --scratch-path .build)
client="$(cd "$example" && swift build --scratch-path .build --show-bin-path)/TaskClient"

# With access rules, as a deployment runs: the example's key may do everything, the anonymous nothing.
printf 'allow * on * to app\n' >"$tmp/rules.conf"
(cd "$top" && "$feedbase" migrate --db "$tmp/db.sqlite" --migrations migrations >/dev/null)   # keys live in the database
token="$("$feedbase" keys create --db "$tmp/db.sqlite" --role app --subject task-client 2>/dev/null)"
(cd "$top" && exec "$feedbase" serve --host 127.0.0.1 --port 0 --db "$tmp/db.sqlite" --migrations migrations --rules "$tmp/rules.conf") \
    >"$tmp/server.log" 2>&1 &
server_pid=$!

# The server logs `listening on http://127.0.0.1:PORT` once it accepts connections.
url=""
for _ in $(seq 1 300); do
    url="$(grep -o 'listening on http://[^ ]*' "$tmp/server.log" | head -n 1 | cut -d' ' -f3)" || true
    [ -n "$url" ] && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "run.sh: the server exited before listening:" >&2
        cat "$tmp/server.log" >&2
        exit 1
    fi
    sleep 0.1
done
if [ -z "$url" ]; then
    echo "run.sh: the server did not listen within 30 s:" >&2
    cat "$tmp/server.log" >&2
    exit 1
fi
echo "run.sh: feedbase serves $url" >&2

status=0
FEEDBASE_TOKEN="$token" timeout 120 "$client" "$url" || status=$?
if [ "$status" -ne 0 ]; then
    echo "run.sh: the example failed (status $status); server log:" >&2
    cat "$tmp/server.log" >&2
fi
stop_server
exit "$status"
