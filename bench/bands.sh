#!/usr/bin/env bash
# Bands benchmarks (issue #11), each case on a fresh server and database, client and server on
# the same machine (loopback). Prints each case's figures; bench/RESULTS.md keeps them.
#
#   bench/bands.sh [scale] [claim] [latency] [rules]      (default: all four)
#
# scale:   10,000 WebSocket subscribers over 1, 100, 1,000 and 10,000 distinct `project_id=eq.K`
#          bands (plus 100 subscribers on 5 `priority=gte.K` bands the index cannot file), 200
#          creates/s for BANDS_SECONDS (10): once to projects no band follows (the cost of judging
#          the bands alone) and once spread over the followed projects (each change for one band).
# claim:   1,000 clients polling a filtered page once a second against 1,000 band subscribers
#          (100 distinct bands), at 0.1, 1 and 10 changes/s for CLAIM_SECONDS (60): server CPU.
# latency: bench/fanout.sh's 1,000 firehose subscribers at 50 and 1,000 creates/s.
# rules:   the scale case's 10,000 subscribers on 10,000 bands, twice in turn (RULES_ROUNDS, 2): on an
#          open server each subscribing to `/tasks?project_id=eq.K`, then with access rules, each
#          with its own JWT (sub K) subscribing to `/tasks`, which the read rule
#          `project_id=eq.$sub` narrows to the same band. Writes to projects no one follows, then
#          spread over the followed ones; the server's CPU per change compared.
# PROGRESS_INTERVAL (seconds, 5) is the server's --feed-progress-interval; BANDS_LIST and
# BANDS_TARGETS narrow the scale case (default "1 100 1000 10000" and "none spread"), CLAIM_RATES
# the claim case (default "0.1 1 10").
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/feedbase-bands.XXXXXX)
SERVER=""
stop() { if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=""; fi; }
trap 'stop; rm -rf "$WORK"' EXIT
CASES=${*:-scale claim latency rules}
BIN=${FEEDBASE_BIN:-$ROOT/.build-release/release/feedbase}
if [ -z "${FEEDBASE_BIN:-}" ]; then (cd "$ROOT" && swift build -c release --product feedbase --scratch-path .build-release >/dev/null); fi
(cd "$ROOT/bench/fanout" && swift build -c release >/dev/null)
TOOL=$ROOT/bench/fanout/.build/release/Bands
ulimit -n 20000 2>/dev/null || true

# start PROJECTS [SERVE-FLAGS...]: a fresh server with PROJECTS projects; sets SERVER and PORT.
start() {
    stop
    local projects=$1
    shift
    rm -rf "$WORK/db" && mkdir -p "$WORK/db"
    PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$BIN" serve --port "$PORT" --db "$WORK/db/feedbase.sqlite" --migrations "$ROOT/migrations" --log-level warning \
        --feed-bands-per-connection 1 --feed-progress-interval "${PROGRESS_INTERVAL:-5}" "$@" 2>"$WORK/log" &
    SERVER=$!
    for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$PORT/_health" && break; sleep 0.1; done
    sqlite3 -cmd ".timeout 5000" "$WORK/db/feedbase.sqlite" \
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $projects) INSERT INTO projects (name) SELECT 'p' || i FROM n"
}

run() {
    echo "== $*"
    timeout 600 "$TOOL" --port "$PORT" --server-pid "$SERVER" "$@"
    echo "server RSS peak: $(awk '/VmHWM/ {print $2}' /proc/$SERVER/status) kB"
}

for case in $CASES; do
    case $case in
    scale)
        for bands in ${BANDS_LIST:-1 100 1000 10000}; do
            for target in ${BANDS_TARGETS:-none spread}; do
                start $((bands + 1))
                run --subscribers 10000 --bands "$bands" --range 100 --rate 200 --seconds "${BANDS_SECONDS:-10}" --target "$target"
            done
        done
        ;;
    claim)
        for rate in ${CLAIM_RATES:-0.1 1 10}; do
            start 101
            run --mode poll --subscribers 1000 --bands 100 --rate "$rate" --seconds "${CLAIM_SECONDS:-60}" --poll-ms 1000
            start 101
            run --mode push --subscribers 1000 --bands 100 --range 0 --rate "$rate" --seconds "${CLAIM_SECONDS:-60}"
        done
        ;;
    rules)
        # HS256 JWTs made with Python's standard library: line K for subject K, then the writer's.
        secret="bench-secret-$(date +%s)-of-at-least-32-bytes"
        python3 - "$secret" "$WORK/tokens" <<'PY'
import base64, hashlib, hmac, json, sys, time
secret, path = sys.argv[1].encode(), sys.argv[2]
def b64(data): return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
def token(claims):
    signing = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(claims).encode())
    return signing + "." + b64(hmac.new(secret, signing.encode(), hashlib.sha256).digest())
exp = int(time.time()) + 86400
with open(path, "w") as out:
    for k in range(1, 10001): out.write(token({"role": "user", "sub": str(k), "exp": exp}) + "\n")
with open(path + ".writer", "w") as out:
    out.write(token({"role": "writer", "sub": "w", "exp": exp}))
PY
        printf 'allow read on tasks to user where project_id=eq.$sub\nallow * on * to writer\n' >"$WORK/rules.conf"
        for round in $(seq 1 "${RULES_ROUNDS:-2}"); do
            for target in none spread; do
                echo "-- round $round, without rules"
                start 10001
                run --subscribers 10000 --bands 10000 --range 0 --rate 200 --seconds "${BANDS_SECONDS:-10}" --target "$target"
                echo "-- round $round, with the rule project_id=eq.\$sub"
                start 10001 --rules "$WORK/rules.conf" --jwt-secret "$secret"
                run --subscribers 10000 --bands 10000 --range 0 --rate 200 --seconds "${BANDS_SECONDS:-10}" --target "$target" \
                    --tokens "$WORK/tokens" --writer-token "$(cat "$WORK/tokens.writer")"
            done
        done
        ;;
    latency)
        stop
        for rate in 50 1000; do
            echo "== firehose, 1,000 WebSocket subscribers, $rate creates/s"
            FANOUT_SUBSCRIBERS=1000 FANOUT_RATE=$rate FANOUT_SECONDS=10 bash "$ROOT/bench/fanout.sh"
        done
        ;;
    esac
done
echo "cores: $(nproc), $(date -u +%Y-%m-%d)"
