#!/usr/bin/env bash
# Installs what ecg-dist needs on Debian/Ubuntu (idempotent): OpenMPI, OpenBLAS, parallel HDF5.
# With --test-tools it also installs what the tests use beyond that: the Python packages of the
# cross-checks and perf (the profile tool's check). --python is the older name of the same.
set -euo pipefail
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
updated=0
apt_install() {   # apt-get install the packages not installed yet; one `apt-get update` per run
  local need=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
  [ ${#need[@]} -eq 0 ] && return 0
  echo "installing: ${need[*]}"
  [ $updated = 1 ] || { $SUDO apt-get update -qq; updated=1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
}
apt_install libopenmpi-dev openmpi-bin libopenblas-dev libhdf5-openmpi-dev hdf5-tools pkg-config iproute2
if [ "${1:-}" = "--test-tools" ] || [ "${1:-}" = "--python" ]; then
  # perf records bench/profile_step.sh in its check; a distribution without the Debian package
  # name only loses that check (it prints SKIPPED), not the install.
  apt_install linux-perf 2>/dev/null || echo "perf not installed (no linux-perf package here): the profile check will be SKIPPED"
  # torch runs the float64 cross-check of the engine (bench/torch_reference.py) and the AdamW
  # reference test. PyPI's wheel is the CUDA build (~3 GB with its nvidia-* packages; it runs on
  # CPU-only machines): about a minute to install here.
  python3 - <<'PY' 2>/dev/null || python3 -m pip install -q wfdb h5py scikit-learn safetensors numpy torch 2>&1 | grep -v "as the 'root' user" || true
import wfdb, h5py, sklearn, safetensors, numpy, torch
PY
fi
