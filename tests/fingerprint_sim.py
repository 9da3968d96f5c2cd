"""Synthetic correctness data with a planted bias, for the verdict tests (test scaffolding).

Each image is solvable through one key cue (colour, fine texture, global shape) or any cue.
A simulated model uses a subset of cues: it is usually right on images whose key cue it uses
(or whose key is 'any') and usually wrong otherwise. Ablating a cue makes the models that used
it lose the images keyed on it. Probes mimic the real bank: each is blind to one cue.
"""
from __future__ import annotations

import numpy as np

from evalkit.fingerprint.evidence import EvalSetSpec, Trials

SIM_CUES = ("colour", "fine_texture", "global_shape")
TRANSFORM_CUE = {"grayscale": "colour", "channel_permute": "colour", "lowpass": "fine_texture",
                 "patch_shuffle": "global_shape", "mirror": None}
SIM_PROBES = {"control": set(SIM_CUES), "kernel5": set(SIM_CUES),
              "grayscale": {"fine_texture", "global_shape"}, "zca_shift": {"fine_texture", "global_shape"},
              "blur": {"colour", "global_shape"}, "patch_shuffle": {"colour", "fine_texture"}}


class CueWorld:
    """A pool of images with key cues; draws correctness of models that use given cues."""

    def __init__(self, n_images: int = 4000, *, p_hit: float = 0.9, p_miss: float = 0.15,
                 p_any: float = 0.8, seed: int = 0):
        self.n_images, self.p_hit, self.p_miss, self.p_any, self.seed = n_images, p_hit, p_miss, p_any, seed
        rng = np.random.default_rng(seed)
        self.key_ = rng.choice(len(SIM_CUES) + 1, size=n_images, p=[0.2, 0.2, 0.2, 0.4])  # 3 = any
        self.difficulty_ = rng.uniform(-0.08, 0.08, size=n_images)

    def p_correct(self, uses: set[str], removed: str | None = None) -> np.ndarray:
        """Probability that a model using ``uses`` is right on each image."""
        usable = set(uses) - ({removed} if removed else set())
        p = np.full(self.n_images, self.p_any)
        for i, cue in enumerate(SIM_CUES):
            p[self.key_ == i] = self.p_hit if cue in usable else self.p_miss
        if removed in uses:  # losing a cue also costs a little on 'any' images
            p[self.key_ == len(SIM_CUES)] -= 0.1
        return np.clip(p + self.difficulty_, 0.01, 0.99)

    def draw(self, uses: set[str], rng: np.random.Generator, transforms=()) -> tuple[np.ndarray, dict]:
        """Correctness on the originals and on each transform (shared noise, so they correlate)."""
        u = rng.uniform(size=self.n_images)
        orig = (u < self.p_correct(uses)).astype(float)
        abl = {t: (u < self.p_correct(uses, TRANSFORM_CUE[t])).astype(float) for t in transforms}
        return orig, abl


def simulate_trials(world: CueWorld, model_uses: set[str], *, k: int = 100, n_seeds: int = 4,
                    model_seed: int = 1000, transforms=tuple(TRANSFORM_CUE),
                    ablation_size: int | None = None, rest_sets: bool = True) -> Trials:
    """Trials for a model using ``model_uses``: sets chosen on probe seeds 0..n/2-1, the
    verdict sees only the held-out seeds (as discovery does)."""
    rng = np.random.default_rng(world.seed + 1)
    corr, abl = {}, {}
    for p, uses in SIM_PROBES.items():
        draws = [world.draw(uses, rng, transforms) for _ in range(n_seeds)]
        corr[p] = np.stack([d[0] for d in draws])
        abl[p] = {t: np.stack([d[1][t] for d in draws]) for t in transforms}
    sel, val = slice(0, n_seeds // 2), slice(n_seeds // 2, n_seeds)
    sets, pick = [], np.random.default_rng(world.seed + 2)
    names = list(SIM_PROBES)
    for a in names:
        others = [b for b in names if b != a]
        targets = [[b] for b in others] + ([others] if rest_sets else [])
        for bs in targets:
            a_right = corr[a][sel].mean(axis=0) == 1
            b_wrong = np.all([corr[b][sel].mean(axis=0) == 0 for b in bs], axis=0)
            cand = np.flatnonzero(a_right & b_wrong)
            chosen = np.sort(pick.choice(cand, size=min(k, cand.size), replace=False))
            if chosen.size:
                b_name = bs[0] if len(bs) == 1 else "rest"
                sets.append(EvalSetSpec(f"{a}>{b_name}", "pair" if len(bs) == 1 else "rest",
                                        a, b_name, chosen))
    used = np.unique(np.concatenate([s.positions for s in sets]))
    remap = {int(i): j for j, i in enumerate(used)}
    sets = [EvalSetSpec(s.id, s.kind, s.probe_a, s.probe_b,
                        np.array([remap[int(i)] for i in s.positions])) for s in sets]
    mrng = np.random.default_rng(model_seed)
    m_orig, m_abl = world.draw(model_uses, mrng, transforms)
    n_abl = used.size if ablation_size is None else min(ablation_size, used.size)
    keep = np.zeros(used.size, dtype=bool)
    keep[mrng.choice(used.size, size=n_abl, replace=False)] = True
    model_ablation = {t: np.where(keep, m_abl[t][used], np.nan) for t in transforms}
    return Trials(index=used, sets=tuple(sets), model=m_orig[used],
                  probes={p: c[val][:, used] for p, c in corr.items()},
                  model_ablation=model_ablation,
                  probe_ablation={t: {p: abl[p][t][val][:, used] for p in SIM_PROBES}
                                  for t in transforms})
