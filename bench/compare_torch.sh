#!/usr/bin/env bash
# Interleaved ecg-dist vs PyTorch benchmark on the same (possibly shared) machine.
# Runs `ecg-dist bench` and `bench/torch_reference.py --bench` alternately ROUNDS times with the same
# config, batch and thread count, then prints per-round ratios and their median, for wall-clock
# and (1 thread) CPU-time throughput, for the JEPA step and the forward-only encoder.
#
#   bench/compare_torch.sh [ROUNDS] [THREADS] [BATCH] [CONFIG] [ECG_DIST]
#   e.g. bench/compare_torch.sh 5 1 32 vit-xs .build/release/ecg-dist
set -euo pipefail
ROUNDS=${1:-5}; THREADS=${2:-1}; BATCH=${3:-32}; CONFIG=${4:-vit-xs}; BIN=${5:-.build/release/ecg-dist}
REPEATS=${REPEATS:-2}; FWD_SAMPLES=${FWD_SAMPLES:-1250}   # forward-only crop (1250 = 2.5 s, 5000 = 10 s)
MASKS=${MASKS:-shared}   # shared | per-sample (the JEPA masks of the timed step, both sides)
HERE=$(cd "$(dirname "$0")" && pwd)
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r/$ROUNDS (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  "$BIN" bench --configs "$CONFIG" --batches "$BATCH" --threads "$THREADS" --repeats "$REPEATS" --forward-samples "$FWD_SAMPLES" --masks "$MASKS" --machine \
    | grep '^RESULT' | sed "s/^/round $r /" >> "$LOG"
  python3 "$HERE/torch_reference.py" --bench --config "$CONFIG" --batch "$BATCH" --threads "$THREADS" \
    --repeats "$REPEATS" --forward-samples "$FWD_SAMPLES" --masks "$MASKS" --machine | grep '^RESULT' | sed "s/^/round $r /" >> "$LOG"
done
python3 - "$LOG" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    rnd, who = int(f[1]), f[3]
    kv = dict(zip(f[5::2], f[6::2]))   # after "RESULT who config": key value pairs
    rows.setdefault(rnd, {})[who] = kv
keys = ["step_wall", "step_cpu", "fwd_wall", "fwd_cpu"]
print(f"{'round':>5} " + " ".join(f"{k + ' ecg/torch':>26}" for k in keys))
ratios = {k: [] for k in keys}
for rnd in sorted(rows):
    e, t = rows[rnd].get("ecg-dist"), rows[rnd].get("torch")
    if not e or not t:
        continue
    cells = []
    for k in keys:
        a, b = float(e[k]), float(t[k])
        if a != a or b != b or b == 0:   # nan (CPU time is only reported at 1 thread)
            cells.append(f"{'-':>26}"); continue
        ratios[k].append(a / b)
        cells.append(f"{a:9.2f}/{b:9.2f}={a / b:5.2f}")
    print(f"{rnd:>5} " + " ".join(cells))
print("median ratio (ecg-dist / torch): " + ", ".join(
    f"{k} {statistics.median(v):.2f}" for k, v in ratios.items() if v))
sg = [float(rows[r]["ecg-dist"]["sgemm_wall"]) for r in rows if "ecg-dist" in rows[r]]
print(f"sgemm GFLOP/s (wall) per round: {', '.join(f'{x:.1f}' for x in sg)}")
# The step's GFLOP/s as a share of the same round's sgemm: CPU time against CPU time at 1 thread
# (immune to preemption), wall against wall at 2 threads — as `ecg-dist bench` prints it.
# Two references: the sgemm timed in alternation with the steps (windows of a step's length, as
# many as the timed steps) and the best of many short windows before them (see EngineBenchmark).
for label, prefix in [("timed in alternation with the steps", "step_sgemm"), ("best of short windows before the steps", "sgemm")]:
    pct = []
    for r in sorted(rows):
        e = rows[r].get("ecg-dist")
        if not e or "step_gflop" not in e or prefix + "_cpu" not in e:
            continue
        cpu = float(e["step_cpu"])
        rate, ref = (cpu, float(e[prefix + "_cpu"])) if cpu == cpu else (float(e["step_wall"]), float(e[prefix + "_wall"]))
        pct.append(100 * rate * float(e["step_gflop"]) / ref)
    if pct:
        print(f"ecg-dist step as % of the same round's sgemm ({label}): {', '.join(f'{x:.0f}%' for x in pct)}")
PY
