#!/usr/bin/env python3
"""Writes tiny copies of the paper's pre-training sources in their distributed layouts.

Usage: make_source_fixtures.py OUTDIR

No real data can be downloaded here, so each layout is rebuilt from the databases' documentation
(PhysioNet pages of MIMIC-IV-ECG 1.0 and the 2021 Challenge, the CODE-15% Zenodo description)
and from what the ECG-JEPA reference code reads:

OUTDIR/mimic/    record_list.csv (subject_id, study_id, file_name, ecg_time, path) and
                 files/p1000/p10000032/s40689238/40689238.{hea,dat} … : WFDB format 16, 500 Hz,
                 5000 samples, gain 200/mV, MIMIC's lead order I II III aVR aVF aVL V1-V6. One
                 record has an invalid-sample gap (-32768) in lead V2.
OUTDIR/code15/   exams.csv (exam_id, age, is_male, nn_predicted_age, 1dAVb, RBBB, LBBB, SB, ST, AF,
                 patient_id, death, timey, normal_ecg, trace_file) and exams_part0.hdf5,
                 exams_part1.hdf5 with `tracings` (N, 4096, 12) float32 at 400 Hz and `exam_id`
                 (N,); exams of 10.24 s, 10.0 s and 7.3 s centred in zero padding; each part ends
                 with the all-zero row of exam_id 0 that the release has; exams.csv lists the exams
                 in another order than the files.
OUTDIR/challenge/training/{cpsc_2018,ptb,st_petersburg_incart}/g1/*.{hea,mat}: Challenge 2021
                 records: header `<name>.mat 16+24 <gain>/mV 16 0 <init> <checksum> 0 <lead>` and
                 `#Dx: <SNOMED codes>` comments; the .mat is MATLAB v4 with one int16 matrix `val`
                 (leads × samples, stored column-major, so samples interleave by frame after the
                 24-byte matrix header). CPSC: 500 Hz, 12 s and 8 s. PTB: 1000 Hz, 15 leads
                 (the 12 + VX VY VZ), 12 s. St-Petersburg INCART: 257 Hz, 35 s (the real ones are
                 30 min), with a baseline drift.
Needs numpy, h5py, wfdb.
"""
import os
import sys

import h5py
import numpy as np
import wfdb

STANDARD = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
MIMIC_ORDER = ["I", "II", "III", "aVR", "aVF", "aVL", "V1", "V2", "V3", "V4", "V5", "V6"]


def ecg_like(rng, samples, fs, leads, drift_mv=0.0):
    """Beat-like bumps at ~70 bpm, a few sinusoids, noise and an optional slow drift, in mV."""
    t = np.arange(samples) / fs
    x = np.zeros((samples, leads))
    beat = 60 / rng.uniform(60, 80)
    phase = (t % beat) / beat
    qrs = np.exp(-((phase - 0.3) / 0.02) ** 2)
    twave = np.exp(-((phase - 0.6) / 0.06) ** 2)
    for lead in range(leads):
        x[:, lead] = rng.uniform(0.5, 1.5) * qrs + rng.uniform(0.1, 0.3) * twave
        x[:, lead] += 0.05 * np.sin(2 * np.pi * rng.uniform(5, 20) * t + rng.uniform(0, 6.3))
        x[:, lead] += drift_mv * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t + rng.uniform(0, 6.3))
    return x + rng.normal(0, 0.01, size=x.shape)


def write_mimic(out, rng):
    rows = [(10000032, 40689238), (10000032, 41256771), (10000117, 45090959)]
    with open(f"{out}/record_list.csv", "w") as f:
        f.write("subject_id,study_id,file_name,ecg_time,path\n")
        for k, (subject, study) in enumerate(rows):
            folder = f"files/p{str(subject)[:4]}/p{subject}/s{study}"
            os.makedirs(f"{out}/{folder}", exist_ok=True)
            x = ecg_like(rng, 5000, 500, 12)
            if k == 1:
                x[1200:1260, MIMIC_ORDER.index("V2")] = np.nan  # written as the invalid marker
            wfdb.wrsamp(str(study), fs=500, units=["mV"] * 12, sig_name=MIMIC_ORDER, p_signal=x, fmt=["16"] * 12,
                        adc_gain=[200.0] * 12, baseline=[0] * 12, write_dir=f"{out}/{folder}")
            f.write(f"{subject},{study},{study},2180-07-23 {10 + k}:25:00,{folder}/{study}\n")


def write_code15(out, rng):
    # (exam_id, record samples at 400 Hz, part, labels 1dAVb RBBB LBBB SB ST AF)
    exams = [(1169160, 4096, 0, "False,True,False,False,False,False"),
             (2873686, 2920, 0, "False,False,False,False,False,False"),
             (168405, 4000, 0, "True,False,False,False,False,True"),
             (271011, 4096, 1, "False,False,False,True,False,False"),
             (384368, 4096, 1, "False,False,True,False,True,False")]
    for part in (0, 1):
        members = [e for e in exams if e[2] == part]
        tracings = np.zeros((len(members) + 1, 4096, 12), dtype=np.float32)
        ids = np.zeros(len(members) + 1, dtype=np.int64)
        for row, (exam_id, length, _, _) in enumerate(members):
            start = (4096 - length) // 2
            tracings[row, start:start + length] = ecg_like(rng, length, 400, 12, drift_mv=0.4)
            ids[row] = exam_id
        with h5py.File(f"{out}/exams_part{part}.hdf5", "w") as f:
            f.create_dataset("tracings", data=tracings)
            f.create_dataset("exam_id", data=ids)
    order = [2, 0, 3, 1, 4]
    with open(f"{out}/exams.csv", "w") as f:
        f.write("exam_id,age,is_male,nn_predicted_age,1dAVb,RBBB,LBBB,SB,ST,AF,patient_id,death,timey,normal_ecg,trace_file\n")
        for k in order:
            exam_id, _, part, labels = exams[k]
            f.write(f"{exam_id},{40 + k},True,{41.5 + k},{labels},{9000 + k},False,,False,exams_part{part}.hdf5\n")


def write_challenge_record(folder, name, x_mv, fs, leads, gain, dx):
    """A Challenge 2021 record: MATLAB v4 int16 `val` (leads × samples) + WFDB header."""
    os.makedirs(folder, exist_ok=True)
    digital = np.round(x_mv * gain).astype(np.int16)          # (samples, leads)
    samples, count = digital.shape
    with open(f"{folder}/{name}.mat", "wb") as f:
        # type 30 = little-endian, int16, full numeric matrix; rows, columns, no imaginary part, name length
        np.array([30, count, samples, 0, 4], dtype="<i4").tofile(f)
        f.write(b"val\0")
        digital.astype("<i2").tofile(f)                       # column-major (leads × samples) = frame-major
    lines = [f"{name} {count} {fs} {samples} 05-Feb-2020 11:39:16"]
    for lead in range(count):
        column = digital[:, lead].astype(np.int64)
        checksum = int(column.sum()) % 65536
        checksum = checksum - 65536 if checksum > 32767 else checksum
        lines.append(f"{name}.mat 16+24 {gain}/mV 16 0 {column[0]} {checksum} 0 {leads[lead]}")
    lines += ["#Age: 61", "#Sex: Female", f"#Dx: {','.join(dx)}", "#Rx: Unknown", "#Hx: Unknown", "#Sx: Unknown"]
    with open(f"{folder}/{name}.hea", "w") as f:
        f.write("\n".join(lines) + "\n")


def write_challenge(out, rng):
    base = f"{out}/training"
    write_challenge_record(f"{base}/cpsc_2018/g1", "A0001", ecg_like(rng, 6000, 500, 12), 500, STANDARD, 1000,
                           ["426783006"])
    write_challenge_record(f"{base}/cpsc_2018/g1", "A0002", ecg_like(rng, 4000, 500, 12), 500, STANDARD, 1000,
                           ["164889003", "59118001"])
    ptb_leads = STANDARD + ["VX", "VY", "VZ"]  # the 12 leads and Frank's orthogonal leads
    write_challenge_record(f"{base}/ptb/g1", "S0001", ecg_like(rng, 12000, 1000, 15), 1000, ptb_leads, 2000,
                           ["164865005"])
    write_challenge_record(f"{base}/st_petersburg_incart/g1", "I0001", ecg_like(rng, 35 * 257, 257, 12, drift_mv=0.5),
                           257, STANDARD, 1000, ["164884008", "426783006"])


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(2024)
    for name, writer in [("mimic", write_mimic), ("code15", write_code15), ("challenge", write_challenge)]:
        os.makedirs(f"{out}/{name}", exist_ok=True)
        writer(f"{out}/{name}", rng)
    print(f"fixtures written to {out}: mimic (3 records), code15 (5 exams in 2 parts), challenge (4 records)")


if __name__ == "__main__":
    main()
