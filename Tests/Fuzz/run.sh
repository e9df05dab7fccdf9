#!/usr/bin/env bash
# Builds the fuzz targets (this package: our modules instrumented with libFuzzer's coverage and
# AddressSanitizer) and runs each for a bounded time on a copy of its seed corpus, so that a run
# never changes the repository. Fails on any crash, sanitizer report, leak, timeout or
# out-of-memory, and prints the input that caused it (base64) so a CI log is enough to reproduce.
#
#   bash Tests/Fuzz/run.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default $FUZZ_SECONDS, else 60; 0 replays the corpus once, no fuzzing).
# TARGETs: FuzzQuery FuzzBody FuzzRequestHead FuzzBandMessage (default all). The build goes to
# $FUZZ_SCRATCH (default .build-fuzz at the repository's root), and is incremental.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
seconds="${1:-${FUZZ_SECONDS:-60}}"
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(FuzzQuery FuzzBody FuzzRequestHead FuzzBandMessage)
scratch="${FUZZ_SCRATCH:-$repo/.build-fuzz}"

started=$(date +%s)
(cd "$here" && swift build --scratch-path "$scratch")
bin="$(cd "$here" && swift build --scratch-path "$scratch" --show-bin-path)"
echo "fuzz: built in $(( $(date +%s) - started )) s"

work="$(mktemp -d "${TMPDIR:-/tmp}/feedbase-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT
failed=()
for target in "${targets[@]}"; do
    dir="$work/$target"
    mkdir -p "$dir/corpus" "$dir/tmp"
    cp "$here/corpus/$target/"* "$dir/corpus/"
    if [ "$seconds" -eq 0 ]; then bound=(-runs=0); else bound=(-max_total_time="$seconds"); fi
    echo "fuzz: $target for ${seconds} s"
    # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: a leak or a blow-up that
    # stays reachable. The store's temporary database goes under $dir/tmp, removed with $work.
    # SWIFT_BACKTRACE: the runtime's backtracer reads other threads' stacks, which ASan reports
    # as an overflow of its own, and then hangs; libFuzzer's report is the one wanted.
    if (cd "$dir" && TMPDIR="$dir/tmp" ASAN_OPTIONS="detect_leaks=1:abort_on_error=0" SWIFT_BACKTRACE=enable=no \
        "$bin/$target" corpus "${bound[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
        -print_final_stats=1 -artifact_prefix="$dir/" >"$dir/log" 2>&1); then
        grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+.*DONE" "$dir/log" | sed "s/^/fuzz: $target: /" || true
    else
        failed+=("$target")
        echo "fuzz: $target FAILED; the end of its log:" >&2
        tail -n 60 "$dir/log" >&2
        for artifact in "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-* "$dir"/slow-unit-*; do
            [ -e "$artifact" ] || continue
            echo "fuzz: $target input $(basename "$artifact") (base64): $(base64 -w0 "$artifact")" >&2
        done
    fi
done
echo "fuzz: done in $(( $(date +%s) - started )) s"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: findings in ${failed[*]}" >&2
    exit 1
fi
