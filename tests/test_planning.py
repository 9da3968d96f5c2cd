"""Query planner: verdicts from a budget, honest weighted CIs, full-pool accuracy, continuation."""
from __future__ import annotations

import numpy as np
import pytest

from evalkit.fingerprint import fingerprint_from_trials
from evalkit.fingerprint.cues import CUES
from fingerprint_sim import SIM_PROBES, TRANSFORM_CUE, CueWorld, simulate_trials
from evalkit.planning import DrawLedger, PlanningData, QueryPlanner, estimate_pool_accuracy
from evalkit.planning.design import difficulty_strata, neyman_allocation
from evalkit.planning.planner import weighted_trials
from evalkit.planning.population import informativeness, preference_sets

TRANSFORMS = tuple(TRANSFORM_CUE)


def sim_bank(world: CueWorld, uses: set[str], model_seed: int):
    """PlanningData for a simulated bank and an oracle for a model using ``uses``."""
    tr = simulate_trials(world, uses, model_seed=model_seed)
    n = world.n_images
    rng = np.random.default_rng(world.seed + 99)
    labels = rng.integers(0, 10, size=n)
    used = tr.index
    docs = [{"id": s.id, "kind": s.kind, "probe_a": s.probe_a, "probe_b": s.probe_b, "kept": True,
             "indices": used[s.positions].tolist()} for s in tr.sets]
    probes = {}
    for p, c in tr.probes.items():
        full = np.zeros((c.shape[0], n))
        full[:, used] = c
        probes[p] = (list(range(c.shape[0])), full)
    cue_abl = {c: tuple(CUES.get(c).ablations) for c in CUES.names()}
    data = PlanningData("sim/test", labels, docs, used, world.p_correct(set(SIM_PROBES["control"])),
                        probes, tr.probe_ablation, cue_abl)
    data = PlanningData(**{**data.__dict__, "informativeness": informativeness(data),
                           "preference_sets": preference_sets(data)})
    m_orig, m_abl = world.draw(uses, np.random.default_rng(model_seed), TRANSFORMS)

    def answer(i: int, t: str):
        ok = (m_orig if t == "" else m_abl[t])[i] > 0.5
        return int(labels[i]) if ok else int((labels[i] + 1) % 10)

    calls = {"n": 0, "sent": []}

    def ask(requests):
        calls["n"] += len(requests)
        calls["sent"] += list(requests)
        return {q: answer(*q) for q in requests}, len(requests)

    return data, ask, calls, float(m_orig.mean()), tr


@pytest.fixture(scope="module")
def world():
    return CueWorld(4000, seed=0)


@pytest.mark.parametrize("probe, cue", [("grayscale", "colour"), ("blur", "fine_texture"),
                                        ("patch_shuffle", "global_shape")])
def test_planner_names_the_planted_bias_within_budget(world, probe, cue):
    data, ask, calls, _, _ = sim_bank(world, SIM_PROBES[probe], model_seed=5)
    res = QueryPlanner(data, max_queries=1000, n_boot=200).run(ask)
    assert calls["n"] == res.queries <= 1000
    # 'less' with a CI that reaches 0 also names the bias; the planner may stop there
    assert res.verdicts[cue] in ("ignored", "less")
    fp = fingerprint_from_trials(weighted_trials(data, res.ledger, res.answers, res.ablation_answers),
                                 "m", n_boot=300)
    assert fp["cue_profile"][cue]["score"] < 0.5 and fp["cue_profile"][cue]["lo"] <= 0.0
    assert all(res.verdicts[c] in ("as_much", "more") for c in ("colour", "fine_texture", "global_shape")
               if c != cue)


def test_unbiased_model_is_about_as_much_everywhere(world):
    data, ask, calls, _, _ = sim_bank(world, SIM_PROBES["control"], model_seed=8)
    res = QueryPlanner(data, max_queries=1000, n_boot=200).run(ask)
    assert {res.verdicts[c] for c in ("colour", "fine_texture", "global_shape")} == {"as_much"}
    assert res.verdicts["orientation"] == "not used"


def test_informative_selection_keeps_cis_honest(world):
    """Drawing informative images more often must not bias the weighted estimate nor make its
    CI too narrow: the kept-accuracy CI under grayscale covers the all-images value."""
    cover, n = 0, 30
    data, _, _, _, tr = sim_bank(world, SIM_PROBES["control"], model_seed=3)
    full = fingerprint_from_trials(tr, "all", n_boot=0)["ablation"]["grayscale"]["kept"]
    for s in range(n):
        led = DrawLedger(data.n_pool, TRANSFORMS)
        rng = np.random.default_rng(100 + s)
        led.cue_draws(rng, data.population, data.labels, data.informativeness["colour"], 150,
                      ("grayscale", "channel_permute"), 0.3)
        pos = {int(i): j for j, i in enumerate(tr.index)}
        m = lambda arr: {int(i): (int(data.labels[i]) if arr[pos[int(i)]] > 0.5 else -1)  # noqa: E731
                         for i in led.drawn("grayscale")}
        fp = fingerprint_from_trials(weighted_trials(data, led, m(tr.model),
                                                     {"grayscale": m(tr.model_ablation["grayscale"])}),
                                     "w", n_boot=300, seed=s)
        a = fp["ablation"]["grayscale"]
        cover += a["lo"] <= full <= a["hi"]
    assert cover / n >= 0.85, cover


def test_pool_accuracy_from_few_answers_covers_the_truth(world):
    # one estimate's sd is ~0.025 here: judge five planner seeds, not one draw
    data, ask, _, truth, _ = sim_bank(world, SIM_PROBES["blur"], model_seed=21)
    accs = [QueryPlanner(data, max_queries=600, n_boot=100, seed=s).run(ask).accuracy for s in range(5)]
    assert all(a is not None and a.hi - a.lo < 0.15 and set(a.per_class) == set(range(10)) for a in accs)
    assert np.mean([abs(a.acc - truth) for a in accs]) < 0.025
    assert sum(a.lo <= truth <= a.hi for a in accs) >= 4


def test_stratified_estimate_is_unbiased_over_repeats(world):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, size=4000)
    diff = rng.uniform(size=4000)
    correct = rng.uniform(size=4000) < diff          # difficulty predicts correctness
    truth = correct.mean()
    strata = difficulty_strata(labels, diff)
    est, cover = [], 0
    for s in range(40):
        led = DrawLedger(4000)
        drawn = led.accuracy_draws(np.random.default_rng(s), strata, neyman_allocation(strata, diff, labels, 200))
        ans = {int(i): (int(labels[i]) if correct[i] else None) for i in drawn}
        a = estimate_pool_accuracy(led, ans, labels, strata, n_boot=300, seed=s)
        est.append(a.acc)
        cover += a.lo <= truth <= a.hi
    assert abs(np.mean(est) - truth) < 0.01
    assert cover >= 34  # >= 85% of 40


def test_a_larger_budget_continues_and_sends_nothing_twice(world):
    data, ask, calls, _, _ = sim_bank(world, SIM_PROBES["control"], model_seed=13)
    first = QueryPlanner(data, max_queries=300, n_boot=100).run(ask)
    sent_first = list(calls["sent"])
    assert first.spent_queries == len(sent_first) <= 300
    second = QueryPlanner(data, max_queries=900, n_boot=100).run(
        ask, ledger=first.ledger, answers=first.answers, ablation_answers=first.ablation_answers,
        spent=first.spent_queries, first_round=len(first.rounds))
    sent = calls["sent"]
    assert len(sent) == len(set(sent)) and len(sent) <= 900
    assert second.spent_queries == len(sent)


def test_ledger_round_trips_through_bytes():
    led = DrawLedger(50, ("grayscale",))
    led.cue_draws(np.random.default_rng(0), np.arange(50), np.arange(50) % 5, np.ones(50), 20,
                  ("grayscale",), 0.3)
    back = DrawLedger.from_bytes(led.to_bytes())
    assert np.array_equal(back.weights(np.arange(50), "grayscale"), led.weights(np.arange(50), "grayscale"))


def test_without_cues_the_planner_still_estimates_pool_accuracy(world):
    data, ask, calls, truth, _ = sim_bank(world, SIM_PROBES["control"], model_seed=4)
    import dataclasses

    bare = dataclasses.replace(data, cue_ablations={}, informativeness={})
    res = QueryPlanner(bare, max_queries=400, n_boot=50).run(ask)
    assert 350 <= calls["n"] <= 400 and all(t == "" for _, t in calls["sent"])
    assert res.accuracy is not None and res.accuracy.lo <= truth <= res.accuracy.hi


def _cue(rs: np.ndarray, noise: np.ndarray) -> dict:
    from evalkit.fingerprint.evidence import estimate
    from evalkit.fingerprint.verdict import VerdictSettings, relative_verdict

    r = rs + noise
    e = estimate(r)
    return {"_reps": r, "_reps_sampling": rs, "scale": "relative", "score": e.value, "lo": e.lo,
            "hi": e.hi, "verdict": relative_verdict(e.lo, e.hi, VerdictSettings())}


def _reps(centre: float, sd: float, seed: int, n: int = 2000) -> np.ndarray:
    x = centre + sd * np.random.default_rng(seed).standard_normal(n + 1)
    x[0] = centre
    return x


def _noise(scale: float, seed: int, n: int = 2000) -> np.ndarray:
    z = scale * np.random.default_rng(seed).standard_t(3, size=n + 1)
    z[0] = 0.0
    return z


def test_a_cue_the_reference_spread_keeps_open_is_undecidable():
    """Point estimate 0.8, sampling nearly exact, reference spread wide: no number of queries
    decides it, so the planner stops spending on it."""
    from evalkit.fingerprint.verdict import VerdictSettings
    from evalkit.planning.planner import cue_state

    s = cue_state(_cue(_reps(0.8, 0.01, 1), _noise(0.15, 2)), VerdictSettings())
    assert s["verdict"] == "inconclusive" and s["floor"] == "inconclusive" and s["undecidable"]
    # the same reference spread with a sampling error that still dominates: keep asking
    s = cue_state(_cue(_reps(0.8, 0.5, 1), _noise(0.15, 2)), VerdictSettings())
    assert s["floor"] is None and not s["undecidable"]


def test_a_cue_is_undecidable_only_if_no_point_in_its_sampling_interval_decides_it():
    """Point estimate 0.75 with the reference spread alone straddles the neutral and the standard
    level; but with a sampling sd of 0.1 the estimate may still move to ~0.55, where the same
    spread says 'less': keep asking. With a sampling sd of 0.01 it cannot move: undecidable."""
    from evalkit.fingerprint.verdict import VerdictSettings
    from evalkit.planning.planner import cue_state

    open_ = cue_state(_cue(_reps(0.75, 0.1, 5), _noise(0.1, 6)), VerdictSettings())
    assert open_["verdict"] == "inconclusive" and open_["floor"] == "open" and not open_["undecidable"]
    shut = cue_state(_cue(_reps(0.75, 0.01, 5), _noise(0.1, 6)), VerdictSettings())
    assert shut["floor"] == "inconclusive" and shut["undecidable"]


def test_the_99_percent_margin_widens_only_the_sampling_part():
    """Heavy-tailed reference spread (t, 3 df) and a verdict clear on both sampling levels: decided.
    A 99% percentile of the summed replicates would stretch the t tails and call it open."""
    from evalkit.fingerprint.stats import percentile_ci
    from evalkit.fingerprint.verdict import VerdictSettings, relative_verdict
    from evalkit.planning.planner import cue_state

    c = _cue(_reps(0.6, 0.04, 3), _noise(0.1, 4))
    s = cue_state(c, VerdictSettings())
    assert s["verdict"] == "less" and s["verdict99"] == "less" and s["decided"]
    assert relative_verdict(*percentile_ci(c["_reps"], level=0.99), VerdictSettings()) != "less"
    # a sampling error large enough that 1.31x of it reaches the standard level: not decided yet
    s = cue_state(_cue(_reps(0.7, 0.13, 3), _noise(0.02, 4)), VerdictSettings())
    assert s["verdict"] == "less" and s["verdict99"] != "less" and not s["decided"]


@pytest.mark.parametrize("share", [0.2, 0.3, 0.5])
def test_the_accuracy_sample_is_its_share_of_the_whole_budget(world, share):
    # the share comes off the top of the budget (not out of round 1's quarter), and the cue
    # rounds share the rest
    data, ask, calls, _, _ = sim_bank(world, SIM_PROBES["grayscale"], model_seed=21)
    planner = QueryPlanner(data, max_queries=1000, accuracy_share=share, n_boot=50)
    res = planner.run(ask)
    first = res.rounds[0]
    assert first["accuracy_draws"] == int(share * 1000)
    clean_pool = {i for i, t in calls["sent"][:first["requests"]] if t == ""}
    assert len(clean_pool) >= int(share * 1000) * 0.9     # few duplicates among the draws
    assert first["cue_draws"] and res.queries <= 1000
    from evalkit.planning import plan_summary
    lines = plan_summary(planner, 1.5)
    assert f"round 1: {int(share * 1000)} clean pool images" in lines[1]
    assert f"about {int((1000 - int(share * 1000)) // 4)} queries each" in lines[-1]


def test_the_planner_judges_with_the_fingerprints_own_bootstrap(world):
    """The verdicts the planner stops on are the ones the fingerprint (1,000 replicates, seed 0,
    as fingerprint_api) reports on the same answers."""
    data, ask, _, _, _ = sim_bank(world, SIM_PROBES["blur"], model_seed=8)
    res = QueryPlanner(data, max_queries=800, seed=3).run(ask)
    fp = fingerprint_from_trials(weighted_trials(data, res.ledger, res.answers, res.ablation_answers), "m")
    assert res.verdicts == {c: p["verdict"] for c, p in fp["cue_profile"].items()}


def test_an_undecidable_cue_ranks_the_spending_but_does_not_end_the_plan(world, monkeypatch):
    """'Undecidable' is judged from the answers so far (and their sampling error): by default the
    planner keeps spending the budget on such cues; it stops early only on decided verdicts.
    ``stop_undecidable=True`` restores the early stop."""
    import evalkit.planning.planner as planner_mod

    def all_undecidable(trials, st, n_boot, seed):
        return {c: {"verdict": "inconclusive", "decided": False, "undecidable": True} for c in CUES.names()}

    monkeypatch.setattr(planner_mod, "cue_status", all_undecidable)
    data, ask, calls, _, _ = sim_bank(world, SIM_PROBES["control"], model_seed=31)
    res = QueryPlanner(data, max_queries=800).run(ask)
    assert len(res.rounds) == 4 and res.stopped == "rounds" and res.spent_queries > 700
    stopped = QueryPlanner(data, max_queries=800, stop_undecidable=True).run(ask)
    assert len(stopped.rounds) == 1 and stopped.stopped == "decided"


def test_rounds_top_up_repeated_draws_so_the_budget_is_spent(world, monkeypatch):
    """Draws are with replacement and favour informative images, so on a small eval set a round's
    draws repeat; the planner tops up until the budget goes to unasked images (never beyond it)."""
    import evalkit.planning.planner as planner_mod

    def all_open(trials, st, n_boot, seed):
        return {c: {"verdict": "inconclusive", "decided": False, "undecidable": False} for c in CUES.names()}

    monkeypatch.setattr(planner_mod, "cue_status", all_open)
    data, ask, calls, _, _ = sim_bank(world, SIM_PROBES["control"], model_seed=32)
    possible = data.population.size * (1 + len({t for a in data.cue_ablations.values() for t in a}))
    budget = min(1200, possible // 2)
    res = QueryPlanner(data, max_queries=budget).run(ask)
    assert budget * 0.95 <= res.spent_queries <= budget and len(set(calls["sent"])) == len(calls["sent"])
    monkeypatch.setattr(planner_mod, "TOP_UPS", 0)
    calls["sent"].clear()
    short = QueryPlanner(data, max_queries=budget).run(ask)
    assert short.spent_queries < res.spent_queries


def test_a_cue_missing_a_component_for_want_of_answers_is_neither_decided_nor_undecidable(world):
    """With a handful of answers every cue lacks ablation components (fewer than min_n images),
    so no stop decision is taken on the partial score; a larger budget fills them in."""
    from evalkit.fingerprint.verdict import VerdictSettings
    from evalkit.planning.cue_state import cue_status

    data, ask, _, _, _ = sim_bank(world, SIM_PROBES["grayscale"], model_seed=41)
    small = QueryPlanner(data, max_queries=80, rounds=1, accuracy_share=0.0, n_boot=100).run(ask)
    status = cue_status(weighted_trials(data, small.ledger, small.answers, small.ablation_answers),
                        VerdictSettings(), 100, 0)
    for cue, s in status.items():
        assert s["missing"] and not s["decided"] and not s["undecidable"], cue
    big = QueryPlanner(data, max_queries=1500, n_boot=100).run(ask)
    status = cue_status(weighted_trials(data, big.ledger, big.answers, big.ablation_answers),
                        VerdictSettings(), 100, 0)
    assert not [m for m in status["colour"]["missing"] if m.startswith("ablation:")]
