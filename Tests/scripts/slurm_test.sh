#!/usr/bin/env bash
# End-to-end Slurm test on a real one-node cluster (slurm/local-cluster.sh, needs root):
#   1. sbatch slurm/pretrain.sbatch with a tiny config: COMPLETED, exit 0, 2 ranks, checkpoint written.
#   2. requeue: SIGUSR1 to the batch shell (as Slurm's --signal=B:USR1@120 would send near the time
#      limit) -> ranks checkpoint and stop -> job requeues itself -> resumes from that checkpoint
#      -> reaches the final step.
#   3. SIGTERM to the ranks (`scancel --signal=TERM`): checkpoint of the stop step, job COMPLETED 0:0.
#   4. plain `scancel` (job CANCELLED by definition): the ranks still checkpoint before they go.
#   5. SIGTERM to `ecg-dist launch srun …` (srun itself would kill the step on SIGTERM): checkpoint,
#      exit 0.
#
#   With SLURM_TEST_CLUSTER=multihost the same test runs on a two-node cluster on the namespace test
#   bed (Tests/scripts/slurm_multihost.sh: h1 + h2, one CPU each): `sbatch --nodes=2`, one rank per
#   node, the ranks talking over TCP through `srun --mpi=pmix`.
#
#   Tests/scripts/slurm_test.sh <path of built ecg-dist> <small corpus .h5>
#   e.g. Tests/scripts/slurm_test.sh .build/release/ecg-dist /tmp/synth200.h5
#        (make one with: ecg-dist synth --records 200 --out /tmp/synth200.h5)
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 <ecg-dist binary> <corpus.h5>" >&2; exit 2; }
ECG_DIST=$(readlink -f "$1")
DATA=$(readlink -f "$2")
[ -x "$ECG_DIST" ] || { echo "not an executable: $1" >&2; exit 2; }
[ -f "$DATA" ] || { echo "no such corpus file: $2" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/ecg-slurm-test.XXXXXX)
FAILED=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILED=1; }

if [ "${SLURM_TEST_CLUSTER:-local}" = multihost ]; then
    CLUSTER_UP=("$ROOT/Tests/scripts/slurm_multihost.sh" up)
    CLUSTER_DOWN=("$ROOT/Tests/scripts/slurm_multihost.sh" down)
    CLIENT=("$ROOT/Tests/scripts/slurm_multihost.sh" client)     # sbatch & co. run on host h1
    SHAPE=(--nodes=2 --ntasks-per-node=1)
else
    CLUSTER_UP=("$ROOT/slurm/local-cluster.sh")
    CLUSTER_DOWN=("$ROOT/slurm/local-cluster.sh" stop)
    CLIENT=(env)
    SHAPE=()
fi
# Stop the cluster (and keep the logs of a failure) on every way out, also on errors and signals.
cleanup() { "${CLUSTER_DOWN[@]}" >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
"${CLUSTER_UP[@]}" >/dev/null
echo "cluster (${SLURM_TEST_CLUSTER:-local}) up; work dir $WORK"

field() { "${CLIENT[@]}" scontrol show job "$1" -o 2>/dev/null | grep -oE "(^| )$2=[^ ]*" | head -1 | cut -d= -f2; }

# Waits until job $1 is finished (COMPLETED/FAILED/...) with at least $2 restarts. A requeued job
# is held PENDING (Reason=BeginTime) for one credential lifetime, 10 s on the local cluster
# (AuthInfo=cred_expire in slurm/local-cluster.sh): the test waits for that state change and never
# forces a start time.
wait_done() {
    local job=$1 restarts=$2 state
    for _ in $(seq 600); do
        state=$(field "$job" JobState)
        case "$state" in
            COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE)
                [ "$(field "$job" Restarts)" -ge "$restarts" ] && return 0 ;;
        esac
        sleep 0.5
    done
    echo "timed out waiting for job $job (state $state)" >&2
    return 1
}

submit() {  # submit <out dir> <steps> <checkpoint every> [extra args] [extra --export assignments]
    "${CLIENT[@]}" sbatch --parsable --time=10 "${SHAPE[@]}" --output="$WORK/%x-%j.out" \
        --export=ALL,ECG_DIST="$ECG_DIST",DATA="$DATA",OUT="$1",MODEL=vit-tiny,STEPS="$2",GLOBAL_BATCH=8,CHECKPOINT_EVERY="$3",EXTRA_ARGS="${4:-}"${5:+,$5} \
        "$ROOT/slurm/pretrain.sbatch"
}

# ---- 1. a short run to completion; its ranks start on Prescott kernels as if OpenBLAS had
#         mis-detected the CPU (test-only switch) and must re-execute onto a better core under srun ----
JOB=$(submit "$WORK/run1" 6 3 "" "OPENBLAS_CORETYPE=Prescott,ECG_DIST_TEST_CORETYPE_IS_DETECTION=1")
LOG="$WORK/ecg-pretrain-$JOB.out"
wait_done "$JOB" 0 || true
[ "$(field "$JOB" JobState)" = COMPLETED ] && pass "job $JOB COMPLETED" || fail "job $JOB state $(field "$JOB" JobState)"
[ "$(field "$JOB" ExitCode)" = 0:0 ] && pass "exit code 0:0" || fail "exit code $(field "$JOB" ExitCode)"
grep -q "ecg-dist pretrain: 2 rank(s)" "$LOG" && pass "log shows 2 ranks" || fail "log does not show 2 ranks"
if [ "${SLURM_TEST_CLUSTER:-local}" = multihost ]; then
    grep -qE "2 tasks on h\[1-2\]" "$LOG" && pass "one rank on each of h1 and h2" || fail "job not spread over h1, h2: $(head -1 "$LOG")"
fi
[ -f "$WORK/run1/checkpoints/step-00000006.ckpt" ] && pass "checkpoint step 6 written" || fail "no final checkpoint"
[ -f "$WORK/run1/checkpoints/step-00000003.ckpt" ] && pass "checkpoint step 3 written" || fail "no step-3 checkpoint"
if grep -m1 '^flags' /proc/cpuinfo | grep -qw avx2; then
    grep -qE "^OpenBLAS core .*OpenBLAS picked Prescott.*restarted with OPENBLAS_CORETYPE=.*the same on all ranks" "$LOG" \
        && pass "srun ranks moved off Prescott: $(grep -m1 '^OpenBLAS core' "$LOG" | cut -d' ' -f3)" \
        || fail "srun ranks not moved off Prescott: $(grep -m1 '^OpenBLAS core' "$LOG")"
fi

# ---- 2. stop near the time limit, requeue, resume ----
STEPS=200
JOB=$(submit "$WORK/run2" $STEPS 100000 "--log-every 5")
LOG="$WORK/ecg-pretrain-$JOB.out"
for _ in $(seq 600); do grep -qE "^step [1-9][0-9]*/$STEPS" "$LOG" 2>/dev/null && break; sleep 0.2; done
"${CLIENT[@]}" scancel --signal=USR1 --batch "$JOB"
wait_done "$JOB" 1 || true
echo "---- log of job $JOB ----"; cat "$LOG"; echo "----"
[ "$(field "$JOB" JobState)" = COMPLETED ] && pass "requeued job $JOB COMPLETED" || fail "job $JOB state $(field "$JOB" JobState)"
[ "$(field "$JOB" Restarts)" = 1 ] && pass "job restarted once" || fail "restarts $(field "$JOB" Restarts)"
STOP=$(sed -nE 's/^stopping at step ([0-9]+) \(SIGUSR1\).*/\1/p' "$LOG" | head -1)
RESUMED=$(sed -nE 's/^resumed from .* at step ([0-9]+)$/\1/p' "$LOG" | head -1)
if [ -n "$STOP" ] && [ "$STOP" -gt 0 ] && [ "$STOP" -lt $STEPS ]; then pass "stopped at step $STOP on SIGUSR1"; else fail "no SIGUSR1 stop in the log"; fi
[ -n "$STOP" ] && [ -f "$WORK/run2/checkpoints/$(printf 'step-%08d.ckpt' "$STOP")" ] \
    && pass "checkpoint of step $STOP written" || fail "no checkpoint of the stop step"
[ -n "$RESUMED" ] && [ "$RESUMED" = "$STOP" ] && pass "resumed at step $RESUMED" || fail "resume step '$RESUMED' != stop step '$STOP'"
grep -q "^done: step $STEPS" "$LOG" && pass "final step $STEPS reached" || fail "final step not reached"
[ -f "$WORK/run2/checkpoints/$(printf 'step-%08d.ckpt' $STEPS)" ] && pass "final checkpoint written" || fail "no final checkpoint"

# ---- 3 and 4. stop signals from scancel reach every rank directly ----
wait_step() { for _ in $(seq 600); do grep -qE "^step [1-9][0-9]*/" "$1" 2>/dev/null && return 0; sleep 0.2; done; return 1; }
stop_step_checkpointed() {  # <log> <run dir> <signal name>
    local stop
    stop=$(sed -nE "s/^stopping at step ([0-9]+) \($3\); checkpoint written$/\1/p" "$1" | head -1)
    [ -n "$stop" ] && [ -f "$2/checkpoints/$(printf 'step-%08d.ckpt' "$stop")" ] && echo "$stop"
}
JOB=$(submit "$WORK/run3" 100000 100000 "--log-every 5")
LOG="$WORK/ecg-pretrain-$JOB.out"
wait_step "$LOG" || fail "job $JOB did not start"
"${CLIENT[@]}" scancel --signal=TERM "$JOB"
wait_done "$JOB" 0 || true
[ "$(field "$JOB" JobState)" = COMPLETED ] && [ "$(field "$JOB" ExitCode)" = 0:0 ] \
    && pass "scancel --signal=TERM: job COMPLETED 0:0" || fail "scancel --signal=TERM: job $(field "$JOB" JobState) $(field "$JOB" ExitCode)"
STOP=$(stop_step_checkpointed "$LOG" "$WORK/run3" SIGTERM) && pass "SIGTERM: checkpoint of stop step $STOP" \
    || { cat "$LOG"; fail "SIGTERM: no checkpoint of the stop step"; }
grep -q "srun exited with 0" "$LOG" && pass "srun exited with 0" || fail "srun exit: $(grep 'srun exited' "$LOG")"

JOB=$(submit "$WORK/run4" 100000 100000 "--log-every 5")
LOG="$WORK/ecg-pretrain-$JOB.out"
wait_step "$LOG" || fail "job $JOB did not start"
"${CLIENT[@]}" scancel "$JOB"
wait_done "$JOB" 0 || true
for _ in $(seq 50); do [ -n "$(stop_step_checkpointed "$LOG" "$WORK/run4" SIGTERM)" ] && break; sleep 0.2; done
STOP=$(stop_step_checkpointed "$LOG" "$WORK/run4" SIGTERM) && pass "scancel: job $(field "$JOB" JobState), ranks checkpointed step $STOP first" \
    || { cat "$LOG"; fail "scancel: no checkpoint of the stop step"; }

# ---- 5. an interactive srun under `ecg-dist launch`, SIGTERM to launch ----
( cd "$WORK" && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1 &&
  exec "${CLIENT[@]}" "$ECG_DIST" launch srun --mpi=pmix --ntasks=2 "${SHAPE[@]}" --time=10 -- pretrain --data "$DATA" \
    --out "$WORK/run5" --model vit-tiny --global-batch 8 --steps 100000 --checkpoint-every 100000 --log-every 5 ) \
    > "$WORK/run5.log" 2>&1 &
PID=$!
wait_step "$WORK/run5.log" || fail "launch srun did not start"
kill -TERM $PID
set +e; wait $PID; RC=$?; set -e
STOP=$(stop_step_checkpointed "$WORK/run5.log" "$WORK/run5" SIGUSR1)
[ $RC = 0 ] && [ -n "$STOP" ] && pass "SIGTERM to launch srun: exit 0, checkpoint of stop step $STOP" \
    || { cat "$WORK/run5.log"; fail "SIGTERM to launch srun: exit $RC, stop step '$STOP'"; }

if [ "$FAILED" = 0 ]; then echo "slurm_test: all passed"; rm -rf "$WORK"; else echo "slurm_test: FAILED (logs in $WORK)"; fi
exit "$FAILED"
