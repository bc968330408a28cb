#!/usr/bin/env bash
# CLI bad-input checks for `ecg-dist prepare` (ptbxl, wfdb, npy), `ecg-dist info` and the profiling
# flags of `ecg-dist bench`: every broken input must give a
# clear error that names the file and the problem, a non-zero exit (not a crash/signal), and leave no
# output or temporary file behind.
# Usage: Tests/scripts/bad_input.sh [path/to/ecg-dist]   (default: .build-data/debug/ecg-dist)
set -u
cd "$(dirname "$0")/../.."
BIN=${1:-.build-data/debug/ecg-dist}
FIX=Tests/Fixtures/ptbxl-mini
REC=$FIX/records500/00000/00001_hr
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0

# expect_failure NAME OUT_FILE PATTERN... -- COMMAND...
expect_failure() {
    local name=$1 out=$2; shift 2
    local patterns=()
    while [ "$1" != "--" ]; do patterns+=("$1"); shift; done
    shift
    "$@" >"$WORK/stdout" 2>"$WORK/stderr"
    local code=$?
    local message
    message=$(cat "$WORK/stdout" "$WORK/stderr")
    local ok=1
    if [ $code -eq 0 ] || [ $code -ge 128 ]; then ok=0; echo "  exit code $code"; fi
    for p in "${patterns[@]}"; do
        if ! grep -qiF -- "$p" <<<"$message"; then ok=0; echo "  message lacks '$p'"; fi
    done
    if [ -n "$out" ] && ls "$out"* >/dev/null 2>&1; then ok=0; echo "  left behind: $(ls "$out"*)"; fi
    if [ $ok -eq 1 ]; then
        echo "ok   $name (exit $code): $(head -1 <<<"$message")"
    else
        echo "FAIL $name: $message"
        failures=$((failures + 1))
    fi
}

# A folder holding one copy of a real record, broken by $2 (a shell snippet run inside the folder).
make_case() {
    local dir=$WORK/$1
    mkdir -p "$dir"
    cp "$REC.hea" "$dir/r.hea"; cp "$REC.dat" "$dir/r.dat"
    sed -i 's/00001_hr/r/g' "$dir/r.hea"
    (cd "$dir" && eval "$2")
    echo "$dir"
}

d=$(make_case truncated 'head -c 100000 r.dat > t && mv t r.dat')
expect_failure "truncated .dat" "$WORK/o1.h5" "r.dat" "truncated" -- "$BIN" prepare wfdb --dir "$d" --out "$WORK/o1.h5"

d=$(make_case missing-lines 'head -n 8 r.hea > t && mv t r.hea')
expect_failure "header with missing signal lines" "$WORK/o2.h5" "r.hea" "declares 12 signals but only 7" -- "$BIN" prepare wfdb --dir "$d" --out "$WORK/o2.h5"

d=$(make_case wrong-nsig 'sed -i "1s/^r 12 /r 11 /" r.hea')
expect_failure "header declaring wrong n_sig" "$WORK/o3.h5" "r.hea" "declares 11 signals but 12" -- "$BIN" prepare wfdb --dir "$d" --out "$WORK/o3.h5"

d=$(make_case empty-header ': > r.hea')
expect_failure "zero-byte header" "$WORK/o4.h5" "r.hea" "empty" -- "$BIN" prepare wfdb --dir "$d" --out "$WORK/o4.h5"

d=$(make_case empty-dat ': > r.dat')
expect_failure "zero-byte .dat" "$WORK/o5.h5" "r.dat" "empty" -- "$BIN" prepare wfdb --dir "$d" --out "$WORK/o5.h5"

d=$(make_case not-utf8 'printf "# \xff\xfe caf\xe9\n" >> r.hea')
expect_failure "non-UTF-8 header" "$WORK/o6.h5" "r.hea" "UTF-8" -- "$BIN" prepare wfdb --dir "$d" --out "$WORK/o6.h5"

d=$(make_case missing-dat 'rm r.dat')
expect_failure "missing .dat" "$WORK/o7.h5" "r.dat" "not found" -- "$BIN" prepare wfdb --dir "$d" --out "$WORK/o7.h5"

# PTB-XL: a CSV row pointing to a missing record.
mkdir -p "$WORK/ptbxl"
cp "$FIX/scp_statements.csv" "$WORK/ptbxl/"
ln -s "$PWD/$FIX/records500" "$WORK/ptbxl/records500"
sed 's#records500/00000/00005_hr#records500/00000/09999_hr#' "$FIX/ptbxl_database.csv" > "$WORK/ptbxl/ptbxl_database.csv"
expect_failure "CSV row pointing to missing record" "$WORK/o8.h5" "ptbxl_database.csv" "ecg_id 5" "09999_hr" -- "$BIN" prepare ptbxl --root "$WORK/ptbxl" --out "$WORK/o8.h5"

# A record failing half-way through a corpus: earlier records were already written to the temp file.
mkdir -p "$WORK/late"
for i in 1 2 3; do cp "$FIX/records500/00000/0000${i}_hr."* "$WORK/late/"; done
head -c 5000 "$WORK/late/00003_hr.dat" > "$WORK/late/t" && mv "$WORK/late/t" "$WORK/late/00003_hr.dat"
expect_failure "failure after some records (batch 128 > 2 written)" "$WORK/o9.h5" "00003_hr.dat" "truncated" -- "$BIN" prepare wfdb --dir "$WORK/late" --out "$WORK/o9.h5"

# Appending a broken folder to an existing corpus leaves the corpus byte-identical.
"$BIN" prepare wfdb --dir "$FIX/records500" --out "$WORK/keep.h5" >/dev/null 2>&1 || { echo "FAIL cannot build base corpus"; failures=$((failures + 1)); }
sum_before=$(md5sum < "$WORK/keep.h5")
expect_failure "append of a broken folder" "" "00003_hr.dat" -- "$BIN" prepare wfdb --dir "$WORK/late" --out "$WORK/keep.h5" --append
if [ "$(md5sum < "$WORK/keep.h5")" != "$sum_before" ] || ls "$WORK"/keep.h5.tmp* >/dev/null 2>&1; then
    echo "FAIL append failure modified the corpus or left a temp file"; failures=$((failures + 1))
else
    echo "ok   existing corpus unchanged after failed append"
fi

# info on files that are not valid corpora (in the HDF5 1.10 format, so the layout checks are reached).
python3 - "$WORK" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1] + "/wrong-shape.h5", "w", libver="v110") as f:
    f["signals"] = np.zeros((3, 5000, 8), dtype=np.float32)
    f.attrs["lead_names"] = [b"I"] * 8
with h5py.File(sys.argv[1] + "/rank2.h5", "w", libver="v110") as f:
    f["signals"] = np.zeros((3, 5000), dtype=np.float32)
PY
expect_failure "info: wrong signals shape" "" "wrong-shape.h5" "(3, 5000, 8)" -- "$BIN" info "$WORK/wrong-shape.h5"
expect_failure "info: rank-2 signals" "" "rank2.h5" "(3, 5000)" -- "$BIN" info "$WORK/rank2.h5"
echo "not hdf5" > "$WORK/text.h5"
expect_failure "info: not an HDF5 file" "" "text.h5" "not an HDF5 file" -- "$BIN" info "$WORK/text.h5"
expect_failure "info: missing file" "" "nothere.h5" "no such file" -- "$BIN" info "$WORK/nothere.h5"
# Damaged copies of a good corpus: a NaN and an Inf inside a record (without the writer's finite
# record, as a file from another tool would be), and channel_std of 0 / below 0. Each must be
# refused by info, pretrain and eval, naming the file and the record or lead.
"$BIN" synth --records 12 --out "$WORK/good.h5" --seed 4 >/dev/null
python3 - "$WORK" <<'PY'
import shutil, sys, h5py, numpy as np
w = sys.argv[1]
def damaged(name, edit):
    shutil.copy(w + "/good.h5", f"{w}/{name}.h5")
    with h5py.File(f"{w}/{name}.h5", "r+") as f:
        edit(f)
def nan(f):
    del f.attrs["signals_finite"]
    f["signals"][7, 1234, 2] = np.nan
def inf(f):
    del f.attrs["signals_finite"]
    f["signals"][3, 10, 11] = np.inf
def std0(f):
    s = f.attrs["channel_std"].copy(); s[4] = 0; f.attrs["channel_std"] = s
def stdneg(f):
    s = f.attrs["channel_std"].copy(); s[0] = -1; f.attrs["channel_std"] = s
for name, edit in [("nan", nan), ("inf", inf), ("std0", std0), ("stdneg", stdneg)]:
    damaged(name, edit)
PY
expect_failure "info: NaN in a record" "" "nan.h5" "record 7" "lead III" "sample 1234" -- "$BIN" info "$WORK/nan.h5"
expect_failure "info: Inf in a record" "" "inf.h5" "record 3" "lead V6" "inf" -- "$BIN" info "$WORK/inf.h5"
expect_failure "info: channel_std 0" "" "std0.h5" "channel_std of lead aVL" "> 0" -- "$BIN" info "$WORK/std0.h5"
expect_failure "pretrain: channel_std < 0" "$WORK/run-stdneg" "stdneg.h5" "channel_std of lead I" -- "$BIN" pretrain --data "$WORK/stdneg.h5" --out "$WORK/run-stdneg" --model vit-tiny --steps 1 --global-batch 2
expect_failure "pretrain: NaN in a record" "$WORK/run-nan" "nan.h5" "record 7" -- "$BIN" pretrain --data "$WORK/nan.h5" --out "$WORK/run-nan" --model vit-tiny --steps 1 --global-batch 2
expect_failure "eval: NaN in a record" "$WORK/eval-nan" "nan.h5" "record 7" -- "$BIN" eval --random-init --model vit-tiny --data "$WORK/nan.h5" --task synth --out "$WORK/eval-nan"
"$BIN" info "$WORK/good.h5" >/dev/null && echo "ok   the undamaged corpus still opens" || { echo "FAIL good corpus refused"; failures=$((failures + 1)); }

# HDF5 format: ecg-dist writes the HDF5 1.10 format (superblock version >= 2, all metadata
# checksummed) and refuses a corpus in the old, unchecksummed format (superblock 0/1, what h5py
# writes by default) before libhdf5 reads it, naming the file and the h5repack command that
# converts it; that command's output is then accepted and holds the same data.
python3 - "$WORK" <<'PY' || { echo "FAIL legacy copy / superblock version"; failures=$((failures + 1)); }
import sys, h5py
w = sys.argv[1]
version = open(w + "/good.h5", "rb").read(9)[8]
assert version >= 2, f"ecg-dist wrote superblock version {version}"
with h5py.File(w + "/good.h5", "r") as good, h5py.File(w + "/legacy.h5", "w") as legacy:
    for name in good: good.copy(name, legacy)
    for key, value in good.attrs.items(): legacy.attrs[key] = value
assert open(w + "/legacy.h5", "rb").read(9)[8] == 0
print(f"ok   synth writes superblock version {version}; an h5py copy with default libver has version 0")
PY
# Variable-length strings live in HDF5's global heap, which has no checksum in any format: refused
# (naming the file and the dataset) before their data is read, even in a 1.10-format file.
python3 - "$WORK" <<'PY' || { echo "FAIL variable-length string copy"; failures=$((failures + 1)); }
import sys, h5py
w = sys.argv[1]
with h5py.File(w + "/good.h5", "r") as good, h5py.File(w + "/vlen.h5", "w", libver="v110") as vlen:
    for name in good:
        if name != "record_names": good.copy(name, vlen)
    for key, value in good.attrs.items(): vlen.attrs[key] = value
    vlen.create_dataset("record_names", data=list(good["record_names"][()]), dtype=h5py.string_dtype("ascii"))
    vlen.attrs.create("lead_names", list(good.attrs["lead_names"]), dtype=h5py.string_dtype("ascii"))
PY
expect_failure "info: variable-length strings" "" "vlen.h5" "attribute 'lead_names'" "variable-length strings are not read" -- "$BIN" info "$WORK/vlen.h5"
expect_failure "info: old HDF5 format (no metadata checksums)" "" "legacy.h5" "without metadata checksums" "h5repack --low=2 --high=2" -- "$BIN" info "$WORK/legacy.h5"
expect_failure "pretrain: old HDF5 format" "$WORK/run-legacy" "legacy.h5" "without metadata checksums" -- "$BIN" pretrain --data "$WORK/legacy.h5" --out "$WORK/run-legacy" --model vit-tiny --steps 1 --global-batch 2
expect_failure "eval: old HDF5 format" "$WORK/eval-legacy" "legacy.h5" "without metadata checksums" -- "$BIN" eval --random-init --model vit-tiny --data "$WORK/legacy.h5" --task synth --out "$WORK/eval-legacy"
expect_failure "append to an old-format corpus" "" "legacy.h5" "without metadata checksums" -- "$BIN" prepare wfdb --dir "$FIX/records500" --out "$WORK/legacy.h5" --append
convert=$("$BIN" info "$WORK/legacy.h5" 2>&1 | grep -oE 'h5repack --low=2 --high=2 [^`]+')
if command -v h5repack >/dev/null; then
    if [ -n "$convert" ] && $convert && "$BIN" info "$WORK/legacy-v110.h5" >/dev/null 2>&1 \
        && python3 Tests/scripts/compare_corpora.py "$WORK/good.h5" "$WORK/legacy-v110.h5" >/dev/null; then
        echo "ok   '$convert' gives a corpus info accepts, equal to the original in every dataset and attribute"
    else
        echo "FAIL the conversion command from the message ('$convert') does not give an accepted, equal corpus"; failures=$((failures + 1))
    fi
else
    echo "SKIP h5repack conversion: h5repack not installed (hdf5-tools)"
fi

expect_failure "prepare: missing output directory" "" "nodir" "does not exist" -- "$BIN" prepare ptbxl --root "$FIX" --out "$WORK/nodir/x.h5"

# prepare npy: broken signals arrays and labels CSVs (each names the file and the field).
python3 - "$WORK" <<'PY'
import sys, numpy as np
w = sys.argv[1] + "/npy"
import os; os.makedirs(w)
x = np.zeros((4, 12, 1000), dtype=np.float32)
np.save(f"{w}/good.npy", x)
np.save(f"{w}/eleven.npy", x[:, :11, :])
np.save(f"{w}/flat.npy", x[0])
np.save(f"{w}/fortran.npy", np.asfortranarray(x))
np.save(f"{w}/bigendian.npy", x.astype(">f4"))
np.save(f"{w}/uint8.npy", x.astype(np.uint8))
def csv(name, text):
    open(f"{w}/{name}.csv", "w").write(text)
csv("good", "id,AF,other\n0,1,0\n1,0,1\n2,0,1\n3,1,0\n")
csv("unknown", "id,AF,other\n0,1,0\n1,0,1\n2,0,1\n3,1,0\n17,0,1\n")
csv("missing", "id,AF,other\n0,1,0\n2,0,1\n")
csv("nonbinary", "id,AF,other\n0,1,0\n1,2,1\n2,0,1\n3,1,0\n")
csv("duplicate", "id,AF,other\n0,1,0\n1,0,1\n1,0,1\n2,0,1\n3,1,0\n")
csv("badfold", "id,fold,AF\n0,1,1\n1,11,0\n2,9,1\n3,10,0\n")
PY
N=$WORK/npy
LEADS=I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5,V6
npy() { "$BIN" prepare npy --fs 250 --id-column id --out "$N/out.h5" "$@"; }
expect_failure "npy: wrong lead count" "$N/out.h5" "eleven.npy" "(4, 11, 1000)" "names 12 leads" -- npy --signals "$N/eleven.npy" --leads $LEADS --labels "$N/good.csv"
expect_failure "npy: wrong shape (2-D)" "$N/out.h5" "flat.npy" "(12, 1000)" "3 axes" -- npy --signals "$N/flat.npy" --leads $LEADS --labels "$N/good.csv"
expect_failure "npy: missing lead" "$N/out.h5" "good.npy" "missing lead(s) V6" -- npy --signals "$N/good.npy" --leads I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5,X --labels "$N/good.csv"
expect_failure "npy: Fortran order" "$N/out.h5" "fortran.npy" "Fortran" -- npy --signals "$N/fortran.npy" --leads $LEADS --labels "$N/good.csv"
expect_failure "npy: big-endian" "$N/out.h5" "bigendian.npy" "big-endian" -- npy --signals "$N/bigendian.npy" --leads $LEADS --labels "$N/good.csv"
expect_failure "npy: unsupported dtype" "$N/out.h5" "uint8.npy" "dtype '|u1'" -- npy --signals "$N/uint8.npy" --leads $LEADS --labels "$N/good.csv"
expect_failure "npy: CSV id unknown to the signals" "$N/out.h5" "unknown.csv" "column 'id'" "'17'" "not records of" -- npy --signals "$N/good.npy" --leads $LEADS --labels "$N/unknown.csv"
expect_failure "npy: records missing from the CSV" "$N/out.h5" "missing.csv" "2 record id(s)" "'1', '3'" -- npy --signals "$N/good.npy" --leads $LEADS --labels "$N/missing.csv"
expect_failure "npy: label value not 0/1" "$N/out.h5" "nonbinary.csv" "column 'AF'" "value '2' is not 0 or 1" -- npy --signals "$N/good.npy" --leads $LEADS --labels "$N/nonbinary.csv"
expect_failure "npy: duplicate id" "$N/out.h5" "duplicate.csv" "id '1'" "appears twice" -- npy --signals "$N/good.npy" --leads $LEADS --labels "$N/duplicate.csv"
expect_failure "npy: fold out of range" "$N/out.h5" "badfold.csv" "column 'fold'" "'11'" -- npy --signals "$N/good.npy" --leads $LEADS --labels "$N/badfold.csv" --fold-column fold
expect_failure "npy: no such id column" "$N/out.h5" "good.csv" "column 'pid' is missing" -- "$BIN" prepare npy --fs 250 --id-column pid --out "$N/out.h5" --signals "$N/good.npy" --leads $LEADS --labels "$N/good.csv"
expect_failure "npy: non-voltage units" "$N/out.h5" "good.npy" "--units 'mmHg'" -- npy --signals "$N/good.npy" --leads $LEADS --labels "$N/good.csv" --units mmHg

# Storage: an unknown --dtype, and appending float16 rows to a float32 corpus.
expect_failure "unknown --dtype" "$WORK/dt.h5" "--dtype" "float8" -- "$BIN" prepare ptbxl --root "$FIX" --out "$WORK/dt.h5" --dtype float8
mkdir -p "$WORK/app"; cp "$REC".* "$WORK/app/"
"$BIN" prepare wfdb --dir "$WORK/app" --out "$WORK/app32.h5" >/dev/null 2>&1
cp "$WORK/app32.h5" "$WORK/app32.keep"
expect_failure "append float16 rows to a float32 corpus" "" "app32.h5" "stores /signals as float32" -- "$BIN" prepare wfdb --dir "$WORK/app" --out "$WORK/app32.h5" --append --dtype float16
cmp -s "$WORK/app32.h5" "$WORK/app32.keep" && echo "ok   the float32 corpus is unchanged" || { echo "FAIL the float32 corpus changed"; failures=$((failures + 1)); }
ls "$WORK"/app32.h5.tmp* >/dev/null 2>&1 && { echo "FAIL temporary file left"; failures=$((failures + 1)); }
npy --signals "$N/good.npy" --leads $LEADS --labels "$N/good.csv" >/dev/null 2>&1 && [ -f "$N/out.h5" ] && echo "ok   npy: the unbroken inputs prepare" || { echo "FAIL npy: good inputs refused"; failures=$((failures + 1)); }

# bench's profiling window (bench/profile_step.sh): bad --profile-steps / --perf-control, and FIFOs
# that no perf process holds (an error at once, not a hang).
expect_failure "bench: --perf-control without --profile-steps" "" "needs --profile-steps" -- "$BIN" bench --perf-control "$WORK/a,$WORK/b"
expect_failure "bench: --perf-control path that is no FIFO" "" "$WORK/missing is not a FIFO" -- "$BIN" bench --profile-steps 1 --perf-control "$WORK/missing,$WORK/missing2"
expect_failure "bench: --perf-control with one path" "" "expected CTL,ACK" -- "$BIN" bench --profile-steps 1 --perf-control "$WORK/one"
expect_failure "bench: negative --profile-steps" "" "--profile-steps must be 0" -- "$BIN" bench --profile-steps=-1
mkfifo "$WORK/ctl-orphan" "$WORK/ack-orphan"
expect_failure "bench: --perf-control FIFOs no perf reads" "" "no perf process is reading it" -- timeout 60 "$BIN" bench --profile-steps 1 --batches 2 --perf-control "$WORK/ctl-orphan,$WORK/ack-orphan"

if [ $failures -eq 0 ]; then echo "bad_input: all passed"; else echo "bad_input: $failures FAILED"; exit 1; fi
