"""Label audit: images every probe and seed gets wrong with high confidence are likely mislabelled
or ambiguous. They are listed, and kept out of evaluation sets unless asked."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .correctness import CorrectnessMatrix


@dataclass(frozen=True)
class SuspectImage:
    """One likely mislabelled image: its label, the class the probes agree on, their confidence."""

    index: int
    id: str
    label: int
    label_name: str
    predicted: int           # most frequent predicted class over all rows
    predicted_name: str
    agreement: float         # share of rows predicting ``predicted``
    mean_confidence: float   # mean probability of each row's (wrong) predicted class


def suspect_mask(matrix: CorrectnessMatrix, rows=None, *, confidence: float = 0.7) -> np.ndarray:
    """bool (N,): every row in ``rows`` (default: all) is wrong and their mean confidence in their
    predicted class is >= ``confidence``."""
    rows = np.arange(len(matrix.rows)) if rows is None else np.asarray(rows)
    if rows.size == 0:
        return np.zeros(matrix.n_images, dtype=bool)
    all_wrong = ~matrix.correct[rows].any(axis=0)
    return all_wrong & (matrix.confidence[rows].mean(axis=0) >= confidence)


def audit_labels(matrix: CorrectnessMatrix, *, confidence: float = 0.7) -> list[SuspectImage]:
    """The suspect images over all probes and seeds, most confident first."""
    mask = suspect_mask(matrix, confidence=confidence)
    idx = np.flatnonzero(mask)
    n_classes = len(matrix.class_names)
    out = []
    for i in idx:
        votes = np.bincount(matrix.predicted[:, i], minlength=n_classes)
        pred = int(votes.argmax())
        lab = int(matrix.labels[i])
        out.append(SuspectImage(int(i), str(matrix.ids[i]), lab, matrix.class_names[lab], pred,
                                matrix.class_names[pred], float(votes[pred] / votes.sum()),
                                float(matrix.confidence[:, i].mean())))
    return sorted(out, key=lambda s: (-s.mean_confidence, s.index))
