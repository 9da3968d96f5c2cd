"""Paired comparisons of two classifiers on the same images (shared by the report and run comparisons).

- :func:`mcnemar_exact`: exact two-sided McNemar test, a binomial test on the discordant pairs.
- :func:`holm`: Holm's step-down adjustment of a family of p-values.
- :func:`error_consistency`: Cohen's kappa on trial-by-trial correctness (Geirhos et al. 2020,
  "error consistency") with a percentile-bootstrap CI over the images.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy.stats import binom

__all__ = ["discordant", "mcnemar_exact", "holm", "kappa_from_counts", "error_consistency"]


def discordant(a_correct, b_correct) -> tuple[int, int]:
    """(b, c): images only A gets right, images only B gets right (boolean arrays of equal length)."""
    a, b = np.asarray(a_correct, dtype=bool), np.asarray(b_correct, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"paired arrays differ in shape: {a.shape} vs {b.shape}")
    return int((a & ~b).sum()), int((~a & b).sum())


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: P(X <= min(b, c)) doubled (capped at 1), X ~ Bin(b + c, 1/2).

    ``b`` and ``c`` are the discordant counts; no discordant pair gives p = 1."""
    b, c = int(b), int(c)
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got b={b}, c={c}")
    n = b + c
    if n == 0:
        return 1.0
    return float(min(1.0, 2.0 * binom.cdf(min(b, c), n, 0.5)))


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values in the input order (None or NaN entries stay None and are not counted).

    The k-th smallest of m p-values becomes max over j <= k of min(1, (m - j + 1) p_(j))."""
    vals = [(i, float(p)) for i, p in enumerate(pvalues) if p is not None and math.isfinite(float(p))]
    out: list[float | None] = [None] * len(pvalues)
    m, running = len(vals), 0.0
    for rank, (i, p) in enumerate(sorted(vals, key=lambda t: t[1])):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def kappa_from_counts(n11, n10, n01, n00):
    """Cohen's kappa of two raters' correct/incorrect: cells both right, only A, only B, both wrong.

    kappa = (c_obs - c_exp) / (1 - c_exp), c_obs = (n11 + n00) / n, c_exp = pA pB + (1 - pA)(1 - pB).
    Works element-wise on arrays; NaN where c_exp = 1 (both always right or always wrong)."""
    n11, n10, n01, n00 = (np.asarray(x, dtype=np.float64) for x in (n11, n10, n01, n00))
    n = n11 + n10 + n01 + n00
    with np.errstate(invalid="ignore", divide="ignore"):
        pa, pb = (n11 + n10) / n, (n11 + n01) / n
        c_obs = (n11 + n00) / n
        c_exp = pa * pb + (1 - pa) * (1 - pb)
        return np.where(np.isclose(c_exp, 1.0), np.nan, (c_obs - c_exp) / (1 - c_exp))


def error_consistency(a_correct, b_correct, *, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> dict:
    """Error consistency of two classifiers on the same images, with a percentile-bootstrap CI.

    The bootstrap resamples the n images with replacement, which for this statistic is a
    multinomial draw of the four cell counts with the observed proportions (``n_boot``
    resamples, ``np.random.default_rng(seed)``); resamples with an undefined kappa are dropped.
    Returns {kappa, lo, hi, c_obs, c_exp, n, cells [n11, n10, n01, n00]}; None where undefined."""
    a, b = np.asarray(a_correct, dtype=bool), np.asarray(b_correct, dtype=bool)
    n10, n01 = discordant(a, b)
    n11, n00 = int((a & b).sum()), int((~a & ~b).sum())
    n = n11 + n10 + n01 + n00
    out = {"kappa": None, "lo": None, "hi": None, "c_obs": None, "c_exp": None, "n": n,
           "cells": [n11, n10, n01, n00]}
    if n == 0:
        return out
    pa, pb = (n11 + n10) / n, (n11 + n01) / n
    out["c_obs"], out["c_exp"] = (n11 + n00) / n, pa * pb + (1 - pa) * (1 - pb)
    k = float(kappa_from_counts(n11, n10, n01, n00))
    if not math.isfinite(k):
        return out
    out["kappa"] = k
    if n_boot > 0:
        draws = np.random.default_rng(seed).multinomial(n, np.array([n11, n10, n01, n00]) / n, size=n_boot)
        reps = kappa_from_counts(*draws.T)
        reps = reps[np.isfinite(reps)]
        if reps.size:
            tail = 100 * (1 - level) / 2
            out["lo"], out["hi"] = (float(v) for v in np.percentile(reps, [tail, 100 - tail]))
    return out
