"""Evidence about one classifier: accuracy per evaluation set, preferences between probes,
error consistency with each probe, and the accuracy kept under cue ablations.

Inputs are trial-by-trial correctness arrays over the same U pool images (:class:`Trials`);
outputs are bootstrap replicates (:class:`Replicates`, row 0 = point estimate) and a frozen
summary with confidence intervals (:class:`Evidence`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..stats import wilson_ci
from .stats import bootstrap_weights, kappa_from_rates, percentile_ci, ratio


@dataclass(frozen=True, eq=False)
class EvalSetSpec:
    """One evaluation set: ``positions`` index the Trials' image axis."""

    id: str
    kind: str            # "pair" | "rest"
    probe_a: str
    probe_b: str         # "rest" for one-vs-rest sets
    positions: np.ndarray


@dataclass(frozen=True, eq=False)
class Trials:
    """Correctness (1 right, 0 wrong, NaN not available) of a classifier and of the probes.

    index:          (U,) pool indices of the images
    model:          (U,) the classifier on the original images (abstain = 0, failed = NaN)
    probes:         {probe: (S, U)} probe seeds on the original images (held-out seeds)
    model_ablation: {transform: (U,)} the classifier on transformed images
    probe_ablation: {transform: {probe: (S, U)}} reference probes on transformed images
    weights:        (U,) design weights of the original-image answers (None = all 1): the inverse
                    of each image's expected number of draws when a query planner chose the
                    images, so every figure is a weighted (Horvitz-Thompson style) estimate of
                    its value on the whole population of evaluation-set images
    ablation_weights: {transform: (U,)} the same for the answers on transformed images
    """

    index: np.ndarray
    sets: tuple[EvalSetSpec, ...]
    model: np.ndarray
    probes: dict[str, np.ndarray]
    model_ablation: dict[str, np.ndarray] = field(default_factory=dict)
    probe_ablation: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    weights: np.ndarray | None = None
    ablation_weights: dict[str, np.ndarray] = field(default_factory=dict)
    probes_on_population: bool = False  # probe figures use every image (known for free), not
                                        # only the classifier's weighted sample

    def __post_init__(self):
        u = self.index.shape[0]
        if self.model.shape != (u,):
            raise ValueError(f"model correctness has shape {self.model.shape}, expected ({u},)")
        for name, arr in self.probes.items():
            if arr.ndim != 2 or arr.shape[1] != u:
                raise ValueError(f"probe {name!r} correctness has shape {arr.shape}, expected (S, {u})")
        for t, arr in self.model_ablation.items():
            if arr.shape != (u,):
                raise ValueError(f"ablation {t!r} correctness has shape {arr.shape}, expected ({u},)")
        for name, arr in [("weights", self.weights), *self.ablation_weights.items()]:
            if arr is not None and (arr.shape != (u,) or not np.all(np.isfinite(arr)) or np.any(arr < 0)):
                raise ValueError(f"design weights {name!r} must be finite, >= 0 and of shape ({u},)")

    def design_weights(self, transform: str | None = None) -> np.ndarray:
        """(U,) design weights of the original images, or of one transform's answers."""
        w = self.ablation_weights.get(transform) if transform else None
        if w is None:
            w = self.weights
        return np.ones(self.index.shape[0]) if w is None else np.asarray(w, dtype=np.float64)

    @property
    def in_sets(self) -> np.ndarray:
        """(U,) bool: the image belongs to at least one evaluation set."""
        mask = np.zeros(self.index.shape[0], dtype=bool)
        for s in self.sets:
            mask[s.positions] = True
        return mask


@dataclass(frozen=True, eq=False)
class Replicates:
    """Row 0 = point estimate, rows 1.. = bootstrap resamples of the images."""

    set_acc: dict[str, np.ndarray]                  # set -> (R,)
    set_counts: dict[str, tuple[int, int]]          # set -> (correct, scored)
    probe_set_acc: dict[str, dict[str, np.ndarray]]  # set -> probe -> (R,) mean over seeds
    kappa: dict[str, np.ndarray]                    # probe -> (R,)
    kappa_max: dict[str, np.ndarray]                # probe -> (R,)
    kept: dict[str, np.ndarray]                     # transform -> (R,)
    kept_n: dict[str, int]                          # transform -> images scored both ways
    probe_kept: dict[str, dict[str, np.ndarray]]    # transform -> probe -> (R,)
    n_boot: int
    weighted: bool = False                          # design weights were not all equal


def _seed_mean_acc(w: np.ndarray, corr: np.ndarray) -> np.ndarray:
    """Weighted accuracy of each seed row of corr (S, n), averaged over seeds -> (R,)."""
    den = w.sum(axis=1, keepdims=True)
    return ratio(w @ corr.T, den).mean(axis=1)


def compute_replicates(trials: Trials, *, n_boot: int = 1000, seed: int = 0) -> Replicates:
    """Bootstrap every figure of the evidence over the same image resamples."""
    u = trials.index.shape[0]
    boot = bootstrap_weights(u, n_boot, seed)
    w = boot * trials.design_weights()
    wp = boot if trials.probes_on_population else w   # the same resample of images either way
    m = trials.model
    scored = np.isfinite(m)
    m0 = np.where(scored, m, 0.0)

    set_acc, set_counts, probe_set_acc = {}, {}, {}
    for s in trials.sets:
        pos = s.positions[scored[s.positions]]
        ws = w[:, pos]
        set_acc[s.id] = ratio(ws @ m0[pos], ws.sum(axis=1))
        set_counts[s.id] = (int(m0[pos].sum()), int(pos.size))
        probe_set_acc[s.id] = {p: _seed_mean_acc(wp[:, s.positions], c[:, s.positions])
                               for p, c in trials.probes.items()}

    kappa, kappa_max = {}, {}
    v = (trials.in_sets & scored).astype(np.float64)
    wv = w * v
    n = wv.sum(axis=1)
    sum_m = wv @ m0
    for p, c in trials.probes.items():
        c = np.nan_to_num(c)
        sum_p = wv @ c.T                       # (R, S)
        sum_mp = wv @ (c * m0).T                # (R, S)
        both_wrong = n[:, None] - sum_m[:, None] - sum_p + sum_mp
        c_obs = ratio(sum_mp + both_wrong, n[:, None])
        k, kmax = kappa_from_rates(c_obs, ratio(sum_m, n)[:, None], ratio(sum_p, n[:, None]))
        kappa[p], kappa_max[p] = k.mean(axis=1), kmax.mean(axis=1)

    kept, kept_n, probe_kept = {}, {}, {}
    for t, mt in trials.model_ablation.items():
        both = scored & np.isfinite(mt)
        if not both.any():
            continue
        wt = boot * trials.design_weights(t)
        wb = wt * both
        kept[t] = ratio(wb @ np.where(both, mt, 0.0), wb @ m0)
        kept_n[t] = int(both.sum())
        probe_kept[t] = {}
        for p, pt in trials.probe_ablation.get(t, {}).items():
            ok = np.isfinite(pt).all(axis=0) & (True if trials.probes_on_population else both)
            wo = (boot if trials.probes_on_population else wt) * ok
            orig = np.nan_to_num(trials.probes[p])
            probe_kept[t][p] = ratio(wo @ np.nan_to_num(pt).T, wo @ orig.T).mean(axis=1)
    weighted = trials.weights is not None or bool(trials.ablation_weights)
    return Replicates(set_acc, set_counts, probe_set_acc, kappa, kappa_max, kept, kept_n,
                      probe_kept, n_boot, weighted)


# ---- summaries with confidence intervals -------------------------------------------------

@dataclass(frozen=True)
class Estimate:
    value: float
    lo: float
    hi: float

    def to_dict(self) -> dict:
        return {"value": _num(self.value), "lo": _num(self.lo), "hi": _num(self.hi)}


def _num(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 6)


def estimate(reps: np.ndarray) -> Estimate:
    """Point estimate (row 0) with a percentile bootstrap CI."""
    lo, hi = percentile_ci(reps)
    return Estimate(float(reps[0]), lo, hi)


def pair_preferences(trials: Trials) -> list[tuple[str, str, str, str]]:
    """(a, b, id of the a-beats-b set, id of the b-beats-a set) for every pair with both sets."""
    by_pair = {(s.probe_a, s.probe_b): s.id for s in trials.sets if s.kind == "pair"}
    out = []
    for (a, b), sid in sorted(by_pair.items()):
        if a < b and (b, a) in by_pair:
            out.append((a, b, sid, by_pair[(b, a)]))
    return out


def preference_reps(reps: Replicates, ab: str, ba: str, probe: str | None = None) -> np.ndarray:
    """acc(A-beats-B set) - acc(B-beats-A set) for the classifier (or a probe) -> (R,)."""
    if probe is None:
        return reps.set_acc[ab] - reps.set_acc[ba]
    return reps.probe_set_acc[ab][probe] - reps.probe_set_acc[ba][probe]


@dataclass(frozen=True)
class Evidence:
    """All measured figures for one classifier, ready for JSON."""

    accuracy_per_set: dict
    preferences: list
    error_consistency: dict
    ablation: dict


def summarize(trials: Trials, reps: Replicates) -> Evidence:
    """Wilson CIs per set, bootstrap CIs for preferences, kappas and kept accuracy."""
    acc = {}
    for sid, (k, n) in reps.set_counts.items():
        if reps.weighted:  # weighted estimate of the whole set's accuracy, bootstrap CI
            e = estimate(reps.set_acc[sid])
            acc[sid] = {"acc": _num(e.value), "lo": _num(e.lo), "hi": _num(e.hi), "n": n}
            continue
        lo, hi = wilson_ci(k, n)
        acc[sid] = {"acc": _num(k / n) if n else None, "lo": _num(lo), "hi": _num(hi), "n": n}
    prefs = []
    for a, b, ab, ba in pair_preferences(trials):
        e = estimate(preference_reps(reps, ab, ba))
        prefs.append({"a": a, "b": b, "value": _num(e.value), "lo": _num(e.lo), "hi": _num(e.hi),
                      "n_ab": reps.set_counts[ab][1], "n_ba": reps.set_counts[ba][1]})
    cons = {}
    for p, k in reps.kappa.items():
        e = estimate(k)
        kmax = float(reps.kappa_max[p][0])
        cons[p] = {"kappa": _num(e.value), "lo": _num(e.lo), "hi": _num(e.hi),
                   "kappa_max": _num(kmax), "ratio": _num(e.value / kmax) if kmax > 0 else None}
    abl = {}
    for t, k in reps.kept.items():
        e = estimate(k)
        abl[t] = {"kept": _num(e.value), "lo": _num(e.lo), "hi": _num(e.hi), "n": reps.kept_n[t],
                  "reference": {p: _num(v[0]) for p, v in reps.probe_kept.get(t, {}).items()}}
    return Evidence(acc, prefs, cons, abl)
