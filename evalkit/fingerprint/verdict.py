"""The verdict: a cue-reliance profile with CIs, the nearest probe, and a plain sentence.

Cue score (relative scale): 1 = the cue matters as much as to a standard CNN (the control
probes), 0 = as little as to a probe that is blind to it. It averages two kinds of evidence:
ablation drops, (drop_model - drop_blind) / (drop_standard - drop_blind) with drop = 1 - kept
(drop_blind = 0 when no blind probe has reference data), and preference positions,
(pref_model - pref_blind) / (pref_standard - pref_blind) on each standard-vs-blind pair of sets.
Each cue's verdict says where its CI lies against the two anchors: "ignored" (the CI includes 0,
the blind probes' level, and lies below 0.5, or lies below 0), "less" (otherwise wholly below 1,
the standard CNN's level), "more" (wholly above 1), "as_much" (includes 1 and lies above 0.5),
"inconclusive" (includes 1 and reaches down to 0.5 or below, or no usable evidence).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .cues import CUES, CueSpec
from .evidence import Replicates, Trials, estimate, pair_preferences, preference_reps, _num
from .spread import reference_spread, widen
from .stats import kappa_from_rates


@dataclass(frozen=True)
class VerdictSettings:
    """Thresholds of the verdict (documented in the method text)."""

    neutral: float = 0.5          # midway between a standard CNN (1) and a cue-blind probe (0)
    standard: float = 1.0         # relative-scale level of a standard CNN
    blind: float = 0.0            # relative-scale level of a probe blind to the cue
    min_reference_drop: float = 0.10  # an ablation must cost a standard CNN this much more than a blind probe
    min_pref_span: float = 0.10   # standard-vs-blind preference span needed for a pair to count
    min_n: int = 20               # fewest images per set / ablation for a component to count
    absolute_threshold: float = 0.10  # absolute scale: accuracy lost that counts as "used"


def _set_ids(trials: Trials) -> dict[tuple[str, str], str]:
    return {(s.probe_a, s.probe_b): s.id for s in trials.sets if s.kind == "pair"}


def _mean_drop(reps: Replicates, transform: str, probes) -> np.ndarray | None:
    """(R,) mean accuracy lost to ``transform`` by those of ``probes`` that have reference data."""
    kept = [reps.probe_kept[transform][p] for p in probes if p in reps.probe_kept.get(transform, {})]
    return 1.0 - np.mean(kept, axis=0) if kept else None


def cue_components(spec: CueSpec, trials: Trials, reps: Replicates,
                   st: VerdictSettings) -> tuple[list, list]:
    """Relative-scale components (name, (R,) reps) from ablations and from preferences."""
    abl = []
    for t in spec.ablations:
        if t not in reps.kept or reps.kept_n[t] < st.min_n:
            continue
        ref_drop = _mean_drop(reps, t, spec.users)
        if ref_drop is None:
            continue
        blind_drop = _mean_drop(reps, t, spec.blind)
        blind_drop = np.zeros_like(ref_drop) if blind_drop is None else blind_drop
        span = ref_drop - blind_drop
        if span[0] < st.min_reference_drop:
            continue
        abl.append((f"ablation:{t}", (1.0 - reps.kept[t] - blind_drop) / np.maximum(span, st.min_reference_drop / 2)))
    prefs = []
    ids = _set_ids(trials)
    for u in spec.users:
        for b in spec.blind:
            ub, bu = ids.get((u, b)), ids.get((b, u))
            if ub is None or bu is None or u not in trials.probes or b not in trials.probes:
                continue
            if min(reps.set_counts[ub][1], reps.set_counts[bu][1]) < st.min_n:
                continue
            pm = preference_reps(reps, ub, bu)
            pu = preference_reps(reps, ub, bu, u)
            pb = preference_reps(reps, ub, bu, b)
            span = pu - pb
            if span[0] < st.min_pref_span:
                continue
            prefs.append((f"preference:{u}-vs-{b}", (pm - pb) / np.maximum(span, st.min_pref_span / 2)))
    return abl, prefs


def _combine(abl: list, prefs: list) -> np.ndarray | None:
    """The cue score's replicates: the mean of the ablation group and the preference group."""
    groups = [np.mean([r for _, r in g], axis=0) for g in (abl, prefs) if g]
    return np.mean(groups, axis=0) if groups else None


def _model_score(spec: CueSpec, trials: Trials, reps: Replicates, st: VerdictSettings,
                 components: list[str]) -> float:
    """Point score of ``trials``' classifier from the named components only (NaN if one is missing)."""
    abl, prefs = cue_components(spec, trials, reps, st)
    abl = [(n, r) for n, r in abl if n in components]
    prefs = [(n, r) for n, r in prefs if n in components]
    if len(abl) + len(prefs) < len(components):
        return float("nan")
    return float(_combine(abl, prefs)[0])


def cue_score(spec: CueSpec, trials: Trials, reps: Replicates, st: VerdictSettings) -> dict:
    """Score, CI, scale and status of one cue. The CI covers image sampling and the spread between
    reference models of one recipe (spread.py); replicates are kept under '_reps' (that CI) and
    '_reps_sampling' (image sampling only, for comparing two runs of one classifier)."""
    abl, prefs = cue_components(spec, trials, reps, st)
    comps = {name: _num(r[0]) for name, r in abl + prefs}
    r = _combine(abl, prefs)
    if r is not None:
        spread = reference_spread(spec, trials, st, list(comps), _model_score)
        rv = widen(r, spread, spec.name)
        e, es = estimate(rv), estimate(r)
        status = relative_verdict(e.lo, e.hi, st)
        return {"score": _num(e.value), "lo": _num(e.lo), "hi": _num(e.hi), "verdict": status,
                "scale": "relative", "neutral": st.neutral, "components": comps,
                "sampling_ci": [_num(es.lo), _num(es.hi)],
                "reference_spread": None if spread is None else spread.to_dict(),
                "_reps": rv, "_reps_sampling": r}
    absolute = [1.0 - reps.kept[t] for t in spec.ablations
                if t in reps.kept and reps.kept_n[t] >= st.min_n]
    if absolute:
        r = np.mean(absolute, axis=0)
        e = estimate(r)
        status = ("used" if e.lo > st.absolute_threshold else
                  "not used" if e.hi < st.absolute_threshold else "inconclusive")
        ref = [1.0 - v[0] for t in spec.ablations for v in reps.probe_kept.get(t, {}).values()]
        return {"score": _num(e.value), "lo": _num(e.lo), "hi": _num(e.hi), "verdict": status,
                "scale": "absolute", "neutral": st.absolute_threshold,
                "components": {f"drop:{t}": _num(1.0 - reps.kept[t][0]) for t in spec.ablations
                               if t in reps.kept},
                "reference_drop": _num(float(np.mean(ref))) if ref else None, "_reps": r,
                "_reps_sampling": r}
    return {"score": None, "lo": None, "hi": None, "verdict": "inconclusive", "scale": "none",
            "neutral": st.neutral, "components": {}, "reason": "no usable evidence", "_reps": None,
            "_reps_sampling": None}


def relative_verdict(lo: float, hi: float, st: VerdictSettings) -> str:
    """Where a relative-scale CI lies against the blind (0) and standard (1) levels."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "inconclusive"
    if hi < st.blind or (lo <= st.blind and hi < st.neutral):
        return "ignored"          # consistent with a blind probe, and closer to it than to a standard CNN
    if hi < st.standard:
        return "less"
    if lo > st.standard:
        return "more"
    if lo > st.neutral:
        return "as_much"          # includes the standard level, and closer to it than to a blind probe
    return "inconclusive"


DEVIATIONS = ("ignored", "less", "more")


def cue_profile(trials: Trials, reps: Replicates, st: VerdictSettings) -> dict[str, dict]:
    return {name: cue_score(CUES.get(name), trials, reps, st) for name in CUES.names()}


def probe_kappa_profile(trials: Trials) -> dict[str, dict[str, float]]:
    """Mean error-consistency kappa between probes (different seeds) on the eval-set images."""
    mask = trials.in_sets
    out: dict[str, dict[str, float]] = {}
    for q, cq in trials.probes.items():
        out[q] = {}
        for r, cr in trials.probes.items():
            vals = []
            for i, a in enumerate(cq[:, mask]):
                for j, b in enumerate(cr[:, mask]):
                    if q == r and i == j:
                        continue
                    k, _ = kappa_from_rates(np.mean(a == b), a.mean(), b.mean())
                    vals.append(float(k))
            out[q][r] = float(np.nanmean(vals)) if vals else np.nan
    return out


def nearest_probe(trials: Trials, reps: Replicates) -> dict:
    """Nearest probe by distance over the preference profile and the (centred) kappa profile."""
    probes = sorted(trials.probes)
    if len(probes) < 2:
        return {"name": probes[0] if probes else None, "runner_up": None, "margin": None,
                "lo": None, "hi": None, "verdict": "inconclusive", "distances": {}}
    pairs = pair_preferences(trials)
    pk = probe_kappa_profile(trials)
    model_k = np.stack([reps.kappa[r] for r in probes], axis=1)          # (R, P)
    dist = {}
    with warnings.catch_warnings():  # an all-NaN replicate (no defined kappa) stays NaN
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        model_k = model_k - np.nanmean(model_k, axis=1, keepdims=True)
        for q in probes:
            dist[q] = _probe_distance(reps, pairs, pk, probes, model_k, q)
    order = sorted(probes, key=lambda q: dist[q][0])
    best, second = order[0], order[1]
    e = estimate(dist[second] - dist[best])
    return {"name": best, "runner_up": second, "margin": _num(e.value), "lo": _num(e.lo),
            "hi": _num(e.hi), "verdict": "clear" if e.lo > 0 else "inconclusive",
            "distances": {q: _num(dist[q][0]) for q in order}}


def _probe_distance(reps: Replicates, pairs, pk, probes, model_k, q: str) -> np.ndarray:
    """Per-replicate distance between the classifier's and probe ``q``'s profiles."""
    blocks = []
    if pairs:
        dm = np.stack([preference_reps(reps, ab, ba) - preference_reps(reps, ab, ba, q)
                       for _, _, ab, ba in pairs], axis=1)
        blocks.append(np.sqrt(np.nanmean(dm ** 2, axis=1)))
    qk = np.array([pk[q][r] for r in probes])
    qk = qk - np.nanmean(qk)
    if np.isfinite(qk).any():
        blocks.append(np.sqrt(np.nanmean((model_k - qk) ** 2, axis=1)))
    return np.mean(blocks, axis=0)


def correlation_baseline(trials: Trials, reps: Replicates) -> dict:
    """Baseline: the probe whose per-set accuracy profile has the highest Pearson r."""
    ids = [s.id for s in trials.sets if reps.set_counts[s.id][1] > 0]
    mv = np.array([reps.set_acc[i][0] for i in ids])
    rs = {}
    for q in sorted(trials.probes):
        qv = np.array([reps.probe_set_acc[i][q][0] for i in ids])
        ok = np.isfinite(mv) & np.isfinite(qv)
        if ok.sum() >= 3 and mv[ok].std() > 0 and qv[ok].std() > 0:
            rs[q] = float(np.corrcoef(mv[ok], qv[ok])[0, 1])
    if not rs:
        return {"nearest": None, "r": None, "all": {}}
    best = max(rs, key=rs.get)
    return {"nearest": best, "r": _num(rs[best]), "all": {q: _num(v) for q, v in rs.items()}}


def overall(profile: dict[str, dict]) -> dict:
    """Status 'biased' (some cue's CI excludes the standard CNN's level) | 'no_bias' | 'inconclusive';
    the dominant cue is the largest significant deviation from a standard CNN, with its direction."""
    rel = {n: c for n, c in profile.items() if c["scale"] == "relative"}
    deviating = sorted((n for n, c in rel.items() if c["verdict"] in DEVIATIONS),
                       key=lambda n: -abs(rel[n]["score"] - 1.0))
    ignored = [n for n in deviating if rel[n]["verdict"] == "ignored"]
    unsure = [n for n, c in profile.items() if c["verdict"] == "inconclusive" and c["scale"] != "absolute"]
    extra = [n for n, c in profile.items() if c["scale"] == "absolute" and c["verdict"] == "used"]
    base = {"also_ignored": [], "also_less": [], "also_more": [], "tied_with": None,
            "inconclusive_cues": unsure, "unusual_reliance": extra}
    if deviating:
        dominant = deviating[0]
        direction = "more" if rel[dominant]["verdict"] == "more" else "less"
        tie = None
        if len(deviating) > 1 and rel[deviating[1]]["_reps_sampling"] is not None:
            second = deviating[1]
            e = estimate(np.abs(rel[dominant]["_reps_sampling"] - 1.0)
                         - np.abs(rel[second]["_reps_sampling"] - 1.0))
            tie = second if e.lo <= 0 else None
        rest = deviating[1:]
        return {**base, "status": "biased", "dominant_cue": dominant, "direction": direction,
                "also_ignored": [n for n in rest if n in ignored],
                "also_less": [n for n in rest if rel[n]["verdict"] == "less"],
                "also_more": [n for n in rest if rel[n]["verdict"] == "more"], "tied_with": tie}
    status = "inconclusive" if unsure or not rel else "no_bias"
    return {**base, "status": status, "dominant_cue": None, "direction": None}
