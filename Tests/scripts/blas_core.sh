#!/usr/bin/env bash
# The start-up OpenBLAS core fix (Model/Kernels/BLASCore.swift), end to end: the binary is started
# on OpenBLAS's SSE3 "Prescott" kernels as if OpenBLAS had mis-detected the CPU (test-only switch
# ECG_DIST_TEST_CORETYPE_IS_DETECTION=1), and must end up on the best core for this CPU's
# instruction set — single rank and under mpirun (every rank re-executes before MPI_Init). A value
# the user sets is kept. Fails when BLASCore.ensureBestCore is removed from main.
#
#   BIN=.build/release/ecg-dist WORK=/tmp/x bash Tests/scripts/blas_core.sh
set -uo pipefail
: "${BIN:?BIN=path of ecg-dist}" "${WORK:?WORK=scratch dir}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
FAILED=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILED=1; }

flags=$(grep -m1 '^flags' /proc/cpuinfo)
has() { for f in "$@"; do [[ " $flags " == *" $f "* ]] || return 1; done; }
if has avx512f avx512cd avx512bw avx512dq avx512vl; then
    if has avx512_bf16; then BEST=Cooperlake; else BEST=SkylakeX; fi
elif has avx2 fma; then BEST=Haswell
elif has avx; then BEST=Sandybridge
else BEST=""; fi
echo "this CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); best OpenBLAS core for its ISA: ${BEST:-none}"
if [ -z "$BEST" ]; then echo "SKIPPED: an SSE-only CPU has no better core than Prescott"; exit 0; fi

core_of() { sed -nE 's/^OpenBLAS core ([A-Za-z0-9_]+).*/\1/p' | head -1; }

# 1. Single rank, simulated mis-detection: upgraded.
out=$(OPENBLAS_CORETYPE=Prescott ECG_DIST_TEST_CORETYPE_IS_DETECTION=1 "$BIN" --version)
got=$(core_of <<<"$out")
[ "$got" = "$BEST" ] && pass "single rank: Prescott replaced by $got" || fail "single rank: core '$got', expected $BEST: $out"
grep -q "OpenBLAS picked Prescott" <<<"$out" && pass "says why it changed the core" || fail "no reason printed: $out"

# 2. The user's own OPENBLAS_CORETYPE is respected.
got=$(OPENBLAS_CORETYPE=Prescott "$BIN" --version | core_of)
[ "$got" = Prescott ] && pass "user-set OPENBLAS_CORETYPE=Prescott kept" || fail "user-set core replaced by '$got'"

# 3. mpirun -np 2 pre-training: every rank re-executes before MPI_Init; the start line says the
#    core and that all ranks agree.
"$BIN" synth --records 16 --out "$WORK/core16.h5" --seed 3 >/dev/null
log=$(mpirun -np 2 -x OPENBLAS_CORETYPE=Prescott -x ECG_DIST_TEST_CORETYPE_IS_DETECTION=1 \
      "$BIN" pretrain --data "$WORK/core16.h5" --out "$WORK/core-run" --model vit-tiny --steps 2 \
      --global-batch 4 --warmup-steps 1 2>&1)
rc=$?
[ $rc = 0 ] && pass "mpirun -np 2 pretrain exit 0" || fail "mpirun pretrain exit $rc: $log"
line=$(grep "^OpenBLAS core" <<<"$log")
got=$(core_of <<<"$line")
[ "$got" = "$BEST" ] && pass "mpirun: rank 0 on $got" || fail "mpirun: core '$got', expected $BEST: $line"
grep -q "the same on all ranks" <<<"$line" && pass "mpirun: all ranks on the same core" || fail "mpirun: ranks differ: $line"

if [ "$FAILED" = 0 ]; then echo "blas_core: all passed"; else echo "blas_core: FAILED"; fi
exit "$FAILED"
