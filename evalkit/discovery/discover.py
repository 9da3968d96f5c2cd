"""The discovery run: split seeds, select subsets on selection seeds, validate on held-out seeds.

Keep rule (documented in bench/RESULTS.md): a subset is kept when its bootstrap 95% CI of the
validated gap lies entirely above 0 AND its exact McNemar p-value, adjusted over all tested
subsets of the run (Holm by default), is below ``alpha``. The CI alone would let about 2.5% of
null subsets through, and a run tests P*(P-1)+P subsets, so the adjustment is what keeps pure
noise from producing "discoveries".
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import UserError
from .audit import SuspectImage, audit_labels, suspect_mask
from .correctness import CorrectnessMatrix, SeedSplit, mean_correctness, split_seeds
from .selection import select_subsets, subset_specs
from .stats import GapEstimate, gap_with_ci, holm

CORRECTIONS = ("holm", "bonferroni", "none")


@dataclass(frozen=True)
class DiscoverySettings:
    """Options of a discovery run (all recorded with the result)."""

    size: int = 100
    balanced: bool = False
    min_margin: float = 0.0
    max_reuse: int | None = None
    include_suspect: bool = False
    audit_confidence: float = 0.7
    n_boot: int = 1000
    alpha: float = 0.05
    correction: str = "holm"
    split_seed: int = 0
    random_state: int = 0

    def __post_init__(self):
        if self.size < 1:
            raise UserError(f"discovery size must be >= 1, got {self.size}")
        if not -1.0 <= self.min_margin < 1.0:
            raise UserError(f"discovery min_margin must be in [-1, 1), got {self.min_margin}")
        if self.max_reuse is not None and self.max_reuse < 1:
            raise UserError(f"discovery max_reuse must be >= 1, got {self.max_reuse}")
        if not 0.0 < self.alpha < 1.0:
            raise UserError(f"discovery alpha must be in (0, 1), got {self.alpha}")
        if self.n_boot < 100:
            raise UserError(f"discovery n_boot must be >= 100, got {self.n_boot}")
        if not 0.0 <= self.audit_confidence <= 1.0:
            raise UserError(f"discovery audit_confidence must be in [0, 1], got {self.audit_confidence}")
        if self.correction not in CORRECTIONS:
            raise UserError(f"discovery correction must be one of {', '.join(CORRECTIONS)}, got {self.correction!r}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SubsetResult:
    """One selected subset and its validation on held-out seeds."""

    id: str
    kind: str
    probe_a: str
    probe_b: str
    indices: tuple[int, ...]          # pool indices, ascending
    n_candidates: int                 # images with selection score > min_margin
    selection_gap: float              # gap on the selection seeds (optimistic by construction)
    validation: GapEstimate
    random_indices: tuple[int, ...]
    random: GapEstimate
    mcnemar_p_adjusted: float
    kept: bool
    flags: tuple[str, ...]


@dataclass(frozen=True)
class DiscoveryResult:
    """Everything a run found: the seed split, every subset with its statistics, the label audit."""

    pool: str
    settings: DiscoverySettings
    split: SeedSplit
    subsets: tuple[SubsetResult, ...]
    suspects: tuple[SuspectImage, ...]
    n_images: int
    probes: tuple[str, ...]
    sources: dict = field(default_factory=dict)

    @property
    def kept(self) -> tuple[SubsetResult, ...]:
        return tuple(s for s in self.subsets if s.kept)


def _sides(matrix: CorrectnessMatrix, spec, seeds: dict, idx: np.ndarray):
    def rows(p):
        return matrix.correct[np.ix_(matrix.row_indices(p, seeds[p]), idx)].astype(np.float64)

    others = [spec.probe_b] if spec.kind == "pair" else [p for p in matrix.probes if p != spec.probe_a]
    return [rows(spec.probe_a)], [rows(p) for p in others]


def _stable_key(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def _adjust(p: np.ndarray, correction: str) -> np.ndarray:
    if correction == "holm":
        return holm(p)
    if correction == "bonferroni":
        return np.minimum(1.0, p * p.size)
    return p.copy()


def _flags(n: int, size: int, est: GapEstimate, p_adj: float, alpha: float) -> tuple[str, ...]:
    if n == 0:
        return ("empty",)
    flags = []
    if n < size:
        flags.append("short")
    if est.lo <= 0.0 <= est.hi:
        flags.append("ci_includes_zero")
    elif est.hi < 0.0:
        flags.append("reversed")
    if p_adj >= alpha:
        flags.append("not_significant")
    return tuple(flags)


def discover(matrix: CorrectnessMatrix, settings: DiscoverySettings | None = None) -> DiscoveryResult:
    """Select a subset per ordered probe pair and per probe-vs-rest on the selection seeds, then
    validate each (and a random subset of the same size) on the validation seeds."""
    st = settings or DiscoverySettings()
    split = split_seeds(matrix, st.split_seed)
    probes = matrix.probes
    if len(probes) < 2:
        raise UserError(f"discovery needs >= 2 probes with predictions on {matrix.pool}; found {len(probes)}")
    # Selection: only the selection rows are read from here on until validation.
    sel_rows = np.concatenate([matrix.row_indices(p, split.selection[p]) for p in probes])
    sel_acc = mean_correctness(matrix, split.selection)
    sel_prob = mean_correctness(matrix, split.selection, probabilities=True)
    eligible = None if st.include_suspect else ~suspect_mask(matrix, sel_rows, confidence=st.audit_confidence)
    chosen = select_subsets(subset_specs(probes), probes, sel_acc, sel_prob, matrix.labels,
                            size=st.size, min_margin=st.min_margin, balanced=st.balanced,
                            max_reuse=st.max_reuse, eligible=eligible)
    # Validation on held-out seeds.
    suspects = audit_labels(matrix, confidence=st.audit_confidence)
    pool_for_random = np.ones(matrix.n_images, dtype=bool)
    if not st.include_suspect:
        pool_for_random[[s.index for s in suspects]] = False
    random_pool = np.flatnonzero(pool_for_random)
    staged = []
    for spec, idx, n_cand in chosen:
        idx = np.sort(idx)
        key = _stable_key(spec.id)
        rng = np.random.default_rng([st.random_state, key])
        sel_a, sel_b = _sides(matrix, spec, split.selection, idx)
        sel_gap = float(np.mean(sel_a[0]) - np.mean([s.mean() for s in sel_b])) if idx.size else float("nan")
        est = gap_with_ci(*_sides(matrix, spec, split.validation, idx), rng=rng, n_boot=st.n_boot)
        rand_idx = np.sort(rng.choice(random_pool, size=min(idx.size, random_pool.size), replace=False))
        rand = gap_with_ci(*_sides(matrix, spec, split.validation, rand_idx), rng=rng, n_boot=st.n_boot)
        staged.append((spec, idx, n_cand, sel_gap, est, rand_idx, rand))
    p_adj = _adjust(np.array([s[4].mcnemar_p for s in staged]), st.correction)
    subsets = []
    for (spec, idx, n_cand, sel_gap, est, rand_idx, rand), pa in zip(staged, p_adj):
        flags = _flags(idx.size, st.size, est, float(pa), st.alpha)
        kept = idx.size > 0 and not ({"empty", "ci_includes_zero", "reversed", "not_significant"} & set(flags))
        subsets.append(SubsetResult(spec.id, spec.kind, spec.probe_a, spec.probe_b,
                                    tuple(int(i) for i in idx), n_cand, sel_gap, est,
                                    tuple(int(i) for i in rand_idx), rand, float(pa), kept, flags))
    return DiscoveryResult(matrix.pool, st, split, tuple(subsets), tuple(suspects), matrix.n_images,
                           probes, dict(matrix.sources))


def summary_table(result: DiscoveryResult) -> dict:
    """Headline figures: mean validated gap over kept pair subsets vs random subsets' mean |gap|."""
    pairs = [s for s in result.subsets if s.kind == "pair" and s.indices]
    kept_pairs = [s for s in pairs if s.kept]
    return {
        "n_subsets": len(result.subsets),
        "n_kept": len(result.kept),
        "n_pair_subsets": len(pairs),
        "n_kept_pairs": len(kept_pairs),
        "mean_kept_pair_gap": float(np.mean([s.validation.gap for s in kept_pairs])) if kept_pairs else float("nan"),
        "mean_pair_gap": float(np.mean([s.validation.gap for s in pairs])) if pairs else float("nan"),
        "mean_random_abs_gap": float(np.mean([abs(s.random.gap) for s in pairs])) if pairs else float("nan"),
        "n_suspects": len(result.suspects),
    }
