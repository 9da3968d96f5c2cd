"""Proportions with a Wilson interval for the report (``evalkit.stats.wilson_ci``)."""
from __future__ import annotations

import math

from ..stats import wilson_ci

__all__ = ["proportion"]


def proportion(k: int, n: int) -> dict:
    """``{"acc", "lo", "hi", "k", "n"}`` for k correct out of n, with a Wilson 95% interval."""
    lo, hi = wilson_ci(int(k), int(n))
    return {"acc": (k / n) if n else math.nan, "lo": lo, "hi": hi, "k": int(k), "n": int(n)}
