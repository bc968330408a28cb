#!/usr/bin/env bash
# Leakage guard (needs BIN = release ecg-dist, WORK = scratch dir): a WFDB pre-training folder with a
# planted copy of a fold-10 PTB-XL record (00027_hr) among training-fold records.
#  1. `info --overlap` finds exactly that record, in fold 10;
#  2. `pretrain --eval-data ptbxl.h5` refuses to start, naming the corpora, the row and the fold, and
#     writes nothing; `--holdout` does the same without a periodic evaluation;
#  3. `--drop-holdout-duplicates` trains without it (one record fewer) and says so;
#  4. a corpus of PTB-XL's training folds (`prepare ptbxl --folds 1-8`) passes the guard.
set -euo pipefail
: "${BIN:?}" "${WORK:?}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
D="$WORK/leakage"; mkdir -p "$D/wfdb"
FIX=Tests/Fixtures/ptbxl-mini
fail() { echo "FAIL: $*" >&2; exit 1; }

"$BIN" prepare ptbxl --root "$FIX" --out "$D/ptbxl.h5" >/dev/null
for r in 00001 00002 00003 00004 00027; do cp "$FIX/records500/00000/${r}_hr".{hea,dat} "$D/wfdb/"; done
"$BIN" prepare wfdb --dir "$D/wfdb" --out "$D/pre.h5" >/dev/null

out=$("$BIN" info --overlap "$D/pre.h5" "$D/ptbxl.h5" --folds 9,10)
echo "$out"
grep -q "duplicates     1 of 5 records" <<<"$out" || fail "info --overlap did not find the one planted record"
grep -q "by fold        10:1" <<<"$out" && grep -q "(id 27, fold 10)" <<<"$out" || fail "info --overlap does not name ecg_id 27 in fold 10"

MODEL="dim=32,depth=2,heads=2,pred-dim=16,pred-depth=2,pred-heads=2"
COMMON=(--model "$MODEL" --global-batch 4 --micro-batch 4 --steps 3 --warmup-steps 1 --log-every 1)
set +e
out=$(mpirun --oversubscribe -np 2 "$BIN" pretrain --data "$D/pre.h5" --out "$D/refused" "${COMMON[@]}" \
      --eval-every 2 --eval-data "$D/ptbxl.h5" --eval-task rhythm 2>&1); rc=$?
set -e
[ $rc -ne 0 ] || fail "pretrain started with a fold-10 record in its corpus"
grep -q "pre-training records equal records of held-out folds 9,10" <<<"$out" && grep -q "pre.h5 vs .*ptbxl.h5: 1 record: row 4" <<<"$out" \
  && grep -q "fold 10" <<<"$out" || { echo "$out"; fail "refusal does not say what and where"; }
[ ! -e "$D/refused" ] || fail "a refused start left $D/refused behind"
echo "refused: $(grep -m1 -o 'pre-training records equal.*' <<<"$out" | cut -c1-160)…"
set +e; out=$("$BIN" pretrain --data "$D/pre.h5" --out "$D/refused2" "${COMMON[@]}" --holdout "$D/ptbxl.h5" 2>&1); rc=$?; set -e
[ $rc -ne 0 ] && grep -q "held-out folds 9,10" <<<"$out" || { echo "$out"; fail "--holdout did not refuse"; }

out=$(mpirun --oversubscribe -np 2 "$BIN" pretrain --data "$D/pre.h5" --out "$D/dropped" "${COMMON[@]}" \
      --holdout "$D/ptbxl.h5" --drop-holdout-duplicates 2>&1) || { echo "$out"; fail "--drop-holdout-duplicates run"; }
grep -q "leakage guard: leaving out 1 pre-training record(s)" <<<"$out" && grep -q ", 4 records, steps 0→3" <<<"$out" \
  || { echo "$out"; fail "drop run does not train on the 4 remaining records"; }
echo "dropped: $(grep -m1 'leaving out' <<<"$out" | cut -c1-120)…"

"$BIN" prepare ptbxl --root "$FIX" --folds 1-8 --out "$D/train18.h5" >/dev/null
out=$("$BIN" pretrain --data "$D/train18.h5" --out "$D/clean" "${COMMON[@]}" --holdout "$D/ptbxl.h5" 2>&1) || { echo "$out"; fail "folds 1-8 run"; }
grep -q "leakage guard: no pre-training record equals a record of folds 9,10" <<<"$out" || { echo "$out"; fail "clean corpus not reported clean"; }
echo "leakage tests passed"
