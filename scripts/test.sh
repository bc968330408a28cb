#!/usr/bin/env bash
# Runs every test of ecg-dist: multi-rank tests under mpirun, CLI/script checks, the PyTorch
# cross-check and the XCTest suite with every OpenBLAS core this CPU runs, then the XCTest suite as
# configured (last, so its closing line is the test runner's count).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test-tools
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OPENBLAS_NUM_THREADS=1
WORK=$(mktemp -d /tmp/ecg-dist-test.XXXXXX)
# Every way out: stop the Slurm test cluster if it is still up, remove the scratch folder.
trap 'bash slurm/local-cluster.sh stop >/dev/null 2>&1 || true; bash Tests/scripts/slurm_multihost.sh down >/dev/null 2>&1 || true; bash Tests/scripts/netns_hosts.sh down >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
SKIPS="$WORK/skipped.txt"; : > "$SKIPS"
skipped() { echo "SKIPPED: $*"; echo "SKIPPED: $*" >> "$SKIPS"; }

step() { printf '\n==> %s\n' "$*"; }

step "build (release CLI, debug tests)"
swift build -c release 2>&1 | grep -E "error|warning: unre|Compiling|Build complete" | grep -v "^\[" || true
swift build -c release >/dev/null
BIN=$(swift build -c release --show-bin-path)/ecg-dist
swift build --build-tests >/dev/null
XCTEST=$(swift build --show-bin-path)/ecg-distPackageTests.xctest
"$BIN" --version

# The OpenBLAS cores this CPU can run. OpenBLAS picks one per CPU model; no result may depend on it.
flags=" $(grep -m1 '^flags' /proc/cpuinfo) "
CORES="Prescott"
# Sandybridge (AVX, no FMA) only where it is the best the CPU has: elsewhere Prescott, Haswell,
# SkylakeX and Cooperlake span the kernel families, and CI stays well under its 20 minutes.
[[ $flags == *" avx "* && $flags != *" avx2 "* ]] && CORES+=" Sandybridge"
[[ $flags == *" avx2 "* && $flags == *" fma "* ]] && CORES+=" Haswell"
[[ $flags == *" avx512f "* && $flags == *" avx512bw "* && $flags == *" avx512dq "* && $flags == *" avx512vl "* ]] && CORES+=" SkylakeX"
[[ $flags == *" avx512_bf16 "* ]] && CORES+=" Cooperlake"
echo "OpenBLAS cores this CPU runs: $CORES"

step "OpenBLAS core at start-up: a mis-detected (Prescott) core is replaced, single rank and under mpirun"
BIN="$BIN" WORK="$WORK" timeout 300 bash Tests/scripts/blas_core.sh

for np in 2 3; do
  step "multi-rank XCTests under mpirun -np $np (MPI shim, parallel HDF5, sharded loader, evaluation encoded over ranks)"
  timeout 300 mpirun -np $np "$XCTEST" DistTrainerTests.MPIShimTests,DistTrainerTests.ShardingTests,DistTrainerTests.DistributedEvalTests 2>&1 \
    | grep -E "error|failed|Executed .* tests" | sort | uniq -c
done

step "PyTorch float64 cross-check (forward, loss, every gradient) with each OpenBLAS core, 1 and 2 engine threads"
if python3 -c "import torch" 2>/dev/null; then
  for core in $CORES; do
    for t in 1 2; do
      echo "-- vit-xs, OPENBLAS_CORETYPE=$core, $t engine thread(s)"
      OPENBLAS_CORETYPE=$core "$BIN" bench --dump "$WORK/dump-$core-$t" --configs vit-xs --threads $t >/dev/null
      python3 bench/torch_reference.py "$WORK/dump-$core-$t"
      rm -rf "$WORK/dump-$core-$t"
    done
  done
  for t in 1 2; do
    echo "-- vit-xs, a mask per sample (the trainer's default), OpenBLAS core as configured, $t engine thread(s)"
    "$BIN" bench --dump "$WORK/dump-ps-$t" --configs vit-xs --threads $t --masks per-sample >/dev/null
    python3 bench/torch_reference.py "$WORK/dump-ps-$t"
  done
  echo "-- PyTorch module, ecg-dist embed, paper-layout converter (tiny model and vit-xs; docs/pytorch.md)"
  timeout 900 bash Tests/scripts/torch_module.test.sh "$BIN" "$WORK" | grep -E "^(ok|FAIL|strict|---)|passed"
else
  skipped "PyTorch cross-check: python3 cannot import torch"
fi

step "profile tool (bench/profile_step.sh): perf records just the steps of bench --profile-steps, split by kind of work and part of the step, 1 and 2 threads"
prof=$(BIN="$BIN" WORK="$WORK" timeout 300 bash Tests/scripts/profile_step.test.sh) || { echo "$prof"; exit 1; }
echo "$prof"
if grep -q '^SKIPPED: ' <<<"$prof"; then skipped "$(sed -n 's/^SKIPPED: //p' <<<"$prof" | head -1)"; fi

step "prepare ptbxl vs wfdb.rdsamp and a Python label computation; prepare npy vs scipy; bad-input handling"
"$BIN" prepare ptbxl --root Tests/Fixtures/ptbxl-mini --out "$WORK/ptbxl.h5" >/dev/null
python3 Tests/scripts/check_prepare.py "$WORK/ptbxl.h5" Tests/Fixtures/ptbxl-mini
python3 Tests/scripts/check_npy_prepare.py "$BIN" "$WORK/npy-check"
timeout 600 bash Tests/scripts/bad_input.sh "$BIN"

step "every pre-training source of the paper (MIMIC-IV-ECG, CODE-15%, Challenge 2021) from fixtures in their layouts vs wfdb/h5py + scipy; bad input per reader"
BIN="$BIN" WORK="$WORK" timeout 600 bash Tests/scripts/sources.test.sh

step "distributed pre-training: equivalence over np, resume, kill -9, SIGTERM"
BIN="$BIN" WORK="$WORK" timeout 900 bash Tests/scripts/distributed.test.sh

step "parallel prepare: mpirun -np 2/3 = serial byte for byte (ptbxl, wfdb, mimic, code15; float32/float16), bad record on rank 1, SIGTERM"
BIN="$BIN" WORK="$WORK" timeout 600 bash Tests/scripts/parallel_prepare.test.sh

step "leakage guard: a planted copy of a fold-10 PTB-XL record in a WFDB pre-training folder"
BIN="$BIN" WORK="$WORK" timeout 300 bash Tests/scripts/leakage.test.sh

step "multi-host over TCP (network-namespace hosts): np=4 on 2 hosts = np=1, resume at another host count, host loss"
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null && ip netns list >/dev/null 2>&1; then
  BIN="$BIN" WORK="$WORK" timeout 600 bash Tests/scripts/multihost.test.sh 2>&1 | grep -v '^\[h[0-9]*:'
else
  skipped "multi-host tests: need root and iproute2 (ip netns)"
fi

step "evaluation harness end to end on the embedded PTB-XL sample (six tasks, both modes)"
BIN="$BIN" timeout 900 bash Tests/scripts/eval_smoke.sh

step "own data end to end: .npy + labels CSV → prepare npy → mpirun -np 2 pretrain → eval --task labels --train-fraction 0.1, 1"
BIN="$BIN" WORK="$WORK" timeout 900 bash Tests/scripts/own_data.test.sh

step "saved classifiers and predict: predict reproduces eval's test logits and AUC (sklearn), every input kind, bad input"
if python3 -c "import sklearn, h5py, numpy" 2>/dev/null; then
  BIN="$BIN" WORK="$WORK" timeout 600 bash Tests/scripts/predict.test.sh
else
  skipped "predict test: python3 cannot import sklearn, h5py and numpy"
fi

step "Slurm: real one-node cluster; sbatch pretrain (srun ranks leave Prescott), USR1 → checkpoint → requeue → resume"
"$BIN" synth --records 200 --out "$WORK/synth200.h5" --seed 5 >/dev/null
timeout 900 bash Tests/scripts/slurm_test.sh "$BIN" "$WORK/synth200.h5"
step "Slurm across two nodes (namespace hosts h1, h2): sbatch --nodes=2, srun --mpi=pmix over TCP, requeue → resume"
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null && ip netns list >/dev/null 2>&1; then
  SLURM_TEST_CLUSTER=multihost timeout 900 bash Tests/scripts/slurm_test.sh "$BIN" "$WORK/synth200.h5"
else
  skipped "two-node Slurm test: needs root and iproute2 (ip netns)"
fi

step "fuzz targets (libFuzzer + AddressSanitizer): each parser 10 s from its seed corpus and crash regressions"
# A toolchain without the fuzzer runtime (e.g. macOS's) cannot build them: say so instead of failing.
printf '@_cdecl("LLVMFuzzerTestOneInput") public func probe(_ d: UnsafePointer<UInt8>?, _ n: Int) -> CInt { 0 }\n' > "$WORK/fuzz_probe.swift"
if swiftc -sanitize=fuzzer,address -parse-as-library "$WORK/fuzz_probe.swift" -o "$WORK/fuzz_probe" >/dev/null 2>&1; then
  timeout 420 bash scripts/fuzz.sh all 10
else
  skipped "fuzz targets: this Swift toolchain cannot build -sanitize=fuzzer,address"
fi

# The whole XCTest suite once per core: tolerances must hold whatever kernels OpenBLAS runs. The
# last run below (plain `swift test`) uses the kernels OpenBLAS picks in this environment, so the
# loop leaves out that kernel family (Zen runs the Haswell kernels) instead of running it twice.
plain_core=$(python3 -c 'import ctypes, ctypes.util
lib = ctypes.CDLL(ctypes.util.find_library("openblas")); lib.openblas_get_corename.restype = ctypes.c_char_p
print(lib.openblas_get_corename().decode())' 2>/dev/null || echo unknown)
plain_family=$(echo "$plain_core" | tr 'A-Z' 'a-z' | sed 's/^zen$/haswell/')
out=""
for core in $CORES; do
  if [ "$(echo "$core" | tr 'A-Z' 'a-z')" = "$plain_family" ]; then
    step "XCTest suite with OPENBLAS_CORETYPE=$core: covered by the last run (OpenBLAS's own pick here is $plain_core)"
    continue
  fi
  step "XCTest suite with OPENBLAS_CORETYPE=$core"
  if ! out=$(OPENBLAS_CORETYPE=$core timeout 900 "$XCTEST" 2>&1); then
    echo "$out" | grep -E "error|failed" | head -40
    echo "XCTest suite FAILED with OPENBLAS_CORETYPE=$core"
    exit 1
  fi
  echo "$out" | grep -E "Executed [0-9]+ tests" | tail -1
done
# XCTest cases that skipped themselves (e.g. a Python module missing) go into the summary too.
(echo "$out" | grep -E "Test skipped" || true) | sed -E 's/^.*: ([A-Za-z0-9_]+\.[A-Za-z0-9_]+) : Test skipped - (.*)$/\1: \2/' \
  | sort -u | while read -r line; do skipped "XCTest $line"; done

step "checks that could not run"
if [ -s "$SKIPS" ]; then cat "$SKIPS"; else echo "none: every check ran"; fi

step "XCTest suite (single rank; OpenBLAS core $("$BIN" --version | sed -n 's/^OpenBLAS core //p'))"
swift test --disable-swift-testing 2>&1 | tail -n 30
