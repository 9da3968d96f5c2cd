"""Assemble the fingerprint (evidence + verdict) for one classifier from its Trials."""
from __future__ import annotations

from .evidence import Trials, compute_replicates, summarize
from .text import method_text, verdict_sentence
from .verdict import VerdictSettings, correlation_baseline, cue_profile, nearest_probe, overall


def fingerprint_from_trials(trials: Trials, name: str, *, n_boot: int = 1000, seed: int = 0,
                            settings: VerdictSettings | None = None) -> dict:
    """The fingerprint as a JSON-ready dict (format in ARCHITECTURE.md)."""
    st = settings or VerdictSettings()
    reps = compute_replicates(trials, n_boot=n_boot, seed=seed)
    ev = summarize(trials, reps)
    profile = cue_profile(trials, reps, st)
    status = overall(profile)
    near = nearest_probe(trials, reps)
    sentence = verdict_sentence(name, profile, status, near)
    clean = {n: {k: v for k, v in c.items() if not k.startswith("_")} for n, c in profile.items()}
    return {
        "api": name,
        "n_images": int(trials.index.shape[0]),
        "accuracy_per_set": ev.accuracy_per_set,
        "preferences": ev.preferences,
        "error_consistency": ev.error_consistency,
        "ablation": ev.ablation,
        "cue_profile": clean,
        "status": status["status"],
        "dominant_cue": status["dominant_cue"],
        "verdict_detail": status,
        "nearest_probe": near,
        "correlation_baseline": correlation_baseline(trials, reps),
        "verdict": sentence,
        "method": method_text(st, n_boot),
        "settings": {"n_boot": n_boot, "seed": seed, **st.__dict__},
    }
