#!/usr/bin/env bash
# Benchmark (not a test): per-step all-reduce time and the share of it hidden behind backward, for
# vit-xs, vit-s and vit-b at np=2 — both ranks on one host (shared memory) vs one rank on each of
# two namespace hosts (TCP through Tests/scripts/netns_hosts.sh). Needs root and iproute2.
#
#   bench/overlap_hosts.sh [STEPS] [GLOBAL_BATCH] [BIN]
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-8}; BATCH=${2:-4}; BIN=$(readlink -f "${3:-.build/release/ecg-dist}")
BED=$PWD/Tests/scripts/netns_hosts.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
W=$(mktemp -d /tmp/ecg-overlap.XXXXXX); trap '"$BED" down >/dev/null 2>&1; rm -rf "$W"' EXIT
"$BED" up 2 >/dev/null
printf 'h1 slots=1\nh2 slots=1\n' > "$W/hosts"
"$BIN" synth --records 64 --out "$W/s.h5" --seed 1 >/dev/null
TCP=(--hostfile "$W/hosts" -np 2 --mca plm_rsh_agent "$BED agent" --mca btl tcp,self,vader
     --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24
     -x OPENBLAS_NUM_THREADS -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM)
echo "| model | placement | samples/s | all-reduce ms/step | hidden behind backward |"
echo "|---|---|---|---|---|"
for model in vit-xs vit-s vit-b; do
  for where in shm tcp; do
    args=(pretrain --data "$W/s.h5" --out "$W/$model-$where" --model "$model" --global-batch "$BATCH"
          --steps "$STEPS" --warmup-steps 2 --log-every "$((STEPS / 2))" --checkpoint-every 100000 --verify-every 0)
    if [ $where = shm ]; then mpirun -np 2 --bind-to core "$BIN" "${args[@]}" > "$W/log" 2>&1
    else "$BED" run h1 mpirun "${TCP[@]}" "$BIN" "${args[@]}" > "$W/log" 2>&1; fi
    # The last progress line covers the second half of the run (caches and connections warm).
    line=$(grep "^step $STEPS/" "$W/log")
    sps=$(sed -E 's/.* ([0-9.]+) samples\/s.*/\1/' <<<"$line")
    ar=$(sed -E 's/.*allreduce ([0-9.]+) ms.*/\1/' <<<"$line")
    hid=$(sed -E 's/.*\(([0-9]+)% hidden\).*/\1/' <<<"$line")
    echo "| $model | np=2, $( [ $where = shm ] && echo "1 host (shared memory)" || echo "2 hosts (TCP)") | $sps | $ar | $hid % |"
  done
done
