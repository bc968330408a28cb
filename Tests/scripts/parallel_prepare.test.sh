#!/usr/bin/env bash
# `prepare` under mpirun writes the corpus a serial run writes, byte for byte (needs BIN = release
# ecg-dist, WORK = scratch dir; h5py for the comparison):
#  1. ptbxl, wfdb (with a long record split into three rows), mimic and code15 (the layouts of
#     Tests/scripts/make_source_fixtures.py: a NaN gap, MIMIC's lead order, a dropped 7.3-s exam,
#     the high-pass), float32 and float16, serial vs mpirun -np 2 and -np 3 with small rounds
#     (--batch) so every rank holds records: every dataset and attribute equal
#     (Tests/scripts/compare_corpora.py); the comparer itself must see the float16/float32 difference;
#  2. a bad record in rank 1's share (wfdb, mimic: a truncated .dat; code15: an exam holding inf):
#     non-zero exit, the message names the file, no output and no temporary file;
#  3. SIGTERM half-way (to mpirun, to a serial run): non-zero exit, no output and no temporary file.
set -u
cd "$(dirname "$0")/../.."
: "${BIN:?set BIN to the release ecg-dist}" "${WORK:?set WORK to a scratch folder}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
FIX=Tests/Fixtures/ptbxl-mini
T=$WORK/parallel-prepare
rm -rf "$T"; mkdir -p "$T"
failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
mpi() { local np=$1; shift; mpirun --oversubscribe -np "$np" "$BIN" "$@"; }
same() {   # same NAME A B
    if python3 Tests/scripts/compare_corpora.py "$2" "$3" >"$T/cmp.txt" 2>&1; then ok "$1"; else fail "$1"; cat "$T/cmp.txt"; fi
}
run() {    # run NAME COMMAND...: must succeed
    if ! "${@:2}" >"$T/log.txt" 2>&1; then fail "$1: exit $?"; cat "$T/log.txt"; fi
}

# WFDB tree: the 28 fixture records plus one 30-s record (three records' samples end to end) that
# `--length split` cuts into three rows named long#0..#2.
W=$T/wfdb; mkdir -p "$W/a" "$W/b"
cp "$FIX"/records500/00000/000{0,1}*_hr.* "$W/a/"
cp "$FIX"/records500/00000/000{2,3}*_hr.* "$W/b/" 2>/dev/null || true
cat "$FIX"/records500/00000/0000{1,2,3}_hr.dat > "$W/b/long.dat"
sed -e '1s/^00001_hr 12 500 5000/long 12 500 15000/' -e 's/^00001_hr\.dat/long.dat/' "$FIX/records500/00000/00001_hr.hea" > "$W/b/long.hea"

for dtype in float32 float16; do
    run "serial ptbxl $dtype" "$BIN" prepare ptbxl --root "$FIX" --out "$T/ptbxl-1-$dtype.h5" --dtype "$dtype"
    run "serial wfdb $dtype" "$BIN" prepare wfdb --dir "$W/a" --dir "$W/b" --out "$T/wfdb-1-$dtype.h5" --dtype "$dtype"
    # Serial with small rounds: the round size changes nothing either.
    run "serial ptbxl $dtype --batch 5" "$BIN" prepare ptbxl --root "$FIX" --out "$T/ptbxl-1b-$dtype.h5" --dtype "$dtype" --batch 5
    same "ptbxl $dtype: serial --batch 5 = serial" "$T/ptbxl-1-$dtype.h5" "$T/ptbxl-1b-$dtype.h5"
    for np in 2 3; do
        batch=$((np + 1))
        run "np=$np ptbxl $dtype" mpi "$np" prepare ptbxl --root "$FIX" --out "$T/ptbxl-$np-$dtype.h5" --dtype "$dtype" --batch "$batch"
        same "ptbxl $dtype: mpirun -np $np (--batch $batch) = serial" "$T/ptbxl-1-$dtype.h5" "$T/ptbxl-$np-$dtype.h5"
        run "np=$np wfdb $dtype" mpi "$np" prepare wfdb --dir "$W/a" --dir "$W/b" --out "$T/wfdb-$np-$dtype.h5" --dtype "$dtype" --batch "$batch"
        same "wfdb $dtype: mpirun -np $np (--batch $batch) = serial" "$T/wfdb-1-$dtype.h5" "$T/wfdb-$np-$dtype.h5"
    done
done
# One writer per node: the node's first rank writes the signal rows of all its ranks, which hand
# them over in node-shared memory (CorpusWriter.handRowsToNodeWriter). Checked: how many writers
# wrote how many rows (prepare's summary line), and that the corpus is still the serial one, with
# one node (np=2), with nodes simulated as {0,1},{2} and {0},{1},{2}, and with a round too large for
# the shared memory (--batch 1: room for 2 rows, the 30-s record makes 3), which its rank writes alone.
writers() {  # writers NAME EXPECTED-LINE-PART LOG
    if grep -q "signal rows written by $2" "$3"; then ok "$1: $(grep 'signal rows written' "$3")"; else fail "$1: expected 'written by $2' in:"; cat "$3"; fi
}
run "np=2 ptbxl, one node" mpi 2 prepare ptbxl --root "$FIX" --out "$T/ptbxl-node1.h5" --batch 3
writers "np=2, one node" "1 node writer: 28; by a rank alone (no node-shared memory, or a round too large for it): 0" "$T/log.txt"
same "ptbxl: one writer for np=2 = serial" "$T/ptbxl-1-float32.h5" "$T/ptbxl-node1.h5"
for per in 2 1; do
    nodes=$(( (3 + per - 1) / per ))
    run "np=3 wfdb, $nodes simulated nodes" env ECG_DIST_TEST_RANKS_PER_NODE=$per mpirun --oversubscribe -x ECG_DIST_TEST_RANKS_PER_NODE -np 3 \
        "$BIN" prepare wfdb --dir "$W/a" --dir "$W/b" --out "$T/wfdb-nodes$per.h5" --dtype float16 --batch 2
    writers "np=3 in $nodes simulated nodes" "$nodes node writers: 31; by a rank alone (no node-shared memory, or a round too large for it): 0" "$T/log.txt"
    same "wfdb float16: np=3 in $nodes simulated nodes = serial" "$T/wfdb-1-float16.h5" "$T/wfdb-nodes$per.h5"
done
# /dev/shm without room for the node-shared memory: every rank writes its own rows.
run "np=2 ptbxl, no room in /dev/shm" env ECG_DIST_TEST_SHARED_MEMORY_BYTES=1000000 mpirun --oversubscribe -x ECG_DIST_TEST_SHARED_MEMORY_BYTES -np 2 \
    "$BIN" prepare ptbxl --root "$FIX" --out "$T/ptbxl-noshm.h5" --batch 3
writers "np=2, /dev/shm too small" "0 node writers: 0; by a rank alone (no node-shared memory, or a round too large for it): 28" "$T/log.txt"
same "ptbxl: every rank writing its own rows = serial" "$T/ptbxl-1-float32.h5" "$T/ptbxl-noshm.h5"
# The first round deals one record to each rank: rank 1's is the 30-s record (3 rows, room for 2).
mkdir -p "$W/first" "$W/l"
cp "$FIX"/records500/00000/00001_hr.* "$W/first/"; cp "$W/b"/long.* "$W/l/"
run "serial wfdb, long record second" "$BIN" prepare wfdb --dir "$W/first" --dir "$W/l" --dir "$W/a" --out "$T/wfdb-long-1.h5"
run "np=2 wfdb --batch 1" mpi 2 prepare wfdb --dir "$W/first" --dir "$W/l" --dir "$W/a" --out "$T/wfdb-overflow.h5" --batch 1
writers "np=2 --batch 1, the 30-s record's 3 rows on rank 1" "1 node writer: [0-9]*; by a rank alone (no node-shared memory, or a round too large for it): 3" "$T/log.txt"
same "wfdb: np=2 with a round written by its rank alone = serial" "$T/wfdb-long-1.h5" "$T/wfdb-overflow.h5"

# MIMIC-IV-ECG (3 records) and CODE-15% (5 exams in 2 parts, one dropped as too short) in their
# layouts; --batch 1 gives every rank of np=3 a record.
SRC=$T/sources
python3 Tests/scripts/make_source_fixtures.py "$SRC" >/dev/null || fail "make_source_fixtures.py"
for dtype in float32 float16; do
    run "serial mimic $dtype" "$BIN" prepare mimic --root "$SRC/mimic" --out "$T/mimic-1-$dtype.h5" --dtype "$dtype"
    run "serial code15 $dtype" "$BIN" prepare code15 --root "$SRC/code15" --out "$T/code15-1-$dtype.h5" --dtype "$dtype"
    for np in 2 3; do
        run "np=$np mimic $dtype" mpi "$np" prepare mimic --root "$SRC/mimic" --out "$T/mimic-$np-$dtype.h5" --dtype "$dtype" --batch 1
        same "mimic $dtype: mpirun -np $np (--batch 1) = serial" "$T/mimic-1-$dtype.h5" "$T/mimic-$np-$dtype.h5"
        run "np=$np code15 $dtype" mpi "$np" prepare code15 --root "$SRC/code15" --out "$T/code15-$np-$dtype.h5" --dtype "$dtype" --batch 1
        same "code15 $dtype: mpirun -np $np (--batch 1) = serial" "$T/code15-1-$dtype.h5" "$T/code15-$np-$dtype.h5"
    done
done
python3 - "$T/code15-3-float16.h5" "$T/mimic-2-float16.h5" <<'PY' || fail "mimic/code15 contents"
import sys, h5py
c = h5py.File(sys.argv[1], "r"); m = h5py.File(sys.argv[2], "r")
assert c["signals"].dtype == "float16" and m["signals"].dtype == "float16"
assert c["signals"].shape[0] == 4 and list(c["record_ids"][:]) == [168405, 1169160, 271011, 384368], c["record_ids"][:]
assert list(m["record_ids"][:]) == [40689238, 41256771, 45090959], m["record_ids"][:]
print("ok   code15: 4 of 5 exams (7.3-s one dropped) in exams.csv order; mimic: 3 studies; both stored as float16")
PY

python3 - "$T/wfdb-1-float32.h5" "$T/ptbxl-1-float16.h5" <<'PY' || fail "corpus contents"
import sys, h5py
w = h5py.File(sys.argv[1], "r"); names = [n.decode() for n in w["record_names"][:]]
assert [n for n in names if n.startswith("b/long")] == ["b/long#0", "b/long#1", "b/long#2"], names
assert list(w["record_ids"][:]) == list(range(len(names)))
assert h5py.File(sys.argv[2], "r")["signals"].dtype == "float16"
print("ok   wfdb split rows b/long#0..#2, running ids; float16 corpus stored as float16 (h5py)")
PY
# Written through MPI-IO too, a corpus has the checksummed HDF5 1.10 format (superblock >= 2).
python3 - "$T"/ptbxl-2-float32.h5 "$T"/wfdb-3-float16.h5 <<'PY' || fail "superblock version of parallel-written corpora"
import sys
versions = [open(path, "rb").read(9)[8] for path in sys.argv[1:]]
assert open(sys.argv[1], "rb").read(8) == b"\x89HDF\r\n\x1a\n" and min(versions) >= 2, versions
print(f"ok   mpirun -np 2/3 corpora have superblock versions {versions} (checksummed metadata)")
PY
# The comparer must be able to fail.
if python3 Tests/scripts/compare_corpora.py "$T/ptbxl-1-float32.h5" "$T/ptbxl-1-float16.h5" >/dev/null 2>&1; then
    fail "compare_corpora.py finds no difference between float32 and float16 corpora"
else
    ok "compare_corpora.py tells a float16 corpus from a float32 one"
fi
"$BIN" info "$T/ptbxl-3-float16.h5" | grep -q "signals dtype  float16" && ok "info shows the dtype" || fail "info lacks the dtype"

# A bad record in rank 1's share must stop every rank: rank1_failure NAME OUT PATTERN... -- COMMAND...
rank1_failure() {
    local name=$1 out=$2; shift 2
    local patterns=()
    while [ "$1" != "--" ]; do patterns+=("$1"); shift; done
    shift
    "$@" >"$T/bad.txt" 2>&1
    local code=$? ok=1
    [ $code -ne 0 ] && [ $code -lt 128 ] || ok=0
    for p in "${patterns[@]}"; do grep -qiF -- "$p" "$T/bad.txt" || ok=0; done
    if ls "$out"* >/dev/null 2>&1; then ok=0; fi
    if [ $ok -eq 1 ]; then
        ok "$name (exit $code): $(grep -iF -- "${patterns[0]}" "$T/bad.txt" | head -1)"
    else
        fail "$name: exit $code, files: $(ls "$out"* 2>/dev/null)"; cat "$T/bad.txt"
    fi
}
# wfdb: with --batch 4 rank 1 holds records 5-8 of the sorted list.
B=$T/bad; mkdir -p "$B"; cp "$FIX"/records500/00000/000{0,1}*_hr.* "$B/"
bad=$(ls "$B"/*.dat | sort | sed -n 6p)
head -c 50000 "$bad" > "$B/t" && mv "$B/t" "$bad"
rank1_failure "wfdb: truncated record on rank 1" "$T/bad.h5" "$(basename "$bad")" "truncated" -- \
    mpi 2 prepare wfdb --dir "$B" --out "$T/bad.h5" --batch 4
# mimic: with --batch 1 rank 1 holds the second study of record_list.csv.
cp -r "$SRC/mimic" "$T/bad-mimic"
M=$T/bad-mimic/files/p1000/p10000032/s41256771/41256771.dat
head -c 50000 "$M" > "$T/t" && mv "$T/t" "$M"
rank1_failure "mimic: truncated record on rank 1" "$T/bad-mimic.h5" "41256771.dat" "truncated" -- \
    mpi 2 prepare mimic --root "$T/bad-mimic" --out "$T/bad-mimic.h5" --batch 1 --dtype float16
# code15: the second exam of exams.csv (rank 1's with --batch 1) is 1169160, row 0 of part 0.
cp -r "$SRC/code15" "$T/bad-code15"
python3 - "$T/bad-code15/exams_part0.hdf5" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    assert f["exam_id"][0] == 1169160
    f["tracings"][0, 2000, 3] = np.inf
PY
rank1_failure "code15: exam holding inf on rank 1" "$T/bad-code15.h5" "exams_part0.hdf5/1169160" "after preprocessing" -- \
    mpi 2 prepare code15 --root "$T/bad-code15" --out "$T/bad-code15.h5" --batch 1

# SIGTERM half-way: 400 folders of links to the fixture (11,200 records, several seconds even on quiet
# cores), one record per round.
L=$T/many
for k in $(seq -w 1 400); do
    mkdir -p "$L/d$k"
    for f in "$PWD/$FIX"/records500/00000/*; do ln -s "$f" "$L/d$k/"; done
done
stop_half_way() {   # stop_half_way NAME COMMAND...: SIGTERM half-way must leave nothing
    "${@:2}" --dir "$L" --out "$T/stopped.h5" --batch 1 >"$T/term.txt" 2>&1 &
    local pid=$!
    # Half-way: shortly after the temporary corpus appears.
    for _ in $(seq 300); do ls "$T"/stopped.h5.tmp* >/dev/null 2>&1 && break; sleep 0.1; done
    sleep 0.3
    kill -TERM $pid
    wait $pid
    local code=$?
    if [ $code -ne 0 ] && ! ls "$T"/stopped.h5* >/dev/null 2>&1; then
        ok "SIGTERM to $1 half-way (exit $code): no corpus, no temporary file; $(grep -m1 -i "SIGTERM" "$T/term.txt")"
    else
        fail "SIGTERM to $1: exit $code, files: $(ls "$T"/stopped.h5* 2>/dev/null)"; tail -5 "$T/term.txt"
    fi
}
stop_half_way "mpirun -np 2" mpirun --oversubscribe -np 2 "$BIN" prepare wfdb
stop_half_way "a serial run" "$BIN" prepare wfdb

rm -rf "$T"
if [ $failures -gt 0 ]; then echo "$failures parallel prepare check(s) failed"; exit 1; fi
echo "all parallel prepare checks passed"
