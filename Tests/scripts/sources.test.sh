#!/usr/bin/env bash
# The paper's pre-training sources, each from a fixture in its distributed layout
# (make_source_fixtures.py): `prepare mimic`, `prepare code15`, `prepare wfdb --dx-labels` on Challenge
# 2021 folders (CPSC, PTB with 15 leads at 1000 Hz, St-Petersburg at 257 Hz with --highpass), compared
# with an independent Python reading (check_sources.py), then broken copies of each source: every one
# must fail with a message naming the file and the problem, a non-zero exit (no crash) and no output.
# Usage: BIN=path/to/ecg-dist WORK=scratch-dir bash Tests/scripts/sources.test.sh
set -u
cd "$(dirname "$0")/../.."
BIN=${BIN:?set BIN to the ecg-dist binary}
WORK=${WORK:?set WORK to a scratch folder}/sources
rm -rf "$WORK" && mkdir -p "$WORK"
FIX=$WORK/fixtures
failures=0

python3 Tests/scripts/make_source_fixtures.py "$FIX" || exit 1
CH=$FIX/challenge/training
run() { echo "+ ecg-dist ${*}" | sed "s#$WORK/##g"; "$BIN" "$@" || { echo "FAIL: ecg-dist $* exited $?"; failures=$((failures + 1)); }; }
run prepare mimic --root "$FIX/mimic" --out "$WORK/mimic.h5"
run prepare code15 --root "$FIX/code15" --out "$WORK/code15.h5"
run prepare wfdb --dir "$CH/cpsc_2018" --dx-labels --short drop --out "$WORK/cpsc.h5"
run prepare wfdb --dir "$CH/ptb" --dx-labels --short drop --out "$WORK/ptb.h5"
run prepare wfdb --dir "$CH/st_petersburg_incart" --dx-labels --short drop --highpass 0.5 --out "$WORK/incart.h5"
"$BIN" info "$WORK/code15.h5" | grep -E "^(source|preprocessing|records|task)" || failures=$((failures + 1))
python3 Tests/scripts/check_sources.py "$FIX" "$WORK" || failures=$((failures + 1))

# --dx-codes picks the columns and their order.
run prepare wfdb --dir "$CH/cpsc_2018" --dx-labels --dx-codes 59118001,426783006 --out "$WORK/cpsc-codes.h5"
python3 - "$WORK/cpsc-codes.h5" <<'PY' || failures=$((failures + 1))
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    names = [n.decode() for n in f["labels/dx_names"][:]]
    rows = f["labels/dx"][:].tolist()
assert names == ["59118001", "426783006"] and rows == [[0, 1], [1, 0]], (names, rows)
print("ok   --dx-codes 59118001,426783006: columns in that order, A0001 = [0 1], A0002 (padded) = [1 0]")
PY

# expect_failure NAME OUT_FILE PATTERN... -- COMMAND...
expect_failure() {
    local name=$1 out=$2; shift 2
    local patterns=()
    while [ "$1" != "--" ]; do patterns+=("$1"); shift; done
    shift
    "$@" >"$WORK/stdout" 2>"$WORK/stderr"
    local code=$? ok=1 message
    message=$(cat "$WORK/stdout" "$WORK/stderr")
    if [ $code -eq 0 ] || [ $code -ge 128 ]; then ok=0; echo "  exit code $code"; fi
    for p in "${patterns[@]}"; do
        grep -qiF -- "$p" <<<"$message" || { ok=0; echo "  message lacks '$p'"; }
    done
    if ls "$out"* >/dev/null 2>&1; then ok=0; echo "  left behind: $(ls "$out"*)"; fi
    if [ $ok -eq 1 ]; then echo "ok   $name (exit $code): $(head -1 <<<"$message")"
    else echo "FAIL $name: $message"; failures=$((failures + 1)); fi
}

# A copy of one fixture source in $WORK/bad/NAME, broken by a shell snippet run inside it.
broken() {
    local dir=$WORK/bad/$1
    mkdir -p "$WORK/bad" && cp -r "$FIX/$2" "$dir"
    (cd "$dir" && eval "$3")
    echo "$dir"
}

# CODE-15%
d=$(broken code15-truncated code15 'head -c 300000 exams_part1.hdf5 > t && mv t exams_part1.hdf5')
expect_failure "CODE-15: truncated HDF5 part" "$WORK/b1.h5" "exams_part1.hdf5" "truncated" -- "$BIN" prepare code15 --root "$d" --out "$WORK/b1.h5"
d=$(broken code15-missing-exam code15 'echo "999999,50,True,50,False,False,False,False,False,False,1,False,,False,exams_part0.hdf5" >> exams.csv')
expect_failure "CODE-15: exams.csv names an exam the part lacks" "$WORK/b2.h5" "exams.csv" "exam_id 999999" "exams_part0.hdf5" -- "$BIN" prepare code15 --root "$d" --out "$WORK/b2.h5"
d=$(broken code15-shape code15 'python3 -c "
import h5py, numpy as np
with h5py.File(\"exams_part0.hdf5\", \"r+\") as f:
    x = f[\"tracings\"][:, :, :8]; del f[\"tracings\"]; f[\"tracings\"] = x"')
expect_failure "CODE-15: tracings of shape (N, 4096, 8)" "$WORK/b3.h5" "exams_part0.hdf5" "(4, 4096, 8)" "expected (exams, samples, 12)" -- "$BIN" prepare code15 --root "$d" --out "$WORK/b3.h5"
d=$(broken code15-no-part code15 'rm exams_part1.hdf5')
expect_failure "CODE-15: trace_file missing" "$WORK/b4.h5" "exams.csv" "exams_part1.hdf5 not found" -- "$BIN" prepare code15 --root "$d" --out "$WORK/b4.h5"
d=$(broken code15-ids code15 'python3 -c "
import h5py, numpy as np
with h5py.File(\"exams_part1.hdf5\", \"r+\") as f:
    del f[\"exam_id\"]; f[\"exam_id\"] = np.arange(2)"')
expect_failure "CODE-15: exam_id shorter than tracings" "$WORK/b5.h5" "exams_part1.hdf5" "exam_id has shape (2)" -- "$BIN" prepare code15 --root "$d" --out "$WORK/b5.h5"
d=$(broken code15-label code15 'sed -i "2s/,False,/,maybe,/" exams.csv')
expect_failure "CODE-15: label column not True/False" "$WORK/b6.h5" "exams.csv" "line 2" "not True/False" -- "$BIN" prepare code15 --root "$d" --out "$WORK/b6.h5"

# MIMIC-IV-ECG
M=files/p1000/p10000032/s41256771/41256771
d=$(broken mimic-fs mimic "sed -i '1s/ 500 / 5O0 /' $M.hea")
expect_failure "MIMIC: header with a bad sampling-rate field" "$WORK/b7.h5" "41256771.hea" "sampling frequency '5O0'" -- "$BIN" prepare mimic --root "$d" --out "$WORK/b7.h5"
d=$(broken mimic-fs0 mimic "sed -i '1s/ 500 / -500 /' $M.hea")
expect_failure "MIMIC: header with a negative sampling rate" "$WORK/b8.h5" "41256771.hea" "not a positive number" -- "$BIN" prepare mimic --root "$d" --out "$WORK/b8.h5"
d=$(broken mimic-missing mimic "rm $M.hea")
expect_failure "MIMIC: record_list.csv names a missing record" "$WORK/b9.h5" "record_list.csv" "study 41256771" "not found" -- "$BIN" prepare mimic --root "$d" --out "$WORK/b9.h5"
d=$(broken mimic-column mimic "sed -i '1s/,path$/,location/' record_list.csv")
expect_failure "MIMIC: record_list.csv without a path column" "$WORK/b10.h5" "record_list.csv" "column 'path' is missing" -- "$BIN" prepare mimic --root "$d" --out "$WORK/b10.h5"
d=$(broken mimic-truncated mimic "head -c 50000 $M.dat > t && mv t $M.dat")
expect_failure "MIMIC: truncated .dat" "$WORK/b11.h5" "41256771.dat" "truncated" -- "$BIN" prepare mimic --root "$d" --out "$WORK/b11.h5"

# Challenge 2021 (WFDB header + MATLAB v4)
d=$(broken incart-fs challenge "sed -i '1s/ 257 / 257Hz /' training/st_petersburg_incart/g1/I0001.hea")
expect_failure "Challenge: header with a bad sampling-rate field" "$WORK/b12.h5" "I0001.hea" "sampling frequency '257Hz'" -- "$BIN" prepare wfdb --dir "$d/training/st_petersburg_incart" --dx-labels --out "$WORK/b12.h5"
d=$(broken ptb-mat challenge 'head -c 20000 training/ptb/g1/S0001.mat > t && mv t training/ptb/g1/S0001.mat')
expect_failure "Challenge: truncated .mat" "$WORK/b13.h5" "S0001.mat" -- "$BIN" prepare wfdb --dir "$d/training/ptb" --dx-labels --out "$WORK/b13.h5"
d=$(broken no-dx challenge "sed -i '/^#Dx/d' training/cpsc_2018/g1/*.hea")
expect_failure "Challenge: --dx-labels on headers without Dx" "$WORK/b14.h5" "A0001.hea" "Dx" -- "$BIN" prepare wfdb --dir "$d/training/cpsc_2018" --dx-labels --out "$WORK/b14.h5"
expect_failure "--dx-codes without --dx-labels" "$WORK/b15.h5" "--dx-codes needs --dx-labels" -- "$BIN" prepare wfdb --dir "$CH/cpsc_2018" --dx-codes 1,2 --out "$WORK/b15.h5"
expect_failure "--highpass above Nyquist" "$WORK/b16.h5" "--highpass" "250" -- "$BIN" prepare wfdb --dir "$CH/cpsc_2018" --highpass 300 --out "$WORK/b16.h5"
expect_failure "--short with an unknown rule" "$WORK/b17.h5" "--short must be pad or drop" -- "$BIN" prepare code15 --root "$FIX/code15" --short trim --out "$WORK/b17.h5"
expect_failure "every record too short" "$WORK/b18.h5" "no usable records" "2 too short" -- "$BIN" prepare wfdb --dir "$CH/cpsc_2018" --min-seconds 20 --out "$WORK/b18.h5"

if [ $failures -gt 0 ]; then echo "sources.test.sh: $failures failure(s)"; exit 1; fi
echo "sources.test.sh: all passed"
