#!/usr/bin/env python3
"""Writes N exams in the CODE-15% layout for prepare benchmarks: OUT/exams.csv and
OUT/exams_part<k>.hdf5 (`tracings` (n, 4096, 12) float32 at 400 Hz, mV, zero padded; `exam_id` (n,);
each part ends with the all-zero row of exam_id 0 the release has).

Usage: make_code15_layout.py OUT N [EXAMS_PER_PART=10000] [FIXTURE_DIR]
Each exam is one of the PTB-XL fixture records (Tests/Fixtures/ptbxl-mini/records500/00000)
resampled 500 -> 400 Hz, with its own small offset and noise (so content hashes differ). Lengths as in
the release: most exams 10 s (4000 samples) centred in the padding, some 10.24 s (4096, no padding)
and some 7.3 s (2920, dropped by `prepare code15`'s default --short drop).
"""
import glob
import os
import sys

import h5py
import numpy as np
from scipy import signal

SAMPLES = 4096
LENGTHS = [4000] * 16 + [4096] * 3 + [2920]   # 80 % 10 s, 15 % 10.24 s, 5 % 7.3 s
LABELS = ["1dAVb", "RBBB", "LBBB", "SB", "ST", "AF"]


def load_fixture(directory):
    records = []
    for header in sorted(glob.glob(os.path.join(directory, "*.hea"))):
        digital = np.fromfile(header[:-4] + ".dat", dtype="<i2").reshape(-1, 12)[:5000]
        records.append(signal.resample_poly(digital / 1000.0, 4, 5, axis=0))   # gain 1000/mV, 500 -> 400 Hz
    if not records:
        sys.exit(f"{directory}: no .hea files")
    return records


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, count = sys.argv[1], int(sys.argv[2])
    per_part = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000
    fixture = sys.argv[4] if len(sys.argv) > 4 else os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures",
                                                                "ptbxl-mini", "records500", "00000")
    base = load_fixture(fixture)
    rng = np.random.default_rng(15)
    noise = rng.normal(0, 0.005, size=(SAMPLES + 997, 12)).astype(np.float32)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "exams.csv"), "w") as listing:
        listing.write("exam_id,age,is_male,nn_predicted_age," + ",".join(LABELS)
                      + ",patient_id,death,timey,normal_ecg,trace_file\n")
        for part, first in enumerate(range(0, count, per_part)):
            n = min(per_part, count - first)
            name = f"exams_part{part}.hdf5"
            with h5py.File(os.path.join(out, name), "w") as f:
                tracings = f.create_dataset("tracings", shape=(n + 1, SAMPLES, 12), dtype="<f4")
                ids = np.zeros(n + 1, dtype=np.int64)
                block = np.zeros((1000, SAMPLES, 12), dtype=np.float32)
                for start in range(0, n, 1000):
                    rows = min(1000, n - start)
                    block[:rows] = 0
                    for k in range(rows):
                        r = first + start + k
                        length = LENGTHS[r % len(LENGTHS)]
                        record = base[r % len(base)]
                        x = np.resize(record, (length, 12)) + (r % 97) * 1e-3 + noise[r % 997:r % 997 + length]
                        offset = (SAMPLES - length) // 2
                        block[k, offset:offset + length] = x
                        ids[start + k] = 100_000 + r
                        flags = ["True" if (r >> bit) % 7 == 0 else "False" for bit in range(6)]
                        listing.write(f"{100_000 + r},{40 + r % 50},{r % 2 == 0},{41.5 + r % 50},{','.join(flags)},"
                                      f"{r // 3},False,,False,{name}\n")
                    tracings[start:start + rows] = block[:rows]
                f.create_dataset("exam_id", data=ids)


if __name__ == "__main__":
    main()
