"""Change of each cue score between two runs: the fingerprint's cue scores computed on each
run's answers over the same images, with one paired bootstrap (the same image resamples for
both runs), so the difference of the two replicate rows is the paired-bootstrap distribution."""
from __future__ import annotations

import dataclasses

import numpy as np

from ..fingerprint.cues import CUES
from ..fingerprint.evidence import compute_replicates, estimate, _num
from ..fingerprint.inputs import build_trials, probe_correctness, reference_ablations, validation_seeds
from ..fingerprint.verdict import VerdictSettings, cue_profile
from .stats import bootstrap_p


def paired_cue_changes(ws, pool: str, docs: list[dict], labels: np.ndarray, runs, *, images=None,
                       design=None, n_boot: int = 1000, seed: int = 0,
                       settings: VerdictSettings | None = None) -> dict[str, dict]:
    """{cue: score_a, score_b, diff, lo, hi, p, scale} for ``runs`` = ((answers, ablation answers)
    of run A, of run B), both over the same images. ``images``: the pool's images (or a callable)
    for the reference probes' ablated copies; ``design``: the planner's ledger (weights)."""
    st = settings or VerdictSettings()
    probes = probe_correctness(ws, pool, labels, validation_seeds(ws, pool))
    abl_keys = sorted({int(i) for _, abl in runs for a in abl.values() for i in a})
    reference, ref_index = None, None
    if abl_keys and images is not None:
        ref_index = np.array(abl_keys, dtype=np.int64)
        reference = reference_ablations(ws, pool, ref_index, sorted(runs[0][1]), images,
                                        {p: s for p, (s, _) in probes.items()}, labels)
    profiles = []
    for answers, abl in runs:
        trials = build_trials(docs, labels, probes, answers, abl, reference, ref_index)
        if design is not None:
            trials = dataclasses.replace(trials, weights=design.weights(trials.index), probes_on_population=True,
                                         ablation_weights={t: design.weights(trials.index, t)
                                                           for t in trials.model_ablation})
        profiles.append(cue_profile(trials, compute_replicates(trials, n_boot=n_boot, seed=seed), st))
    out = {}
    for name in CUES.names():
        a, b = profiles[0][name], profiles[1][name]
        row = {"cue": name, "label": CUES.get(name).label, "score_a": a["score"], "score_b": b["score"],
               "verdict_a": a["verdict"], "verdict_b": b["verdict"], "scale": b["scale"],
               "diff": None, "lo": None, "hi": None, "p": None, "p_holm": None, "significant": False,
               "changed": False, "reason": None}
        # image sampling only: the same classifier twice, so the spread between reference models
        # (part of each run's own CI) does not enter the change
        if a["_reps_sampling"] is not None and b["_reps_sampling"] is not None and a["scale"] == b["scale"]:
            d = np.asarray(b["_reps_sampling"]) - np.asarray(a["_reps_sampling"])
            e = estimate(d)
            p = bootstrap_p(d)
            row.update(diff=_num(e.value), lo=_num(e.lo), hi=_num(e.hi), p=_num(p))
        else:
            row["reason"] = "no usable evidence in both runs"
        out[name] = row
    return out
