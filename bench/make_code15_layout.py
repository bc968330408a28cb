#!/usr/bin/env python3
"""Writes N synthetic exams in the CODE-15% layout for benchmarks (not a fixture: no checked values).

Usage: make_code15_layout.py OUT N [EXAMS_PER_PART=5000]

OUT/exams.csv           exam_id, age, is_male, nn_predicted_age, 1dAVb, RBBB, LBBB, SB, ST, AF,
                        patient_id, death, timey, normal_ecg, trace_file (one row per exam, listed
                        in another order than the parts hold them, as in the release)
OUT/exams_partK.hdf5    `tracings` (rows, 4096, 12) float32 in mV at 400 Hz and `exam_id` (rows,),
                        each part ending with the all-zero row of exam_id 0 that the release has.

Exam lengths follow the release's mix: most 10.24 s (4096 samples), some 10.0 s (4000), about 2 %
7.3 s (2920, which `prepare code15` drops as too short), each centred in zero padding. Signals are
a bank of beat-like waveforms (P, QRS, T bumps at 55-95 bpm, per-lead amplitudes, a slow baseline
drift for the high-pass to remove) plus per-exam gain and noise, so every exam's content differs.
About 4 GB per 20,000 exams; generated in blocks so memory stays near one block.
"""
import os
import sys

import h5py
import numpy as np

FS = 400.0
SAMPLES = 4096
LEADS = 12
LABELS = ["1dAVb", "RBBB", "LBBB", "SB", "ST", "AF"]
BANK_SIZE = 24
BLOCK = 500  # exams synthesised at once


def beat_waveform(rng):
    """One (4096, 12) mV waveform: Gaussian P/QRS/T bumps per beat, lead-specific gains, drift."""
    t = np.arange(SAMPLES) / FS
    period = 60.0 / rng.uniform(55, 95)
    phase = (t % period) / period
    bumps = {  # centre (fraction of the beat), width, amplitude range in mV
        "p": (0.15, 0.025, (0.05, 0.2)),
        "qrs": (0.35, 0.012, (0.6, 1.8)),
        "t": (0.62, 0.05, (0.1, 0.4)),
    }
    x = np.zeros((SAMPLES, LEADS), dtype=np.float32)
    for lead in range(LEADS):
        sign = -1.0 if lead == 3 else 1.0  # aVR points the other way
        for centre, width, (low, high) in bumps.values():
            x[:, lead] += sign * rng.uniform(low, high) * np.exp(-((phase - centre) / width) ** 2)
        x[:, lead] += 0.3 * np.sin(2 * np.pi * rng.uniform(0.1, 0.4) * t + rng.uniform(0, 2 * np.pi))
    return x


def exam_length(rng):
    u = rng.uniform()
    return 2920 if u < 0.02 else 4000 if u < 0.12 else SAMPLES


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, count = sys.argv[1], int(sys.argv[2])
    per_part = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(15)
    bank = np.stack([beat_waveform(rng) for _ in range(BANK_SIZE)])
    exam_ids = 1_000_000 + rng.permutation(count * 3)[:count]  # distinct, unordered like the release
    rows = []  # (exam_id, part file, labels)
    parts = (count + per_part - 1) // per_part
    for part in range(parts):
        name = f"exams_part{part}.hdf5"
        first, last = part * per_part, min(count, (part + 1) * per_part)
        with h5py.File(os.path.join(out, name), "w") as f:
            tracings = f.create_dataset("tracings", shape=(last - first + 1, SAMPLES, LEADS), dtype="float32")
            ids = np.zeros(last - first + 1, dtype=np.int64)
            for start in range(first, last, BLOCK):
                stop = min(last, start + BLOCK)
                n = stop - start
                choice = rng.integers(0, BANK_SIZE, size=n)
                gains = rng.uniform(0.7, 1.3, size=(n, 1, LEADS)).astype(np.float32)
                block = bank[choice] * gains + rng.normal(0, 0.02, size=(n, SAMPLES, LEADS)).astype(np.float32)
                for k in range(n):
                    length = exam_length(rng)
                    pad = (SAMPLES - length) // 2
                    block[k, :pad] = 0
                    block[k, pad + length:] = 0
                tracings[start - first:stop - first] = block
                ids[start - first:stop - first] = exam_ids[start:stop]
            # The release's trailing all-zero row (exam_id 0): no exams.csv row names it.
            f.create_dataset("exam_id", data=ids)
        for k in range(first, last):
            labels = ",".join("True" if v else "False" for v in rng.uniform(size=len(LABELS)) < 0.04)
            rows.append((int(exam_ids[k]), name, labels))
    order = rng.permutation(len(rows))
    with open(os.path.join(out, "exams.csv"), "w") as f:
        f.write("exam_id,age,is_male,nn_predicted_age," + ",".join(LABELS)
                + ",patient_id,death,timey,normal_ecg,trace_file\n")
        for k in order:
            exam_id, name, labels = rows[k]
            age = 20 + k % 70
            f.write(f"{exam_id},{age},{'True' if k % 2 else 'False'},{age + 1.5},{labels},{2_000_000 + k},False,,False,{name}\n")
    print(f"wrote {count} exams in {parts} part(s) to {out}")


if __name__ == "__main__":
    main()
