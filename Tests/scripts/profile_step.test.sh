#!/usr/bin/env bash
# bench/profile_step.sh end to end: perf records exactly the steps of `bench --profile-steps`
# (events switched on and off through perf's control FIFOs, so set-up and warm-up are not in the
# profile) and bench/profile_summary.py splits them by kind of work and by part of the step, at
# 1 and 2 engine threads (pool workers' samples get their part from the time). The flags' bad
# input is in bad_input.sh. Exit 0 with SKIPPED when perf is missing or may not record here.
#
#   BIN=.build/release/ecg-dist WORK=/tmp/x bash Tests/scripts/profile_step.test.sh
set -uo pipefail
: "${BIN:?BIN=path of ecg-dist}" "${WORK:?WORK=scratch dir}"
FAILED=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILED=1; }

if ! command -v perf >/dev/null; then echo "SKIPPED: profile tool check: perf is not installed"; exit 0; fi
if ! perf record -q -o "$WORK/probe.data" -- true >/dev/null 2>&1; then
    echo "SKIPPED: profile tool check: perf may not record here (perf_event_paranoid $(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null))"; exit 0
fi
rm -f "$WORK/probe.data"

for threads in 1 2; do
    out=$(bash bench/profile_step.sh "$threads" 2 vit-xs 8 "$BIN" 2>&1); rc=$?
    if [ $rc -ne 0 ]; then fail "$threads thread(s): profile_step.sh exited $rc"; echo "$out" | tail -5; continue; fi
    # The checks: every kind's share adds up to 100 %, the OpenBLAS kernel is the largest kind,
    # OpenBLAS's bookkeeping stays small, all four parts of the step are there and no sample is
    # left without its part, and the sample count matches the window (perf at 999 Hz per busy
    # thread): a profile that also caught the model's set-up and warm-up would hold several times more.
    if PROFILE_OUT="$out" python3 - "$threads" <<'PY'
import os, re, sys
threads = int(sys.argv[1])
out = os.environ["PROFILE_OUT"]
step = float(re.search(r"^([0-9.]+) s per step", out, re.M).group(1))
samples = int(re.search(r"^(\d+) samples", out, re.M).group(1))
kinds = re.findall(r"^  (\S.*?)\s+([0-9.]+) %$", out.split("part of the step")[0], re.M)
parts = dict((p.strip(), float(s)) for p, s in re.findall(r"^  (\S.*?)\s+([0-9.]+) %\s+[0-9.]+ %$", out, re.M))
total = sum(float(s) for _, s in kinds)
expected = 999 * threads * 2 * step
problems = []
if abs(total - 100) > 0.6: problems.append(f"kind shares add up to {total:.1f} %")
if not kinds or kinds[0][0] != "OpenBLAS kernel": problems.append(f"largest kind is {kinds[:1]}")
# OpenBLAS's own bookkeeping is tiny: a large "driver" share means some of its arithmetic went
# unrecognised (as the SkylakeX/Cooperlake small-matrix kernels once did, 7 % of the step on Zen 4).
driver = sum(float(v) for k, v in kinds if k.startswith("OpenBLAS") and "driver" in k)
if driver > 2: problems.append(f"OpenBLAS driver {driver:.1f} %: unclassified OpenBLAS work")
for part in ("encoder forward (target + context)", "predictor forward", "predictor backward", "encoder backward"):
    if parts.get(part, 0) <= 0: problems.append(f"no samples in {part}")
if any(p.startswith(("worker", "outside")) and s > 2 for p, s in parts.items()): problems.append(f"unplaced samples: {parts}")
if not 0.5 * expected <= samples <= 1.3 * expected: problems.append(f"{samples} samples for a {2 * step:.2f}-s window at {threads} thread(s) (~{expected:.0f} expected)")
print(f"  {threads} thread(s): {samples} samples, {2 * step:.2f} s window (~{expected:.0f} expected), kinds add up to {total:.1f} %, "
      f"kernel {kinds[0][1]} %, parts {', '.join(f'{p.split()[0]} {p.split()[1]} {s:.0f} %' for p, s in parts.items() if s > 0)}")
for p in problems: print("  " + p)
sys.exit(1 if problems else 0)
PY
    then pass "$threads thread(s): the profile covers just the steps and splits them by kind and part"
    else fail "$threads thread(s): profile summary"; echo "$out"; fi
done

exit $FAILED
