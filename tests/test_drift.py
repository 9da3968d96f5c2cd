"""Runs and their comparison: paired statistics with known answers, `score --new-run` against a
real HTTP server (cache bypassed for reads, same images), `runs list`, `compare` and the CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import binomtest

import scoring_servers
from scoring_servers import running_server, write_api_file
from test_fingerprint_workspace import bank  # noqa: F401  (fixture)

from evalkit.drift.stats import bootstrap_p, flip_rate, holm, newcombe_paired_ci, paired_change


# ---------------------------------------------------------------- statistics, known answers
def test_newcombe_paired_ci_matches_published_example():
    # Cavo et al. (2012) in Fagerland, Lydersen & Laake, "Statistical analysis of contingency
    # tables", ch. 8: table [[59, 6], [16, 80]]; p1+ - p+1 = -0.0621, 95% CI -0.1186 to -0.0046.
    # Here diff = acc(B) - acc(A) with A = rows, B = columns, so the signs flip.
    lo, hi = newcombe_paired_ci(59, 6, 16, 80)
    assert lo == pytest.approx(0.0046, abs=5e-5) and hi == pytest.approx(0.1186, abs=5e-5)
    lo, hi = newcombe_paired_ci(10, 0, 0, 10)       # no discordant pair: a CI around 0
    assert lo < 0 < hi and lo == pytest.approx(-hi)


def test_mcnemar_exact_holm_flip_rate_and_bootstrap_p():
    a = np.array([1] * 9 + [0] * 2 + [1] * 20 + [0] * 5, dtype=bool)   # 9 only-A, 2 only-B
    b = np.array([0] * 9 + [1] * 2 + [1] * 20 + [0] * 5, dtype=bool)
    ch = paired_change(a, b)
    assert (ch.only_a, ch.only_b, ch.n) == (9, 2, 36)
    assert ch.p == pytest.approx(binomtest(2, 11, 0.5).pvalue, rel=1e-9)
    assert ch.p == pytest.approx(2 * (1 + 11 + 55) / 2 ** 11, rel=1e-9)   # hand: 2 * P(X <= 2), X ~ Bin(11, 1/2)
    assert ch.diff == pytest.approx(-7 / 36) and ch.lo < ch.diff < ch.hi < 0.0 + 1e-9 + ch.hi
    # Holm: p = (0.01, 0.04, 0.03) -> sorted 0.01*3, 0.03*2, 0.04*1 -> (0.03, 0.06, 0.06)
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    f = flip_rate([1, 2, None, 3], [1, 5, None, 4])
    assert (f["flips"], f["n"], f["rate"]) == (2, 4, 0.5) and 0 < f["lo"] < 0.5 < f["hi"] < 1
    assert bootstrap_p(np.zeros(11)) == 1.0
    assert bootstrap_p(np.r_[1.0, np.ones(999)]) == pytest.approx(2 / 1000)
    assert bootstrap_p(np.r_[0.0, np.linspace(-1, 1, 1000)]) == pytest.approx(1.0)


# ---------------------------------------------------------------- runs against a real server
def _api(tmp_path, url):
    from evalkit.scoring import load_api_config

    path = tmp_path / "api.toml"
    write_api_file(path, url, timeout_s=10)  # no faults here: a slow, loaded machine must not cause retries
    text = path.read_text().replace('name = "faulty"', 'name = "drifty"')
    path.write_text(text.replace("price_per_1000 = 2.0\n", 'price_per_1000 = 2.0\nablations = ["grayscale"]\n'))
    return load_api_config(path), path


def _changed_scores(share: float):
    """A server answer that differs from the original on about ``share`` of the images."""
    original = scoring_servers.true_scores

    def scores(key: str):
        p = original(key)
        if int(key[12:20], 16) / 2 ** 32 < share:
            p = p[1:] + p[:1]       # another top class
        return p
    return scores


def test_new_run_queries_afresh_and_compare_finds_the_change(bank, tmp_path, monkeypatch, run_cli):  # noqa: F811
    from evalkit.drift import compare_runs
    from evalkit.scoring import score_api
    from evalkit.scoring.runs import list_runs

    ws, ds = bank
    with running_server(None) as srv:
        cfg, path = _api(tmp_path, srv.url)
        score_api(ws, cfg, ds, max_queries=None)
        first = sum(srv.requests_per_image.values())
        assert first == 160                                   # 80 images + 80 grayscale copies
        score_api(ws, cfg, ds, max_queries=None)              # not a new run: all from the cache
        assert sum(srv.requests_per_image.values()) == first
        lines = []
        plan = score_api(ws, cfg, ds, max_queries=None, new_run=True, dry_run=True, echo=lines.append)
        assert plan.queries == 160 and plan.cache_hits == 0 and plan.full_cost == pytest.approx(0.32)
        assert sum(srv.requests_per_image.values()) == first  # a dry run sends nothing
        score_api(ws, cfg, ds, max_queries=None, new_run=True)
        assert sum(srv.requests_per_image.values()) == 2 * first
        assert set(srv.requests_per_image.values()) == {2}    # the same images, each sent again

        runs = list_runs(ws, "drifty")
        assert [r.new_run for r in runs] == [False, False, True] and runs[1].queries_sent == 0
        assert (ws.root / runs[0].path).is_file() and len({r.id for r in runs}) == 3
        same = compare_runs(ws, "drifty", n_boot=200, data="synthetic:2/10")
        assert same["verdict"] == "no detectable change (no answer changed on 80 images)"
        assert same["overall"]["flips"]["flips"] == 0 and same["changed"] is False
        assert all(c["diff"] in (0.0, None) for c in same["cues"])

        monkeypatch.setattr(scoring_servers, "true_scores", _changed_scores(0.5))
        score_api(ws, cfg, ds, max_queries=None, new_run=True)
    doc = compare_runs(ws, "drifty", n_boot=200, data="synthetic:2/10")
    f = doc["overall"]["flips"]
    assert 0.3 < f["rate"] < 0.7 and f["lo"] < f["rate"] < f["hi"]
    assert doc["n_flipped"] == f["flips"] and {x["index"] for x in doc["flipped"]} <= set(range(80))
    ov = doc["overall"]
    assert ov["only_a"] + ov["only_b"] <= f["flips"] and ov["lo"] <= ov["diff"] <= ov["hi"]
    assert [s["id"] for s in doc["sets"]] == ["control>grayscale", "control>rest", "grayscale>control"]
    assert all(s["p_holm"] >= s["p"] for s in doc["sets"])
    stored = json.loads((ws.root / f"comparisons/drifty/{doc['run_a']['id']}_vs_{doc['run_b']['id']}.json").read_text())
    assert stored["verdict"] == doc["verdict"]
    assert ws.catalog.get("comparison", "drifty").meta["verdict"] == doc["verdict"]

    code, out, err = run_cli("runs", "list", "--api", "drifty", "-w", str(ws.root))
    assert code == 0, err
    assert len(out.strip().splitlines()) == 5 and out.count("yes") == 2
    ids = [r.id for r in list_runs(ws, "drifty")]
    code, out, err = run_cli("compare", "--api", "drifty", ids[0], ids[1], "--n-boot", "50",
                             "--data", "synthetic:2/10", "-w", str(ws.root))
    assert code == 0, err
    assert "verdict: no detectable change" in out and "flip rate: 0.0%" in out and "ablation grayscale: accuracy" in out
    code, out, err = run_cli("compare", "--api", "drifty", ids[0], "nope", "-w", str(ws.root))
    assert code == 2 and "unknown run 'nope'" in err and "Traceback" not in err
    code, out, err = run_cli("runs", "list", "--api", "drify", "-w", str(ws.root))
    assert code == 2 and "did you mean" in err and "drifty" in err


def test_new_run_of_a_planned_api_resends_its_plan(bank, tmp_path, run_cli):  # noqa: F811
    from evalkit.drift import compare_runs
    from evalkit.scoring import score_api
    from evalkit.scoring.runs import list_runs

    ws, ds = bank
    with running_server(None) as srv:
        cfg, path = _api(tmp_path, srv.url)
        cfg = type(cfg)(**{**cfg.__dict__, "name": "planned"})
        score_api(ws, cfg, ds, max_queries=60)
        first = dict(srv.requests_per_image)
        doc1 = json.loads((ws.root / "scores/planned/scores.json").read_text())
        plan1 = (ws.root / "scores/planned/plan.npz").read_bytes()
        lines = []
        plan = score_api(ws, cfg, ds, max_queries=60, new_run=True, dry_run=True, echo=lines.append)
        assert plan.queries == sum(first.values()) and dict(srv.requests_per_image) == first
        assert any("new run of the stored plan" in ln and "(none from cache)" in ln for ln in lines)
        score_api(ws, cfg, ds, max_queries=60, new_run=True)
        assert dict(srv.requests_per_image) == {k: 2 * v for k, v in first.items()}   # the same queries again
    doc2 = json.loads((ws.root / "scores/planned/scores.json").read_text())
    key = lambda d: sorted((r["index"], r["hash"]) for r in d["images"])  # noqa: E731
    assert key(doc1) == key(doc2) and doc2["plan"]["replay_of"] == doc1["run"]["id"]
    assert (ws.root / "scores/planned/plan.npz").read_bytes() == plan1
    runs = list_runs(ws, "planned")
    assert [r.planned for r in runs] == [True, True]
    assert (ws.root / runs[0].path).with_name("plan.npz").read_bytes() == plan1
    doc = compare_runs(ws, "planned", n_boot=100, data="synthetic:2/10")
    assert doc["design_weighted_cues"] is True and doc["overall"]["flips"]["flips"] == 0
    assert doc["n_common"] == sum(1 for r in doc1["images"] if r["status"] == "scored")


def test_scores_from_before_runs_become_a_run_and_one_run_is_not_enough(tmp_path, bank):  # noqa: F811
    from evalkit.drift import compare_runs
    from evalkit.errors import UserError
    from evalkit.scoring import score_api
    from evalkit.scoring.runs import list_runs

    ws, ds = bank
    with running_server(None) as srv:
        cfg, _ = _api(tmp_path, srv.url)
        cfg = type(cfg)(**{**cfg.__dict__, "name": "legacy"})
        score_api(ws, cfg, ds, max_queries=None)
        with pytest.raises(UserError, match="has 1 run; score it again"):
            compare_runs(ws, "legacy")
        # a workspace from before runs: no 'run' field, no archived run
        path = ws.root / "scores/legacy/scores.json"
        doc = json.loads(path.read_text())
        del doc["run"]
        path.write_text(json.dumps(doc))
        ws.catalog.delete("scores-run", list_runs(ws, "legacy")[0].api + "/" + list_runs(ws, "legacy")[0].id)
        score_api(ws, cfg, ds, max_queries=None, new_run=True)
    runs = list_runs(ws, "legacy")
    assert [r.new_run for r in runs] == [False, True]
    assert "run" in json.loads((ws.root / runs[0].path).read_text())
    assert compare_runs(ws, "legacy", n_boot=50, data="synthetic:2/10")["overall"]["flips"]["flips"] == 0
