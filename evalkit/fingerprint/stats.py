"""Small statistics helpers: bootstrap weights, percentile intervals and Cohen's kappa.

Every bootstrapped figure in this package is computed from one matrix of image weights
``W`` of shape (R, U): row 0 is all ones (the point estimate), rows 1.. are multinomial
resamples of the U images. All statistics are ratios of weighted sums, so one resample
moves every figure (accuracy, preference, kappa, kept accuracy) together.
"""
from __future__ import annotations

import math

import numpy as np

from ..stats_paired import kappa_from_rates  # noqa: F401  (re-exported: one kappa for the package)


def bootstrap_weights(n_items: int, n_boot: int, seed: int) -> np.ndarray:
    """(1 + n_boot, n_items) float64 weights: a row of ones, then multinomial resamples."""
    rng = np.random.default_rng(seed)
    w = np.ones((1 + n_boot, n_items), dtype=np.float64)
    if n_boot and n_items:
        w[1:] = rng.multinomial(n_items, np.full(n_items, 1.0 / n_items), size=n_boot)
    return w


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with NaN where den == 0."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def percentile_ci(replicates: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the bootstrap rows (row 0 is the point estimate and is skipped)."""
    boot = np.asarray(replicates, dtype=np.float64)[1:]
    boot = boot[np.isfinite(boot)]
    if boot.size == 0:
        return math.nan, math.nan
    a = (1 - level) / 2
    lo, hi = np.quantile(boot, [a, 1 - a])
    return float(lo), float(hi)


def cohen_kappa(a: np.ndarray, b: np.ndarray) -> float:
    """Error-consistency kappa of two boolean correctness vectors (unweighted, for checks)."""
    a = np.asarray(a, dtype=bool)
    b = np.asarray(b, dtype=bool)
    k, _ = kappa_from_rates(np.mean(a == b), a.mean(), b.mean())
    return float(k)
