"""Paired statistics for two runs of one classifier on the same images.

- exact McNemar test: two-sided binomial test (p = 1/2) on the discordant images;
- Newcombe's square-and-add interval (Newcombe 1998, method 10: Wilson intervals of the two
  paired proportions combined with a continuity-corrected correlation) for the change of accuracy;
- Holm's step-down adjustment across evaluation sets;
- a two-sided paired-bootstrap p-value for changes whose replicates share image resamples.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..discovery.stats import holm
from ..stats_paired import mcnemar_exact
from ..stats import Z95, wilson_ci

__all__ = ["PairedChange", "bootstrap_p", "holm", "mcnemar_exact", "newcombe_paired_ci", "paired_change"]


def newcombe_paired_ci(both: int, only_a: int, only_b: int, neither: int, z: float = Z95) -> tuple[float, float]:
    """CI for acc(B) - acc(A) from the paired 2x2 table (both right, only A right, only B right,
    both wrong): Newcombe's square-and-add interval (method 10)."""
    n = both + only_a + only_b + neither
    if n == 0:
        return math.nan, math.nan
    ka, kb = both + only_a, both + only_b             # right in A, right in B
    pa, pb = ka / n, kb / n
    la, ua = wilson_ci(ka, n, z)
    lb, ub = wilson_ci(kb, n, z)
    phi = 0.0
    prod = (ka * (n - ka)) * (kb * (n - kb))
    if prod > 0:
        a = both * neither - only_a * only_b
        phi = (a - n / 2) / math.sqrt(prod) if a > n / 2 else (a / math.sqrt(prod) if a < 0 else 0.0)
    d = pb - pa
    lo = d - math.sqrt(max((pb - lb) ** 2 + (ua - pa) ** 2 - 2 * phi * (pb - lb) * (ua - pa), 0.0))
    hi = d + math.sqrt(max((ub - pb) ** 2 + (pa - la) ** 2 - 2 * phi * (ub - pb) * (pa - la), 0.0))
    return max(-1.0, lo), min(1.0, hi)


def sig(p: float | None) -> float | None:
    """A p-value kept to 4 significant digits (JSON-ready; None if not finite)."""
    return None if p is None or not math.isfinite(p) else float(f"{p:.4g}")


@dataclass(frozen=True)
class PairedChange:
    """Accuracy of run A and run B on the same n images, their difference (B - A) with its
    Newcombe CI, and the exact McNemar p-value."""

    n: int
    acc_a: float
    acc_b: float
    diff: float
    lo: float
    hi: float
    only_a: int      # right in A, wrong in B
    only_b: int      # wrong in A, right in B
    p: float

    def to_dict(self) -> dict:
        f = (lambda x: None if x is None or not math.isfinite(x) else round(float(x), 6))  # noqa: E731
        return {"n": self.n, "acc_a": f(self.acc_a), "acc_b": f(self.acc_b), "diff": f(self.diff),
                "lo": f(self.lo), "hi": f(self.hi), "only_a": self.only_a, "only_b": self.only_b,
                "p": sig(self.p)}


def paired_change(right_a: np.ndarray, right_b: np.ndarray) -> PairedChange:
    """The paired change of accuracy between two boolean correctness vectors over the same images."""
    a, b = np.asarray(right_a, dtype=bool), np.asarray(right_b, dtype=bool)
    n = int(a.size)
    both, only_a, only_b = int(np.sum(a & b)), int(np.sum(a & ~b)), int(np.sum(~a & b))
    if n == 0:
        nan = math.nan
        return PairedChange(0, nan, nan, nan, nan, nan, 0, 0, 1.0)
    p = mcnemar_exact(only_a, only_b)
    lo, hi = newcombe_paired_ci(both, only_a, only_b, n - both - only_a - only_b)
    return PairedChange(n, a.mean(), b.mean(), (only_b - only_a) / n, lo, hi, only_a, only_b, float(p))


def flip_rate(answers_a, answers_b) -> dict:
    """Share of images whose answer changed (abstentions count as an answer), with a Wilson CI."""
    flips = sum(1 for x, y in zip(answers_a, answers_b) if x != y)
    n = len(answers_a)
    lo, hi = wilson_ci(flips, n)
    f = (lambda x: None if not math.isfinite(x) else round(float(x), 6))  # noqa: E731
    return {"flips": flips, "n": n, "rate": f(flips / n) if n else None, "lo": f(lo), "hi": f(hi)}


def bootstrap_p(diff_reps: np.ndarray) -> float:
    """Two-sided p-value of 'no change' from paired-bootstrap replicates of a difference (row 0 =
    point estimate): 2 x the smaller share of replicates on either side of 0, with the usual +1
    correction, so at least 2 / (R + 1). 1.0 when every replicate is exactly 0."""
    boot = np.asarray(diff_reps, dtype=np.float64)[1:]
    boot = boot[np.isfinite(boot)]
    if boot.size == 0:
        return math.nan
    if np.all(boot == 0):
        return 1.0
    tail = min(int(np.sum(boot <= 0)), int(np.sum(boot >= 0)))
    return float(min(1.0, 2.0 * (tail + 1) / (boot.size + 1)))
