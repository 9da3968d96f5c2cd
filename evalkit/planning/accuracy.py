"""The API's accuracy on the whole pool (and per class) from the planner's answers.

Post-stratified estimator: the pool is cut into strata (class x probe-difficulty bin, see
``design.difficulty_strata``); within a stratum the answered images' correctness is averaged
with their design weights (Hajek ratio), and strata are combined by their pool sizes. Every
answer the planner bought on a clean image counts, whichever design drew it. The CI is a
percentile bootstrap that resamples the answered images within each class (collapsed strata: a
class x difficulty stratum holds only a few answers, and resampling within it understated the
spread; bench/RESULTS.md, "Query budget").
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..fingerprint.stats import percentile_ci
from .design import DrawLedger


@dataclass(frozen=True)
class PoolAccuracy:
    """Estimated accuracy on the pool with a 95% CI; ``per_class`` maps class index -> same."""

    acc: float
    lo: float
    hi: float
    n_answered: int
    n_pool: int
    per_class: dict[int, tuple[float, float, float, int]]

    def to_dict(self, class_names=None) -> dict:
        name = (lambda k: class_names[k]) if class_names is not None else str
        return {"acc": round(self.acc, 6), "lo": round(self.lo, 6), "hi": round(self.hi, 6),
                "n_answered": self.n_answered, "n_pool": self.n_pool,
                "method": "post-stratified by class x probe difficulty, design-weighted, "
                          "bootstrap 95% CI resampling within class",
                "per_class": {name(k): {"acc": round(a, 6), "lo": round(lo, 6), "hi": round(hi, 6), "n": n}
                              for k, (a, lo, hi, n) in self.per_class.items()}}


def estimate_pool_accuracy(ledger: DrawLedger, answers: dict[int, int | None], labels: np.ndarray,
                           strata: np.ndarray, *, n_boot: int = 1000, seed: int = 0,
                           resample_within: str = "class") -> PoolAccuracy | None:
    """Accuracy of the answers (``{pool index: class | None}``, None = abstained = wrong) on the
    whole pool; None when no stratum of some class has an answer. ``resample_within``: 'class'
    (collapsed strata, the default) or 'stratum' (the narrower within-stratum bootstrap, kept
    as the baseline of bench/bench_pool_accuracy.py)."""
    if resample_within not in ("class", "stratum"):
        raise ValueError(f"resample_within must be 'class' or 'stratum', got {resample_within!r}")
    idx = np.array(sorted(int(i) for i in answers), dtype=np.int64)
    if idx.size == 0:
        return None
    correct = np.array([answers[int(i)] is not None and int(answers[int(i)]) == int(labels[i]) for i in idx],
                       dtype=np.float64)
    w = ledger.weights(idx)
    keep = w > 0
    idx, correct, w = idx[keep], correct[keep], w[keep]
    n_strata = int(strata.max()) + 1
    size = np.bincount(strata, minlength=n_strata).astype(np.float64)
    rng = np.random.default_rng(seed)
    means = np.full((1 + n_boot, n_strata), np.nan)
    classes = np.unique(labels)
    # the bootstrap resamples a class's answers together (collapsed strata): strata of a few
    # answers each would make a within-stratum bootstrap too narrow
    groups = labels if resample_within == "class" else strata
    for k in np.unique(groups):
        in_k = np.flatnonzero(groups[idx] == k)
        if not in_k.size:
            continue
        boot = np.ones((1 + n_boot, in_k.size))
        boot[1:] = rng.multinomial(in_k.size, np.full(in_k.size, 1.0 / in_k.size), size=n_boot)
        for h in np.unique(strata[idx[in_k]]):
            cols = np.flatnonzero(strata[idx[in_k]] == h)
            sel = in_k[cols]
            ww = boot[:, cols] * w[sel]
            den = ww.sum(axis=1)
            means[:, h] = np.divide(ww @ correct[sel], den, out=np.full(den.shape, np.nan), where=den > 0)
    per_class, class_means = {}, []
    for k in classes:
        hs = np.unique(strata[labels == k])
        m = means[:, hs]
        if not np.isfinite(m[0]).any():
            return None
        # a stratum without answers (in the data or in a resample) borrows its class's other
        # strata (size-weighted)
        have = np.isfinite(m)
        with np.errstate(invalid="ignore", divide="ignore"):
            fill = np.nansum(m * size[hs], axis=1) / (have * size[hs]).sum(axis=1)
        m = np.where(np.isfinite(m), m, fill[:, None])
        cm = (m * size[hs]).sum(axis=1) / size[hs].sum()
        lo, hi = percentile_ci(cm)
        per_class[int(k)] = (float(cm[0]), lo, hi, int(np.isin(strata[idx], hs).sum()))
        class_means.append(cm * size[hs].sum())
    total = np.sum(class_means, axis=0) / size.sum()
    lo, hi = percentile_ci(total)
    return PoolAccuracy(float(total[0]), lo, hi, int(idx.size), int(labels.shape[0]), per_class)
