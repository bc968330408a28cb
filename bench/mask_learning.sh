#!/usr/bin/env bash
# Per-sample vs shared JEPA masks at equal steps (issue 13): pre-train vit-tiny on the synthetic
# corpus with each mask mode and 3 pre-training seeds, then the same attentive probe (500 steps,
# 3 probe seeds) with few labels (1 % of the training folds) and with all of them. Prints one line
# per run and a markdown table of test macro AUC (mean ± sd over pre-training seeds of the
# per-run probe means). Tunables: BIN, WORK, NP, STEPS, SEEDS, FRACTIONS.
set -euo pipefail
cd "$(dirname "$0")/.."
NP=${NP:-1}
WORK=${WORK:-runs/mask-learning}
STEPS=${STEPS:-1000}
SEEDS=${SEEDS:-"1 2 3"}
FRACTIONS=${FRACTIONS:-"0.01 1"}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
if [ -z "${BIN:-}" ]; then swift build -c release >/dev/null; BIN=$(swift build -c release --show-bin-path)/ecg-dist; fi
mkdir -p "$WORK"
PRE="$WORK/pre.h5" HELD="$WORK/eval.h5"
[ -f "$PRE" ] || "$BIN" synth --records 4000 --out "$PRE" --seed 1 >/dev/null
[ -f "$HELD" ] || "$BIN" synth --records 2000 --out "$HELD" --seed 2 >/dev/null
for masks in per-sample shared; do
  for seed in $SEEDS; do
    run="$WORK/$masks-s$seed"
    if [ ! -d "$run/checkpoints" ]; then
      mpirun --oversubscribe -np "$NP" "$BIN" pretrain --data "$PRE" --out "$run" --model vit-tiny --crop-seconds 10 \
        --global-batch 64 --micro-batch 64 --steps "$STEPS" --warmup-steps $((STEPS / 10)) --lr 1e-3 --seed "$seed" \
        --masks "$masks" --log-every "$STEPS" --checkpoint-every "$STEPS" > "$run.log" 2>&1
    fi
    ckpt=$(ls "$run"/checkpoints/step-*.ckpt | sort | tail -n 1)
    for f in $FRACTIONS; do
      "$BIN" eval --checkpoint "$ckpt" --data "$HELD" --task synth --mode linear --steps 500 --seeds 3 --threads "$NP" \
        --train-fraction "$f" --out "$run-eval-$f" --quiet --no-progress > /dev/null
      python3 - "$run-eval-$f/eval.json" "$masks" "$seed" "$f" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
aucs = [s["testAUC"] for s in r["seeds"]]
print(f"RUN masks={sys.argv[2]} seed={sys.argv[3]} fraction={sys.argv[4]} test_auc={sum(aucs)/len(aucs):.4f}")
PY
    done
  done
done | tee "$WORK/runs.txt"
python3 - "$WORK/runs.txt" <<'PY'
import sys, statistics as st, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    if line.startswith("RUN "):
        kv = dict(p.split("=") for p in line.split()[1:])
        rows[(kv["fraction"], kv["masks"])].append(float(kv["test_auc"]))
print("| train fraction | per-sample masks | shared mask | difference |")
print("|---:|---:|---:|---:|")
for f in sorted({k[0] for k in rows}, key=float):
    a, b = rows[(f, "per-sample")], rows[(f, "shared")]
    fmt = lambda v: f"{st.mean(v):.3f} ± {st.stdev(v):.3f}" if len(v) > 1 else f"{v[0]:.3f}"
    print(f"| {f} | {fmt(a)} | {fmt(b)} | {st.mean(a) - st.mean(b):+.3f} |")
PY
