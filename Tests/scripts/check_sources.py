#!/usr/bin/env python3
"""Compares corpora made by `ecg-dist prepare mimic|code15|wfdb` with an independent Python reading.

Usage: check_sources.py FIXTURES CORPORA
  FIXTURES: the folder make_source_fixtures.py wrote; CORPORA: the folder holding the corpora
  sources.test.sh made from it (mimic.h5, code15.h5, cpsc.h5, ptb.h5, incart.h5).

The reference reads the raw files with wfdb.rdsamp / h5py, picks the 12 leads by name, fills NaN
gaps with np.interp, trims CODE-15's zero padding (np.nonzero over all leads), resamples with
scipy.signal.resample_poly (same Kaiser β = 8, ±16-zero-crossing prototype, edge padding), removes
baseline wander with scipy.signal.sosfiltfilt(butter(2, cutoff, "highpass", fs=500)) and scipy's default
edges (odd extension, padlen 9), applies the length rule, and cuts the 10-s windows. Every
row must match within 1e-3 mV; ids, names, labels and the `preprocessing` attribute are checked too.
Prints the max abs difference per source. Needs numpy, scipy, h5py, wfdb.
"""
import csv
import json
import math
import os
import sys

import h5py
import numpy as np
import wfdb
from scipy import signal

LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
TOLERANCE_MV = 1e-3
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL:", message)


def pick_leads(x, names):
    folded = [n.casefold() for n in names]
    return np.stack([x[:, folded.index(lead.casefold())] for lead in LEADS], axis=1).astype(np.float64)


def fill_nans(x):
    for lead in range(x.shape[1]):
        column = x[:, lead]
        bad = np.isnan(column)
        if bad.any() and not bad.all():
            column[bad] = np.interp(np.flatnonzero(bad), np.flatnonzero(~bad), column[~bad])
    return x


def resample(x, fs):
    if fs == 500:
        return x
    g = math.gcd(500, int(fs))
    up, down = 500 // g, int(fs) // g
    rate = max(up, down)
    taps = signal.firwin(2 * 16 * rate + 1, 1.0 / rate, window=("kaiser", 8.0))
    return signal.resample_poly(x, up, down, axis=0, window=taps, padtype="edge")


def highpass(x, cutoff):
    if cutoff is None:
        return x
    sos = signal.butter(2, cutoff, btype="highpass", fs=500, output="sos")
    return signal.sosfiltfilt(sos, x, axis=0)  # scipy's default edges: padtype="odd", padlen=9


def windows(x, length, short, source_seconds, min_seconds=0.0):
    """The rows a record gives under the length rule (empty list = dropped)."""
    n = x.shape[0]
    if source_seconds + 1e-9 < min_seconds or (n < 5000 and short == "drop"):
        return []
    if n <= 5000:
        row = np.zeros((5000, 12))
        row[:n] = x
        return [row]
    if length == "center":
        start = (n - 5000) // 2
        return [x[start:start + 5000]]
    return [x[s:s + 5000] for s in range(0, n - 5000 + 1, 5000)]


def reference_wfdb(path, cutoff):
    x, fields = wfdb.rdsamp(path)
    standard = resample(fill_nans(pick_leads(x, fields["sig_name"])), fields["fs"])
    return highpass(standard, cutoff), x.shape[0] / fields["fs"]


def compare(label, corpus_path, expected_rows, expected_names, expected_ids=None):
    with h5py.File(corpus_path, "r") as f:
        signals = f["signals"][:]
        names = [n.decode() for n in f["record_names"][:]]
        ids = f["record_ids"][:]
        preprocessing = json.loads(f.attrs["preprocessing"])
    check(signals.shape == (len(expected_rows), 5000, 12),
          f"{label}: corpus has shape {signals.shape}, reference {len(expected_rows)} rows")
    if signals.shape[0] != len(expected_rows):
        return None, preprocessing
    diff = np.abs(signals - np.stack(expected_rows)).max()
    print(f"{label}: {len(expected_rows)} rows, max abs diff vs Python reference {diff:.2e} mV")
    check(diff <= TOLERANCE_MV, f"{label}: max abs diff {diff:.2e} mV > {TOLERANCE_MV}")
    check(names == expected_names, f"{label}: record_names {names}, expected {expected_names}")
    if expected_ids is not None:
        check(list(ids) == list(expected_ids), f"{label}: record_ids {list(ids)}, expected {list(expected_ids)}")
    return diff, preprocessing


def check_mimic(fixtures, corpora):
    root = f"{fixtures}/mimic"
    rows, names, ids = [], [], []
    with open(f"{root}/record_list.csv", newline="") as f:
        for entry in csv.DictReader(f):
            x, seconds = reference_wfdb(f"{root}/{entry['path']}", None)
            for w in windows(x, "center", "drop", seconds):
                rows.append(w)
                names.append(f"p{entry['subject_id']}/s{entry['study_id']}")
                ids.append(int(entry["study_id"]))
    _, p = compare("MIMIC-IV-ECG", f"{corpora}/mimic.h5", rows, names, ids)
    check(p["highpass"] is None and p["short"] == "drop" and p["length"] == "center", f"MIMIC preprocessing {p}")


def check_code15(fixtures, corpora):
    root = f"{fixtures}/code15"
    label_columns = ["1dAVb", "RBBB", "LBBB", "SB", "ST", "AF"]
    rows, names, ids, labels = [], [], [], []
    parts = {}
    with open(f"{root}/exams.csv", newline="") as f:
        for entry in csv.DictReader(f):
            name = entry["trace_file"]
            if name not in parts:
                h5 = h5py.File(f"{root}/{name}", "r")
                parts[name] = (h5["tracings"], {int(e): i for i, e in enumerate(h5["exam_id"][:])})
            tracings, row_of = parts[name]
            x = tracings[row_of[int(entry["exam_id"])]].astype(np.float64)
            nonzero = np.flatnonzero(np.any(x != 0, axis=1))
            x = x[nonzero[0]:nonzero[-1] + 1]
            seconds = x.shape[0] / 400
            x = highpass(resample(fill_nans(x), 400), 0.5)
            for w in windows(x, "center", "drop", seconds):
                rows.append(w)
                names.append(f"{name}/{entry['exam_id']}")
                ids.append(int(entry["exam_id"]))
                labels.append([1 if entry[c] == "True" else 0 for c in label_columns])
    _, p = compare("CODE-15%", f"{corpora}/code15.h5", rows, names, ids)
    with h5py.File(f"{corpora}/code15.h5", "r") as f:
        stored = f["labels/code15"][:]
        stored_names = [n.decode() for n in f["labels/code15_names"][:]]
    check(stored_names == label_columns, f"CODE-15 label names {stored_names}")
    check(np.array_equal(stored, np.array(labels, dtype=np.uint8)), "CODE-15 labels differ from exams.csv")
    check(p["highpass"]["cutoff_hz"] == 0.5 and p["trim_zero_padding"] and p["short"] == "drop", f"CODE-15 preprocessing {p}")
    check(len(rows) == 4, f"CODE-15: expected the 7.3-s exam dropped (4 rows), reference has {len(rows)}")


def challenge_reference(directory, cutoff, short, length, prefix):
    rows, names, dx = [], [], []
    headers = sorted(os.path.relpath(os.path.join(d, f), directory)
                     for d, _, files in os.walk(directory) for f in files if f.endswith(".hea"))
    for relative in headers:
        record = relative[:-4]
        x, seconds = reference_wfdb(f"{directory}/{record}", cutoff)
        codes = []
        for line in open(f"{directory}/{relative}"):
            if line.startswith("#Dx:"):
                codes = [c.strip() for c in line[4:].split(",")]
        cut = windows(x, length, short, seconds)
        for k, w in enumerate(cut):
            rows.append(w)
            names.append(f"{prefix}/{record}" + (f"#{k}" if len(cut) > 1 else ""))
            dx.append(codes)
    return rows, names, dx


def check_challenge(fixtures, corpora):
    base = f"{fixtures}/challenge/training"
    for label, folder, corpus, cutoff, short, length in [
            ("Challenge 2021 CPSC", "cpsc_2018", "cpsc.h5", None, "drop", "split"),
            ("Challenge 2021 PTB (15 leads, 1000 Hz)", "ptb", "ptb.h5", None, "drop", "split"),
            ("Challenge 2021 St-Petersburg (257 Hz, high-pass)", "st_petersburg_incart", "incart.h5", 0.5, "drop", "split")]:
        rows, names, dx = challenge_reference(f"{base}/{folder}", cutoff, short, length, folder)
        _, p = compare(label, f"{corpora}/{corpus}", rows, names)
        with h5py.File(f"{corpora}/{corpus}", "r") as f:
            columns = [n.decode() for n in f["labels/dx_names"][:]]
            stored = f["labels/dx"][:]
        for r, codes in enumerate(dx):
            check([c for c, v in zip(columns, stored[r]) if v] == [c for c in columns if c in codes],
                  f"{label}: dx labels of row {r} {stored[r]} vs codes {codes}")
        check((p["highpass"] or {}).get("cutoff_hz") == cutoff, f"{label}: preprocessing {p}")
    _, names, _ = challenge_reference(f"{base}/st_petersburg_incart", 0.5, "drop", "split", "st_petersburg_incart")
    check(len(names) == 3, f"St-Petersburg: a 35-s record must give 3 windows, got {len(names)}")


def main():
    fixtures, corpora = sys.argv[1], sys.argv[2]
    check_mimic(fixtures, corpora)
    check_code15(fixtures, corpora)
    check_challenge(fixtures, corpora)
    if failures:
        print(f"check_sources: {len(failures)} failure(s)")
        sys.exit(1)
    print("check_sources: all passed")


if __name__ == "__main__":
    main()
