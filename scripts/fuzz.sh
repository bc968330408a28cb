#!/usr/bin/env bash
# Builds the libFuzzer + AddressSanitizer fuzzer of ecg-dist's parsers and runs targets one after the
# other (never two at once: one fuzzer process, one core).
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS] [MAX_RUNS]
#
# TARGET: wfdb-header, wfdb-signal, csv, corpus-hdf5, checkpoint, safetensors, config-json, or all
# (default). Each target runs until SECONDS (default 60) of fuzzing or MAX_RUNS executions (default:
# no limit), whichever comes first, starting from its seed corpus (Tests/Fuzz/seeds/<target>) and
# its crash regressions (Tests/Fuzz/regressions/<target>). Prints executions, wall time and crashes
# per target; crash inputs are kept in .build-fuzz/runs/<target>/ and the exit status is 1 if any
# target crashed, hung or ran out of memory. docs/fuzzing.md explains the targets and the figures.
#
# Environment: FUZZ_KEEP_CORPUS=1 keeps the inputs a previous run found (.build-fuzz/runs/<target>/corpus);
# FUZZ_REPLAY_ONLY="t1 t2" replays those targets' seeds and regressions without mutating them
# (e.g. to check a fix against the kept crash inputs quickly).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WHICH=${1:-all}
SECONDS_PER_TARGET=${2:-60}
MAX_RUNS=${3:--1}
TARGETS=(wfdb-header wfdb-signal csv corpus-hdf5 checkpoint safetensors config-json)
if [ "$WHICH" != all ]; then
  [[ " ${TARGETS[*]} " == *" $WHICH "* ]] || { echo "fuzz.sh: unknown target '$WHICH' (${TARGETS[*]} or all)" >&2; exit 2; }
  TARGETS=("$WHICH")
fi

# The fuzzer has its own build folder: the sanitizer flags must not touch the normal .build.
BUILD=.build-fuzz
echo "==> building ecg-fuzz (-sanitize=fuzzer,address, debug) in $BUILD"
build_start=$(date +%s.%N)
ECG_DIST_FUZZ=1 swift build --scratch-path "$BUILD" --product ecg-fuzz -Xswiftc -sanitize=fuzzer,address 2>&1 \
  | grep -E "error|warning: unre|complete" | grep -v '^\[' || true
FUZZER=$(ECG_DIST_FUZZ=1 swift build --scratch-path "$BUILD" --show-bin-path)/ecg-fuzz
[ -x "$FUZZER" ] || { echo "fuzz.sh: build failed, no $FUZZER" >&2; exit 1; }
printf 'built in %.0f s\n' "$(echo "$(date +%s.%N) - $build_start" | bc)"

# Swift runtime caches (type metadata, Foundation's) live until exit: not leaks worth a report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}
# Swift's own crash backtracer reads foreign stack memory, which ASan reports on top of the real
# failure; libFuzzer's report is enough.
export SWIFT_BACKTRACE=enable=no
failed=0
printf '\n%-13s %12s %9s %10s %8s\n' target executions "wall (s)" "exec/s" crashes > "$BUILD/fuzz-summary.txt"
for target in "${TARGETS[@]}"; do
  work="$ROOT/$BUILD/runs/$target"
  [ "${FUZZ_KEEP_CORPUS:-0}" = 1 ] || rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  rm -f "$work"/artifacts/* "$work"/fuzz-*.log
  corpora=("$work/corpus" "$ROOT/Tests/Fuzz/seeds/$target")
  [ -d "$ROOT/Tests/Fuzz/regressions/$target" ] && corpora+=("$ROOT/Tests/Fuzz/regressions/$target")
  runs=$MAX_RUNS
  [[ " ${FUZZ_REPLAY_ONLY:-} " == *" $target "* ]] && runs=0
  echo "==> $target: ${SECONDS_PER_TARGET} s or $([ "$runs" -ge 0 ] && echo "$runs runs" || echo "no run limit")$([ "$runs" = 0 ] && echo " (seeds and regressions replayed only)")"
  start=$(date +%s.%N)
  # -jobs=1 -workers=1: libFuzzer runs one child fuzzer process and writes its log to fuzz-0.log.
  (cd "$work" && ECG_FUZZ_TARGET=$target "$FUZZER" -workers=1 -jobs=1 -max_total_time="$SECONDS_PER_TARGET" \
      -runs="$runs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
      "${corpora[@]}" >/dev/null 2>&1) || true
  wall=$(echo "$(date +%s.%N) - $start" | bc)
  log="$work/fuzz-0.log"
  execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1 || true)
  # A crashing run prints no final stats: take the last status line's count.
  [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$log" | tr -d '#' | tail -1 || true)
  crashes=$(find "$work/artifacts" -type f | wc -l)
  printf '%-13s %12s %9.0f %10.0f %8s\n' "$target" "${execs:-?}" "$wall" "$(echo "${execs:-0} / $wall" | bc -l)" "$crashes" \
    | tee -a "$BUILD/fuzz-summary.txt"
  if [ "$crashes" -gt 0 ]; then
    failed=1
    grep -E "ERROR|SUMMARY|Fatal error|failed|written to" "$log" | head -8 | sed 's/^/    /'
    find "$work/artifacts" -type f | sed 's/^/    crash input: /'
  fi
done
cat "$BUILD/fuzz-summary.txt"
exit $failed
