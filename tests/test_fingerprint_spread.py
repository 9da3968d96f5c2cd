"""Spread between reference models in the cue CIs: each held-out probe seed is scored like a
classifier, and a standard CNN's own seed is never reported as differing from standard CNNs."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from evalkit.fingerprint import fingerprint_from_trials
from evalkit.fingerprint.cues import CUES
from evalkit.fingerprint.spread import seed_as_model, widen
from fingerprint_sim import SIM_CUES, SIM_PROBES, CueWorld, simulate_trials


@pytest.fixture(scope="module")
def trials():
    return simulate_trials(CueWorld(3000, seed=1), SIM_PROBES["control"], model_seed=2, n_seeds=4)


@pytest.fixture(scope="module")
def fingerprint(trials):
    return fingerprint_from_trials(trials, "m", n_boot=300)


@pytest.mark.parametrize("cue", SIM_CUES)
def test_seed_scores_equal_the_seed_fingerprinted_as_a_classifier(trials, fingerprint, cue):
    spread = fingerprint["cue_profile"][cue]["reference_spread"]
    assert spread is not None
    for probe in (*CUES.get(cue).users, *CUES.get(cue).blind):
        for row in range(trials.probes[probe].shape[0]):
            fp = fingerprint_from_trials(seed_as_model(trials, probe, row), "seed", n_boot=0)
            assert fp["cue_profile"][cue]["score"] == pytest.approx(spread["seed_scores"][probe][row], abs=1e-6)


@pytest.mark.parametrize("cue", SIM_CUES)
def test_pooled_sd_and_df(fingerprint, cue):
    spread = fingerprint["cue_profile"][cue]["reference_spread"]
    scores = [np.asarray(v) for v in spread["seed_scores"].values()]
    df = sum(v.size - 1 for v in scores)
    sd = np.sqrt(sum(((v - v.mean()) ** 2).sum() for v in scores) / df)
    assert spread["df"] == df == len(scores)          # two held-out seeds per probe: one df each
    assert spread["sd"] == pytest.approx(sd, abs=1e-5) and sd > 0


@pytest.mark.parametrize("cue", SIM_CUES)
def test_spread_widens_the_ci_around_the_same_point(fingerprint, cue):
    c = fingerprint["cue_profile"][cue]
    lo_s, hi_s = c["sampling_ci"]
    assert c["lo"] < lo_s and c["hi"] > hi_s
    assert lo_s <= c["score"] <= hi_s


def test_standard_seeds_are_never_called_different(trials):
    """Every held-out seed of a standard CNN, fingerprinted as a classifier, reads 'about as much'
    on every cue (its CI includes the standard level)."""
    for probe in CUES.get("colour").users:
        for row in range(trials.probes[probe].shape[0]):
            fp = fingerprint_from_trials(seed_as_model(trials, probe, row), "seed", n_boot=300)
            for cue in SIM_CUES:
                c = fp["cue_profile"][cue]
                assert c["lo"] <= 1.0 <= c["hi"], (probe, row, cue, c["lo"], c["hi"])


def test_one_seed_per_probe_gives_no_spread(trials):
    one = dataclasses.replace(trials, probes={p: c[:1] for p, c in trials.probes.items()},
                              probe_ablation={t: {p: c[:1] for p, c in d.items()}
                                              for t, d in trials.probe_ablation.items()})
    fp = fingerprint_from_trials(one, "m", n_boot=200)
    for cue in SIM_CUES:
        c = fp["cue_profile"][cue]
        assert c["reference_spread"] is None
        assert [c["lo"], c["hi"]] == c["sampling_ci"]


def test_widen_keeps_row_zero_and_is_reproducible():
    from evalkit.fingerprint.spread import ReferenceSpread

    reps = np.linspace(0.4, 0.6, 201)
    s = ReferenceSpread(0.1, 3, 2, 2, {})
    a, b = widen(reps, s, "colour"), widen(reps, s, "colour")
    assert a[0] == reps[0] and np.array_equal(a, b)
    assert np.std(a[1:]) > np.std(reps[1:]) + 0.05
    assert s.scale == pytest.approx(0.1 * np.sqrt(1.5))


def test_the_sentence_says_when_the_seed_spread_is_unknown(trials):
    one = dataclasses.replace(trials, probes={p: c[:1] for p, c in trials.probes.items()},
                              probe_ablation={t: {p: c[:1] for p, c in d.items()}
                                              for t, d in trials.probe_ablation.items()})
    assert "spread between probe seeds is unknown" in fingerprint_from_trials(one, "m", n_boot=100)["verdict"]
    assert "spread between probe seeds is unknown" not in fingerprint_from_trials(trials, "m", n_boot=100)["verdict"]
