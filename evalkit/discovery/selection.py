"""Choosing subsets where probe A is right and probe B (or every other probe) is wrong.

Scores use the selection seeds only: callers pass per-probe means over the selection seeds
(:func:`evalkit.discovery.correctness.mean_correctness`), never validation rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REST = "rest"


@dataclass(frozen=True)
class SubsetSpec:
    """Which probes a subset separates: ``probe_a`` right, ``probe_b`` (a probe or "rest") wrong."""

    kind: str       # "pair" | "rest"
    probe_a: str
    probe_b: str

    @property
    def id(self) -> str:
        return f"{self.probe_a}>{self.probe_b}"


def subset_specs(probes) -> list[SubsetSpec]:
    """Every ordered pair (A, B), then every probe against the rest, in a fixed order."""
    probes = sorted(probes)
    pairs = [SubsetSpec("pair", a, b) for a in probes for b in probes if a != b]
    rests = [SubsetSpec("rest", a, REST) for a in probes] if len(probes) > 2 else []
    return pairs + rests


def subset_scores(spec: SubsetSpec, probes, sel_acc: np.ndarray, sel_prob: np.ndarray):
    """(score, tie) per image: A's mean selection correctness minus B's (for "rest": minus the mean
    over the other probes); ``tie`` is the same difference of true-label probabilities."""
    probes = list(probes)
    a = probes.index(spec.probe_a)
    if spec.kind == "pair":
        b = [probes.index(spec.probe_b)]
    else:
        b = [i for i in range(len(probes)) if i != a]
    return (sel_acc[a] - sel_acc[b].mean(axis=0)), (sel_prob[a] - sel_prob[b].mean(axis=0))


def choose_subset(score: np.ndarray, tie: np.ndarray, labels: np.ndarray, *, size: int,
                  min_margin: float = 0.0, balanced: bool = False,
                  available: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Pick up to ``size`` images with ``score > min_margin``: highest score first, then highest
    ``tie``, then lowest index. With ``balanced``, classes take turns (each class's best, then each
    class's second best, ...), so classes are equal as far as candidates allow.
    Returns (indices in ranking order, number of candidates)."""
    cand = score > min_margin
    if available is not None:
        cand &= available
    idx = np.flatnonzero(cand)
    ranked = idx[np.lexsort((idx, -tie[idx], -score[idx]))]
    if balanced and ranked.size:
        lab = labels[ranked]
        by_class = np.argsort(lab, kind="stable")
        sorted_lab = lab[by_class]
        starts = np.searchsorted(sorted_lab, sorted_lab, side="left")
        rank_in_class = np.empty_like(by_class)
        rank_in_class[by_class] = np.arange(by_class.size) - starts
        ranked = ranked[np.lexsort((np.arange(ranked.size), rank_in_class))]
    return ranked[:size], int(idx.size)


def select_subsets(specs, probes, sel_acc: np.ndarray, sel_prob: np.ndarray, labels: np.ndarray, *,
                   size: int, min_margin: float = 0.0, balanced: bool = False,
                   max_reuse: int | None = None, eligible: np.ndarray | None = None):
    """Choose one subset per spec, in ``specs`` order. With ``max_reuse``, an image already used by
    that many earlier subsets is no longer available. Returns [(spec, indices, n_candidates)]."""
    n = labels.shape[0]
    uses = np.zeros(n, dtype=np.int64)
    available = np.ones(n, dtype=bool) if eligible is None else eligible.copy()
    out = []
    for spec in specs:
        score, tie = subset_scores(spec, probes, sel_acc, sel_prob)
        mask = available if max_reuse is None else available & (uses < max_reuse)
        chosen, n_cand = choose_subset(score, tie, labels, size=size, min_margin=min_margin,
                                       balanced=balanced, available=mask)
        uses[chosen] += 1
        out.append((spec, chosen, n_cand))
    return out
