#!/usr/bin/env bash
# GEMM-only ceiling of a vit-xs block (see block_gemms.c): 10-s and 2.5-s crops, 1 thread; then
# OpenBLAS's beta = 0 against memset + beta = 1 at the same shapes.
#   bench/block_gemms.sh [TILE_ROWS] [WIDTH]   (WIDTH 192 = a vit-xs encoder block, 96 = its predictor's)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
cc -O2 -o "$OUT/block_gemms" "$HERE/block_gemms.c" $(pkg-config --cflags --libs openblas)
for tokens in 201 51; do OPENBLAS_NUM_THREADS=1 "$OUT/block_gemms" "$tokens" "${1:-512}" 200 "${2:-192}"; done
OPENBLAS_NUM_THREADS=1 "$OUT/block_gemms" beta
