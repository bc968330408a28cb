#!/usr/bin/env bash
# Distributed pre-training checks under mpirun (needs BIN = release ecg-dist, WORK = scratch dir):
#  1. equivalence: same seed + global batch → same parameters after 20 steps at np=1, 2, 4
#  2. resume: 10 + 10 steps == 20 steps bit-identically (same np), within 1e-4 at another np
#  3. kill -9 of one rank ends the job non-zero within 30 s
#  4. SIGTERM to mpirun leaves a loadable checkpoint, and the run resumes from it
#  5. stop signals end with a checkpoint and exit 0: SIGTERM/SIGINT to `ecg-dist launch mpirun`,
#     SIGUSR1 to plain mpirun, SIGTERM to a single-rank run; a second SIGTERM aborts at once
set -euo pipefail
: "${BIN:?}" "${WORK:?}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
D="$WORK/dist"; mkdir -p "$D"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$BIN" prepare ptbxl --root Tests/Fixtures/ptbxl-mini --out "$D/ptbxl.h5" >/dev/null
"$BIN" synth --records 40 --out "$D/synth40.h5" --seed 3 >/dev/null
MODEL="dim=32,depth=2,heads=2,pred-dim=16,pred-depth=2,pred-heads=2"
COMMON=(--data "$D/ptbxl.h5" --model "$MODEL" --global-batch 8 --micro-batch 3 --steps 20 --warmup-steps 5
        --seed 7 --log-every 5 --verify-every 5 --checkpoint-every 10)
run() { local np=$1; shift; mpirun --oversubscribe -np "$np" "$BIN" pretrain "${COMMON[@]}" "$@"; }
ckpt() { ls "$1"/checkpoints/step-*.ckpt | sort | tail -n 1; }

echo "--- bad input: clear error, non-zero exit, nothing written"
expect_error() {  # expected-message args...
  local want=$1; shift
  set +e; out=$("$@" 2>&1); rc=$?; set -e
  [ $rc -ne 0 ] || fail "exit 0 for: $*"
  grep -q -- "$want" <<<"$out" || { echo "$out"; fail "message lacks '$want' for: $*"; }
}
expect_error "/nonexistent.h5" mpirun -np 2 "$BIN" pretrain --data /nonexistent.h5 --out "$D/bad1"
[ ! -e "$D/bad1" ] || fail "a failed start left $D/bad1 behind"
expect_error "unknown model 'vit-q'" "$BIN" pretrain --data "$D/ptbxl.h5" --model vit-q --out "$D/bad2"
echo '{"stepz": 3}' > "$D/bad.json"
expect_error "unknown config keys: stepz" "$BIN" pretrain --config "$D/bad.json" --data "$D/ptbxl.h5" --out "$D/bad3"
expect_error "no --data" "$BIN" pretrain --out "$D/bad4"
expect_error "cannot read checkpoint" "$BIN" pretrain --data "$D/ptbxl.h5" --out "$D/bad5" --resume /nonexistent.ckpt
[ ! -e "$D/bad2" ] && [ ! -e "$D/bad3" ] && [ ! -e "$D/bad5" ] || fail "a failed start left a run folder behind"

echo "--- pretrain --help shows the defaults and every model preset"
help=$("$BIN" pretrain --help | tr -s " \n" " ")   # help text wraps: join the lines
for want in "(default: 100000, the paper's)" "(default: 2048, the paper's)" "vit-xs, vit-s, vit-b, vit-tiny, or a spec like" "Default: per-sample"; do
  grep -qF -- "$want" <<<"$help" || fail "pretrain --help lacks '$want'"
done

echo "--- inputs checked before the run starts"
expect_error "global-batch 1 is smaller than the 2 ranks" mpirun -np 2 "$BIN" pretrain "${COMMON[@]}" --out "$D/bad6" --global-batch 1
expect_error "no label task 'nosuch' for --eval-task" run 1 --out "$D/bad7" --eval-every 5 --eval-data "$D/ptbxl.h5" --eval-task nosuch
[ ! -e "$D/bad6" ] && [ ! -e "$D/bad7" ] || fail "a refused start left a run folder behind"
out=$(run 1 --out "$D/warn" --steps 2 --warmup-steps 5 --global-batch 64 --micro-batch 64 2>&1) || { echo "$out"; fail "warning run"; }
grep -q "warning: --warmup-steps 5 ≥ --steps 2" <<<"$out" || fail "no warm-up warning"
grep -q "warning: the corpora hold 28 records, fewer than --global-batch 64" <<<"$out" || fail "no corpus-size warning"

echo "--- a run folder belongs to one run"
run 1 --out "$D/own" --steps 4 --checkpoint-every 2 > "$D/own.log" 2>&1 || { cat "$D/own.log"; fail "first run"; }
before=$(cd "$D/own" && find . -type f | sort | xargs sha256sum)
expect_error "already holds a run" run 1 --out "$D/own" --steps 4
expect_error "--resume auto" run 1 --out "$D/own" --steps 4
[ "$before" = "$(cd "$D/own" && find . -type f | sort | xargs sha256sum)" ] || fail "a refused run changed the folder"
expect_error "holds a different run: --model" run 1 --out "$D/own" --resume auto --model "dim=32,depth=1,heads=2,pred-dim=16,pred-depth=1,pred-heads=2"
expect_error "holds a different run: --global-batch 8 → 6" run 1 --out "$D/own" --resume auto --global-batch 6
[ "$before" = "$(cd "$D/own" && find . -type f | sort | xargs sha256sum)" ] || fail "a refused resume changed the folder"
run 1 --out "$D/own" --resume auto --steps 6 > "$D/own2.log" 2>&1 || { cat "$D/own2.log"; fail "resume with more steps"; }
grep -q "resume: --steps 4 → 6" "$D/own2.log" && grep -q '"steps":6' "$D/own/config.json" || fail "changed step count not recorded"

echo "--- equivalence over np"
# np=2 also runs rank 0's periodic evaluation: it must not change training (the checkpoints must
# still match np=1 and np=4) and must land in metrics.jsonl.
for np in 1 2 4; do
  extra=(); [ $np = 2 ] && extra=(--eval-every 10 --eval-data "$D/synth40.h5" --eval-task synth --eval-steps 20)
  run $np --out "$D/np$np" "${extra[@]}" > "$D/np$np.log" 2>&1 || { cat "$D/np$np.log"; fail "np=$np run"; }
done
[ "$(grep -c '"eval":{"synth":{"test_auc"' "$D/np2/metrics.jsonl")" = 2 ] || fail "periodic eval lines missing from metrics.jsonl"
"$BIN" checkpoint diff "$(ckpt "$D/np1")" "$(ckpt "$D/np2")" --tolerance 1e-4
"$BIN" checkpoint diff "$(ckpt "$D/np1")" "$(ckpt "$D/np4")" --tolerance 1e-4
grep -q "step 20/20" "$D/np2.log" || fail "np=2 log has no step 20"

echo "--- resume at the same np is bit-identical"
run 2 --out "$D/resume" --stop-after 10 > "$D/r1.log" 2>&1 || { cat "$D/r1.log"; fail "first half"; }
[ "$(basename "$(ckpt "$D/resume")")" = "step-00000010.ckpt" ] || fail "no step-10 checkpoint"
run 2 --out "$D/resume" --resume auto > "$D/r2.log" 2>&1 || { cat "$D/r2.log"; fail "second half"; }
grep -q "resumed from" "$D/r2.log" || fail "did not resume"
"$BIN" checkpoint diff "$(ckpt "$D/np2")" "$(ckpt "$D/resume")" --tolerance 0 | tee "$D/diff.txt"
grep -q "params: .*bit-identical" "$D/diff.txt" || fail "resume not bit-identical"

echo "--- resume at a different np (2 → 1, 2 → 3)"
for np in 1 3; do
  mkdir -p "$D/resume$np/checkpoints"
  cp "$D/resume/checkpoints/step-00000010.ckpt" "$D/resume$np/checkpoints/"
  run $np --out "$D/resume$np" --resume auto > "$D/r$np.log" 2>&1 || { cat "$D/r$np.log"; fail "resume at np=$np"; }
  "$BIN" checkpoint diff "$(ckpt "$D/np2")" "$(ckpt "$D/resume$np")" --tolerance 1e-4
done

echo "--- corpora mixed by weight: the same batches at np=1 and 3, exact resume, realised shares"
mixrun() {  # np weight-of-ptbxl weight-of-synth args...
  local np=$1 a=$2 b=$3; shift 3
  mpirun --oversubscribe -np "$np" "$BIN" pretrain --data "$D/ptbxl.h5:$a" --data "$D/synth40.h5:$b" --model "$MODEL" \
    --global-batch 8 --micro-batch 3 --steps 20 --warmup-steps 5 --seed 7 --log-every 5 --verify-every 5 --checkpoint-every 10 "$@"
}
mixrun 1 1 3 --out "$D/mix1" > "$D/mix1.log" 2>&1 || { cat "$D/mix1.log"; fail "mixture np=1"; }
mixrun 3 1 3 --out "$D/mix3" > "$D/mix3.log" 2>&1 || { cat "$D/mix3.log"; fail "mixture np=3"; }
"$BIN" checkpoint diff "$(ckpt "$D/mix1")" "$(ckpt "$D/mix3")" --tolerance 1e-4
grep -qF "mixture (by weight): ptbxl.h5 25.0 % (28 records), synth40.h5 75.0 % (40 records)" "$D/mix3.log" || { cat "$D/mix3.log"; fail "start line lacks the mixture"; }
grep -qF "realised mixture over this run's 160 samples: ptbxl.h5 25.00 % (40), synth40.h5 75.00 % (120)" "$D/mix3.log" || { cat "$D/mix3.log"; fail "realised mixture"; }
mixrun 3 1 3 --out "$D/mixr" --stop-after 10 > "$D/mixr1.log" 2>&1 || { cat "$D/mixr1.log"; fail "mixture first half"; }
mixrun 2 1 3 --out "$D/mixr" --resume auto > "$D/mixr2.log" 2>&1 || { cat "$D/mixr2.log"; fail "mixture second half"; }
"$BIN" checkpoint diff "$(ckpt "$D/mix3")" "$(ckpt "$D/mixr")" --tolerance 1e-4
expect_error "holds a different run: --data weights" mixrun 1 1 1 --out "$D/mix1" --resume auto --steps 30

echo "--- kill -9 of one rank ends the job"
# mpirun itself in the background (not a function: $! must be mpirun's pid).
mpirun --oversubscribe -np 2 "$BIN" pretrain "${COMMON[@]}" --out "$D/kill" --steps 100000 --warmup-steps 10 \
  --checkpoint-every 1000 > "$D/kill.log" 2>&1 &
MPIRUN=$!
for _ in $(seq 1 100); do grep -q "step 5/" "$D/kill.log" 2>/dev/null && break; sleep 0.5; done
VICTIM=$(pgrep -P $MPIRUN -f "ecg-dist pretrain" | tail -n 1)
[ -n "$VICTIM" ] || fail "no rank process found"
START=$(date +%s); kill -9 "$VICTIM"
set +e; wait $MPIRUN; RC=$?; set -e
ELAPSED=$(( $(date +%s) - START ))
echo "mpirun exit $RC after ${ELAPSED}s"
[ $RC -ne 0 ] || fail "job exited 0 after a rank was killed"
[ $ELAPSED -le 30 ] || fail "job took ${ELAPSED}s to end"

echo "--- SIGTERM to mpirun leaves a loadable checkpoint"
mpirun --oversubscribe -np 2 "$BIN" pretrain "${COMMON[@]}" --out "$D/term" --steps 100000 --warmup-steps 10 \
  --checkpoint-every 5 > "$D/term.log" 2>&1 &
MPIRUN=$!
for _ in $(seq 1 100); do ls "$D"/term/checkpoints/step-*.ckpt >/dev/null 2>&1 && break; sleep 0.5; done
sleep 1
kill -TERM $MPIRUN
set +e; wait $MPIRUN; RC=$?; set -e
echo "mpirun exit $RC after SIGTERM"
sleep 1
pgrep -f "ecg-dist pretrain .*$D/term" && fail "ranks still running after mpirun got SIGTERM"
LAST=$(ckpt "$D/term")
"$BIN" checkpoint info "$LAST" | grep -E "step:" || fail "checkpoint $LAST not loadable"
STEP=$("$BIN" checkpoint info "$LAST" | sed -n 's/^  step: //p')
run 2 --out "$D/term" --resume auto --steps $((STEP + 2)) > "$D/term2.log" 2>&1 || { cat "$D/term2.log"; fail "resume after SIGTERM"; }
grep -q "resumed from" "$D/term2.log" || fail "did not resume after SIGTERM"
echo "--- stop signals: checkpoint and exit 0; a second SIGTERM aborts at once"
expect_error "no \`--\` between the launcher" "$BIN" launch mpirun -np 2 pretrain
expect_error "name the launcher first" "$BIN" launch -- pretrain
expect_error "cannot start 'no-such-launcher'" "$BIN" launch no-such-launcher -- pretrain
# stop_run NAME "SIGNALS" COMMAND...: starts a long `COMMAND pretrain` run, sends SIGNALS (0.3 s apart) once step 5 is
# logged, and leaves the exit status in RC and the log in $D/NAME.log.
stop_run() {
  local name=$1 signals=$2; shift 2
  "$@" pretrain "${COMMON[@]}" --out "$D/$name" --steps 100000 --warmup-steps 10 --log-every 1 \
    --checkpoint-every 1000 > "$D/$name.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 200); do grep -q "^step 5/" "$D/$name.log" 2>/dev/null && break; sleep 0.2; done
  for s in $signals; do kill -"$s" $pid; sleep 0.3; done
  set +e; wait $pid; RC=$?; set -e
  sleep 0.5
  ! pgrep -f "ecg-dist pretrain .*$D/$name " >/dev/null || fail "$name: ranks still running"
}
graceful() {  # NAME SIGNAL-NAME-IN-LOG: exit 0, the stop step's checkpoint, no runtime warnings
  local name=$1 why=$2 stop
  [ $RC -eq 0 ] || { cat "$D/$name.log"; fail "$name: exit $RC, want 0"; }
  stop=$(sed -nE "s/^stopping at step ([0-9]+) \($why\); checkpoint written$/\1/p" "$D/$name.log")
  [ -n "$stop" ] || { cat "$D/$name.log"; fail "$name: no '$why' stop in the log"; }
  [ -f "$D/$name/checkpoints/$(printf 'step-%08d.ckpt' "$stop")" ] || fail "$name: no checkpoint of step $stop"
  ! grep -E "\[warn\]|[Ee]rror|MPI_ABORT|aborted|Killed" "$D/$name.log" || fail "$name: warnings or errors from the runtime"
  echo "$name: exit 0, stopped at step $stop ($why), checkpoint written"
}
stop_run launch-term TERM "$BIN" launch mpirun --oversubscribe -np 2 --
graceful launch-term SIGUSR1
grep -q "ecg-dist launch: SIGTERM: asking every rank to checkpoint" "$D/launch-term.log" || fail "launch did not say what it does"
stop_run launch-int INT "$BIN" launch mpirun --oversubscribe -np 2 --
graceful launch-int SIGUSR1
stop_run mpirun-usr1 USR1 mpirun --oversubscribe -np 2 "$BIN"
graceful mpirun-usr1 SIGUSR1
stop_run single-term TERM "$BIN"
graceful single-term SIGTERM
# Twice: the ranks are gone within seconds, non-zero, and the newest checkpoint on disk is whole.
SLOW=(--model vit-xs --global-batch 64 --micro-batch 32)
"$BIN" launch mpirun --oversubscribe -np 2 -- pretrain --data "$D/ptbxl.h5" "${SLOW[@]}" --out "$D/twice" --steps 100000 \
  --warmup-steps 10 --checkpoint-every 2 --log-every 1 > "$D/twice.log" 2>&1 &
PID=$!
for _ in $(seq 1 300); do [ -e "$D/twice/checkpoints/step-00000002.ckpt" ] && break; sleep 0.2; done
START=$(date +%s); kill -TERM $PID; sleep 0.3; kill -TERM $PID
set +e; wait $PID; RC=$?; set -e
ELAPSED=$(( $(date +%s) - START ))
[ $RC -ne 0 ] || fail "a second SIGTERM: exit 0, want an abort"
[ $ELAPSED -le 10 ] || fail "a second SIGTERM took ${ELAPSED}s to end the job"
sleep 0.5
! pgrep -f "ecg-dist pretrain .*$D/twice " >/dev/null || fail "twice: ranks still running"
"$BIN" checkpoint info "$(ckpt "$D/twice")" | grep -q "step:" || fail "twice: newest checkpoint not loadable"
echo "second SIGTERM to launch: exit $RC after ${ELAPSED}s, newest checkpoint $(basename "$(ckpt "$D/twice")") loadable"
# A single rank given SIGTERM twice dies of it at once (exit 143) instead of finishing its step.
"$BIN" pretrain --data "$D/ptbxl.h5" "${SLOW[@]}" --out "$D/twice1" --steps 100000 --warmup-steps 10 \
  --checkpoint-every 2 --log-every 1 > "$D/twice1.log" 2>&1 &
PID=$!
for _ in $(seq 1 300); do [ -e "$D/twice1/checkpoints/step-00000002.ckpt" ] && break; sleep 0.2; done
kill -TERM $PID; sleep 0.1; kill -TERM $PID
set +e; wait $PID; RC=$?; set -e
[ $RC -eq 143 ] || { tail -3 "$D/twice1.log"; fail "single rank, second SIGTERM: exit $RC, want 143 (killed by SIGTERM)"; }
"$BIN" checkpoint info "$(ckpt "$D/twice1")" | grep -q "step:" || fail "twice1: newest checkpoint not loadable"
echo "second SIGTERM to a single rank: exit $RC, newest checkpoint loadable"
echo "distributed tests passed"
