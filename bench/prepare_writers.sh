#!/usr/bin/env bash
# np=2 vs np=1 speed-up of `prepare mimic` (or, with SOURCE=code15, `prepare code15`) on one node
# (not a test), the same rounds for each binary given, alternating so that load changes hit all alike:
#   * N MIMIC-layout records (bench/make_mimic_layout.py) or CODE-15%-layout exams
#     (bench/make_code15_layout.py), read from the page cache;
#   * output on /dev/shm (no disk) and on the work folder's file system, float32 and float16;
#   * per run: prepare's own seconds (its "wrote … in X s" line: from reading the record list to
#     the renamed corpus) and the wall seconds of the whole mpirun (adds MPI start-up and exit).
# Usage: bench/prepare_writers.sh N ROUNDS BIN [BIN...]   (OUTPUTS="shm disk" by default; "shm" alone
# for large N: 50,000 records are 6 GB of sources plus 12 GB (float32) or 6 GB (float16) of corpus;
# DTYPES="float16" for one; WORK=/dev/shm/x keeps the sources in memory, out of the page cache's reach)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}; ROUNDS=${2:-3}; shift 2
[ $# -ge 1 ] || { echo "usage: $0 N ROUNDS BIN [BIN...]" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
WORK=${WORK:-$(mktemp -d /tmp/prepare-writers.XXXXXX)}
SHM=$(mktemp -d /dev/shm/prepare-writers.XXXXXX)
trap 'rm -rf "$WORK" "$SHM"' EXIT
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ') model $(grep -m1 '^model\s' /proc/cpuinfo | cut -d: -f2 | tr -d ' '), $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC'); load $(cut -d' ' -f1-3 /proc/loadavg)"
SOURCE=${SOURCE:-mimic}
case $SOURCE in
    mimic) python3 bench/make_mimic_layout.py "$WORK/src" "$N" >/dev/null ;;
    code15) python3 bench/make_code15_layout.py "$WORK/src" "$N" >/dev/null ;;
    *) echo "SOURCE must be mimic or code15" >&2; exit 2 ;;
esac
echo "source: $SOURCE, $N records, $(du -sh "$WORK/src" | cut -f1) in $WORK"
find "$WORK/src" -type f -exec cat {} + > /dev/null   # into the page cache
timed() {  # timed BIN NP OUT DTYPE → "prepare-seconds wall-seconds"
    rm -f "$3"; local s e
    s=$(date +%s.%N)
    mpirun --oversubscribe -np "$2" "$1" prepare "$SOURCE" --root "$WORK/src" --out "$3" --dtype "$4" >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
    e=$(date +%s.%N); rm -f "$3"
    echo "$(sed -n 's/.* in \([0-9.]*\) s (.*/\1/p' "$WORK/out" "$WORK/err" | head -1) $(echo "$e - $s" | bc)"
}
printf '%-6s %-6s %-8s %5s | %8s %8s %8s | %8s %8s %8s\n' binary output dtype round "np=1 s" "np=2 s" speed-up "wall 1" "wall 2" speed-up
for round in $(seq "$ROUNDS"); do
    for where in ${OUTPUTS:-shm disk}; do
        out=$([ "$where" = shm ] && echo "$SHM" || echo "$WORK")
        for dtype in ${DTYPES:-float32 float16}; do
            b=0
            for bin in "$@"; do
                b=$((b + 1))
                read -r one wone <<<"$(timed "$bin" 1 "$out/c.h5" "$dtype")"; read -r two wtwo <<<"$(timed "$bin" 2 "$out/c.h5" "$dtype")"
                printf '%-6s %-6s %-8s %5d | %8.2f %8.2f %7.2fx | %8.2f %8.2f %7.2fx\n' "bin$b" "$([ "$out" = "$SHM" ] && echo shm || echo disk)" "$dtype" "$round" \
                    "$one" "$two" "$(echo "$one / $two" | bc -l)" "$wone" "$wtwo" "$(echo "$wone / $wtwo" | bc -l)"
            done
        done
    done
done
echo "bin1..: $*"
