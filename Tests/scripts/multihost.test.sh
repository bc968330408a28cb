#!/usr/bin/env bash
# Pre-training across hosts over TCP, on the namespace test bed (Tests/scripts/netns_hosts.sh):
#  1. np=4 over 2 hosts (2 ranks each: TCP between hosts, shared memory within) gives the same
#     parameters as np=1 (≤ 1e-4), with the replica check (--verify-every) passing over TCP;
#     the log shows that OpenMPI's TCP transport carried the traffic
#  2. resume at another host count: 2 hosts × 2 → 1 host × 2 equals the uninterrupted run (≤ 1e-4)
#  3. prepare over 2 hosts writes the serial corpus with one writer per host
#  4. killing every rank of host h2 ends the job within seconds, and the message names h2
#
#   BIN=.build/release/ecg-dist WORK=/tmp/x bash Tests/scripts/multihost.test.sh   (root, iproute2)
set -euo pipefail
: "${BIN:?}" "${WORK:?}"
BIN=$(readlink -f "$BIN")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BED="$ROOT/Tests/scripts/netns_hosts.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
D="$WORK/multihost"; mkdir -p "$D"
fail() { echo "FAIL: $*" >&2; exit 1; }
trap '"$BED" down >/dev/null 2>&1 || true' EXIT
"$BED" up 2

printf 'h1 slots=2\nh2 slots=2\n' > "$D/hosts2"
printf 'h1 slots=2\n' > "$D/hosts1"
# The flags a real cluster would use (hostfiles/README.md), with the test bed's agent instead of ssh.
MPI=(mpirun --mca plm_rsh_agent "$BED agent" --mca btl tcp,self,vader
     --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24
     -x OPENBLAS_NUM_THREADS -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM)
on_h1() { "$BED" run h1 "$@"; }

"$BIN" prepare ptbxl --root "$ROOT/Tests/Fixtures/ptbxl-mini" --out "$D/ptbxl.h5" >/dev/null
MODEL="dim=32,depth=2,heads=2,pred-dim=16,pred-depth=2,pred-heads=2"
COMMON=(--data "$D/ptbxl.h5" --model "$MODEL" --global-batch 8 --micro-batch 3 --steps 20 --warmup-steps 5
        --seed 7 --log-every 5 --verify-every 5 --checkpoint-every 10)
ckpt() { ls "$1"/checkpoints/step-*.ckpt | sort | tail -n 1; }

echo "--- np=1 reference, np=4 over 2 hosts (TCP)"
mpirun -np 1 "$BIN" pretrain "${COMMON[@]}" --out "$D/np1" > "$D/np1.log" 2>&1 || { cat "$D/np1.log"; fail "np=1 run"; }
T0=$(date +%s.%N)
on_h1 "${MPI[@]}" --hostfile "$D/hosts2" -np 4 --map-by ppr:2:node --mca btl_base_verbose 30 \
    "$BIN" pretrain "${COMMON[@]}" --out "$D/np4" > "$D/np4.log" 2>&1 || { cat "$D/np4.log"; fail "np=4 over 2 hosts"; }
echo "np=4 over 2 hosts: $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
grep -q "ecg-dist pretrain: 4 rank(s)" "$D/np4.log" || fail "not 4 ranks"
grep -qE "btl:tcp: .*(connect|Using interface|attempting)|tcp.*10\.77\.0\.[12]" "$D/np4.log" \
    || { grep -i tcp "$D/np4.log" | head; fail "no sign of the TCP transport in the log"; }
# --verify-every 5 compares parameter and EMA checksums of all ranks (over TCP here) at steps
# 5, 10, 15, 20 and stops the run with "replicas diverged" if any differ; the run got to the end.
grep -q "^step 20/20" "$D/np4.log" && ! grep -q "replicas diverged" "$D/np4.log" || fail "replica check over TCP"
"$BIN" checkpoint diff "$(ckpt "$D/np1")" "$(ckpt "$D/np4")" --tolerance 1e-4 || fail "np=4 over 2 hosts != np=1"
echo "PASS: np=4 over 2 hosts equals np=1 (≤ 1e-4), replica checks passed over TCP"

echo "--- resume at another host count: stop at step 10 on 2 hosts, finish on 1 host"
on_h1 "${MPI[@]}" --hostfile "$D/hosts2" -np 4 --map-by ppr:2:node \
    "$BIN" pretrain "${COMMON[@]}" --out "$D/resume" --stop-after 10 > "$D/r1.log" 2>&1 || { cat "$D/r1.log"; fail "first half"; }
on_h1 "${MPI[@]}" --hostfile "$D/hosts1" -np 2 \
    "$BIN" pretrain "${COMMON[@]}" --out "$D/resume" --resume auto > "$D/r2.log" 2>&1 || { cat "$D/r2.log"; fail "second half"; }
grep -q "resumed from" "$D/r2.log" || fail "did not resume"
"$BIN" checkpoint diff "$(ckpt "$D/np1")" "$(ckpt "$D/resume")" --tolerance 1e-4 || fail "resume 2 hosts → 1 host"
echo "PASS: 2 hosts → 1 host resume equals the uninterrupted run (≤ 1e-4)"

echo "--- prepare over 2 hosts: one writer per host, the serial corpus"
# MPI_COMM_TYPE_SHARED splits the ranks by host, so each host's first rank writes its host's rows
# (CorpusWriter node writers) into the one shared file.
on_h1 "${MPI[@]}" --hostfile "$D/hosts2" -np 4 --map-by ppr:2:node \
    "$BIN" prepare ptbxl --root "$ROOT/Tests/Fixtures/ptbxl-mini" --out "$D/ptbxl-np4.h5" --batch 2 > "$D/prep4.log" 2>&1 \
    || { cat "$D/prep4.log"; fail "prepare over 2 hosts"; }
grep -q "signal rows written by 2 node writers: 28; by a rank alone (no node-shared memory, or a round too large for it): 0" "$D/prep4.log" \
    || { cat "$D/prep4.log"; fail "expected 2 node writers (one per host) for 28 rows"; }
python3 "$ROOT/Tests/scripts/compare_corpora.py" "$D/ptbxl.h5" "$D/ptbxl-np4.h5" > "$D/prep4.cmp" 2>&1 \
    || { cat "$D/prep4.cmp"; fail "prepare over 2 hosts != serial"; }
echo "PASS: prepare over 2 hosts: $(grep -o 'signal rows written by 2 node writers: 28' "$D/prep4.log"), corpus equal to the serial one"

echo "--- losing host h2 ends the job within seconds, naming h2"
on_h1 "${MPI[@]}" --hostfile "$D/hosts2" -np 4 --map-by ppr:2:node \
    "$BIN" pretrain "${COMMON[@]}" --out "$D/kill" --steps 100000 --warmup-steps 10 --checkpoint-every 1000 \
    > "$D/kill.log" 2>&1 &
JOB=$!
for _ in $(seq 1 200); do grep -q "step 5/" "$D/kill.log" 2>/dev/null && break; sleep 0.25; done
grep -q "step 5/" "$D/kill.log" || { cat "$D/kill.log"; fail "job did not start"; }
# Everything running in h2's namespace: its ranks and OpenMPI's daemon, as if the host died.
VICTIMS=$(ip netns pids ecg-h2)
[ -n "$VICTIMS" ] || fail "nothing runs on h2"
START=$(date +%s.%N)
kill -9 $VICTIMS
set +e; wait $JOB; RC=$?; set -e
ELAPSED=$(awk -v a="$START" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "job exit $RC $ELAPSED s after h2 was lost"
[ $RC -ne 0 ] || fail "job exited 0 after losing a host"
awk -v e="$ELAPSED" 'BEGIN { exit !(e < 20) }' || fail "took $ELAPSED s to end"
grep -qw "h2" "$D/kill.log" || { tail -20 "$D/kill.log"; fail "the message does not name h2"; }
echo "PASS: losing h2 ended the job in $ELAPSED s: $(grep -m1 -w h2 "$D/kill.log" | cut -c1-160)"
sleep 1
[ -z "$(pgrep -f "ecg-dist pretrain .*$D/kill" || true)" ] || fail "ranks left running"
echo "multihost tests passed"
