#!/usr/bin/env bash
# Feed fan-out: N WebSocket subscribers on /_feed while a paced writer creates items; prints
# delivery counts, ordering, commit→delivery latency and the server's RSS before and after.
# Usage: bench/fanout.sh   (FANOUT_SUBSCRIBERS=1000 FANOUT_RATE=1000 FANOUT_SECONDS=10, and for the slow
# consumer case FANOUT_STALLED=20 subscribers that stop reading, FANOUT_PAYLOAD=2000 bytes per item)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/feedbase-fanout.XXXXXX)
SERVER=""
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
(cd "$ROOT" && swift build -c release --product feedbase --scratch-path .build-release >/dev/null)
(cd "$ROOT/bench/fanout" && swift build -c release >/dev/null)
ulimit -n 8192 2>/dev/null || true
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cp -r "$ROOT/migrations" "$WORK/"
(cd "$WORK" && exec "$ROOT/.build-release/release/feedbase" serve --port "$PORT" --log-level notice 2>"$WORK/log") &
SERVER=$!
for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$PORT/_health" && break; sleep 0.1; done
echo "server RSS before: $(awk '/VmRSS/ {print $2}' /proc/$SERVER/status) kB"
ticks=$(getconf CLK_TCK)
children_cpu() { awk '{print $16 + $17}' /proc/$$/stat; }
client_before=$(children_cpu)
timeout 300 "$ROOT/bench/fanout/.build/release/Fanout" --port "$PORT" --subscribers "${FANOUT_SUBSCRIBERS:-1000}" \
    --rate "${FANOUT_RATE:-1000}" --seconds "${FANOUT_SECONDS:-10}" \
    --stalled "${FANOUT_STALLED:-0}" --payload "${FANOUT_PAYLOAD:-0}"
echo "server RSS after: $(awk '/VmRSS/ {print $2}' /proc/$SERVER/status) kB, peak $(awk '/VmHWM/ {print $2}' /proc/$SERVER/status) kB"
# CPU seconds (user + system) of the server and of this benchmark's client, which share the cores.
echo "server CPU: $(awk -v t="$ticks" '{printf "%.1f", ($14 + $15) / t}' /proc/$SERVER/stat) s; client CPU: $(awk -v t="$ticks" -v b="$client_before" '{printf "%.1f", ($16 + $17 - b) / t}' /proc/$$/stat) s"
echo "cores: $(nproc)"
