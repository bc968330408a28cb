#!/usr/bin/env bash
# Scale benchmark of `ecg-dist prepare mimic` and `prepare code15` (not a test):
#   * a MIMIC-IV-ECG-layout tree of N records (bench/make_mimic_layout.py, ~120 KB each) and one of
#     SMALL records, and a CODE-15%-layout root of C exams (bench/make_code15_layout.py, ~200 KB each);
#   * per run: wall time, records/s and records/s per core (rate / np), CPU seconds (user + sys of
#     every rank, /usr/bin/time -v) per record — far less sensitive to other jobs than wall time —,
#     peak RSS per rank, corpus size, and the load average when the run started;
#   * np=1 and np=2 (mpirun), float32 and float16; np=2 = np=1 checked by compare_corpora.py.
# Usage: bench/prepare_scale.sh [N=50000] [SMALL=5000] [C=20000] [path/to/release/ecg-dist]
# Disk: N=50,000 and C=20,000 need ~6 + 4 GB of sources and 2 × 12 GB of corpora at the peak;
# everything is deleted at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-50000}
SMALL=${2:-5000}
C=${3:-20000}
BIN=${4:-$(swift build -c release --show-bin-path)/ecg-dist}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
WORK=${WORK:-$(mktemp -d /tmp/prepare-scale.XXXXXX)}
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ') model $(grep -m1 '^model\s' /proc/cpuinfo | cut -d: -f2 | tr -d ' '), $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
t0=$(date +%s)
python3 bench/make_mimic_layout.py "$WORK/big" "$N"
python3 bench/make_mimic_layout.py "$WORK/small" "$SMALL"
python3 bench/make_code15_layout.py "$WORK/code15" "$C"
sync
echo "generated in $(( $(date +%s) - t0 )) s: $(du -sh "$WORK/big" | cut -f1) ($N MIMIC), $(du -sh "$WORK/small" | cut -f1) ($SMALL MIMIC), $(du -sh "$WORK/code15" | cut -f1) ($C CODE-15)"

printf '%-30s %8s %9s %9s %8s %9s %9s %8s %8s %5s\n' run "wall s" "rec/s" "rec/s/cpu" "CPU s" "CPU ms/r" "rec/CPU-s" "RSS MB" "GB" load
# measure LABEL NP RECORDS OUT PREPARE-ARGS...: one table row; the corpus stays at OUT.
measure() {
    local label=$1 np=$2 records=$3 out=$4; shift 4
    rm -f "$out" "$WORK"/time.*
    local load start end
    load=$(cut -d' ' -f1 /proc/loadavg)
    start=$(date +%s.%N)
    if [ "$np" -eq 1 ]; then
        /usr/bin/time -v -o "$WORK/time.0" "$BIN" prepare "$@" --out "$out" >/dev/null 2>"$WORK/stderr" \
            || { cat "$WORK/stderr"; exit 1; }
    else
        mpirun --oversubscribe -np "$np" sh -c '/usr/bin/time -v -o "$0/time.$OMPI_COMM_WORLD_RANK" "$@"' "$WORK" \
            "$BIN" prepare "$@" --out "$out" >/dev/null 2>"$WORK/stderr" || { cat "$WORK/stderr"; exit 1; }
    fi
    end=$(date +%s.%N)
    python3 - "$label" "$np" "$records" "$start" "$end" "$load" "$(stat -c %s "$out")" "$WORK"/time.* <<'PY'
import re, sys
label, np_, records, start, end, load, size = sys.argv[1:8]
np_, records, wall, size = int(np_), int(records), float(end) - float(start), int(size)
cpu, rss = 0.0, 0
for path in sys.argv[8:]:
    text = open(path).read()
    cpu += sum(float(re.search(rf"{k} time \(seconds\): ([0-9.]+)", text).group(1)) for k in ("User", "System"))
    rss = max(rss, int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)))
print(f"{label:30s} {wall:8.1f} {records / wall:9.0f} {records / wall / np_:9.0f} {cpu:8.1f} {1000 * cpu / records:9.3f} "
      f"{records / cpu:9.0f} {rss / 1024:8.0f} {size / 1e9:8.3f} {load:>5s}")
PY
}
same() { python3 Tests/scripts/compare_corpora.py "$1" "$2" | tail -1; }

M="mimic --root"
measure "mimic np=1 float32, $SMALL" 1 "$SMALL" "$WORK/s32.h5" $M "$WORK/small"; rm -f "$WORK/s32.h5"
measure "mimic np=1 float32, $N" 1 "$N" "$WORK/m32.h5" $M "$WORK/big"
measure "mimic np=2 float32, $N" 2 "$N" "$WORK/m32p.h5" $M "$WORK/big"
same "$WORK/m32.h5" "$WORK/m32p.h5"; rm -f "$WORK/m32p.h5"
measure "mimic np=1 float16, $N" 1 "$N" "$WORK/m16.h5" $M "$WORK/big" --dtype float16
measure "mimic np=2 float16, $N" 2 "$N" "$WORK/m16p.h5" $M "$WORK/big" --dtype float16
same "$WORK/m16.h5" "$WORK/m16p.h5"
echo "mimic sizes: float32 $(stat -c %s "$WORK/m32.h5") B, float16 $(stat -c %s "$WORK/m16.h5") B for $N records"
rm -f "$WORK"/m*.h5
rm -rf "$WORK/big" "$WORK/small"
measure "code15 np=1 float32, $C" 1 "$C" "$WORK/c32.h5" code15 --root "$WORK/code15"
measure "code15 np=2 float32, $C" 2 "$C" "$WORK/c32p.h5" code15 --root "$WORK/code15"
same "$WORK/c32.h5" "$WORK/c32p.h5"; rm -f "$WORK/c32p.h5"
measure "code15 np=1 float16, $C" 1 "$C" "$WORK/c16.h5" code15 --root "$WORK/code15" --dtype float16
measure "code15 np=2 float16, $C" 2 "$C" "$WORK/c16p.h5" code15 --root "$WORK/code15" --dtype float16
same "$WORK/c16.h5" "$WORK/c16p.h5"
echo "code15 sizes: float32 $(stat -c %s "$WORK/c32.h5") B, float16 $(stat -c %s "$WORK/c16.h5") B for $C exams ($("$BIN" info "$WORK/c32.h5" | grep -m1 '^records' | tr -s ' '))"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
