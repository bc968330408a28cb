#!/usr/bin/env bash
# Scaling benchmark (not a test): the same JEPA pre-training at np=1 × 2 BLAS threads and at
# np=2 × 1 thread on this machine, measured in one run. Prints samples/s, all-reduce time per step,
# the fraction of it hidden behind backward, and the data-loader wait as a share of the step.
# Usage: bench/scaling.sh [MODEL] [GLOBAL_BATCH] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-vit-xs}; BATCH=${2:-32}; STEPS=${3:-30}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
swift build -c release >/dev/null
BIN=$(swift build -c release --show-bin-path)/ecg-dist
W=$(mktemp -d /tmp/ecg-dist-scaling.XXXXXX); trap 'rm -rf "$W"' EXIT
"$BIN" prepare ptbxl --root Tests/Fixtures/ptbxl-mini --out "$W/ptbxl.h5" >/dev/null
run() {  # np threads
  # mpirun binds each rank to one core by default: a rank with 2 threads needs room for both.
  local bind=(--bind-to core); [ "$2" -gt 1 ] && bind=(--bind-to none)
  OPENBLAS_NUM_THREADS=$2 mpirun --oversubscribe "${bind[@]}" -np "$1" "$BIN" pretrain --data "$W/ptbxl.h5" --out "$W/np$1" \
    --model "$MODEL" --global-batch "$BATCH" --micro-batch "$BATCH" --steps "$STEPS" --warmup-steps 5 \
    --log-every 5 --checkpoint-every 100000 --verify-every 10 --threads "$2" > "$W/np$1.log" 2>&1
}
run 1 2
run 2 1
python3 - "$W" "$MODEL" "$BATCH" <<'PY'
import json, sys
w, model, batch = sys.argv[1], sys.argv[2], sys.argv[3]
print(f"model {model}, global batch {batch}, steps after the first 5 (warm-up of caches) averaged")
print("| config | samples/s | step s | all-reduce ms/step | hidden behind backward | loader wait / step |")
print("|---|---|---|---|---|---|")
rates = {}
for np_, th in (("1", 2), ("2", 1)):
    rows = [json.loads(l) for l in open(f"{w}/np{np_}/metrics.jsonl") if '"loss"' in l][1:]
    sps = sum(r["samples_per_s"] for r in rows) / len(rows)
    comp = sum(r["compute_s"] for r in rows) / len(rows)
    io = sum(r["io_wait_s"] for r in rows) / len(rows)
    ar = sum(r["allreduce_s"] for r in rows) / len(rows)
    wait = sum(r["allreduce_wait_s"] for r in rows) / len(rows)
    hidden = "n/a" if ar == 0 else f"{100 * max(0.0, 1 - wait / ar):.0f}%"
    step = comp + io
    rates[np_] = sps
    print(f"| np={np_} × {th} thread(s) | {sps:.1f} | {step:.3f} | {1000 * ar:.1f} | {hidden} | {100 * io / step:.1f}% |")
print(f"np=2 / np=1 samples/s ratio: {rates['2'] / rates['1']:.2f}")
PY
