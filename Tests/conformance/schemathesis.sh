#!/usr/bin/env bash
# Conformance of a feedbase binary to its OpenAPI document, checked by Schemathesis (a fuzzer
# written by others): `feedbase serve` on port 0 with a fresh database, the shipped migrations,
# a rules file and an API key Schemathesis sends, then every operation but the streaming feed,
# positive and negative data, every check. The configuration and every choice in it: schemathesis.toml, hooks.py, and docs/API.md
# ("Conformance").
#
#   Tests/conformance/schemathesis.sh BIN [OPENAPI_FILE] [SCHEMATHESIS_ARGS...]
#
# BIN is the feedbase executable; OPENAPI_FILE defaults to openapi.yaml at the top of the
# repository; further arguments go to `schemathesis run` (for example `--seed 1` to replay a run).
# Needs `schemathesis` on PATH (pip install schemathesis==4.32.5, the version the configuration
# is tested with). Exits with schemathesis' status (2 when the server cannot be started).
# Schemathesis gets FEEDBASE_CONFORMANCE_TIMEOUT seconds (360): with the bounded start and stop,
# the script ends within 7 minutes.

set -euo pipefail

usage() {
    echo "usage: $0 BIN [OPENAPI_FILE] [SCHEMATHESIS_ARGS...]" >&2
    exit 2
}

[[ $# -ge 1 ]] || usage
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
absolute() { [[ $1 == /* ]] && echo "$1" || echo "$PWD/$1"; }
bin=$(absolute "$1")
shift
# The document may be left out before options: `schemathesis.sh BIN --seed 1`.
if [[ $# -ge 1 && $1 != -* ]]; then
    document=$(absolute "$1")
    shift
else
    document=$repo/openapi.yaml
fi
time_limit=${FEEDBASE_CONFORMANCE_TIMEOUT:-360}

[[ -x $bin ]] || { echo "$0: $bin is not an executable" >&2; exit 2; }
[[ -f $document ]] || { echo "$0: no OpenAPI document at $document" >&2; exit 2; }
command -v schemathesis >/dev/null || { echo "$0: schemathesis is not on PATH (pip install schemathesis)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/feedbase-conformance.XXXXXX")
server=""
# Whether the server runs (an exited child stays a zombie, which kill -0 still finds, until waited for).
alive() {
    kill -0 "$server" 2>/dev/null || return 1
    [[ -d /proc/self ]] || return 0  # no procfs (macOS): kill -0 is all there is
    local state
    state=$(sed 's/.*) //' "/proc/$server/stat" 2>/dev/null | cut -d' ' -f1)
    [[ -n $state && $state != Z ]]
}
stop_server() {
    [[ -n $server ]] || return 0
    if alive; then
        kill -TERM "$server" 2>/dev/null || true
        # Serve drains in-flight requests for at most 10 s on SIGTERM.
        for _ in $(seq 150); do alive || break; sleep 0.1; done
        kill -KILL "$server" 2>/dev/null || true
    fi
    wait "$server" 2>/dev/null || true
    server=""
}
trap 'stop_server; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# With access rules and an API key, as a deployment runs: the key's role may do everything, so
# every request Schemathesis makes with it is judged on its content, and the anonymous may do
# nothing (the document declares credentials optional: the rules decide).
printf 'allow * on * to conformance\n' >"$work/rules.conf"
# Keys live in the database, which `keys create` needs to exist already.
"$bin" migrate --db "$work/feedbase.sqlite" --migrations "$repo/migrations" >/dev/null || {
    echo "$0: feedbase migrate failed" >&2
    exit 2
}
key=$("$bin" keys create --db "$work/feedbase.sqlite" --role conformance --subject schemathesis 2>/dev/null) || {
    echo "$0: feedbase keys create failed" >&2
    exit 2
}
"$bin" serve --host 127.0.0.1 --port 0 --db "$work/feedbase.sqlite" --migrations "$repo/migrations" --rules "$work/rules.conf" \
    --log-level "${FEEDBASE_CONFORMANCE_LOG_LEVEL:-notice}" >"$work/server.log" 2>&1 &
server=$!

# The bound address is logged once, on one line: `listening on http://127.0.0.1:PORT`.
url=""
for _ in $(seq 300); do
    url=$(sed -n 's/.*listening on \(http:\/\/[0-9.]*:[0-9]*\).*/\1/p' "$work/server.log" | head -n 1)
    [[ -n $url ]] && break
    alive || break
    sleep 0.1
done
if [[ -z $url ]]; then
    echo "$0: the server did not report its address within 30 s; its log:" >&2
    cat "$work/server.log" >&2
    exit 2
fi
echo "feedbase serving at $url (log: $work/server.log)"

# In the scratch directory, so Hypothesis' example database and any report stay out of the tree.
status=0
(
    cd "$work"
    SCHEMATHESIS_HOOKS="$here/hooks.py" timeout --kill-after=10 "$time_limit" \
        schemathesis --config-file "$here/schemathesis.toml" run "$document" --url "$url" --checks all \
            --header "Authorization: Bearer $key" "$@"
) || status=$?

if [[ $status -eq 124 || $status -eq 137 ]]; then
    echo "$0: schemathesis did not finish within $time_limit s" >&2
fi
if ! alive; then
    echo "$0: the server died during the run; the end of its log:" >&2
    tail -n 50 "$work/server.log" >&2
    status=$(( status == 0 ? 1 : status ))
fi
stop_server
exit "$status"
