"""Scoring engine and stage: budget, dry run, cache, ablations, rate limit, retry rules,
secrets (never written anywhere), API file validation and the CLI."""
from __future__ import annotations

import json
import logging
import random
import re
from pathlib import Path

import numpy as np
import pytest

from scoring_servers import CLASSES, make_dataset, running_server, write_api_file, write_evalset

from evalkit.errors import ConfigError, UserError


@pytest.fixture()
def small(tmp_path):
    from evalkit.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    write_evalset(ws, "a", range(0, 6))
    write_evalset(ws, "b", range(4, 10))
    return ws, make_dataset(10)


def _load(path):
    from evalkit.scoring import load_api_config

    return load_api_config(path)


def test_budget_caps_queries_and_dry_run_sends_nothing(tmp_path, small):
    from evalkit.scoring import score_api
    from evalkit.scoring.stage import ScoringPlan

    ws, ds = small
    with running_server() as srv:
        write_api_file(tmp_path / "api.toml", srv.url)
        lines: list[str] = []
        plan = score_api(ws, _load(tmp_path / "api.toml"), ds, None, dry_run=True, budget=0.008, echo=lines.append)
        assert isinstance(plan, ScoringPlan) and not srv.requests_per_image
        assert (plan.n_images, plan.queries, plan.allowed_queries) == (10, 10, 4)
        assert plan.full_cost == pytest.approx(0.02) and plan.estimated_cost == pytest.approx(0.008)
        assert "10 queries to send" in lines[0] and "6 image(s) will fail with reason 'budget'" in lines[0]
        assert not (ws.root / "scores" / "faulty" / "scores.json").exists()

        art = score_api(ws, _load(tmp_path / "api.toml"), ds, ["a", "b"], budget=0.008)
        doc = json.loads(ws.abspath(art).read_text())
        assert sum(srv.requests_per_image.values()) == 4
        assert [r["status"] for r in doc["images"]] == ["scored"] * 4 + ["failed"] * 6
        assert {r["reason"] for r in doc["images"][4:]} == {"budget"}
        assert doc["spent_cost"] == pytest.approx(0.008) and doc["sets"] == ["a", "b"]
        # no budget: only the 6 missing images are sent
        doc = json.loads(ws.abspath(score_api(ws, _load(tmp_path / "api.toml"), ds, ["a", "b"])).read_text())
        assert sum(srv.requests_per_image.values()) == 10 and doc["cache_hits"] == 4
        assert all(r["status"] == "scored" for r in doc["images"])
        assert ws.catalog.get("scores", "faulty").meta["queries_sent"] == 6


def test_ablations_are_extra_cached_queries(tmp_path, small):
    from evalkit.probes.transforms import apply_transform
    from evalkit.scoring import score_api
    from evalkit.scoring.adapters import image_key

    ws, ds = small
    with running_server() as srv:
        write_api_file(tmp_path / "api.toml", srv.url, extra='\n'.join(["", ""]))
        cfg = _load(tmp_path / "api.toml")
        plan = score_api(ws, cfg, ds, ["a"], ablations=["mirror"], dry_run=True)
        assert (plan.n_images, plan.n_ablation_images, plan.queries) == (6, 6, 12)
        doc = json.loads(ws.abspath(score_api(ws, cfg, ds, ["a"], ablations=["mirror"])).read_text())
        mirrored = apply_transform("mirror", ds.split("test").images[:6], seed=0)
        assert [r["hash"] for r in doc["ablations"]["mirror"]] == [image_key(m) for m in mirrored]
        assert [r["index"] for r in doc["ablations"]["mirror"]] == list(range(6))
        assert len(srv.requests_per_image) == 12
        with pytest.raises(UserError, match="did you mean 'mirror'"):
            score_api(ws, cfg, ds, ["a"], ablations=["miror"], dry_run=True)


def test_retry_after_beyond_the_retry_time_cap_fails_fast_with_reason(tmp_path, small):
    from evalkit.scoring import score_api
    from scoring_servers import FaultPlan

    ws, ds = small
    with running_server(FaultPlan(p429=1.0, p503=0, pslow=0, pmalformed=0, fault_attempts=99)) as srv:
        write_api_file(tmp_path / "api.toml", srv.url, max_retries=50)
        text = (tmp_path / "api.toml").read_text().replace("retry_time_cap_s = 30", "retry_time_cap_s = 0.5")
        (tmp_path / "api.toml").write_text(text)
        doc = json.loads(ws.abspath(score_api(ws, _load(tmp_path / "api.toml"), ds, ["a"])).read_text())
    assert all(r["status"] == "failed" and r["reason"].startswith("retry time cap of 0.5s reached")
               for r in doc["images"])
    assert doc["cache_hits"] == 0


def test_token_bucket_spaces_requests_at_the_rate():
    from evalkit.scoring import TokenBucket

    now = [0.0]
    waits = []
    bucket = TokenBucket(10.0, burst=2, clock=lambda: now[0], sleep=lambda s: waits.append(s))
    got = [bucket.acquire() for _ in range(5)]
    assert got == pytest.approx([0.0, 0.0, 0.1, 0.2, 0.3])
    now[0] = 10.0  # long idle: the bucket refills to its burst only
    assert [bucket.acquire() for _ in range(3)] == pytest.approx([0.0, 0.0, 0.1])


def test_backoff_is_full_jitter_capped_and_honours_retry_after():
    from evalkit.scoring.api_config import EngineSettings
    from evalkit.scoring.engine import backoff_delay

    s = EngineSettings(backoff_base_s=1.0, backoff_max_s=8.0)
    rng = random.Random(0)
    for attempt, cap in [(1, 1.0), (2, 2.0), (3, 4.0), (6, 8.0)]:
        d = [backoff_delay(attempt, s, rng, None) for _ in range(200)]
        assert 0 <= min(d) and max(d) <= cap and max(d) > 0.8 * cap
    assert backoff_delay(1, s, rng, 5.0) == 5.0


def test_retry_after_header_seconds_and_http_date():
    import email.utils
    from evalkit.scoring.adapters import parse_retry_after

    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(email.utils.formatdate(1000.0 + 30, usegmt=True), now=1000.0) == pytest.approx(30)
    assert parse_retry_after(email.utils.formatdate(1000.0 - 30, usegmt=True), now=1000.0) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


FAKE_KEY = "sk-FAKE-9f8e7d6c5b4a39281706"
WRONG_KEY = "sk-WRONG-0a1b2c3d4e5f60718293"


def test_secrets_appear_nowhere_in_workspace_cache_logs_or_output(tmp_path, run_cli, caplog, monkeypatch):
    from evalkit.data.synthetic import SYNTHETIC_CLASSES
    from evalkit.workspace import Workspace, atomic_write_text

    caplog.set_level(logging.DEBUG)
    ws = Workspace(tmp_path / "ws")
    doc = {"id": "s1", "kind": "pair", "pool": "synthetic/test", "indices": list(range(12)),
           "class_names": list(SYNTHETIC_CLASSES), "kept": True}
    atomic_write_text(ws.dir("sets") / "s1.json", json.dumps(doc))
    ws.catalog.record("evalset", "s1", "sets/s1.json")
    secret_dir = tmp_path / "secrets"
    secret_dir.mkdir()
    (secret_dir / "wrong.key").write_text(WRONG_KEY + "\n")
    monkeypatch.setenv("EVALKIT_TEST_TOKEN", FAKE_KEY)
    with running_server(api_key=FAKE_KEY) as srv:
        write_api_file(tmp_path / "good.toml", srv.url, extra="")
        text = (tmp_path / "good.toml").read_text()
        (tmp_path / "good.toml").write_text(text + '\n[credentials]\ntoken = { env = "EVALKIT_TEST_TOKEN" }\n')
        bad = text.replace('name = "faulty"', 'name = "badkey"')
        (tmp_path / "bad.toml").write_text(bad + f'\n[credentials]\ntoken = {{ file = "{secret_dir / "wrong.key"}" }}\n')
        outputs = []
        for api in ("good", "bad"):
            code, out, err = run_cli("score", "--api", str(tmp_path / f"{api}.toml"), "--set", "s1",
                                     "--data", "synthetic:2/2", "--workspace", str(ws.root))
            assert code == (0 if api == "good" else 2), err
            outputs += [out, err]
        assert sum(srv.answers_per_image.values()) == 12  # the good key was really sent
    good = json.loads((ws.root / "scores" / "faulty" / "scores.json").read_text())
    assert all(r["status"] == "scored" and r["raw_label"] in SYNTHETIC_CLASSES for r in good["images"])
    # a refused key stops the run at once (fail fast), quoting the redacted answer
    assert outputs[3].startswith("error: badkey: HTTP 403: ") and "invalid credentials: Bearer ***" in outputs[3]
    assert not (ws.root / "scores" / "badkey" / "scores.json").exists()
    assert "12 scored" in outputs[0]
    seen = "\n".join(outputs) + caplog.text
    for key in (FAKE_KEY, WRONG_KEY):
        assert key not in seen
        for path in ws.root.rglob("*"):
            if path.is_file():
                assert key.encode() not in path.read_bytes(), path


def test_api_file_validation_is_strict(tmp_path):
    def write(text):
        p = tmp_path / "x.toml"
        p.write_text(text)
        return p

    base = 'adapter = "google-vision"\nendpoint = "https://vision.googleapis.com/v1/images:annotate"\n'
    cfg = _load(write(base + '[credentials]\napi_key = { env = "V_KEY" }\n[engine]\nbatch_size = 16\n'))
    assert cfg.name == "x" and cfg.credentials == {"api_key": ("env", "V_KEY")} and cfg.engine.batch_size == 16
    cases = [
        (base + 'api_key = "AIzaSECRET"\n', "unknown key 'api_key'"),
        (base + '[credentials]\napi_key = "AIzaSECRET"\n', "secrets are never written in the API file"),
        (base + '[engine]\nbatch_size = 17\n', "more than the google-vision adapter allows (16)"),
        (base + '[engine]\nconcurency = 2\n', "did you mean 'concurrency'"),
        (base + '[params]\nmax_result = 3\n', "did you mean 'max_results'"),
        ('adapter = "google-vison"\nendpoint = "https://x"\n', "did you mean 'google-vision'"),
        (base.replace("https://", "ftp://"), "endpoint must be an http:// or https:// URL with a host"),
        (base + 'price_per_1000 = -1\n', "price_per_1000 must be a finite number >= 0"),
        (base + '[labels]\ntabby = 3\n', "must map to a class name"),
    ]
    for text, match in cases:
        with pytest.raises(UserError, match=re.escape(match)):
            _load(write(text))


def test_missing_secret_and_bad_cli_use_are_one_line_errors(tmp_path, small, run_cli, monkeypatch):
    ws, _ = small
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    api = tmp_path / "api.toml"
    api.write_text('adapter = "huggingface"\nendpoint = "http://127.0.0.1:9"\nmodel = "m"\n'
                   '[credentials]\ntoken = { env = "NO_SUCH_KEY_VAR" }\n')
    code, out, err = run_cli("score", "--api", str(api), "--set", "a", "--all-sets", "--workspace", str(ws.root))
    assert code == 2 and err.startswith("error: give exactly one of --set") and "Traceback" not in err
    code, out, err = run_cli("score", "--api", str(api), "--set", "nope", "--workspace", str(ws.root))
    assert code == 2 and "unknown evaluation set 'nope'" in err
    from evalkit.scoring import resolve_credentials

    with pytest.raises(UserError, match="needs the environment variable NO_SUCH_KEY_VAR"):
        resolve_credentials(_load(api))


def test_credentials_never_show_in_repr():
    from evalkit.scoring.adapters import PreparedRequest
    from evalkit.scoring.api_config import Credentials, Secret, redact

    creds = Credentials({"api_key": Secret(FAKE_KEY)})
    req = PreparedRequest("POST", "https://x", {"x-goog-api-key": creds["api_key"]}, json={"a": 1})
    assert FAKE_KEY not in repr(creds) + repr(req) + repr(creds["api_key"])
    assert redact(f"bad key {FAKE_KEY}!", creds) == "bad key ***!"
