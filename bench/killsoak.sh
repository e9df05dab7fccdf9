#!/usr/bin/env bash
# kill -9 soak, nightly-sized: the CI test KillTests (20 kills) run with many more kills, once per
# seed, each seed a fresh database. Every run prints its one-line summary (writes acknowledged and
# in doubt, events, resumes per transport); a failure prints its seed, which replays the schedule:
#
#   bench/killsoak.sh                        KILLS (default 200) kills per seed, RUNS (default 5) random seeds
#   SEEDS="17 42" KILLS=500 bench/killsoak.sh      these seeds
#   FEEDBASE_KILL_SEED=17 FEEDBASE_KILLS=20 swift test --filter KillTests     one seed, by hand
#
# Builds incrementally in the package's own .build first. Exits 1 at the first failing seed.
set -euo pipefail
cd "$(dirname "$0")/.."
KILLS=${KILLS:-200}
SEEDS=${SEEDS:-$(for _ in $(seq 1 "${RUNS:-5}"); do echo $(( (RANDOM << 15) | RANDOM )); done)}
swift build --build-tests
for seed in $SEEDS; do
    log=/tmp/killsoak-$seed.log
    if ! FEEDBASE_KILL_SEED=$seed FEEDBASE_KILLS=$KILLS swift test --skip-build --filter KillTests >"$log" 2>&1; then
        grep -E "KillTests: seed|FEEDBASE_KILL_SEED" "$log" || tail -20 "$log"
        echo "killsoak: seed $seed FAILED (whole log: $log)" >&2
        exit 1
    fi
    grep "KillTests: seed" "$log"
done
echo "killsoak: every seed passed"
