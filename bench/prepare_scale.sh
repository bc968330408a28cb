#!/usr/bin/env bash
# Scale benchmark of `ecg-dist prepare wfdb` (not a test): a MIMIC-layout WFDB tree of N records
# (bench/make_mimic_layout.py, ~120 KB each), then
#   * records/s at np=1 and np=2 (mpirun), float32;
#   * peak RSS (/usr/bin/time -v, per rank) at SMALL records and at N records: flat if streaming works;
#   * corpus size float32 vs float16 at N records.
# Usage: bench/prepare_scale.sh [N=50000] [SMALL=5000] [path/to/release/ecg-dist]
# Disk: N=50,000 needs ~6 GB of records + 12 GB (float32) + 6 GB (float16) at the peak; everything
# is deleted at the end. On a shared machine the wall-clock rates include waiting for a core.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-50000}
SMALL=${2:-5000}
BIN=${3:-$(swift build -c release --show-bin-path)/ecg-dist}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
WORK=${WORK:-$(mktemp -d /tmp/prepare-scale.XXXXXX)}
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT

t0=$(date +%s.%N)
python3 bench/make_mimic_layout.py "$WORK/big" "$N"
python3 bench/make_mimic_layout.py "$WORK/small" "$SMALL"
sync
echo "generated $N + $SMALL records in $(python3 -c "import time; print(f'{time.time() - $t0:.0f}')") s: $(du -sh "$WORK/big" | cut -f1) / $(du -sh "$WORK/small" | cut -f1)"

# run NP RECORDS_DIR OUT [extra prepare flags]: prints "wall_s rate_records_per_s max_rss_mb(per rank, max) size_bytes"
run() {
    local np=$1 dir=$2 out=$3; shift 3
    local count; count=$(find "$dir" -name '*.hea' | wc -l)
    rm -f "$out" "$WORK"/rss.*
    local start; start=$(date +%s.%N)
    if [ "$np" -eq 1 ]; then
        /usr/bin/time -v -o "$WORK/rss.0" "$BIN" prepare wfdb --dir "$dir" --out "$out" "$@" >/dev/null 2>"$WORK/stderr" \
            || { cat "$WORK/stderr"; exit 1; }
    else
        mpirun --oversubscribe -np "$np" sh -c '/usr/bin/time -v -o "$0/rss.$OMPI_COMM_WORLD_RANK" "$@"' "$WORK" \
            "$BIN" prepare wfdb --dir "$dir" --out "$out" "$@" >/dev/null 2>"$WORK/stderr" || { cat "$WORK/stderr"; exit 1; }
    fi
    local end; end=$(date +%s.%N)
    local rss; rss=$(grep -h "Maximum resident" "$WORK"/rss.* | awk '{print $NF}' | sort -n | tail -1)
    python3 -c "w=$end-$start; print(f'{w:.1f} {$count/w:.0f} {$rss/1024:.0f} $(stat -c %s "$out")')"
}

report() { read -r wall rate rss size <<<"$2"; printf '%-34s %7s s  %6s records/s  peak RSS %5s MB/rank  %6.2f GB\n' "$1" "$wall" "$rate" "$rss" "$(python3 -c "print($size/1e9)")"; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
report "np=1 float32, $SMALL records" "$(run 1 "$WORK/small" "$WORK/s32.h5")"; rm -f "$WORK/s32.h5"
report "np=1 float32, $N records" "$(run 1 "$WORK/big" "$WORK/b32.h5")"
report "np=2 float32, $N records" "$(run 2 "$WORK/big" "$WORK/b32p.h5")"
python3 Tests/scripts/compare_corpora.py "$WORK/b32.h5" "$WORK/b32p.h5" | tail -1
rm -f "$WORK/b32p.h5"
report "np=1 float16, $N records" "$(run 1 "$WORK/big" "$WORK/b16.h5" --dtype float16)"
report "np=2 float16, $N records" "$(run 2 "$WORK/big" "$WORK/b16p.h5" --dtype float16)"
python3 Tests/scripts/compare_corpora.py "$WORK/b16.h5" "$WORK/b16p.h5" | tail -1
echo "sizes: float32 $(stat -c %s "$WORK/b32.h5") B, float16 $(stat -c %s "$WORK/b16.h5") B for $N records"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
