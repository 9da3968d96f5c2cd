"""The query planner through the scoring stage, against a real HTTP server: budget respected,
dry run sends nothing, a larger budget continues without sending anything twice, the
fingerprint uses the design weights and the report gets the full-pool accuracy."""
from __future__ import annotations

import json

import pytest

from scoring_servers import running_server, write_api_file
from test_fingerprint_workspace import bank  # noqa: F401  (fixture)

ABL = 'ablations = ["grayscale", "lowpass", "mirror"]\n'


def _config(tmp_path, url, name="faulty"):
    from evalkit.scoring import load_api_config

    path = tmp_path / "api.toml"
    # a generous timeout: these tests count requests, and a 0.25 s timeout under CPU load makes
    # the client retry requests the server did receive (tests/test_scoring_faults.py covers that)
    write_api_file(path, url, timeout_s=10)
    text = path.read_text().replace('price_per_1000 = 2.0\n', 'price_per_1000 = 2.0\n' + ABL)
    text = text.replace('name = "faulty"', f'name = "{name}"')
    path.write_text(text)
    return load_api_config(path)


def test_planner_budget_dry_run_and_continuation(bank, tmp_path):  # noqa: F811
    from evalkit.fingerprint.fingerprint import fingerprint_api
    from evalkit.scoring import score_api

    ws, ds = bank
    with running_server(None) as srv:
        cfg = _config(tmp_path, f"http://127.0.0.1:{srv.server_address[1]}")
        lines = []
        plan = score_api(ws, cfg, ds, max_queries=60, dry_run=True, echo=lines.append)
        assert sum(srv.requests_per_image.values()) == 0
        assert any("query plan: at most 60 queries" in ln for ln in lines)
        assert plan.queries == 60 and plan.full_cost == pytest.approx(0.12)

        lines = []
        score_api(ws, cfg, ds, max_queries=60, echo=lines.append)
        doc = json.loads((ws.root / "scores" / "faulty" / "scores.json").read_text())
        first = sum(srv.requests_per_image.values())
        assert 0 < doc["plan"]["spent_queries"] == first <= 60
        assert doc["queries_sent"] == first and doc["spent_cost"] == pytest.approx(first * 0.002)
        assert any(ln.startswith("faulty: planner sent") for ln in lines)
        acc = doc["pool_accuracy"]
        assert acc["n_pool"] == 100 and 0 <= acc["lo"] <= acc["acc"] <= acc["hi"] <= 1

        score_api(ws, cfg, ds, max_queries=150)
        doc2 = json.loads((ws.root / "scores" / "faulty" / "scores.json").read_text())
        total = sum(srv.requests_per_image.values())
        assert max(srv.requests_per_image.values()) == 1          # nothing sent twice
        assert doc2["plan"]["spent_queries"] == total <= 150 and total > first
        assert len(doc2["plan"]["rounds"]) > len(doc["plan"]["rounds"])
        # every answer of the first run is still in the scores
        old = {(r["index"], r["hash"]) for r in doc["images"]}
        assert old <= {(r["index"], r["hash"]) for r in doc2["images"]}

    fp = fingerprint_api(ws, "faulty")
    assert fp["query_plan"]["spent_queries"] == total
    assert fp["pool_accuracy"]["n_pool"] == 100
    assert "design-weighted" in fp["method"] or "weighted estimate" in fp["method"]


def test_max_queries_validation(tmp_path):
    from evalkit.errors import ConfigError
    from evalkit.scoring.api_config import parse_max_queries

    assert parse_max_queries("all", where="x") == "all" and parse_max_queries("250", where="x") == 250
    for bad in (0, -5, "lots", 1.5, True):
        with pytest.raises(ConfigError, match="whole number >= 1"):
            parse_max_queries(bad, where="--max-queries")


def test_cli_dry_run_prints_the_plan_and_rejects_a_bad_budget(bank, tmp_path, run_cli):  # noqa: F811
    ws, _ = bank
    with running_server(None) as srv:
        cfg = _config(tmp_path, f"http://127.0.0.1:{srv.server_address[1]}", name="fresh")
        code, out, err = run_cli("score", "--api", cfg.source, "--all-sets", "--dry-run", "--max-queries", "50",
                                 "--data", "synthetic:2/10", "-w", str(ws.root))
        assert code == 0, err
        assert "query plan: at most 50 queries in up to 4 rounds (worst case 0.1000" in out
        assert "dry run: nothing sent" in out and sum(srv.requests_per_image.values()) == 0
        code, out, err = run_cli("score", "--api", cfg.source, "--all-sets", "--max-queries", "0",
                                 "--data", "synthetic:2/10", "-w", str(ws.root))
        assert code == 2 and "--max-queries must be a whole number >= 1" in err
        assert "Traceback" not in err


def test_planner_shares_the_lock_the_spend_ledger_budget_total_and_fail_fast(bank, tmp_path):  # noqa: F811
    import dataclasses

    from evalkit.errors import UserError
    from evalkit.scoring import score_api
    from evalkit.scoring.cache import ResponseCache
    from evalkit.scoring.engine import ScoringAborted
    from evalkit.scoring.lock import api_lock
    from scoring_servers import scripted_server, tfserving_answer

    ws, ds = bank
    refuse = {"on": False}

    def respond(path, headers, body):
        return (401, {"error": "bad token"}) if refuse["on"] else (200, tfserving_answer(body))

    with scripted_server(respond) as srv:
        cfg = _config(tmp_path, srv.url, name="planned")
        cfg = dataclasses.replace(cfg, params={**cfg.params, "output_key": "scores"}, budget_total=0.05)
        with api_lock(ws, "planned"):
            with pytest.raises(UserError, match="another run is scoring this API"):
                score_api(ws, cfg, ds, max_queries=60)
        assert srv.n_requests == 0
        lines = []                 # the dry run shows the cap that budget_total puts on the plan
        score_api(ws, cfg, ds, max_queries=60, dry_run=True, echo=lines.append)
        assert any("budget_total 0.05 leaves 0.05" in ln for ln in lines), lines
        assert any("caps this run at 25 paid queries (of the plan's 60)" in ln for ln in lines), lines
        assert srv.n_requests == 0
        score_api(ws, cfg, ds, max_queries=60)  # budget_total 0.05 at 2.0 per 1000: 25 paid queries
        doc = json.loads((ws.root / "scores" / "planned" / "scores.json").read_text())
        assert srv.n_requests == 25 and doc["spent_cost"] == pytest.approx(0.05)
        refuse["on"] = True
        before = (ws.root / "scores" / "planned" / "scores.json").read_bytes()
        with pytest.raises(ScoringAborted, match=r"^planned: HTTP 401"):
            score_api(ws, dataclasses.replace(cfg, budget_total=1.0), ds, max_queries=120)
        # stopped at the first refusal: only requests already in flight were sent
        assert 25 < srv.n_requests <= 25 + cfg.engine.concurrency and (ws.root / "scores" / "planned" / "scores.json").read_bytes() == before
    with ResponseCache(ws.root / "scores" / "cache.sqlite") as cache:
        assert cache.spent("planned") == (25, pytest.approx(0.05))
