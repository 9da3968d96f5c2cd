"""Bias fingerprint: statistics, planted-bias verdicts, no-bias control, too-few-data, coverage."""
from __future__ import annotations

import math

import numpy as np
import pytest

from evalkit.errors import UserError
from evalkit.fingerprint import CUES, EvalSetSpec, Trials, fingerprint_from_trials
from fingerprint_sim import SIM_PROBES, CueWorld, simulate_trials
from evalkit.fingerprint.stats import cohen_kappa, kappa_from_rates
from evalkit.stats import wilson_ci


@pytest.fixture(scope="module")
def world():
    return CueWorld(4000, seed=0)


def test_wilson_matches_known_values():
    lo, hi = wilson_ci(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    lo, hi = wilson_ci(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    assert all(math.isnan(v) for v in wilson_ci(0, 0))  # no images, no interval (as in the report)


def test_kappa_matches_sklearn_and_bounds():
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(0)
    a = rng.uniform(size=500) < 0.7
    b = np.where(rng.uniform(size=500) < 0.6, a, rng.uniform(size=500) < 0.5)
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-9)
    assert cohen_kappa(a, a) == pytest.approx(1.0)
    k, kmax = kappa_from_rates(1 - abs(0.9 - 0.6), 0.9, 0.6)  # best agreement two such observers reach
    assert float(k) == pytest.approx(float(kmax)) and float(kmax) < 1


@pytest.mark.parametrize("probe, cue, nearest", [
    ("grayscale", "colour", {"grayscale", "zca_shift"}),
    ("blur", "fine_texture", {"blur"}),
    ("patch_shuffle", "global_shape", {"patch_shuffle"}),
])
def test_planted_bias_is_named(world, probe, cue, nearest):
    fp = fingerprint_from_trials(simulate_trials(world, SIM_PROBES[probe]), "sim", n_boot=300)
    assert fp["status"] == "biased"
    assert fp["dominant_cue"] == cue
    assert fp["cue_profile"][cue]["verdict"] == "ignored"
    assert fp["cue_profile"][cue]["lo"] <= 0.0 <= fp["cue_profile"][cue]["hi"] < 0.5
    others = [c for c in ("colour", "fine_texture", "global_shape") if c != cue]
    assert all(fp["cue_profile"][c]["verdict"] in ("as_much", "more") for c in others)
    assert fp["nearest_probe"]["name"] in nearest
    assert CUES.get(cue).like in fp["verdict"]


def test_unbiased_model_is_not_declared_biased(world):
    fp = fingerprint_from_trials(simulate_trials(world, SIM_PROBES["control"], model_seed=7), "ctl",
                                 n_boot=300)
    assert fp["status"] == "no_bias" and fp["dominant_cue"] is None
    assert fp["nearest_probe"]["name"] in {"control", "kernel5"}
    assert fp["verdict"].startswith("No cue bias detected")


def test_too_few_images_is_inconclusive():
    small = CueWorld(400, seed=3)
    fp = fingerprint_from_trials(simulate_trials(small, SIM_PROBES["grayscale"], k=6, ablation_size=12),
                                 "tiny", n_boot=200)
    assert fp["status"] == "inconclusive"
    assert fp["verdict"].startswith("Inconclusive")


def test_a_model_half_way_relies_less_not_as_much(world):
    """Half of its answers come from a control-like model, half from a colour-blind one: its colour
    CI lies between the blind (0) and standard (1) levels, so it relies on colour *less* than a
    standard CNN, and the sentence says so with how much (not "about as much", not "ignores")."""
    import dataclasses

    tc = simulate_trials(world, SIM_PROBES["control"], model_seed=9)
    tg = simulate_trials(world, SIM_PROBES["grayscale"], model_seed=10)
    half = np.random.default_rng(0).uniform(size=tc.index.size) < 0.5
    mixed = dataclasses.replace(
        tc, model=np.where(half, tc.model, tg.model),
        model_ablation={t: np.where(half, v, tg.model_ablation[t]) for t, v in tc.model_ablation.items()})
    fp = fingerprint_from_trials(mixed, "mid", n_boot=300)
    colour = fp["cue_profile"]["colour"]
    assert 0.3 < colour["score"] < 0.7
    assert 0.0 < colour["lo"] and colour["hi"] < 1.0
    assert colour["verdict"] == "less" and fp["status"] == "biased" and fp["dominant_cue"] == "colour"
    assert fp["verdict"].startswith("mid relies on colour less than a standard CNN: about ")
    assert "about as much" not in fp["verdict"].split("Other cues")[0]


def _simple_trials(seed: int) -> tuple[Trials, float, float]:
    """Two pair sets of 150 images; model accuracy 0.7 vs 0.4; kept 0.8 under grayscale."""
    rng = np.random.default_rng(seed)
    n = 150
    model = np.concatenate([rng.uniform(size=n) < 0.7, rng.uniform(size=n) < 0.4]).astype(float)
    gray = model * (rng.uniform(size=2 * n) < 0.8)
    probes = {"a": (rng.uniform(size=(2, 2 * n)) < 0.5).astype(float),
              "b": (rng.uniform(size=(2, 2 * n)) < 0.5).astype(float)}
    sets = (EvalSetSpec("a>b", "pair", "a", "b", np.arange(n)),
            EvalSetSpec("b>a", "pair", "b", "a", np.arange(n, 2 * n)))
    return Trials(np.arange(2 * n), sets, model, probes, {"grayscale": gray}), 0.3, 0.8


def test_intervals_cover_the_truth_in_simple_cases():
    hits = {"pref": 0, "kept": 0, "kappa": 0, "acc": 0}
    reps = 40
    for s in range(reps):
        tr, true_pref, true_kept = _simple_trials(s)
        fp = fingerprint_from_trials(tr, "m", n_boot=200, seed=s)
        p = fp["preferences"][0]
        hits["pref"] += p["lo"] <= true_pref <= p["hi"]
        a = fp["ablation"]["grayscale"]
        hits["kept"] += a["lo"] <= true_kept <= a["hi"]
        k = fp["error_consistency"]["a"]
        hits["kappa"] += k["lo"] <= 0.0 <= k["hi"]
        acc = fp["accuracy_per_set"]["a>b"]
        hits["acc"] += acc["lo"] <= 0.7 <= acc["hi"]
    for name, h in hits.items():
        assert h / reps >= 0.85, (name, h)


def test_fingerprint_has_the_documented_fields(world):
    fp = fingerprint_from_trials(simulate_trials(world, SIM_PROBES["blur"]), "x", n_boot=50)
    for key in ("api", "accuracy_per_set", "preferences", "error_consistency", "ablation",
                "cue_profile", "nearest_probe", "correlation_baseline", "verdict", "method"):
        assert key in fp
    assert set(fp["cue_profile"]) == {"colour", "fine_texture", "global_shape", "orientation"}
    assert {"kappa", "lo", "hi", "kappa_max", "ratio"} <= set(fp["error_consistency"]["control"])
    assert {"name", "margin", "runner_up"} <= set(fp["nearest_probe"])
    assert {"nearest", "r"} <= set(fp["correlation_baseline"])
    assert {"kept", "lo", "hi"} <= set(fp["ablation"]["lowpass"])
    assert "Geirhos" in fp["method"]


def test_unknown_cue_suggests_a_name():
    with pytest.raises(UserError, match="did you mean 'colour'"):
        CUES.get("color")


def test_blind_probes_anchor_the_ablation_score(world):
    """A low-pass on top of a blur model's own blur costs it (and the blur probe) something; the
    score must count only what it loses beyond a blind probe, not read that loss as reliance."""
    import dataclasses

    t = simulate_trials(world, SIM_PROBES["blur"], model_seed=11)
    rng = np.random.default_rng(5)
    extra = lambda a: a * (rng.uniform(size=a.shape) < 0.9)  # noqa: E731  10% more lost
    low = dict(t.probe_ablation["lowpass"], blur=extra(t.probe_ablation["lowpass"]["blur"]))
    hit = dataclasses.replace(t, model_ablation={**t.model_ablation, "lowpass": extra(t.model_ablation["lowpass"])},
                              probe_ablation={**t.probe_ablation, "lowpass": low})
    anchored = fingerprint_from_trials(hit, "blur-hit", n_boot=200)["cue_profile"]["fine_texture"]
    assert abs(anchored["components"]["ablation:lowpass"]) < 0.15
    unanchored = dataclasses.replace(hit, probe_ablation={**hit.probe_ablation, "lowpass": {
        p: v for p, v in low.items() if p != "blur"}})
    naive = fingerprint_from_trials(unanchored, "blur-hit", n_boot=200)["cue_profile"]["fine_texture"]
    assert naive["components"]["ablation:lowpass"] > anchored["components"]["ablation:lowpass"] + 0.2


def test_cues_come_from_the_probe_files(tmp_path, monkeypatch, project_root):
    """users/blind follow `[bias] blind_to`: the project's bank as before, and a user's own probe
    files take part (a colour-blind one becomes a blind reference, a plain CNN a standard one)."""
    from evalkit.fingerprint.cues import probe_cues, reference_probes

    assert CUES.get("colour").users == ("control", "kernel5")
    assert CUES.get("colour").blind == ("grayscale", "zca_shift")
    assert CUES.get("fine_texture").blind == ("blur",) and CUES.get("global_shape").blind == ("patch_shuffle",)
    assert CUES.get("orientation").users == CUES.get("orientation").blind == ()  # no blind probe: absolute scale
    assert "knn" not in reference_probes() and "knn" not in probe_cues()
    gray = (project_root / "probes" / "grayscale.toml").read_text()
    (tmp_path / "mono.toml").write_text(gray)
    (tmp_path / "mycnn.toml").write_text((project_root / "probes" / "control.toml").read_text())
    (tmp_path / "sharp.toml").write_text(gray.replace('blind_to = ["grayscale", "channel_permute"]',
                                                      'blind_to = ["lowpass"]'))
    monkeypatch.setenv("EVALKIT_PROBES_PATH", str(tmp_path))
    assert CUES.get("colour").blind == ("grayscale", "mono", "zca_shift")
    assert CUES.get("fine_texture").blind == ("blur", "sharp")
    assert CUES.get("colour").users == ("control", "kernel5", "mycnn")
    assert probe_cues()["mono"] == "colour" and probe_cues()["mycnn"] is None
