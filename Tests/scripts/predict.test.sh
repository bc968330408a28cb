#!/usr/bin/env bash
# Saved classifiers and `ecg-dist predict` (needs BIN = release ecg-dist, WORK = scratch dir):
#  1. synthetic corpus: eval (linear + finetune_after_linear, 2 seeds) saves one classifier per seed
#     and the test-fold predictions; predict on the corpus's test fold reproduces eval's test
#     logits (max abs diff printed) and sklearn's macro AUC of the predict CSV equals eval.json's
#     test AUC to 1e-9
#  2. embedded PTB-XL sample: predict on the PTB-XL root with --folds 10 reproduces eval's test
#     logits; predict on the WFDB folder, on a .npy dump and on the prepared corpus agree to 1e-5;
#     JSON output holds the same numbers
#  3. bad input: wrong lead count, wrong .npy shape, a classifier of another task, files that are
#     not classifiers, missing leads, unknown units, a too-short record: each a clear error naming
#     the file and the field, non-zero exit, no output file
set -euo pipefail
: "${BIN:?}" "${WORK:?}"
cd "$(dirname "$0")/../.."
export OPENBLAS_NUM_THREADS=1
P="$WORK/predict"; rm -rf "$P"; mkdir -p "$P"
fail() { echo "FAIL: $*" >&2; exit 1; }
MODEL="dim=32,depth=2,heads=2,pred-dim=16,pred-depth=2,pred-heads=2"
SMALL=(--random-init --model "$MODEL" --steps 30 --batch-size 16 --validate-every 10 --crops-per-record 2 --quiet)

echo "--- synthetic corpus: eval saves classifiers; predict reproduces its test logits and AUC"
"$BIN" synth --records 200 --out "$P/S.h5" >/dev/null
"$BIN" eval --data "$P/S.h5" --task synth --mode paper --seeds 2 "${SMALL[@]}" --save-predictions --out "$P/eval-synth" >/dev/null
for mode in linear finetune_after_linear; do
  for seed in 0 1; do
    c="$P/eval-synth/classifiers/synth.$mode.seed$seed.safetensors"
    [ -f "$c" ] || fail "no classifier $c"
    "$BIN" predict --model "$c" --input "$P/S.h5" --folds 10 --logits --out "$P/synth.$mode.$seed.csv" --quiet >/dev/null
  done
done
python3 - "$P" <<'PY'
import csv, json, sys
import h5py, numpy as np
from sklearn.metrics import roc_auc_score
P = sys.argv[1]
report = json.load(open(f"{P}/eval-synth/eval.json"))
with h5py.File(f"{P}/S.h5") as f:
    ids = [str(i) for i in f["record_ids"][:]]
    labels = dict(zip(ids, f["labels/synth"][:]))
worst_logit, worst_auc = 0.0, 0.0
for row in report["results"]:
    for s in row["seeds"]:
        names = row["labelNames"]
        mode, seed = row["mode"], s["seed"]
        assert s["classifier"] == f"classifiers/synth.{mode}.seed{seed}.safetensors", s["classifier"]
        ev = {r["record_id"]: r for r in csv.DictReader(open(f"{P}/eval-synth/{s['testPredictions']}"))}
        pr = {r["record_id"]: r for r in csv.DictReader(open(f"{P}/synth.{mode}.{seed}.csv"))}
        assert set(ev) == set(pr), f"{mode} seed {seed}: predict --folds 10 gave other records than eval's test fold"
        diff = max(abs(float(ev[k]["logit:" + n]) - float(pr[k]["logit:" + n])) for k in ev for n in names)
        keys = sorted(pr, key=int)
        y = np.array([labels[k] for k in keys])
        p = np.array([[float(pr[k][n]) for n in names] for k in keys])
        auc = roc_auc_score(y, p, average="macro")
        print(f"  synth {mode} seed {seed}: predict vs eval test logits max abs diff {diff:.3g}; "
              f"sklearn macro AUC {auc:.12f} vs eval {s['testAUC']:.12f} (diff {abs(auc - s['testAUC']):.2g})")
        worst_logit, worst_auc = max(worst_logit, diff), max(worst_auc, abs(auc - s["testAUC"]))
if worst_logit > 1e-5: sys.exit(f"FAIL: logits differ by {worst_logit}")
if worst_auc > 1e-9: sys.exit(f"FAIL: AUC differs by {worst_auc}")
print(f"ok: 4 classifiers, max logit diff {worst_logit:.3g}, max AUC diff {worst_auc:.2g}")
PY

echo "--- PTB-XL sample: PTB-XL root, WFDB folder, .npy and corpus inputs agree"
X="$P/ptbxl.h5"
"$BIN" prepare ptbxl --root Tests/Fixtures/ptbxl-mini --out "$X" >/dev/null
"$BIN" eval --data "$X" --task all --mode linear "${SMALL[@]}" --save-predictions --out "$P/eval-ptbxl" >/dev/null
C="$P/eval-ptbxl/classifiers/all.linear.seed0.safetensors"
[ -f "$C" ] || fail "no classifier $C"
"$BIN" predict --model "$C" --input Tests/Fixtures/ptbxl-mini --folds 10 --logits --out "$P/root-test.csv" --quiet >/dev/null
"$BIN" predict --model "$C" --input "$X" --logits --out "$P/corpus.csv" --quiet >/dev/null
"$BIN" predict --model "$C" --input "$X" --out "$P/corpus.json" --quiet >/dev/null
"$BIN" predict --model "$C" --input Tests/Fixtures/ptbxl-mini/records500 --logits --out "$P/wfdb.csv" --quiet >/dev/null
"$BIN" predict --model "$C" --input Tests/Fixtures/ptbxl-mini/records500/00000/00001_hr.hea --logits --out "$P/one.csv" --quiet >/dev/null
python3 - "$P" "$X" <<'PY'
import h5py, numpy as np, sys
P, X = sys.argv[1], sys.argv[2]
with h5py.File(X) as f:
    np.save(f"{P}/ptbxl.npy", f["signals"][:].astype(np.float32))
    np.save(f"{P}/ptbxl-uV-f64.npy", f["signals"][:].astype(np.float64) * 1000)
PY
LEADS="I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5,V6"
SHUFFLED="V6,V5,V4,V3,V2,V1,aVF,aVL,aVR,III,II,I"
"$BIN" predict --model "$C" --input "$P/ptbxl.npy" --fs 500 --leads "$LEADS" --logits --out "$P/npy.csv" --quiet >/dev/null
python3 - "$P" <<'PY'
import numpy as np, sys
P = sys.argv[1]
x = np.load(f"{P}/ptbxl-uV-f64.npy")
np.save(f"{P}/ptbxl-reversed.npy", x[:, :, ::-1].copy())   # leads in another order, µV, float64
PY
"$BIN" predict --model "$C" --input "$P/ptbxl-reversed.npy" --fs 500 --leads "$SHUFFLED" --units uV --logits --out "$P/npy-reversed.csv" --quiet >/dev/null
python3 - "$P" <<'PY'
import csv, json, sys
P = sys.argv[1]
def load(name, key=lambda k: k):
    return {key(r["record_id"]): r for r in csv.DictReader(open(f"{P}/{name}"))}
ecg_id = lambda name: str(int(name.split("/")[-1].split("_")[0]))
corpus = load("corpus.csv")
eval_test = load("eval-ptbxl/test_predictions/all.linear.seed0.csv")
logit_cols = [c for c in next(iter(corpus.values())) if c.startswith("logit:")]
def maxdiff(a, b, cols):
    assert set(a) == set(b), (sorted(a), sorted(b))
    return max(abs(float(a[k][c]) - float(b[k][c])) for k in a for c in cols)
checks = {
    "PTB-XL root --folds 10 vs eval test logits": maxdiff(load("root-test.csv"), eval_test, logit_cols),
    "WFDB folder vs corpus": maxdiff(load("wfdb.csv", ecg_id), corpus, logit_cols),
    ".npy (N,T,12) float32 mV vs corpus": maxdiff({str(int(k) + 1): v for k, v in load("npy.csv").items()}, corpus, logit_cols),
    ".npy float64 uV, leads reversed vs corpus": maxdiff({str(int(k) + 1): v for k, v in load("npy-reversed.csv").items()}, corpus, logit_cols),
    "single .hea vs corpus": maxdiff(load("one.csv", ecg_id), {"1": corpus["1"]}, logit_cols),
}
doc = json.load(open(f"{P}/corpus.json"))
names = doc["label_names"]
js = {r["record_id"]: {"logit:" + n: v for n, v in zip(names, r["logits"])} for r in doc["records"]}
checks["JSON vs CSV output"] = maxdiff(js, corpus, logit_cols)
bad = False
for what, d in checks.items():
    print(f"  {what}: max abs logit diff {d:.3g}")
    bad |= d > 1e-5
if bad: sys.exit("FAIL: inputs disagree by more than 1e-5")
print("ok: every input kind gives the corpus's logits")
PY

echo "--- bad input: clear error naming the file and field, non-zero exit, no output"
expect_error() {  # out-file expected-message... -- args...
  local out=$1; shift; local wants=()
  while [ "$1" != "--" ]; do wants+=("$1"); shift; done; shift
  set +e; msg=$("$BIN" predict --quiet --out "$out" "$@" 2>&1); rc=$?; set -e
  [ $rc -ne 0 ] || fail "exit 0 for: predict $*"
  for w in "${wants[@]}"; do grep -qF -- "$w" <<<"$msg" || { echo "$msg"; fail "message lacks '$w' for: predict $*"; }; done
  [ ! -e "$out" ] || fail "a failed predict left $out"
  ls "$(dirname "$out")" | grep -q "\.tmp-" && fail "a failed predict left a temporary file" || true
  echo "  ok: $(head -n 1 <<<"$msg" | cut -c1-160)"
}
python3 - "$P" <<'PY'
import numpy as np, struct, json, sys
P = sys.argv[1]
x = np.load(f"{P}/ptbxl.npy")
np.save(f"{P}/flat.npy", x[:, :, 0])              # (N, T): no lead axis
np.save(f"{P}/short.npy", x[:2, :2000, :])        # 4 s at 500 Hz
header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
header += b" " * ((8 - len(header) % 8) % 8)
open(f"{P}/plain.safetensors", "wb").write(struct.pack("<Q", len(header)) + header + struct.pack("<f", 1.0))
PY
mkdir -p "$P/renamed/00000"
cp Tests/Fixtures/ptbxl-mini/records500/00000/00002_hr.dat "$P/renamed/00000/"
sed 's/ V6$/ X6/' Tests/Fixtures/ptbxl-mini/records500/00000/00002_hr.hea > "$P/renamed/00000/00002_hr.hea"
mkdir -p "$P/units/00000"
cp Tests/Fixtures/ptbxl-mini/records500/00000/00002_hr.dat "$P/units/00000/"
sed 's|/mV 16 0\(.*\) II$|/degC 16 0\1 II|' Tests/Fixtures/ptbxl-mini/records500/00000/00002_hr.hea > "$P/units/00000/00002_hr.hea"
E="$P/err"; mkdir -p "$E"
expect_error "$E/a.csv" "$P/ptbxl.npy" "wrong lead count" "--leads names 11" -- --model "$C" --input "$P/ptbxl.npy" --fs 500 --leads "I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5"
expect_error "$E/b.csv" "$P/flat.npy" "field 'shape'" "(records, samples, leads)" -- --model "$C" --input "$P/flat.npy" --fs 500 --leads "$LEADS"
expect_error "$E/c.csv" "$P/ptbxl.npy" "missing lead(s) V6" -- --model "$C" --input "$P/ptbxl.npy" --fs 500 --leads "I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5,X6"
expect_error "$E/d.csv" "$P/renamed/00000/00002_hr.hea" "missing lead(s) V6" -- --model "$C" --input "$P/renamed"
expect_error "$E/e.csv" "$P/units/00000/00002_hr.hea" "lead II" "units 'degC'" -- --model "$C" --input "$P/units"
expect_error "$E/f.csv" "$P/ptbxl.npy" "--units 'furlong'" -- --model "$C" --input "$P/ptbxl.npy" --fs 500 --leads "$LEADS" --units furlong
expect_error "$E/g.csv" "$P/short.npy row 0" "record too short" "2000 samples" -- --model "$C" --input "$P/short.npy" --fs 500 --leads "$LEADS"
expect_error "$E/h.csv" "$C" "'classifier.task' is 'all'" "--task superdiagnostic" -- --model "$C" --input "$X" --task superdiagnostic
expect_error "$E/i.csv" "$P/plain.safetensors" "not an ecg-dist classifier" "field 'format' is missing" -- --model "$P/plain.safetensors" --input "$X"
expect_error "$E/j.csv" "$X" "not an ecg-dist classifier" -- --model "$X" --input "$X"
expect_error "$E/k.csv" "$P/ptbxl.npy" "needs --fs" -- --model "$C" --input "$P/ptbxl.npy" --leads "$LEADS"
expect_error "$E/l.txt" "$E/l.txt" "must be .csv or .json" -- --model "$C" --input "$X"
expect_error "$E/m.csv" "$P/ptbxl.npy" "--folds needs a PTB-XL root" -- --model "$C" --input "$P/ptbxl.npy" --fs 500 --leads "$LEADS" --folds 10
echo "predict tests passed"
