#!/usr/bin/env bash
# Does JEPA pre-training learn useful features? (issue 7, docs/learning.md)
#
#   synth (pre-training corpus, seed 1) + synth (held-out labelled corpus, seed 2)
#   → mpirun pretrain → attentive probe on the frozen pre-trained encoder
#   → the same probe (same flags, same seeds) on a random-init encoder of the same shape
#   → both macro AUCs (val = fold 9, test = fold 10), the gap, and the collapse check
#     (target-encoder per-dimension output std at the end > 0.1 × at the start).
#
# Every knob is an environment variable; the defaults are the final config of docs/learning.md.
# Example: STEPS=500 PROBE_STEPS=200 bench/learning.sh   (a quick smoke run)
# Exit status: 0 if the run completed (whatever the numbers), non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

NP=${NP:-2}
PRETRAIN_RECORDS=${PRETRAIN_RECORDS:-20000}
EVAL_RECORDS=${EVAL_RECORDS:-6000}
MODEL=${MODEL:-vit-tiny}
CROP_SECONDS=${CROP_SECONDS:-10}
STEPS=${STEPS:-12500}
WARMUP=${WARMUP:-300}
LR=${LR:-1e-3}
GLOBAL_BATCH=${GLOBAL_BATCH:-64}
MICRO_BATCH=${MICRO_BATCH:-32}
EMA_START=${EMA_START:-0.998}
EMA_END=${EMA_END:-0.9995}
PROBE_STEPS=${PROBE_STEPS:-500}
PROBE_SEEDS=${PROBE_SEEDS:-3}
SEED=${SEED:-0}
WORK=${WORK:-runs/learning}
SCRATCH=${SCRATCH:-.build}
CURVE=${CURVE:-docs/learning-curve.svg}
CKPT_EVERY=${CKPT_EVERY:-2500}
# 1 = also probe every intermediate checkpoint (same flags) for the AUC-vs-step curve in $CURVE.
CURVE_EVALS=${CURVE_EVALS:-1}

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
OVERSUB=(); [ "$NP" -gt 2 ] && OVERSUB=(--oversubscribe)

if [ -z "${BIN:-}" ]; then
  swift build -c release --scratch-path "$SCRATCH" >/dev/null
  BIN=$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/ecg-dist
fi
mkdir -p "$WORK"
PRE="$WORK/pretrain-$PRETRAIN_RECORDS-s1.h5"
EVAL="$WORK/eval-$EVAL_RECORDS-s2.h5"
RUN="$WORK/run"

t0=$(date +%s)
[ -f "$PRE" ] || mpirun "${OVERSUB[@]}" -np "$NP" "$BIN" synth --records "$PRETRAIN_RECORDS" --out "$PRE" --seed 1
[ -f "$EVAL" ] || mpirun "${OVERSUB[@]}" -np "$NP" "$BIN" synth --records "$EVAL_RECORDS" --out "$EVAL" --seed 2

# EMA momentum and everything else not exposed as a flag go through the JSON config.
cat > "$WORK/config.json" <<EOF
{"emaStart": $EMA_START, "emaEnd": $EMA_END, "seed": $SEED}
EOF
rm -rf "$RUN"
t1=$(date +%s)
mpirun "${OVERSUB[@]}" -np "$NP" "$BIN" pretrain --config "$WORK/config.json" --data "$PRE" --out "$RUN" \
  --model "$MODEL" --crop-seconds "$CROP_SECONDS" --global-batch "$GLOBAL_BATCH" --micro-batch "$MICRO_BATCH" \
  --steps "$STEPS" --warmup-steps "$WARMUP" --lr "$LR" --log-every 50 --checkpoint-every "$CKPT_EVERY" \
  --keep-checkpoints $((STEPS / CKPT_EVERY + 1)) | tee "$WORK/pretrain.log"
t2=$(date +%s)
CKPT=$(ls "$RUN"/checkpoints/step-*.ckpt | sort | tail -1)

# Identical probe flags for both encoders; only the encoder weights differ.
PROBE=(--data "$EVAL" --task synth --mode linear --steps "$PROBE_STEPS" --seeds "$PROBE_SEEDS" --base-seed 0 --quiet)
"$BIN" eval --checkpoint "$CKPT" "${PROBE[@]}" --out "$WORK/eval-pretrained"
"$BIN" eval --random-init --model "$MODEL" "${PROBE[@]}" --out "$WORK/eval-random"
t3=$(date +%s)

# Learning curve: the training metrics plus the probe's test AUC of every checkpoint (pre-trained)
# and of the random-init encoder (flat line), as eval entries `ecg-dist plot metrics` understands.
cp "$RUN/metrics.jsonl" "$WORK/curve.jsonl"
for c in "$RUN"/checkpoints/step-*.ckpt; do
  step=$(basename "$c" .ckpt); step=$((10#${step#step-}))
  dir="$WORK/eval-pretrained"
  if [ "$c" != "$CKPT" ]; then
    [ "$CURVE_EVALS" = 1 ] || continue
    dir="$WORK/eval-step-$step"
    "$BIN" eval --checkpoint "$c" "${PROBE[@]}" --out "$dir" >/dev/null
  fi
  python3 - "$dir/eval.json" "$WORK/eval-random/eval.json" "$step" >> "$WORK/curve.jsonl" <<'PY'
import json, sys
auc = lambda p: json.load(open(p))["results"][0]["seeds"][0]["testAUC"]
print(json.dumps({"step": int(sys.argv[3]), "eval": {"probe": {"pretrained_test_auc": auc(sys.argv[1]),
                                                             "random_init_test_auc": auc(sys.argv[2])}}}))
PY
done
"$BIN" plot metrics --jsonl "$WORK/curve.jsonl" --out "$CURVE" \
  --title "JEPA pre-training, $MODEL, $CROP_SECONDS s crops, $PRETRAIN_RECORDS synthetic records" || true

python3 - "$WORK" "$RUN/metrics.jsonl" "$((t2 - t1))" "$((t3 - t2))" "$((t3 - t0))" <<'PY'
import json, sys
work, metrics, pre_s, eval_s, total_s = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
def load(name):
    r = json.load(open(f"{work}/{name}/eval.json"))["results"][0]
    return r
pre, rnd = load("eval-pretrained"), load("eval-random")
def mean(r, key):
    v = [s[key] for s in r["seeds"]]
    return sum(v) / len(v)
print()
print("| encoder | val macro AUC | test macro AUC | test AUC per label |")
print("|---|---:|---:|---|")
for name, r in (("JEPA pre-trained", pre), ("random init", rnd)):
    per = " ".join(f"{n} {x:.3f}" for n, x in zip(r["labelNames"], r["seeds"][0]["testPerLabel"]))
    print(f"| {name} | {mean(r, 'valAUC'):.4f} | {mean(r, 'testAUC'):.4f} | {per} |")
gap = mean(pre, "testAUC") - mean(rnd, "testAUC")
print(f"test AUC gap (pre-trained - random): {gap:+.4f}  (target >= +0.10: {'met' if gap >= 0.10 else 'NOT met'})")
rows = [json.loads(l) for l in open(metrics) if '"target_std"' in l]
start, end = rows[-1]["target_std_start"], rows[-1]["target_std"]
ok = end > 0.1 * start
print(f"target-encoder output std: start {start:.4f}, end {end:.4f}, ratio {end / start:.3f}"
      f"  (no collapse if > 0.1: {'ok' if ok else 'COLLAPSED'})")
print(f"final loss {rows[-1]['loss']:.4f}; wall time: pre-training {pre_s} s, both evals {eval_s} s, total {total_s} s")
PY
