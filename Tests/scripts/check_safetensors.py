#!/usr/bin/env python3
"""Cross-check ecg-dist's safetensors writer/reader against the reference `safetensors` package.

usage: check_safetensors.py SWIFT_FILE EXPECTED_JSON OUT_FILE

Loads SWIFT_FILE (written by ecg-dist) with safetensors, compares every tensor exactly against
EXPECTED_JSON ({name: {"shape": [...], "values": [...]}}), checks the metadata, then writes
OUT_FILE with every tensor doubled and metadata {"producer": "python"} for the Swift side to read.
Exits non-zero with a message on any mismatch.
"""
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file


def main() -> int:
    swift_file, expected_json, out_file = sys.argv[1:4]
    with open(expected_json) as f:
        expected = json.load(f)
    tensors = load_file(swift_file)
    if set(tensors) != set(expected):
        print(f"tensor names differ: file {sorted(tensors)} expected {sorted(expected)}")
        return 1
    for name, want in expected.items():
        got = tensors[name]
        want_array = np.asarray(want["values"], dtype=np.float32).reshape(want["shape"])
        if got.dtype != np.float32 or list(got.shape) != want["shape"]:
            print(f"{name}: dtype/shape {got.dtype} {got.shape}, expected float32 {want['shape']}")
            return 1
        if not np.array_equal(got.view(np.uint32), want_array.view(np.uint32)):
            print(f"{name}: values differ")
            return 1
    with safe_open(swift_file, framework="numpy") as f:
        metadata = f.metadata()
    if metadata != {"producer": "ecg-dist"}:
        print(f"metadata {metadata}")
        return 1
    save_file({name: array * np.float32(2) for name, array in tensors.items()}, out_file,
              metadata={"producer": "python"})
    print(f"ok: {len(tensors)} tensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
