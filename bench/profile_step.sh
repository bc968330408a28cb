#!/usr/bin/env bash
# Where a JEPA step's CPU time goes, on this machine's CPU and OpenBLAS core: records STEPS steady-
# state steps (after a warm-up step; no set-up, no reference sgemm) with perf and DWARF call
# graphs, then prints each kind of work's share (OpenBLAS kernel and packing by the engine function
# that called them, GELU, softmax, LayerNorm, memset, ...) and, at 1 thread, each part of the step.
# Needs perf (Debian: linux-perf) and permission to record (root, or perf_event_paranoid <= 1).
#
#   bench/profile_step.sh [THREADS] [STEPS] [CONFIG] [BATCH] [ECG_DIST]
#   e.g. bench/profile_step.sh 1 4 vit-xs 32 .build/release/ecg-dist
set -euo pipefail
THREADS=${1:-1}; STEPS=${2:-4}; CONFIG=${3:-vit-xs}; BATCH=${4:-32}; BIN=${5:-.build/release/ecg-dist}
HERE=$(cd "$(dirname "$0")" && pwd)
command -v perf >/dev/null || { echo "profile_step.sh: perf is not installed (Debian: apt-get install linux-perf)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "profile_step.sh: $BIN is not an executable (swift build -c release first)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/ecg-dist-profile.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkfifo "$WORK/ctl" "$WORK/ack"
# -D -1: events start disabled; the bench enables them around the timed steps through the FIFOs.
perf record -q -o "$WORK/perf.data" -F 999 --call-graph dwarf,16384 -D -1 --control "fifo:$WORK/ctl,$WORK/ack" -- \
  "$BIN" bench --configs "$CONFIG" --batches "$BATCH" --threads "$THREADS" --profile-steps "$STEPS" --perf-control "$WORK/ctl,$WORK/ack"
perf script -i "$WORK/perf.data" 2>/dev/null | python3 "$HERE/profile_summary.py"
