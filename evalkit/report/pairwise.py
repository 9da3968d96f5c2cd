"""Pairwise differences between APIs scored on the same images (the report's "API pairs" table).

For each pair (A, B) and each group of images -- all images both answered, then each kept
evaluation set -- the accuracy difference A - B with an exact McNemar test on the discordant
images; the p-values of the whole table are Holm-adjusted together. Each pair also gets its
error consistency (Cohen's kappa on correct/incorrect) on all images both answered.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np

from ..stats_paired import discordant, error_consistency, holm, mcnemar_exact

N_BOOT = 2000
METHOD = (
    "Pairs of APIs are compared on the images both answered (an abstention counts as wrong; failed "
    "queries are left out): accuracy difference A - B on all shared images and on each kept "
    "evaluation set; exact two-sided McNemar test (binomial test with p = 1/2 on the images only one "
    "of the two gets right); Holm adjustment over every test in this table (all pairs and rows). "
    "Error consistency is Cohen's kappa on trial-by-trial correctness (Geirhos et al. 2020) on all "
    f"shared images, with a 95% percentile-bootstrap CI ({N_BOOT} resamples of the images, seed 0). "
    "The figures are unweighted: when the query planner chose the images, they describe the images "
    "both APIs answered, not the whole pool.")


def api_correctness(scores: dict | None, pool_labels: dict[int, int]) -> dict[int, bool]:
    """{pool index: answered correctly} over the scored (not failed) images with a known label."""
    out = {}
    for r in (scores or {}).get("images", []):
        i = int(r["index"])
        if r.get("status") == "scored" and i in pool_labels:
            out[i] = r.get("label") is not None and int(r["label"]) == int(pool_labels[i])
    return out


def _group(name: str, a: dict[int, bool], b: dict[int, bool], indices) -> dict:
    idx = [i for i in dict.fromkeys(indices) if i in a and i in b]
    ca = np.array([a[i] for i in idx], dtype=bool)
    cb = np.array([b[i] for i in idx], dtype=bool)
    only_a, only_b = discordant(ca, cb)
    n = len(idx)
    acc_a, acc_b = (float(ca.mean()), float(cb.mean())) if n else (None, None)
    return {"group": name, "n": n, "acc_a": acc_a, "acc_b": acc_b,
            "diff": None if not n else acc_a - acc_b, "only_a": only_a, "only_b": only_b,
            "p": mcnemar_exact(only_a, only_b) if n else None, "p_holm": None}


def pairwise_differences(correct: dict[str, dict[int, bool]], evalsets: list[dict]) -> dict:
    """{"pairs": [...], "method": str}: one entry per API pair that shares at least one image.

    Each pair: a, b, the "all" group's figures (n, acc_a, acc_b, diff, only_a, only_b, p, p_holm),
    kappa/lo/hi, ``sets`` (one group per kept evaluation set with shared images) and the sets on
    which A or B is better after the adjustment (p_holm < 0.05)."""
    kept = [s for s in evalsets if s.get("kept", True)]
    pairs = []
    for a, b in combinations(sorted(correct), 2):
        ca, cb = correct[a], correct[b]
        everything = _group("all", ca, cb, sorted(ca))
        if not everything["n"]:
            continue
        sets = [_group(str(s.get("id")), ca, cb, [int(i) for i in s.get("indices", [])]) for s in kept]
        common = sorted(set(ca) & set(cb))
        ec = error_consistency([ca[i] for i in common], [cb[i] for i in common], n_boot=N_BOOT, seed=0)
        pairs.append({"a": a, "b": b, **everything, "sets": [g for g in sets if g["n"]],
                      "kappa": ec["kappa"], "kappa_lo": ec["lo"], "kappa_hi": ec["hi"]})
    groups = [g for p in pairs for g in (p, *p["sets"])]
    for g, adj in zip(groups, holm([g["p"] for g in groups])):
        g["p_holm"] = adj
    for p in pairs:
        sig = [g for g in p["sets"] if g["p_holm"] is not None and g["p_holm"] < 0.05]
        p["better_a"] = [g["group"] for g in sig if g["diff"] > 0]
        p["better_b"] = [g["group"] for g in sig if g["diff"] < 0]
    return {"pairs": pairs, "method": METHOD}
