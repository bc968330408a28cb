#!/usr/bin/env python3
"""Writes N WFDB records in the MIMIC-IV-ECG folder layout for prepare benchmarks:
OUT/files/pNNNN/pNNNNNNNN/sNNNNNNNN/NNNNNNNN.{hea,dat}, 10 s, 12 leads, 500 Hz, format 16, and
OUT/record_list.csv naming them (so the tree serves `prepare mimic --root OUT` and `prepare wfdb --dir OUT`).

Usage: make_mimic_layout.py OUT N [FIXTURE_DIR]
Each record is one of the PTB-XL fixture records (Tests/Fixtures/ptbxl-mini/records500/00000) with
its own small offset and noise (a few adu), so the content hashes differ and the signals keep real
ECG amplitudes. 20 studies per subject, subjects grouped by their first four digits as in MIMIC.
"""
import glob
import os
import sys

import numpy as np

LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]


def load_fixture(directory):
    records = []
    for header in sorted(glob.glob(os.path.join(directory, "*.hea"))):
        signal = np.fromfile(header[:-4] + ".dat", dtype="<i2").reshape(-1, 12)
        records.append(signal[:5000].astype(np.int32))
    if not records:
        sys.exit(f"{directory}: no .hea files")
    return records


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, count = sys.argv[1], int(sys.argv[2])
    fixture = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures",
                                                                "ptbxl-mini", "records500", "00000")
    base = load_fixture(fixture)
    rng = np.random.default_rng(13)
    os.makedirs(out, exist_ok=True)
    listing = open(os.path.join(out, "record_list.csv"), "w")
    listing.write("subject_id,study_id,file_name,ecg_time,path\n")
    for r in range(count):
        subject = 10_000_000 + r // 20
        study = 40_000_000 + r
        folder = os.path.join(out, "files", f"p{subject // 10_000}", f"p{subject}", f"s{study}")
        os.makedirs(folder, exist_ok=True)
        name = str(study)
        noise = rng.integers(-3, 4, size=(5000, 12), dtype=np.int32)
        digital = np.clip(base[r % len(base)] + noise + (r // len(base)) % 9 - 4, -32767, 32767).astype("<i2")
        digital.tofile(os.path.join(folder, name + ".dat"))  # frames of 12 int16, little-endian
        sums = digital.astype(np.int64).sum(axis=0)
        lines = [f"{name} 12 500 5000"]
        for lead, label in enumerate(LEADS):
            checksum = int(sums[lead]) & 0xFFFF
            checksum = checksum - 0x10000 if checksum >= 0x8000 else checksum
            lines.append(f"{name}.dat 16 1000.0(0)/mV 16 0 {int(digital[0, lead])} {checksum} 0 {label}")
        with open(os.path.join(folder, name + ".hea"), "w") as f:
            f.write("\n".join(lines) + "\n")
        relative = os.path.relpath(os.path.join(folder, name), out)
        listing.write(f"{subject},{study},{name},2180-01-01 00:00:00,{relative}\n")
    listing.close()


if __name__ == "__main__":
    main()
