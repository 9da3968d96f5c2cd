"""Spread between reference models: how far a single model of a probe's own recipe lands from the
anchors of the relative scale.

A cue score's bootstrap CI covers the sampling of images only, but its anchors (1 = the standard
CNNs, 0 = the probes blind to the cue) are averages over a few probe seeds, and another seed of the
same recipe scores differently: a new seed of the control CNN is a standard CNN, yet on image
sampling alone it can read "more" reliant on fine texture than the control probes. So each held-out
seed of each reference probe is scored exactly like a classifier, on the same components, and the
pooled within-recipe variance of those scores (``df`` = seeds minus one, summed over the probes)
estimates how far one model strays from its recipe. The verdict's bootstrap replicates get
``t_df * sd * sqrt(1 + 1/m)`` added (``m``: the fewer seed-models of the two anchors), so the CI is a
prediction-style interval: it excludes 1 only when the classifier lies outside what a new standard
CNN would plausibly score, and includes 0 whenever a new blind probe plausibly could.
"""
from __future__ import annotations

import dataclasses
import math
import zlib
from dataclasses import dataclass

import numpy as np

from .evidence import Trials, compute_replicates


@dataclass(frozen=True)
class ReferenceSpread:
    """Pooled within-recipe spread of single reference models' cue scores."""

    sd: float                            # sd of one model's score around its recipe's mean
    df: int                              # degrees of freedom of ``sd``
    n_user_models: int                   # seed-models behind the standard anchor (1)
    n_blind_models: int                  # seed-models behind the blind anchor (0)
    seed_scores: dict[str, tuple[float, ...]]  # probe -> score of each held-out seed

    @property
    def scale(self) -> float:
        """Spread of a new model's score around the anchor mean (the anchor is estimated too)."""
        m = max(1, min(self.n_user_models, self.n_blind_models))
        return self.sd * math.sqrt(1.0 + 1.0 / m)

    def to_dict(self) -> dict:
        return {"sd": round(self.sd, 6), "df": self.df, "scale": round(self.scale, 6),
                "seed_scores": {p: [round(v, 6) for v in s] for p, s in self.seed_scores.items()}}


def seed_as_model(trials: Trials, probe: str, row: int) -> Trials:
    """Trials in which seed ``row`` of ``probe`` plays the classifier, on every image where the
    bank knows its answers (probe figures on the same images, unweighted)."""
    abl = {t: by_probe[probe][row] for t, by_probe in trials.probe_ablation.items() if probe in by_probe}
    return dataclasses.replace(trials, model=trials.probes[probe][row], model_ablation=abl, weights=None,
                               ablation_weights={}, probes_on_population=True)


def reference_spread(spec, trials: Trials, st, components: list[str], score_of) -> ReferenceSpread | None:
    """Spread of cue ``spec``'s score over the held-out seeds of its reference probes.

    ``components``: the names of the components behind the classifier's score (a seed counts only
    when it has the same ones); ``score_of(spec, trials, reps, st, components)`` scores one model.
    None when no reference probe has two usable seeds."""
    scores: dict[str, tuple[float, ...]] = {}
    for probe in dict.fromkeys([*spec.users, *spec.blind]):
        if probe not in trials.probes:
            continue
        vals = []
        for row in range(trials.probes[probe].shape[0]):
            t = seed_as_model(trials, probe, row)
            v = score_of(spec, t, compute_replicates(t, n_boot=0), st, components)
            if np.isfinite(v):
                vals.append(float(v))
        if vals:
            scores[probe] = tuple(vals)
    df = sum(len(v) - 1 for v in scores.values())
    if df < 1:
        return None
    ss = sum(float(np.sum((np.asarray(v) - np.mean(v)) ** 2)) for v in scores.values())
    n_users = sum(len(scores.get(p, ())) for p in spec.users)
    n_blind = sum(len(scores.get(p, ())) for p in spec.blind)
    return ReferenceSpread(math.sqrt(ss / df), df, n_users, n_blind, scores)


def widen(reps: np.ndarray, spread: ReferenceSpread | None, key: str) -> np.ndarray:
    """Replicates plus ``scale * t_df`` noise (row 0, the point estimate, unchanged); the noise is
    drawn from a generator seeded by ``key`` so the same inputs give the same CI."""
    reps = np.asarray(reps, dtype=np.float64)
    if spread is None or spread.sd == 0 or reps.size < 2:
        return reps
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    z = rng.standard_t(spread.df, size=reps.shape[0])
    z[0] = 0.0
    return reps + spread.scale * z
