#!/usr/bin/env python3
"""Writes auc_fixture.json: fixed score/label matrices and sklearn's ROC-AUC for them.

The Swift test (Tests/DistTrainerTests/AUCSklearnTests.swift) recomputes the AUCs with ecg-dist's
implementation and must match to 1e-9. Cases covered on purpose:
  - heavy ties (scores rounded to 1 decimal, and a label whose scores are all equal),
  - a label with exactly one positive, and one with exactly one negative,
  - a perfectly separated label (AUC 1) and an inverted one (AUC 0),
  - a label with no positive at all: sklearn refuses it, so its expected per-label value is null
    and the macro average is taken over the other labels (what ecg-dist reports).
Run:  python3 Tests/Fixtures/auc/make_fixture.py   (needs numpy + scikit-learn)
"""
import json
import os

import numpy as np
from sklearn.metrics import roc_auc_score

rng = np.random.default_rng(20240607)
n = 60

cols_scores = []
cols_labels = []

# 0: noisy informative label, continuous scores
y = (rng.random(n) < 0.4).astype(np.uint8)
cols_labels.append(y)
cols_scores.append(y * 0.8 + rng.normal(0, 0.7, n))
# 1: the same kind of label but scores rounded to one decimal -> many ties, some across classes
y = (rng.random(n) < 0.5).astype(np.uint8)
cols_labels.append(y)
cols_scores.append(np.round(y * 0.5 + rng.normal(0, 0.5, n), 1))
# 2: exactly one positive
y = np.zeros(n, np.uint8); y[17] = 1
cols_labels.append(y)
cols_scores.append(rng.normal(0, 1, n))
# 3: exactly one negative, and its score tied with several positives
y = np.ones(n, np.uint8); y[5] = 0
s = np.round(rng.normal(0, 1, n), 0)
cols_labels.append(y)
cols_scores.append(s)
# 4: all scores equal -> AUC 0.5 exactly
y = (rng.random(n) < 0.3).astype(np.uint8); y[0] = 1; y[1] = 0
cols_labels.append(y)
cols_scores.append(np.full(n, 0.25))
# 5: perfectly separated
y = (rng.random(n) < 0.5).astype(np.uint8); y[0] = 1; y[1] = 0
cols_labels.append(y)
cols_scores.append(y * 3.0 + rng.random(n))
# 6: perfectly inverted
y = (rng.random(n) < 0.5).astype(np.uint8); y[0] = 1; y[1] = 0
cols_labels.append(y)
cols_scores.append(-(y * 3.0) + rng.random(n))
# 7: no positive at all -> undefined, skipped in the macro average
cols_labels.append(np.zeros(n, np.uint8))
cols_scores.append(rng.normal(0, 1, n))
# 8: logits of large magnitude with a few exact ties at the extremes
y = (rng.random(n) < 0.2).astype(np.uint8); y[2] = 1; y[3] = 0
s = rng.normal(0, 30, n); s[2] = s[3] = 41.0; s[10] = s[11] = -41.0
cols_labels.append(y)
cols_scores.append(s)

scores = np.stack(cols_scores, axis=1).astype(np.float64)
labels = np.stack(cols_labels, axis=1).astype(np.uint8)

per_label = []
for j in range(labels.shape[1]):
    if labels[:, j].min() == labels[:, j].max():
        per_label.append(None)
    else:
        per_label.append(float(roc_auc_score(labels[:, j], scores[:, j])))
valid = [j for j in range(labels.shape[1]) if per_label[j] is not None]
macro = float(roc_auc_score(labels[:, valid], scores[:, valid], average="macro"))

out = {
    "generator": "sklearn.metrics.roc_auc_score " + __import__("sklearn").__version__,
    "n": n,
    "labels_per_row": labels.shape[1],
    "scores": scores.tolist(),      # row-major N x L
    "labels": labels.tolist(),      # row-major N x L, 0/1
    "expected_per_label": per_label,  # null where a label lacks a positive or a negative
    "expected_macro": macro,        # over the labels with both classes
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "auc_fixture.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print("wrote", path, "macro", macro, "per label", per_label)
