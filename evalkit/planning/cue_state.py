"""When the planner may stop spending on a cue: decided, undecidable, or still missing evidence.

A cue is *decided* when its verdict is not inconclusive and stays the same with a 99% instead of
a 95% image-sampling interval; *undecidable* when even a sampling error of 0 would leave it
inconclusive wherever its point estimate may still move. Neither holds while the cue lacks a
component that more answers would add (an ablation or a preference pair below the fingerprint's
``min_n`` images): the score without it is not the score the full run reports (on the demo-scale
bank, colour judged on its preference component alone looked undecidable, while the missing
ablation components put it clearly above a standard CNN).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..fingerprint.cues import CUES
from ..fingerprint.evidence import Replicates, Trials, compute_replicates
from ..fingerprint.stats import percentile_ci
from ..fingerprint.verdict import VerdictSettings, cue_components, cue_profile, relative_verdict

SAMPLING_MARGIN = 2.5758 / 1.9600   # z(0.995) / z(0.975): a 99% sampling interval inside a 95% one


def cue_status(trials: Trials, st: VerdictSettings, n_boot: int, seed: int) -> dict[str, dict]:
    """cue -> {verdict, verdict99, floor, decided, undecidable, missing, score, lo, hi} from
    weighted trials (see :func:`cue_state` and :func:`missing_components`)."""
    reps = compute_replicates(trials, n_boot=n_boot, seed=seed)
    out = {}
    for cue, c in cue_profile(trials, reps, st).items():
        state = cue_state(c, st)
        missing = missing_components(cue, trials, reps, st, counted=c.get("components", {}))
        if missing:
            state.update(decided=False, undecidable=False)
        out[cue] = {**state, "missing": missing}
    return out


def missing_components(cue: str, trials: Trials, reps: Replicates, st: VerdictSettings,
                       counted) -> list[str]:
    """Components of ``cue`` left out only for want of answers: each of its ablations with fewer
    than ``min_n`` images answered both ways, and each preference pair that would count with
    fewer images (its sets below ``min_n`` answers). ``counted``: the names of the components
    the cue's score uses (its ``cue_profile`` entry's ``components``)."""
    spec = CUES.get(cue)
    missing = [f"ablation:{t}" for t in spec.ablations if reps.kept_n.get(t, 0) < st.min_n]
    _, prefs_any = cue_components(spec, trials, reps, dataclasses.replace(st, min_n=1))
    return missing + [name for name, _ in prefs_any if name not in counted]


def cue_state(c: dict, st: VerdictSettings) -> dict:
    """Whether one cue (a ``cue_profile`` entry) is decided, or cannot be decided by more queries.

    ``verdict99``: the verdict with the image-sampling error 1.31x larger (a 99% instead of a 95%
    sampling interval; the spread between reference models stays at 95%). ``floor``: the verdict
    that infinitely many queries would give at the current point estimate (sampling error 0, the
    reference spread alone), judged once the image-sampling interval is narrower than the
    reference spread's (before that, more answers can still move the point estimate and change
    which components count), and 'open' when some point estimate inside the 95% sampling interval
    would be decided by the reference spread alone; when it is inconclusive, more queries cannot
    decide the cue."""
    r, rs = c.get("_reps"), c.get("_reps_sampling")
    v99, floor = "inconclusive", None
    if r is not None:
        noise = r - rs
        lo, hi = percentile_ci(rs[0] + SAMPLING_MARGIN * (rs - rs[0]) + noise)
        if c["scale"] == "relative":
            v99 = relative_verdict(lo, hi, st)
            f_lo, f_hi = percentile_ci(rs[0] + noise)
            s_lo, s_hi = percentile_ci(rs)
            if np.any(noise[1:] != 0) and s_hi - s_lo < f_hi - f_lo:
                floor = relative_verdict(f_lo, f_hi, st)
                # more answers move the point estimate within its sampling interval: the cue is
                # undecidable only when no point there would be decided by the reference spread
                centres = np.linspace(s_lo, s_hi, 21)
                if any(relative_verdict(f_lo + c - rs[0], f_hi + c - rs[0], st) != "inconclusive"
                       for c in centres):
                    floor = "open"
        else:
            thr = st.absolute_threshold
            v99 = "used" if lo > thr else "not used" if hi < thr else "inconclusive"
    return {"verdict": c["verdict"], "verdict99": v99, "floor": floor, "score": c["score"],
            "lo": c["lo"], "hi": c["hi"], "decided": c["verdict"] != "inconclusive" and v99 == c["verdict"],
            "undecidable": floor == "inconclusive"}


