#!/usr/bin/env bash
# PyTorch side of ecg-dist (docs/pytorch.md), end to end:
#  1. a tiny model pre-trained 4 steps on a synthetic corpus, exported; `ecg-dist embed` (.h5 with
#     tokens, .npy with 2.5-s windows) against python/ecg_dist_torch.py loaded strict: max |diff|
#     ≤ 1e-4, and a model with one weight changed must fail the same comparison;
#  2. the converter: export → paper layout → export byte-identical; the paper layout loads strict
#     into the re-created paper module (Tests/scripts/paper_reference_vit.py) and gives ecg-dist's
#     embeddings within 1e-4; a paper checkpoint with LayerScale, biases and another lead order
#     converts and `ecg-dist embed` matches the paper module; what cannot be represented is refused;
#  3. the same checks once at vit-xs size (1 pre-training step);
#  4. bad input to embed: a clear error naming the file, non-zero exit, no output file.
# usage: torch_module.test.sh BIN WORK   (or BIN=... WORK=... in the environment)
set -euo pipefail
BIN=${1:-${BIN:?usage: torch_module.test.sh BIN WORK}}
WORK=${2:-${WORK:?usage: torch_module.test.sh BIN WORK}}
cd "$(dirname "$0")/../.."
export OPENBLAS_NUM_THREADS=1
D="$WORK/torch-module"; rm -rf "$D"; mkdir -p "$D"
CHECK=(python3 Tests/scripts/check_torch_module.py)
fail() { echo "FAIL: $*" >&2; exit 1; }

"$BIN" synth --records 16 --out "$D/corpus.h5" --seed 11 >/dev/null
pretrain() {  # out model steps
  "$BIN" pretrain --data "$D/corpus.h5" --out "$1" --model "$2" --steps "$3" --global-batch 8 --micro-batch 8 \
    --warmup-steps 1 --seed 3 > "$1.log" 2>&1 || { cat "$1.log"; fail "pretrain $2"; }
  ls "$1"/checkpoints/step-*.ckpt | sort | tail -n 1
}

echo "--- tiny model: ecg-dist embed vs the PyTorch module"
CKPT=$(pretrain "$D/tiny" "dim=32,depth=2,heads=2,pred-dim=16,pred-depth=2,pred-heads=2" 4)
"$BIN" checkpoint export "$CKPT" --out "$D/tiny.safetensors" >/dev/null
"$BIN" embed --checkpoint "$D/tiny.safetensors" --data "$D/corpus.h5" --out "$D/tiny.h5" --tokens --quiet
"$BIN" embed --checkpoint "$D/tiny.safetensors" --data "$D/corpus.h5" --out "$D/tiny.npy" --crop-seconds 2.5 --quiet
"${CHECK[@]}" module "$D/tiny.safetensors" "$D/corpus.h5" "$D/tiny.h5" --npy "$D/tiny.npy" --crop-samples 1250
# The training state itself gives the same embeddings as its export (the EMA target in both), also with 2 threads.
"$BIN" embed --checkpoint "$CKPT" --data "$D/corpus.h5" --out "$D/tiny-ckpt.h5" --threads 2 --quiet
python3 - "$D/tiny.h5" "$D/tiny-ckpt.h5" <<'EOF'
import sys, h5py, numpy as np
a, b = (h5py.File(p)["embeddings"][:] for p in sys.argv[1:3])
d = float(np.abs(a - b).max())
print(f"{'ok   ' if d <= 1e-5 else 'FAIL '} embed from the .ckpt with --threads 2 vs the export with 1 thread: max |diff| {d:.2e}")
sys.exit(0 if d <= 1e-5 else 1)
EOF

echo "--- converter: ecg-dist export <-> paper checkpoint layout"
mkdir -p "$D/conv"
"${CHECK[@]}" roundtrip "$D/tiny.safetensors" "$D/conv" "$D/corpus.h5"
"${CHECK[@]}" make-paper "$D/conv/paper-ls.pt" "$D/corpus.h5" "$D/conv/paper-ls.ref.npy"
python3 python/convert_checkpoint.py from-paper "$D/conv/paper-ls.pt" "$D/conv/paper-ls.safetensors"
"$BIN" embed --checkpoint "$D/conv/paper-ls.safetensors" --data "$D/corpus.h5" --out "$D/conv/paper-ls.h5" --quiet
"${CHECK[@]}" compare "$D/conv/paper-ls.ref.npy" "$D/conv/paper-ls.h5"
"${CHECK[@]}" refusals "$D/conv"

echo "--- vit-xs (1 pre-training step)"
CKPT=$(pretrain "$D/xs" vit-xs 1)
"$BIN" checkpoint export "$CKPT" --out "$D/xs.safetensors" >/dev/null
"$BIN" embed --checkpoint "$D/xs.safetensors" --data "$D/corpus.h5" --out "$D/xs.h5" --tokens --quiet
"$BIN" embed --checkpoint "$D/xs.safetensors" --data "$D/corpus.h5" --out "$D/xs.npy" --crop-seconds 2.5 --quiet
"${CHECK[@]}" module "$D/xs.safetensors" "$D/corpus.h5" "$D/xs.h5" --npy "$D/xs.npy" --crop-samples 1250
mkdir -p "$D/conv-xs"
"${CHECK[@]}" roundtrip "$D/xs.safetensors" "$D/conv-xs" "$D/corpus.h5"

echo "--- bad input to embed: clear error, non-zero exit, no output"
expect_error() {  # expected-message output args...
  local want=$1 out=$2; shift 2
  set +e; msg=$("$BIN" embed --out "$out" "$@" 2>&1); rc=$?; set -e
  [ $rc -ne 0 ] || fail "exit 0 for embed $*"
  grep -qF -- "$want" <<<"$msg" || { echo "$msg"; fail "message lacks '$want' for embed $*"; }
  [ ! -e "$out" ] || fail "a failed embed left $out"
  ! ls "$out".tmp-* >/dev/null 2>&1 || fail "a failed embed left a temporary file next to $out"
  echo "ok    $(grep -F -- "$want" <<<"$msg" | head -n 1)"
}
E="$D/tiny.safetensors"
expect_error "$D/missing.h5: no such file" "$D/bad1.h5" --checkpoint "$E" --data "$D/missing.h5"
expect_error "$D/tiny.h5: dataset /signals is missing (not an ecg-dist corpus)" "$D/bad2.h5" --checkpoint "$E" --data "$D/tiny.h5"
expect_error "$E: not an HDF5 file" "$D/bad3.npy" --checkpoint "$E" --data "$E"
expect_error "$D/missing.safetensors: no such file" "$D/bad4.h5" --checkpoint "$D/missing.safetensors" --data "$D/corpus.h5"
expect_error "$D/corpus.h5: not a readable training state or .safetensors file" "$D/bad5.h5" --checkpoint "$D/corpus.h5" --data "$D/corpus.h5"
expect_error "the extension must be .h5, .hdf5 or .npy" "$D/bad6.csv" --checkpoint "$E" --data "$D/corpus.h5"
expect_error "shorter than the 6000-sample window" "$D/bad7.h5" --checkpoint "$E" --data "$D/corpus.h5" --crop-seconds 12
before=$(sha256sum "$D/corpus.h5")
set +e; msg=$("$BIN" embed --checkpoint "$E" --data "$D/corpus.h5" --out "$D/corpus.h5" 2>&1); rc=$?; set -e
[ $rc -ne 0 ] && grep -qF "would overwrite the input" <<<"$msg" || { echo "$msg"; fail "embed --out onto its own corpus was not refused"; }
[ "$before" = "$(sha256sum "$D/corpus.h5")" ] || fail "embed changed its input corpus"
echo "ok    $(tail -n 1 <<<"$msg")"
[ ! -e "$D/bad3.record_ids.npy" ] || fail "a failed .npy embed left its ids side file"
echo "torch module tests passed"
