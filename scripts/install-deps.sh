#!/usr/bin/env bash
# Installs what ecg-dist needs on Debian/Ubuntu (idempotent): OpenMPI, OpenBLAS, parallel HDF5.
# With --python it also installs the Python packages the cross-check tests use.
set -euo pipefail
need=()
for p in libopenmpi-dev openmpi-bin libopenblas-dev libhdf5-openmpi-dev hdf5-tools pkg-config iproute2; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ "${1:-}" = "--python" ]; then
  # torch runs the float64 cross-check of the engine (bench/torch_reference.py) and the AdamW
  # reference test. PyPI's wheel is the CUDA build (~3 GB with its nvidia-* packages; it runs on
  # CPU-only machines): about a minute to install here.
  python3 - <<'PY' 2>/dev/null || python3 -m pip install -q wfdb h5py scikit-learn safetensors numpy torch 2>&1 | grep -v "as the 'root' user" || true
import wfdb, h5py, sklearn, safetensors, numpy, torch
PY
fi
