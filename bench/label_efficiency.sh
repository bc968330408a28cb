#!/usr/bin/env bash
# Label efficiency on the synthetic task (issue 14): the attentive probe's test macro AUC when it
# trains on 1 %, 10 % and 100 % of the training folds (`--train-fraction`, a seeded stratified
# subset), for a JEPA pre-trained vit-tiny and for a random-init one, 3 probe seeds each, the same
# flags and seeds for both encoders. The pre-training is scripts/demo.sh's part 2 (4,000 synthetic
# records, 1,000 steps); evaluation is on a separate file (2,000 records: folds 1-8 = 1,600
# training records, so 1 % = 16 records). Prints a markdown table (mean ± sd over the seeds) and
# writes it to $WORK/label_efficiency.md; `ecg-dist compare` side-by-side tables per fraction are
# in $WORK/compare-F/. Tunables: BIN, WORK, NP, FRACTIONS, SEEDS, PROBE_STEPS, STEPS, CKPT (skip
# the pre-training and use this checkpoint).
set -euo pipefail
cd "$(dirname "$0")/.."
NP=${NP:-2}
WORK=${WORK:-runs/label-efficiency}
FRACTIONS=${FRACTIONS:-"0.01 0.1 1"}
SEEDS=${SEEDS:-3}
PROBE_STEPS=${PROBE_STEPS:-500}
STEPS=${STEPS:-1000}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS=1
if [ -z "${BIN:-}" ]; then swift build -c release >/dev/null; BIN=$(swift build -c release --show-bin-path)/ecg-dist; fi
OVERSUB=(); [ "$NP" -gt "$(nproc)" ] && OVERSUB=(--oversubscribe)
mkdir -p "$WORK"
PRE="$WORK/pre.h5" HELD="$WORK/eval.h5"
[ -f "$PRE" ] || mpirun "${OVERSUB[@]}" -np "$NP" "$BIN" synth --records 4000 --out "$PRE" --seed 1
[ -f "$HELD" ] || mpirun "${OVERSUB[@]}" -np "$NP" "$BIN" synth --records 2000 --out "$HELD" --seed 2
if [ -z "${CKPT:-}" ]; then
  rm -rf "$WORK/pretrain"
  mpirun "${OVERSUB[@]}" -np "$NP" "$BIN" pretrain --data "$PRE" --out "$WORK/pretrain" --model vit-tiny \
    --crop-seconds 10 --global-batch 64 --micro-batch 32 --steps "$STEPS" --warmup-steps $((STEPS / 10)) \
    --lr 1e-3 --log-every 100 --checkpoint-every "$STEPS"
  CKPT=$(ls "$WORK"/pretrain/checkpoints/step-*.ckpt | sort | tail -n 1)
fi

for f in $FRACTIONS; do
  flags=(--data "$HELD" --task synth --mode linear --seeds "$SEEDS" --train-fraction "$f" --linear-steps "$PROBE_STEPS"
         --threads "$NP" --quiet --no-classifiers)
  "$BIN" eval --checkpoint "$CKPT" "${flags[@]}" --out "$WORK/pretrained-$f" > "$WORK/pretrained-$f.log"
  "$BIN" eval --random-init --model vit-tiny "${flags[@]}" --out "$WORK/random-$f" > "$WORK/random-$f.log"
  "$BIN" compare "$WORK/pretrained-$f/eval.json" "$WORK/random-$f/eval.json" --out "$WORK/compare-$f" \
    --title "Label efficiency, train fraction $f" > "$WORK/compare-$f.log"
done

python3 - "$WORK" $FRACTIONS <<'PY' | tee "$WORK/label_efficiency.md"
import json, statistics, sys
work, fractions = sys.argv[1], sys.argv[2:]
def aucs(path):
    row = json.load(open(path))["results"][0]
    return row["trainRecords"], [s["testAUC"] for s in row["seeds"]]
def fmt(v): return f"{statistics.mean(v):.3f} ± {statistics.stdev(v):.3f}" if len(v) > 1 else f"{v[0]:.3f}"
print("| train fraction | training records | pre-trained test AUC | random init test AUC | difference (per seed) |")
print("|---:|---:|---:|---:|---:|")
for f in fractions:
    n, pre = aucs(f"{work}/pretrained-{f}/eval.json")
    _, rnd = aucs(f"{work}/random-{f}/eval.json")
    gaps = [a - b for a, b in zip(pre, rnd)]
    print(f"| {float(f):g} | {n} | {fmt(pre)} | {fmt(rnd)} | **{statistics.mean(gaps):+.3f}** "
          f"({', '.join(f'{g:+.3f}' for g in gaps)}) |")
PY
