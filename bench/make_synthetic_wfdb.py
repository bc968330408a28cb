#!/usr/bin/env python3
"""Writes N synthetic 10-s, 12-lead, 500 Hz WFDB records (format 16, 1000 adu/mV) for benchmarks.

Usage: make_synthetic_wfdb.py OUT_DIR N   (records go to OUT_DIR/gNN/recNNNNN.{hea,dat}, 500 per folder)
Signals are sums of a few sines plus noise per lead: realistic amplitude range, not physiology.
"""
import os
import sys

import numpy as np

LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]


def main():
    out, count = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(0)
    t = np.arange(5000) / 500.0
    base = np.stack([np.sin(2 * np.pi * (1.1 + 0.07 * l) * t) * (300 + 40 * l) for l in range(12)], axis=1)
    for r in range(count):
        folder = os.path.join(out, f"g{r // 500:02d}")
        os.makedirs(folder, exist_ok=True)
        name = f"rec{r:05d}"
        digital = (base * (0.5 + (r % 7) / 7) + rng.normal(0, 20, size=base.shape)).astype(np.int16)
        digital.tofile(os.path.join(folder, name + ".dat"))  # frames of 12 int16, little-endian
        lines = [f"{name} 12 500 5000"]
        for l, lead in enumerate(LEADS):
            column = digital[:, l].astype(np.int64)
            checksum = int(column.sum()) & 0xFFFF
            checksum = checksum - 0x10000 if checksum >= 0x8000 else checksum
            lines.append(f"{name}.dat 16 1000.0(0)/mV 16 0 {column[0]} {checksum} 0 {lead}")
        with open(os.path.join(folder, name + ".hea"), "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
