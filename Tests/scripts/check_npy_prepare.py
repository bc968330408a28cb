#!/usr/bin/env python3
"""Cross-check `ecg-dist prepare npy` against an independent numpy/scipy computation.

Usage: check_npy_prepare.py BIN WORKDIR

Case 1: 40 records, 250 Hz, 12 s, (N, leads, T) layout, float32 in µV, 13 leads in a shuffled
        order (one extra lead), ids from an int64 .npy, labels CSV rows shuffled, no fold column.
        Signals must equal scipy.signal.resample_poly (Kaiser β = 8 windowed sinc with ±16 zero
        crossings, edge padding) of value / 1000, central 10 s, leads by name, within 1e-3 mV
        (ecg-dist normalises each polyphase phase to unit gain, scipy scales the whole filter:
        they differ by ~1e-4 relative). Labels follow the CSV by id; folds are a 80/10/10 split
        within one record, the same for the same --split-seed, another for another seed.
Case 2: 500 Hz int16 (N, T, leads) µV, 8 s long, with a fold column: values / 1000 exactly,
        zero-padded to 10 s; folds from the CSV.
Exits non-zero on the first mismatch.  Needs: numpy, scipy, h5py.
"""
import os
import subprocess
import sys

import h5py
import numpy as np
from scipy import signal

LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def run(binary, *args):
    result = subprocess.run([binary, *args], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"{' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")
    return result.stdout


def synthetic_ecg(rng, records, leads, samples, fs):
    """Smooth, ECG-like content (a few sinusoids below 40 Hz + noise) in µV."""
    t = np.arange(samples) / fs
    x = np.zeros((records, leads, samples))
    for k, f in enumerate([1.1, 3.7, 8.3, 17.0, 31.0]):
        amplitude = rng.uniform(50, 600, size=(records, leads, 1)) / (k + 1)
        phase = rng.uniform(0, 2 * np.pi, size=(records, leads, 1))
        x += amplitude * np.sin(2 * np.pi * f * t + phase)
    return x + rng.normal(0, 20, size=x.shape)


def reference_resample(x_mv, up, down):
    """Independent 250 → 500 Hz: scipy's polyphase resampler with the same prototype filter."""
    rate = max(up, down)
    half = 16 * rate
    taps = signal.firwin(2 * half + 1, 1.0 / rate, window=("kaiser", 8.0))
    return signal.resample_poly(x_mv, up, down, axis=-1, window=taps, padtype="edge")


def read_corpus(path, task):
    with h5py.File(path, "r") as f:
        return {
            "signals": f["signals"][:],
            "ids": f["record_ids"][:],
            "names": [n.decode() for n in f["record_names"][:]],
            "folds": f["strat_fold"][:],
            "labels": f[f"labels/{task}"][:],
            "label_names": [n.decode() for n in f[f"labels/{task}_names"][:]],
            "rate": int(f.attrs["sampling_rate"]),
        }


def main():
    binary, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(7)

    # ---- case 1
    n, fs, seconds = 40, 250, 12
    order = ["V3", "I", "aVF", "V1", "II", "X", "V6", "aVR", "III", "V4", "aVL", "V2", "V5"]
    raw = synthetic_ecg(rng, n, len(order), fs * seconds, fs).astype(np.float32)  # µV, (N, leads, T)
    np.save(f"{work}/signals.npy", raw)
    ids = 1000 + 7 * np.arange(n, dtype=np.int64)
    np.save(f"{work}/ids.npy", ids)
    names = ["AF", "LBBB", "other"]
    truth = np.zeros((n, 3), dtype=np.uint8)
    truth[:, 0] = rng.random(n) < 0.3
    truth[:, 1] = rng.random(n) < 0.15
    truth[:, 2] = truth[:, :2].sum(axis=1) == 0
    with open(f"{work}/labels.csv", "w") as f:
        f.write("record,AF,LBBB,other\n")
        for i in rng.permutation(n):
            f.write(f"{ids[i]},{truth[i, 0]},{truth[i, 1]},{truth[i, 2]}\n")
    common = ["prepare", "npy", "--signals", f"{work}/signals.npy", "--fs", str(fs), "--leads", ",".join(order),
              "--units", "uV", "--labels", f"{work}/labels.csv", "--id-column", "record", "--ids", f"{work}/ids.npy",
              "--task-name", "rhythm"]
    run(binary, *common, "--out", f"{work}/c1.h5")
    run(binary, *common, "--out", f"{work}/c1-again.h5")
    run(binary, *common, "--split-seed", "1", "--out", f"{work}/c1-seed1.h5")
    c = read_corpus(f"{work}/c1.h5", "rhythm")
    if c["signals"].shape != (n, 5000, 12) or c["rate"] != 500:
        fail(f"case 1: shape {c['signals'].shape}, rate {c['rate']}")
    standard = np.stack([raw[:, order.index(lead), :] for lead in LEADS], axis=1).astype(np.float64) / 1000
    resampled = reference_resample(standard, 2, 1)            # (N, 12, 6000)
    start = (resampled.shape[-1] - 5000) // 2                 # central 10 s
    expected = resampled[:, :, start:start + 5000].transpose(0, 2, 1)
    diff = np.abs(c["signals"] - expected)
    worst = np.unravel_index(np.argmax(diff), diff.shape)
    print(f"case 1 signals vs scipy.signal.resample_poly: max abs diff {diff.max():.2e} mV "
          f"(record {worst[0]}, sample {worst[1]}, lead {LEADS[worst[2]]}), mean {diff.mean():.2e} mV, "
          f"signal std {expected.std():.3f} mV")
    if diff.max() > 1e-3:
        fail("case 1: signals differ from the scipy reference by more than 1e-3 mV")
    if list(c["ids"]) != list(ids) or c["names"] != [str(i) for i in ids]:
        fail("case 1: record ids/names are not the ids file in signal order")
    if c["label_names"] != names or not np.array_equal(c["labels"], truth):
        fail("case 1: labels differ from the CSV matched by id")
    folds = c["folds"]
    counts = [int((folds == k).sum()) for k in range(1, 11)]
    train, val, test = sum(counts[:8]), counts[8], counts[9]
    if min(counts) < n // 10 or max(counts) > -(-n // 10) or abs(train - 0.8 * n) > 1 or abs(val - 0.1 * n) > 1:
        fail(f"case 1: fold sizes {counts}")
    if not np.array_equal(folds, read_corpus(f"{work}/c1-again.h5", "rhythm")["folds"]):
        fail("case 1: the same --split-seed gave other folds")
    if np.array_equal(folds, read_corpus(f"{work}/c1-seed1.h5", "rhythm")["folds"]):
        fail("case 1: --split-seed 1 gave the same folds as seed 0")
    for j, name in enumerate(names):
        per_fold = [int(truth[folds == k, j].sum()) for k in range(1, 11)]
        print(f"case 1 label {name}: {truth[:, j].sum()} positives, per fold {per_fold}")
    print(f"case 1 folds per fold {counts} (train/val/test {train}/{val}/{test})")

    # ---- case 2
    n2, t2 = 12, 4000
    raw2 = np.round(synthetic_ecg(rng, n2, 12, t2, 500)).astype(np.int16).transpose(0, 2, 1).copy()  # (N, T, leads)
    np.save(f"{work}/signals2.npy", raw2)
    folds2 = np.arange(n2) % 10 + 1
    with open(f"{work}/labels2.csv", "w") as f:
        f.write("id,fold,A,B\n")
        for i in range(n2):
            f.write(f"{i},{folds2[i]},{i % 2},{1 - i % 2}\n")
    run(binary, "prepare", "npy", "--signals", f"{work}/signals2.npy", "--fs", "500", "--leads", ",".join(LEADS),
        "--units", "uV", "--labels", f"{work}/labels2.csv", "--id-column", "id", "--fold-column", "fold",
        "--out", f"{work}/c2.h5")
    c2 = read_corpus(f"{work}/c2.h5", "labels")
    expected2 = np.zeros((n2, 5000, 12))
    expected2[:, :t2, :] = raw2.astype(np.float64) / 1000
    diff2 = np.abs(c2["signals"] - expected2).max()
    print(f"case 2 int16 µV at 500 Hz vs value / 1000 + zero padding: max abs diff {diff2:.2e} mV")
    if diff2 > 1e-6:
        fail("case 2: signals differ")
    if not np.array_equal(c2["folds"], folds2) or c2["label_names"] != ["A", "B"]:
        fail("case 2: folds or label names differ from the CSV")
    print("check_npy_prepare: all passed")


if __name__ == "__main__":
    main()
