#!/usr/bin/env bash
# openapi-spec-validator (PyPI) on the committed openapi.yaml and on the documents a running
# server serves (/openapi.json, /openapi.yaml). Usage: validate-documents.sh FEEDBASE_BINARY
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
WORK=$(mktemp -d /tmp/feedbase-documents.XXXXXX)
SERVER=""
cleanup() {
    if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

openapi-spec-validator "$ROOT/openapi.yaml"

"$BIN" serve --host 127.0.0.1 --port 0 --db "$WORK/db.sqlite" --migrations "$ROOT/migrations" 2>"$WORK/log" &
SERVER=$!
url=""
for _ in $(seq 1 300); do
    url=$(grep -o 'listening on http://[0-9.:]*' "$WORK/log" | head -1 | sed 's/listening on //') || true
    [ -n "$url" ] && break
    kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$url" ] || { echo "validate-documents: the server did not start" >&2; cat "$WORK/log" >&2; exit 1; }

fetch() { python3 -c 'import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1], timeout=10).read())' "$1"; }
fetch "$url/openapi.json" >"$WORK/openapi.json"
fetch "$url/openapi.yaml" >"$WORK/openapi.yaml"
openapi-spec-validator "$WORK/openapi.json" "$WORK/openapi.yaml"
