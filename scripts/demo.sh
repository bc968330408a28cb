#!/usr/bin/env bash
# The main job end to end on the embedded real PTB-XL-layout sample (Tests/Fixtures/ptbxl-mini):
# install dependencies, build, prepare the HDF5 corpus, JEPA pre-training on 2 MPI ranks for a few
# minutes (with rank-0 evaluation every 100 steps), then the PTB-XL evaluation harness on the
# final checkpoint, printing macro AUCs. Tunables: MODEL, STEPS, NP, OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${MODEL:-vit-xs}
STEPS=${STEPS:-300}
NP=${NP:-2}
OUT=${OUT:-runs/demo}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS=1   # one engine thread per rank: NP ranks fill NP cores (eval, one process, takes NP)

bash scripts/install-deps.sh
swift build -c release 2>&1 | grep -E "error|Compiling|Build complete" || true
swift build -c release >/dev/null
BIN=$(swift build -c release --show-bin-path)/ecg-dist
mkdir -p "$OUT"

echo "==> prepare: PTB-XL layout → HDF5"
"$BIN" prepare ptbxl --root Tests/Fixtures/ptbxl-mini --out "$OUT/ptbxl.h5"
"$BIN" info "$OUT/ptbxl.h5"

echo "==> pretrain: mpirun -np $NP, $MODEL, $STEPS steps"
rm -rf "$OUT/pretrain"
mpirun --oversubscribe -np "$NP" "$BIN" pretrain --data "$OUT/ptbxl.h5" --out "$OUT/pretrain" \
  --model "$MODEL" --steps "$STEPS" --global-batch 16 --micro-batch 16 --warmup-steps $((STEPS / 10)) \
  --checkpoint-every 100 --log-every 10 --eval-every 100 --eval-data "$OUT/ptbxl.h5" --eval-task all \
  --eval-steps 100
CKPT=$(ls "$OUT"/pretrain/checkpoints/step-*.ckpt | sort | tail -n 1)

echo "==> evaluate (rank 0 harness): linear probe on every task, pre-trained vs random init"
"$BIN" eval --checkpoint "$CKPT" --data "$OUT/ptbxl.h5" --task every --mode linear --steps 200 --threads "$NP" \
  --out "$OUT/eval" --quiet
"$BIN" eval --random-init --model "$MODEL" --data "$OUT/ptbxl.h5" --task every --mode linear --steps 200 --threads "$NP" \
  --out "$OUT/eval-random" --quiet
echo "results: $OUT/eval/eval.md, $OUT/eval-random/eval.md; training curve: $OUT/pretrain/metrics.jsonl"
