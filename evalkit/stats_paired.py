"""Paired comparisons of two classifiers on the same images (shared by the report and run comparisons).

- :func:`mcnemar_exact`: exact two-sided McNemar test, a binomial test on the discordant pairs.
- :func:`holm`: Holm's step-down adjustment of a family of p-values.
- :func:`kappa_from_rates` / :func:`kappa_from_counts`: Cohen's kappa on correct/incorrect.
- :func:`error_consistency`: Cohen's kappa on trial-by-trial correctness (Geirhos et al. 2020,
  "error consistency") with a percentile-bootstrap CI over the images.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy.stats import binom

__all__ = ["discordant", "mcnemar_exact", "holm", "kappa_from_rates", "kappa_from_counts", "error_consistency"]


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


def kappa_from_rates(c_obs, p1, p2):
    """Cohen's kappa for error consistency (Geirhos et al. 2020) and its maximum, element-wise.

    c_obs: observed agreement (both right or both wrong); p1, p2: the two accuracies.
    Returns (kappa, kappa_max), where kappa_max is the largest kappa two observers with these
    accuracies can reach (observed agreement 1 - |p1 - p2|); NaN where the expected agreement
    is 1 (both always right or both always wrong)."""
    c_obs, p1, p2 = (np.asarray(x, dtype=np.float64) for x in (c_obs, p1, p2))
    c_exp = p1 * p2 + (1 - p1) * (1 - p2)
    c_max = 1 - np.abs(p1 - p2)
    den = 1 - c_exp
    ok = (den > 0) & ~np.isclose(c_exp, 1.0)
    kappa = np.full(np.broadcast(c_obs, den).shape, np.nan)
    kmax = np.full(np.broadcast(c_max, den).shape, np.nan)
    np.divide(c_obs - c_exp, den, out=kappa, where=ok)
    np.divide(c_max - c_exp, den, out=kmax, where=ok)
    return kappa, kmax


def kappa_from_counts(n11, n10, n01, n00):
    """Cohen's kappa of two raters' correct/incorrect: cells both right, only A, only B, both wrong
    (element-wise on arrays; NaN where the expected agreement is 1)."""
    n11, n10, n01, n00 = (np.asarray(x, dtype=np.float64) for x in (n11, n10, n01, n00))
    n = n11 + n10 + n01 + n00
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa, _ = kappa_from_rates((n11 + n00) / n, (n11 + n10) / n, (n11 + n01) / n)
    return kappa


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
