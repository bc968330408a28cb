#!/usr/bin/env bash
# Runs every test of ecg-dist: multi-rank tests under mpirun, CLI/script checks, then the XCTest
# suite (last, so its closing line is the test runner's count).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --python
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OPENBLAS_NUM_THREADS=1
WORK=$(mktemp -d /tmp/ecg-dist-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

step() { printf '\n==> %s\n' "$*"; }

step "build (release CLI, debug tests)"
swift build -c release 2>&1 | grep -E "error|warning: unre|Compiling|Build complete" | grep -v "^\[" || true
swift build -c release >/dev/null
BIN=$(swift build -c release --show-bin-path)/ecg-dist
swift build --build-tests >/dev/null
XCTEST=$(swift build --show-bin-path)/ecg-distPackageTests.xctest

for np in 2 3; do
  step "multi-rank XCTests under mpirun -np $np (MPI shim, parallel HDF5, sharded loader)"
  timeout 300 mpirun -np $np "$XCTEST" DistTrainerTests.MPIShimTests,DistTrainerTests.ShardingTests 2>&1 \
    | grep -E "error|failed|Executed .* tests" | sort | uniq -c
done

step "prepare ptbxl vs wfdb.rdsamp and a Python label computation; bad-input handling"
"$BIN" prepare ptbxl --root Tests/Fixtures/ptbxl-mini --out "$WORK/ptbxl.h5" >/dev/null
python3 Tests/scripts/check_prepare.py "$WORK/ptbxl.h5" Tests/Fixtures/ptbxl-mini
timeout 600 bash Tests/scripts/bad_input.sh "$BIN"

step "distributed pre-training: equivalence over np, resume, kill -9, SIGTERM"
BIN="$BIN" WORK="$WORK" timeout 900 bash Tests/scripts/distributed.test.sh

step "evaluation harness end to end on the embedded PTB-XL sample (six tasks, both modes)"
BIN="$BIN" timeout 900 bash Tests/scripts/eval_smoke.sh

step "Slurm: real one-node cluster, sbatch pretrain, USR1 → checkpoint → requeue → resume"
"$BIN" synth --records 200 --out "$WORK/synth200.h5" --seed 5 >/dev/null
timeout 900 bash Tests/scripts/slurm_test.sh "$BIN" "$WORK/synth200.h5"
bash slurm/local-cluster.sh stop >/dev/null 2>&1 || true

step "XCTest suite (single rank)"
swift test --disable-swift-testing 2>&1 | tail -n 30
