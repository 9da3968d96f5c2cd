"""Plain-English verdict sentence and the method text stored with every fingerprint."""
from __future__ import annotations

from .cues import CUES
from .verdict import VerdictSettings


def _ci(c: dict) -> str:
    return f"{c['score']:.2f} (95% CI {c['lo']:.2f} to {c['hi']:.2f})"


_WORDS = {"as_much": "about as much as a standard CNN", "less": "less than a standard CNN",
          "more": "more than a standard CNN", "ignored": "as little as a probe blind to it",
          "inconclusive": "inconclusive (the CI includes a standard CNN's level and reaches half-way)"}


def _cue_clause(cue, c: dict) -> str:
    """'colour: less than a standard CNN, about 45% as much (score 0.45, 95% CI ...)'."""
    word = _WORDS.get(c["verdict"], c["verdict"])
    if c["score"] is None:
        return f"{cue.label}: no usable evidence"
    how = f", about {max(c['score'], 0.0):.0%} as much" if c["verdict"] == "less" else ""
    return f"{cue.label}: {word}{how} (score {_ci(c)})"


def verdict_sentence(name: str, profile: dict, status: dict, nearest: dict) -> str:
    """One or two sentences a reader can act on, with the numbers behind them; every word about a
    cue follows from where its CI lies (1 = as much as the standard CNN probes, 0 = as little as a
    probe blind to the cue)."""
    rel = [n for n, c in profile.items() if c["scale"] == "relative"]
    if status["status"] == "biased":
        cue = CUES.get(status["dominant_cue"])
        c = profile[cue.name]
        if c["verdict"] == "ignored":
            text = (f"{name} behaves like {cue.like}: it relies on {cue.label} as little as a probe "
                    f"blind to it (score {_ci(c)}; 1 = as much as a standard CNN, 0 = as little as a "
                    f"probe blind to it).")
        elif c["verdict"] == "less":
            text = (f"{name} relies on {cue.label} less than a standard CNN: about "
                    f"{max(c['score'], 0.0):.0%} as much (score {_ci(c)}; 1 = as much as a standard "
                    f"CNN, 0 = as little as a probe blind to it).")
        else:
            text = (f"{name} relies on {cue.label} more than a standard CNN (score {_ci(c)}; 1 = as "
                    f"much as a standard CNN, 0 = as little as a probe blind to it).")
        if status["tied_with"]:
            text += (f" Whether this or {CUES.get(status['tied_with']).label} deviates more is "
                     f"inconclusive.")
        others = [n for n in rel if n != cue.name]
        if others:
            text += " Other cues: " + "; ".join(_cue_clause(CUES.get(n), profile[n]) for n in others) + "."
    elif status["status"] == "no_bias":
        used = [CUES.get(n).label for n in rel]
        text = (f"No cue bias detected: {name} relies on {', '.join(used)} about as much as a "
                f"standard CNN (every score's CI includes 1 and lies above 0.5).")
    else:
        unsure = [CUES.get(n).label for n in status["inconclusive_cues"]] or ["any cue"]
        text = (f"Inconclusive: the evidence does not settle how much {name} relies on "
                f"{', '.join(unsure)} (the CIs include 1 and reach 0.5, or there are too few images).")
        settled = [n for n in rel if n not in status["inconclusive_cues"]]
        if settled:
            text += " " + "; ".join(_cue_clause(CUES.get(n), profile[n]) for n in settled) + "."
    for n in status["unusual_reliance"]:
        text += f" Unlike a standard CNN, it depends on {CUES.get(n).label} ({_ci(profile[n])} of accuracy lost)."
    if any(profile[n]["score"] is not None and profile[n].get("reference_spread", False) is None for n in rel):
        text += (" These CIs cover the sampling of images only: with one held-out seed per probe the "
                 "spread between probe seeds is unknown (train more seeds to include it).")
    if nearest.get("name"):
        if nearest["verdict"] == "clear":
            text += (f" Nearest probe: {nearest['name']} (margin {nearest['margin']:.3f} over "
                     f"{nearest['runner_up']}, 95% CI {nearest['lo']:.3f} to {nearest['hi']:.3f}).")
        elif nearest.get("runner_up"):
            text += (f" Nearest probe: {nearest['name']}, but not clearly nearer than "
                     f"{nearest['runner_up']} (margin CI includes 0: inconclusive); for a classifier "
                     f"unlike the probes the cue profile, not the nearest probe, is the answer.")
    return text


def method_text(st: VerdictSettings, n_boot: int) -> str:
    """How the fingerprint was computed, for the report's verdict section."""
    cues = "; ".join(
        f"{c.label}: ablations {', '.join(c.ablations) or 'none'}"
        + (f", preference pairs {'/'.join(c.users)} vs {'/'.join(c.blind)}" if c.blind else "")
        for c in (CUES.get(n) for n in CUES.names()))
    return (
        "Evidence. Accuracy on each evaluation set has a Wilson 95% interval (an abstention counts "
        "as wrong; failed queries are left out). For a probe pair (A, B) the preference is the "
        "accuracy on the set A gets right and B gets wrong minus the accuracy on the opposite set. "
        "Error consistency is Cohen's kappa on trial-by-trial correctness against each probe "
        "(Geirhos et al. 2020): kappa = (c_obs - c_exp) / (1 - c_exp), c_exp = p1 p2 + (1-p1)(1-p2), "
        "averaged over the probe's held-out seeds, shown with kappa_max (the largest kappa two "
        "observers with these accuracies can reach) and kappa / kappa_max. Cue ablation: accuracy "
        "on transformed images divided by accuracy on the same originals. "
        f"All intervals except Wilson's are percentile bootstraps ({n_boot} resamples of the "
        "images; one resample moves every figure together). Probe figures use the probes' "
        "held-out (validation) seeds only.\n"
        "Cue scores. Each cue is scored on a relative scale: 1 = the cue matters to the classifier "
        "as much as to a standard CNN (the control/kernel5 probes), 0 = as little as to a probe "
        "blind to it. Two kinds of component are averaged (each kind weighted equally): ablation "
        "drops, (drop_classifier - drop_blind) / (drop_standard - drop_blind) with drop = 1 - kept "
        "(the blind probes anchor 0: an ablation can cost even a blind probe something, e.g. a "
        "low-pass on top of its own blur), counted only when the ablation costs the standard CNN "
        f"at least {st.min_reference_drop:.0%} more of its accuracy than the blind probes; and preference "
        "positions, (pref_classifier - pref_blind) / (pref_standard - pref_blind), counted only when "
        f"the standard and blind probes differ by at least {st.min_pref_span:.2f}. "
        f"Components need at least {st.min_n} images. Cues: {cues}. "
        "A cue's CI covers two sources of uncertainty: the sampling of images (bootstrap) and the "
        "spread between single models of one recipe: every held-out seed of the standard and blind "
        "probes is scored like a classifier, the pooled within-probe standard deviation of those "
        "scores (sd, with df = seeds - 1 summed over the probes) is scaled by sqrt(1 + 1/m) (m: the "
        "fewer seed-models of the two anchors) and added to the bootstrap replicates as sd x t_df noise. "
        "So the CI excludes 1 only when the classifier lies outside what another seed of a standard "
        "CNN would plausibly score; more probe seeds narrow it (fingerprint JSON: reference_spread, "
        "and sampling_ci for the image-sampling part alone). "
        "A cue's verdict follows from where its CI lies: 'as little as a blind probe' when it includes "
        "0 and lies below 0.5 (or lies below 0); otherwise 'less than a standard CNN' when it lies "
        "wholly below 1 (the score says how much: 0.45 = about 45% of a standard CNN's reliance); "
        "'more' when it lies wholly above 1; 'about as much as a standard CNN' when it includes 1 and "
        "lies above 0.5; 'inconclusive' when it includes 1 and reaches 0.5 or below. "
        "When the query planner chose the images, the probes' figures (anchors and spans) are "
        "computed on every eval-set image, which the bank knows for free; only the classifier's "
        "figures are estimated from its weighted sample. A cue no standard CNN depends on (orientation, "
        "when probes were trained with flips) is scored on an absolute scale instead: the fraction "
        f"of accuracy lost, 'used' when its CI lies above {st.absolute_threshold:.2f}.\n"
        "Verdict. The headline names the largest significant deviation from a standard CNN (the cue "
        "whose score is farthest from 1 among those whose CI excludes 1); if the next one's distance "
        "from 1 is not clearly smaller (bootstrap CI of the difference includes 0), the order is "
        "called inconclusive. If no cue deviates and one is inconclusive, the verdict is "
        "inconclusive; if every cue is about as much as a standard CNN, no bias is declared. When "
        "the images were chosen by the query planner, every figure is a weighted estimate (each "
        "image weighted by the inverse of its expected number of draws) and the bootstrap resamples "
        "the chosen images with their weights. Nearest probe: the probe minimising the mean of two RMS distances, over "
        "the preference profile (all probe pairs) and over the kappa-with-each-probe profile "
        "(centred, so only its shape counts; probe-to-probe kappas across seeds). The margin is "
        "the runner-up's distance minus the nearest's, with a bootstrap CI; a CI including 0 is "
        "inconclusive. Baseline: the probe whose per-set accuracy profile has the highest Pearson r "
        "with the classifier's.")
