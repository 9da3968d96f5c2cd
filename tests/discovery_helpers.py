"""Synthetic correctness matrices and workspaces for the discovery tests."""
from __future__ import annotations

import io

import numpy as np

from evalkit.workspace import atomic_write_bytes


def probs_from_correct(correct, labels, n_classes, rng, conf=0.8):
    """float16 (N, C) probabilities whose arg-max is the label exactly where ``correct``."""
    n = labels.size
    wrong = (labels + rng.integers(1, n_classes, n)) % n_classes
    pred = np.where(correct, labels, wrong)
    p = np.full((n, n_classes), (1 - conf) / (n_classes - 1), np.float32)
    p[np.arange(n), pred] = conf
    return p.astype(np.float16)


def noise_probs(n, n_classes, probes, seeds, rng, labels=None, acc=None):
    """{(probe, seed): probs}: every row right with a per-image probability (shared difficulty)."""
    labels = rng.integers(0, n_classes, n) if labels is None else labels
    acc = rng.uniform(0.3, 0.9, n) if acc is None else acc
    return labels, {(p, s): probs_from_correct(rng.random(n) < acc, labels, n_classes, rng)
                     for p in probes for s in seeds}


def planted_probs(n, n_classes, probes, seeds, planted: dict, rng):
    """Noise everywhere, except on ``planted[(a, b)] = indices`` where probe a is right on every seed
    (with prob. 0.95) and b wrong (prob. 0.95)."""
    labels = rng.integers(0, n_classes, n)
    acc = rng.uniform(0.3, 0.9, n)
    out = {}
    for p in probes:
        for s in seeds:
            c = rng.random(n) < acc
            for (a, b), idx in planted.items():
                if p == a:
                    c[idx] = rng.random(len(idx)) < 0.95
                elif p == b:
                    c[idx] = rng.random(len(idx)) < 0.05
            out[(p, s)] = probs_from_correct(c, labels, n_classes, rng)
    return labels, out


def write_predictions(ws, pool, probs: dict, labels, ids):
    """Write npz files + `predictions` catalog records per the ARCHITECTURE.md contract."""
    for (probe, seed), p in probs.items():
        rel = f"predictions/{probe}/seed{seed}/{pool}.npz"
        buf = io.BytesIO()
        np.savez(buf, probs=p.astype(np.float16), labels=np.asarray(labels, np.int64),
                 ids=np.asarray(ids).astype(str))
        atomic_write_bytes(ws.root / rel, buf.getvalue())
        ws.catalog.record("predictions", f"{probe}/seed{seed}/{pool}", rel)
