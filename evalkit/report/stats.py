"""Small statistics helpers for the report (Wilson score interval)."""
from __future__ import annotations

import math


def wilson_ci(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes out of ``n`` (95% by default); (nan, nan) if n == 0."""
    if n <= 0:
        return (math.nan, math.nan)
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def proportion(k: int, n: int) -> dict:
    """``{"acc", "lo", "hi", "k", "n"}`` for k correct out of n, with a Wilson 95% interval."""
    lo, hi = wilson_ci(int(k), int(n))
    return {"acc": (k / n) if n else math.nan, "lo": lo, "hi": hi, "k": int(k), "n": int(n)}
