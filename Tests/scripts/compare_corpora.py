#!/usr/bin/env python3
"""Byte-for-byte comparison of two HDF5 corpora: the same objects (groups, datasets), and for every
dataset and every attribute (root, groups, datasets) the same dtype, shape and raw bytes.

Usage: compare_corpora.py A.h5 B.h5      exit 0 = identical, 1 = differences (listed)
Storage details that are not data (chunk addresses, allocation order) are not compared.
Needs: h5py numpy
"""
import sys

import h5py
import numpy as np


def objects(f):
    found = {"/": f}
    f.visititems(lambda name, obj: found.__setitem__("/" + name, obj))
    return found


def raw(value):
    array = np.asarray(value)
    return array.dtype.str, array.shape, array.tobytes()


def differing_rows(x, y, block=1024):
    """Rows whose bytes differ, read in blocks so that corpora larger than memory compare too."""
    if not x.shape:
        return [] if raw(x[()]) == raw(y[()]) else [0]
    rows = []
    for first in range(0, x.shape[0], block):
        a, b = x[first:first + block], y[first:first + block]
        if a.tobytes() != b.tobytes():
            flat_a, flat_b = a.reshape(len(a), -1).view(np.uint8), b.reshape(len(b), -1).view(np.uint8)
            rows += [first + int(i) for i in np.nonzero((flat_a != flat_b).any(axis=1))[0]]
    return rows


def main(a_path, b_path):
    differences = []
    with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:
        oa, ob = objects(a), objects(b)
        for name in sorted(set(oa) ^ set(ob)):
            differences.append(f"{name}: only in {'A' if name in oa else 'B'}")
        for name in sorted(set(oa) & set(ob)):
            x, y = oa[name], ob[name]
            if isinstance(x, h5py.Dataset) != isinstance(y, h5py.Dataset):
                differences.append(f"{name}: dataset in one file, group in the other")
                continue
            if isinstance(x, h5py.Dataset):
                if x.dtype != y.dtype or x.shape != y.shape:
                    differences.append(f"{name}: {x.dtype}{x.shape} vs {y.dtype}{y.shape}")
                else:
                    rows = differing_rows(x, y)
                    if rows:
                        differences.append(f"{name}: bytes differ (rows {rows[:5]}{'...' if len(rows) > 5 else ''})")
            for key in sorted(set(x.attrs) ^ set(y.attrs)):
                differences.append(f"{name} attribute {key}: only in {'A' if key in x.attrs else 'B'}")
            for key in sorted(set(x.attrs) & set(y.attrs)):
                if raw(x.attrs[key]) != raw(y.attrs[key]):
                    differences.append(f"{name} attribute {key}: {x.attrs[key]!r} vs {y.attrs[key]!r}")
    for line in differences:
        print("DIFF", line)
    print(f"{'identical' if not differences else f'{len(differences)} difference(s)'}: {a_path} vs {b_path}")
    return 0 if not differences else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
