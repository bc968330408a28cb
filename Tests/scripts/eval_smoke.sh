#!/usr/bin/env bash
# End-to-end smoke test of `ecg-dist eval` on the embedded real PTB-XL sample (28 records):
# prepare the corpus, then run all six PTB-XL tasks in both modes (linear probe + fine-tuning)
# with tiny step counts on a random-init vit-xs, and check the printed table and the written
# JSON/Markdown. Fails (non-zero exit) on any missing row, non-finite number or missing file.
#
# usage: Tests/scripts/eval_smoke.sh [scratch-path]     (default .build-eval; builds release)
set -euo pipefail
cd "$(dirname "$0")/../.."
SCRATCH=${1:-.build-eval}
WORK=$(mktemp -d /tmp/eval-smoke.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# The test runner passes the binary it built in BIN; standalone, build one here.
if [ -z "${BIN:-}" ]; then
    if ! swift build -c release --scratch-path "$SCRATCH" --product ecg-dist >"$WORK/build.log" 2>&1; then
        grep -E "error" "$WORK/build.log" | head -20; echo "eval smoke: build failed"; exit 1
    fi
    BIN="$SCRATCH/release/ecg-dist"
fi

"$BIN" prepare ptbxl --root Tests/Fixtures/ptbxl-mini --out "$WORK/ptbxl-mini.h5" >/dev/null
"$BIN" eval --data "$WORK/ptbxl-mini.h5" --random-init --model vit-xs \
    --task all,diagnostic,subdiagnostic,superdiagnostic,form,rhythm --mode both --seeds 2 \
    --linear-steps 20 --finetune-steps 4 --batch-size 8 --validate-every 2 --crops-per-record 2 \
    --out "$WORK/out" | tee "$WORK/stdout.txt"

python3 - "$WORK" <<'PY'
import json, math, sys
work = sys.argv[1]
tasks = ["all", "diagnostic", "subdiagnostic", "superdiagnostic", "form", "rhythm"]
report = json.load(open(f"{work}/out/eval.json"))
rows = {(r["task"], r["mode"]): r for r in report["results"]}
stdout = open(f"{work}/stdout.txt").read()
md = open(f"{work}/out/eval.md").read()
problems = []
for t in tasks:
    for m in ["linear", "finetune"]:
        r = rows.get((t, m))
        if r is None:
            problems.append(f"missing row {t}/{m}"); continue
        line = f"| {t} | {m} |"
        if line not in stdout or line not in md:
            problems.append(f"row {t}/{m} not in printed/markdown table")
        if r.get("note"):
            continue  # a task without labelled training records is reported, not run
        if len(r["seeds"]) != 2:
            problems.append(f"{t}/{m}: {len(r['seeds'])} seeds")
        for s in r["seeds"]:
            if not math.isfinite(s["finalTrainLoss"]):
                problems.append(f"{t}/{m}: non-finite train loss")
            for key in ("valAUC", "testAUC"):
                v = s.get(key)
                if v is not None and not (0.0 <= v <= 1.0):
                    problems.append(f"{t}/{m}: {key} {v} outside [0, 1]")
if problems:
    print("eval smoke FAILED:\n  " + "\n  ".join(problems)); sys.exit(1)
ran = sum(1 for r in rows.values() if not r.get("note"))
print(f"eval smoke OK: {len(rows)} rows ({ran} trained), table printed and eval.json/eval.md written")
PY
