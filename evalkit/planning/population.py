"""What the probe bank knows about every candidate image before any query is paid for.

* the population: the pool images of the kept evaluation sets (what the fingerprint is about)
  and the whole pool (what the accuracy estimate is about);
* difficulty: each pool image's mean correctness over every probe and seed;
* informativeness per cue: how often the reference probes (standard CNNs and the probes blind
  to the cue) change their answer when the cue is ablated, plus membership of the cue's
  standard-vs-blind preference sets. Images where nobody changes carry little evidence.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..fingerprint.cues import CUES
from ..fingerprint.inputs import (load_eval_sets, probe_correctness, reference_ablations,
                                  validation_seeds)
from ..workspace import Workspace


@dataclass(frozen=True, eq=False)
class PlanningData:
    """Everything the planner reads; arrays over the pool are (N,), over the population (P,)."""

    pool: str
    labels: np.ndarray                       # (N,) pool labels
    docs: list[dict]                         # kept evaluation sets
    population: np.ndarray                   # (P,) sorted pool indices of eval-set images
    difficulty: np.ndarray                   # (N,) mean probe correctness (all probes, seeds)
    probes: dict[str, tuple[list[int], np.ndarray]]   # held-out seeds' correctness on the pool
    reference: dict[str, dict[str, np.ndarray]]       # {t: {probe: (S, P)}} on ablated images
    cue_ablations: dict[str, tuple[str, ...]]         # cue -> its ablations (among those used)
    informativeness: dict[str, np.ndarray] = field(default_factory=dict)  # cue -> (P,) >= 0
    preference_sets: dict[str, list[np.ndarray]] = field(default_factory=dict)  # cue -> pool indices per set

    @property
    def n_pool(self) -> int:
        return int(self.labels.shape[0])

    def population_positions(self, indices) -> np.ndarray:
        """Positions in ``population`` of pool indices (which must belong to it)."""
        return np.searchsorted(self.population, np.asarray(indices, dtype=np.int64))


def load_planning_data(ws: Workspace, ablations, images: np.ndarray | Callable, *,
                       pool: str | None = None) -> PlanningData:
    """Read the bank: eval sets, probe predictions and the reference probes on ablated copies
    of every eval-set image (computed locally once, then cached in the workspace)."""
    from ..probes import load_pool_labels, load_pool_predictions

    pool, docs = load_eval_sets(ws, pool)
    labels = np.asarray(load_pool_labels(ws, pool)[0], dtype=np.int64)
    population = np.array(sorted({int(i) for d in docs for i in d["indices"]}), dtype=np.int64)
    preds = load_pool_predictions(ws, pool)
    difficulty = np.mean([np.asarray(p).argmax(1) == labels for p in preds.values()], axis=0)
    probes = probe_correctness(ws, pool, labels, validation_seeds(ws, pool))
    ablations = tuple(sorted(set(ablations)))
    reference = reference_ablations(ws, pool, population, ablations, images,
                                    {p: s for p, (s, _) in probes.items()}, labels) if ablations else {}
    cue_abl = {n: tuple(t for t in CUES.get(n).ablations if t in ablations) for n in CUES.names()}
    cue_abl = {n: t for n, t in cue_abl.items() if t}
    data = PlanningData(pool, labels, docs, population, difficulty, probes, reference, cue_abl)
    return PlanningData(**{**data.__dict__, "informativeness": informativeness(data),
                           "preference_sets": preference_sets(data)})


def preference_sets(data: PlanningData) -> dict[str, list[np.ndarray]]:
    """cue -> the pool indices of each of its standard-vs-blind pair sets (the preference
    components need the classifier's accuracy on each of them)."""
    out = {}
    for cue in data.cue_ablations:
        spec = CUES.get(cue)
        out[cue] = [np.asarray(d["indices"], dtype=np.int64) for d in data.docs
                    if d.get("kind") == "pair" and {d["probe_a"], d["probe_b"]} & set(spec.users)
                    and {d["probe_a"], d["probe_b"]} & set(spec.blind)]
    return {c: v for c, v in out.items() if v}


def informativeness(data: PlanningData) -> dict[str, np.ndarray]:
    """cue -> (P,) score: the reference probes' answer-change rate under the cue's ablations
    (users and blind probes alike: a change by either separates the two)."""
    out = {}
    for cue, ablations in data.cue_ablations.items():
        spec = CUES.get(cue)
        probes = [p for p in (*spec.users, *spec.blind) if p in data.probes] or list(data.reference.get(ablations[0], {}))
        flips = []
        for t in ablations:
            for p in probes:
                if p not in data.reference.get(t, {}):
                    continue
                clean = data.probes[p][1][:, data.population]
                flips.append(np.abs(clean - data.reference[t][p]).mean(axis=0))
        score = np.mean(flips, axis=0) if flips else np.zeros(data.population.size)
        out[cue] = score
    return out
