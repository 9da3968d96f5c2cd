"""Paired statistics (evalkit.stats_paired) against hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest

from evalkit.stats_paired import discordant, error_consistency, holm, kappa_from_counts, mcnemar_exact


@pytest.mark.parametrize("b, c, p", [
    (0, 0, 1.0),
    (5, 0, 2 / 32),              # P(X <= 0), X ~ Bin(5, 1/2), doubled
    (0, 5, 2 / 32),
    (1, 9, 2 * 11 / 1024),       # (C(10,0) + C(10,1)) / 2^10, doubled
    (2, 8, 2 * 56 / 1024),       # (1 + 10 + 45) / 1024, doubled
    (3, 3, 1.0),                 # doubled tail exceeds 1: capped
])
def test_mcnemar_exact_hand_values(b, c, p):
    assert mcnemar_exact(b, c) == pytest.approx(p, rel=1e-12)


def test_mcnemar_rejects_negative_counts():
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 3)


def test_discordant_counts():
    a = [1, 1, 0, 0, 1, 0]
    b = [1, 0, 1, 0, 0, 0]
    assert discordant(a, b) == (2, 1)


def test_holm_hand_values():
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> running max 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.02, None, 0.5]) == [pytest.approx(0.04), None, pytest.approx(0.5)]
    assert holm([0.6, 0.7]) == [1.0, 1.0]
    assert holm([]) == []


def test_kappa_hand_value():
    # pA = 0.5, pB = 0.45, c_obs = 0.85, c_exp = 0.5*0.45 + 0.5*0.55 = 0.5 -> kappa = 0.35 / 0.5
    assert float(kappa_from_counts(40, 10, 5, 45)) == pytest.approx(0.7)
    assert np.isnan(kappa_from_counts(10, 0, 0, 0))          # both always right: undefined


def _pairs(n11, n10, n01, n00):
    a = np.array([1] * n11 + [1] * n10 + [0] * n01 + [0] * n00, dtype=bool)
    b = np.array([1] * n11 + [0] * n10 + [1] * n01 + [0] * n00, dtype=bool)
    return a, b


def test_error_consistency_value_and_ci():
    a, b = _pairs(40, 10, 5, 45)
    ec = error_consistency(a, b, n_boot=4000, seed=0)
    assert ec["kappa"] == pytest.approx(0.7) and ec["c_obs"] == pytest.approx(0.85)
    assert ec["c_exp"] == pytest.approx(0.5) and ec["cells"] == [40, 10, 5, 45] and ec["n"] == 100
    assert ec["lo"] < 0.7 < ec["hi"]
    # the multinomial draw of cell counts is the image bootstrap: compare with resampling images
    rng = np.random.default_rng(1)
    idx = rng.integers(0, 100, size=(4000, 100))
    aa, bb = a[idx], b[idx]
    reps = kappa_from_counts((aa & bb).sum(1), (aa & ~bb).sum(1), (~aa & bb).sum(1), (~aa & ~bb).sum(1))
    lo, hi = np.percentile(reps, [2.5, 97.5])
    assert ec["lo"] == pytest.approx(lo, abs=0.03) and ec["hi"] == pytest.approx(hi, abs=0.03)
    # close to the large-sample normal interval: kappa +- 1.96 sqrt(c_obs (1 - c_obs) / n) / (1 - c_exp)
    half = 1.959964 * np.sqrt(0.85 * 0.15 / 100) / 0.5
    assert (ec["hi"] - ec["lo"]) / 2 == pytest.approx(half, rel=0.25)
    assert error_consistency(a, b, n_boot=500, seed=3) == error_consistency(a, b, n_boot=500, seed=3)


def test_error_consistency_undefined_and_empty():
    a, b = _pairs(10, 0, 0, 0)
    ec = error_consistency(a, b)
    assert ec["kappa"] is None and ec["lo"] is None and ec["c_obs"] == 1.0
    assert error_consistency([], [])["n"] == 0
