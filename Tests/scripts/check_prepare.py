#!/usr/bin/env python3
"""Cross-check `ecg-dist prepare ptbxl` against the reference Python tools.

Usage: check_prepare.py CORPUS.h5 PTBXL_ROOT

1. Signals: every row equals wfdb.rdsamp of the same 500 Hz record (max abs diff < 1e-3 mV),
   leads reordered by name to I, II, III, aVR, aVL, aVF, V1-V6.
2. Labels: each task's matrix equals a plain csv + ast.literal_eval computation from the two CSVs
   (task definitions of the PTB-XL benchmark, all statements of a task as sorted columns).
3. Layout: ids, folds, names, attributes, channel mean/std over folds 1-8.
Exits non-zero on the first mismatch.  Needs: pip install wfdb h5py numpy
"""
import ast
import csv
import os
import sys

import h5py
import numpy as np
import wfdb

LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def expected_tasks(root):
    with open(os.path.join(root, "scp_statements.csv"), newline="") as f:
        statements = list(csv.DictReader(f))
    code = lambda row: row[""]
    is_set = lambda value: value.strip() != "" and float(value) == 1.0
    diagnostic = [s for s in statements if is_set(s["diagnostic"])]
    maps = {
        "all": {code(s): code(s) for s in statements},
        "diagnostic": {code(s): code(s) for s in diagnostic},
        "subdiagnostic": {code(s): s["diagnostic_subclass"] for s in diagnostic if s["diagnostic_subclass"]},
        "superdiagnostic": {code(s): s["diagnostic_class"] for s in diagnostic if s["diagnostic_class"]},
        "form": {code(s): code(s) for s in statements if is_set(s["form"])},
        "rhythm": {code(s): code(s) for s in statements if is_set(s["rhythm"])},
    }
    with open(os.path.join(root, "ptbxl_database.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    result = {}
    for task, mapping in maps.items():
        names = sorted(set(mapping.values()))
        column = {n: i for i, n in enumerate(names)}
        matrix = np.zeros((len(rows), len(names)), dtype=np.uint8)
        for r, row in enumerate(rows):
            for key in ast.literal_eval(row["scp_codes"]).keys():
                if key in mapping:
                    matrix[r, column[mapping[key]]] = 1
        result[task] = (names, matrix)
    return rows, result


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    corpus, root = sys.argv[1], sys.argv[2]
    rows, tasks = expected_tasks(root)
    with h5py.File(corpus, "r") as f:
        signals = f["signals"]
        n = len(rows)
        if signals.shape != (n, 5000, 12) or signals.dtype != np.float32:
            fail(f"signals shape {signals.shape} {signals.dtype}, expected ({n}, 5000, 12) float32")
        lead_names = [x.decode() if isinstance(x, bytes) else x for x in f.attrs["lead_names"]]
        if lead_names != LEADS:
            fail(f"lead_names {lead_names}")
        if int(f.attrs["sampling_rate"]) != 500 or int(f.attrs["n_samples"]) != 5000:
            fail("sampling_rate / n_samples attributes")
        ids = f["record_ids"][:]
        folds = f["strat_fold"][:]
        names = [x.decode() for x in f["record_names"][:]]
        worst = 0.0
        data = signals[:]
        for i, row in enumerate(rows):
            if ids[i] != int(row["ecg_id"]) or folds[i] != int(row["strat_fold"]) or names[i] != row["filename_hr"]:
                fail(f"row {i}: id/fold/name {ids[i]}/{folds[i]}/{names[i]} vs {row['ecg_id']}/{row['strat_fold']}/{row['filename_hr']}")
            values, fields = wfdb.rdsamp(os.path.join(root, row["filename_hr"]))
            by_name = {name.lower(): j for j, name in enumerate(fields["sig_name"])}
            reference = values[:, [by_name[lead.lower()] for lead in LEADS]]
            units = [fields["units"][by_name[lead.lower()]] for lead in LEADS]
            if any(u.lower() not in ("mv", "") for u in units):
                fail(f"{row['filename_hr']}: units {units} (check expects mV)")
            diff = float(np.max(np.abs(reference[:5000] - data[i, : len(reference)])))
            worst = max(worst, diff)
            if diff >= 1e-3:
                fail(f"{row['filename_hr']}: max abs diff {diff} mV")
        print(f"signals: {n} records equal wfdb.rdsamp, max abs diff {worst:.2e} mV")

        train = data[(folds >= 1) & (folds <= 8)].astype(np.float64)
        mean, std = train.mean(axis=(0, 1)), train.std(axis=(0, 1))
        if not np.allclose(f.attrs["channel_mean"], mean, atol=1e-4) or not np.allclose(f.attrs["channel_std"], std, rtol=1e-4, atol=1e-5):
            fail(f"channel mean/std {f.attrs['channel_mean']} {f.attrs['channel_std']} vs {mean} {std}")
        print("channel_mean/std: match folds 1-8")

        for task, (label_names, matrix) in tasks.items():
            stored_names = [x.decode() for x in f[f"labels/{task}_names"][:]]
            if stored_names != label_names:
                fail(f"task {task}: names {stored_names} vs {label_names}")
            stored = f[f"labels/{task}"][:]
            if stored.dtype != np.uint8 or not np.array_equal(stored, matrix):
                fail(f"task {task}: label matrix differs in {int(np.sum(stored != matrix))} cells")
            print(f"labels/{task}: {len(label_names)} columns, {int(matrix.any(axis=1).sum())} labelled records, equal")
    print("OK")


if __name__ == "__main__":
    main()
