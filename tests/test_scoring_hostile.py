"""Scoring against hostile or broken servers and hostile input: redaction before truncation,
odd types in answers, unsafe API names, non-finite numbers, unsafe labels, fail-fast, one
writer per API, the spend ledger and the cumulative budget (issue 16)."""
from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from scoring_servers import (free_port, make_dataset, running_server, scripted_server, tfserving_answer,
                             write_api_file, write_evalset)

from evalkit.errors import ConfigError, UserError

KEY = "sk-live-4f1c9a7be03d58e26a1f7c4b9d0e3a5c71b8f2d6"  # 48 characters


def _pieces(key: str) -> set[str]:
    return {key[i:i + 8] for i in range(len(key) - 7)}


def _synthetic_ws(tmp_path, n=12):
    from evalkit.data.synthetic import SYNTHETIC_CLASSES
    from evalkit.workspace import Workspace, atomic_write_text

    ws = Workspace(tmp_path / "ws")
    doc = {"id": "s1", "kind": "pair", "pool": "synthetic/test", "indices": list(range(n)),
           "class_names": list(SYNTHETIC_CLASSES), "kept": True}
    atomic_write_text(ws.dir("sets") / "s1.json", json.dumps(doc))
    ws.catalog.record("evalset", "s1", "sets/s1.json")
    return ws


def _api(path, url, name="faulty", *, token_env=None, extra="", params_extra="", **kw):
    write_api_file(path, url, **kw)
    text = path.read_text().replace('name = "faulty"', f'name = "{name}"')
    text = text.replace("top_k = 3\n", "top_k = 3\n" + params_extra)
    if token_env:
        text += f'\n[credentials]\ntoken = {{ env = "{token_env}" }}\n'
    path.write_text(text.replace("[params]", extra + "\n[params]", 1) if extra else text)
    return path


def _score(run_cli, api, ws, *more):
    return run_cli("score", "--api", str(api), "--set", "s1", "--data", "synthetic:2/2",
                   "--workspace", str(ws.root), *more)


# -- 1. redaction happens before anything is shortened or stored -------------------------------------

def test_key_echoed_in_error_and_ok_bodies_leaves_no_piece_anywhere(tmp_path, run_cli, caplog, monkeypatch):
    import logging

    caplog.set_level(logging.DEBUG)
    ws = _synthetic_ws(tmp_path)
    monkeypatch.setenv("EVALKIT_TEST_TOKEN", KEY)

    def respond(path, headers, body):
        auth = headers.get("Authorization")
        if "/models/m400" in path:  # the key straddles the 160th character of the body
            return 400, {"error": {"message": "x" * 60 + f" bad request, you sent Authorization: {auth}"}}
        return 200, tfserving_answer(body, echo={"Authorization": auth, "url": path})

    with scripted_server(respond) as srv:
        a400 = _api(tmp_path / "a400.toml", srv.url, "echo400", token_env="EVALKIT_TEST_TOKEN")
        a400.write_text(a400.read_text().replace('model = "m"', 'model = "m400"'))
        a200 = _api(tmp_path / "a200.toml", srv.url, "echo200", token_env="EVALKIT_TEST_TOKEN",
                    params_extra='output_key = "scores"\n')
        outs = []
        for api in (a400, a200):
            code, out, err = _score(run_cli, api, ws)
            assert code == 0, err
            outs += [out, err]
    code, out, err = run_cli("report", "--workspace", str(ws.root))
    assert code == 0, err
    outs += [out, err]
    failed = json.loads((ws.root / "scores" / "echo400" / "scores.json").read_text())
    assert all(r["status"] == "failed" and r["reason"].startswith("HTTP 400: ") and "Bearer ***" in r["reason"]
               for r in failed["images"])
    ok = json.loads((ws.root / "scores" / "echo200" / "scores.json").read_text())
    assert [r["status"] for r in ok["images"]] == ["scored"] * 12
    files = [p for p in ws.root.rglob("*") if p.is_file()]
    assert any(p.name == "cache.sqlite" for p in files) and any(p.name == "index.html" for p in files)
    seen = "\n".join(outs) + caplog.text
    for piece in _pieces(KEY):
        assert piece not in seen
        for p in files:
            assert piece.encode() not in p.read_bytes(), (p, piece)


def test_redaction_removes_pieces_and_escaped_spellings_before_cutting():
    from evalkit.scoring.redaction import redact_bytes, redact_text

    assert redact_text(f"a {KEY[:20]} b {KEY[30:]}!", [KEY]) == "a *** b ***!"
    assert redact_text("key=" + KEY.replace("-", "%2D"), [KEY]) == "key=sk%2Dlive%2D***"
    assert redact_text("x" + json.dumps("ab/cd\"efgh/ij")[1:-1], ["ab/cd\"efgh/ij"]) == "x***"
    assert redact_bytes(b'{"h":"Bearer ' + KEY[:30].encode() + b'..."}', [KEY]) == b'{"h":"Bearer ***..."}'
    assert redact_text("short abc1 abc1", ["abc1"]) == "short *** ***"
    assert redact_text("nothing here", [KEY]) == "nothing here"


# -- 2. odd types in answers never lose paid answers ------------------------------------------------------

def _kserve_answer(body: bytes, version) -> dict:
    inp = json.loads(body)["inputs"][0]
    n = inp["shape"][0]
    rng = np.random.default_rng(n)
    return {"model_name": "m", "model_version": version,
            "outputs": [{"name": "probs", "shape": [n, 10], "datatype": "FP32",
                         "data": rng.dirichlet(np.ones(10), n).ravel().tolist()}]}


@pytest.mark.parametrize("version", [{"v": [1, 2]}, [3, "x"], 7.5, True, "ok\ud800"])
def test_non_text_model_version_is_cached_as_canonical_text(tmp_path, version):
    from evalkit.scoring import load_api_config, score_api
    from evalkit.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    write_evalset(ws, "a", range(6))
    with scripted_server(lambda p, h, b: (200, _kserve_answer(b, version))) as srv:
        (tmp_path / "k.toml").write_text(f'name = "k"\nadapter = "kserve-v2"\nendpoint = "{srv.url}"\n'
                                         'model = "m"\n[engine]\nbatch_size = 3\nconcurrency = 1\n')
        cfg = load_api_config(tmp_path / "k.toml")
        doc = json.loads(ws.abspath(score_api(ws, cfg, make_dataset(6), ["a"])).read_text())
        assert [r["status"] for r in doc["images"]] == ["scored"] * 6
        want = version.replace("\ud800", "\ufffd") if isinstance(version, str) else \
            json.dumps(version, sort_keys=True, separators=(",", ":"))
        assert doc["api_versions"] == [want] and srv.n_requests == 2
        doc2 = json.loads(ws.abspath(score_api(ws, cfg, make_dataset(6), ["a"])).read_text())
        assert srv.n_requests == 2 and doc2["cache_hits"] == 6


def test_cache_put_stores_any_value_as_text(tmp_path):
    from evalkit.scoring.cache import CacheScope, ResponseCache

    scope = CacheScope("a", "http://x", "m", "", "p")
    with ResponseCache(tmp_path / "c.sqlite") as cache:
        cache.put(scope, "h1", status="answer", raw={"l": "\ud800"}, api_version={"b": 1, "a": [2]})
        cache.put(scope, "h2", status="failure", reason="bad \ud800 \x1b[2J", api_version=3)
        got = cache.get_many(scope, ["h1", "h2"])
    assert got["h1"].api_version == '{"a":[2],"b":1}' and got["h1"].raw == {"l": "\ufffd"}
    assert got["h2"].api_version == "3" and got["h2"].reason == "bad \ufffd \x1b[2J"


# -- 5, 6, 10. API file and option validation ---------------------------------------------------------------

@pytest.mark.parametrize("line, match", [
    ('name = "../../outside_ws"', "name must be"),
    ('name = "a/b"', "name must be"),
    ('name = ".."', "name must be"),
    ("price_per_1000 = nan", "price_per_1000 must be a finite number >= 0"),
    ("price_per_1000 = inf", "price_per_1000 must be a finite number >= 0"),
    ("budget_total = nan", "budget_total must be a finite number >= 0"),
    ("budget_total = -1.0", "budget_total must be a finite number >= 0"),
    ("seed = -1", "seed must be a whole number >= 0"),
    ('endpoint = "http://"', "endpoint must be an http:// or https:// URL with a host"),
    ('endpoint = "https:///v1"', "endpoint must be an http:// or https:// URL with a host"),
    ('endpoint = "http://host:99999"', "endpoint must be an http:// or https:// URL with a host"),
    ("[engine]\ntimeout_s = inf", "[engine] timeout_s must be a finite number > 0"),
    ("[engine]\nrps = nan", "[engine] rps must be a finite number > 0"),
    ("[engine]\nmax_consecutive_errors = 0", "[engine] max_consecutive_errors is out of range"),
])
def test_api_file_values_are_checked(tmp_path, line, match):
    from evalkit.scoring import load_api_config

    text = 'adapter = "tfserving"\nendpoint = "http://127.0.0.1:1"\nmodel = "m"\n'
    if line.startswith("endpoint"):
        text = text.replace('endpoint = "http://127.0.0.1:1"\n', "")
    p = tmp_path / "api.toml"
    p.write_text(text + line + "\n")
    with pytest.raises(ConfigError, match=__import__("re").escape(match)) as info:
        load_api_config(p)
    assert str(info.value).startswith(f"{p.resolve()}: ") or str(info.value).startswith(f"{p}: ")


def test_api_name_outside_workspace_is_refused_by_the_cli(tmp_path, run_cli):
    ws = _synthetic_ws(tmp_path)
    api = tmp_path / "api.toml"
    api.write_text('name = "../../outside_ws"\nadapter = "tfserving"\nendpoint = "http://127.0.0.1:1"\n')
    code, out, err = _score(run_cli, api, ws)
    assert code == 2 and err.startswith("error: ") and "name must be" in err and "Traceback" not in err
    assert not (tmp_path / "outside_ws").exists() and not (tmp_path.parent / "outside_ws").exists()


@pytest.mark.parametrize("budget", ["nan", "inf", "-1"])
def test_budget_option_must_be_finite(tmp_path, run_cli, budget):
    ws = _synthetic_ws(tmp_path)
    api = _api(tmp_path / "api.toml", "http://127.0.0.1:1")
    code, out, err = _score(run_cli, api, ws, "--budget", budget, "--dry-run")
    assert code == 2 and "--budget must be a finite number >= 0" in err, err


# -- 7, 12. labels with lone surrogates and control characters ------------------------------------------------

EVIL = "\ud800evil\x1b]0;pwned\x07\x1b[2J\x00end"


def test_hostile_labels_are_safe_in_terminal_json_and_report(tmp_path, run_cli):
    ws = _synthetic_ws(tmp_path)
    answer = json.dumps([{"label": EVIL, "score": 0.9}]).encode()  # "\ud800" as a JSON escape
    with scripted_server(lambda p, h, b: (200, answer)) as srv:
        api = tmp_path / "hf.toml"
        api.write_text(f'name = "hf"\nadapter = "huggingface"\nendpoint = "{srv.url}"\n')
        code, out, err = _score(run_cli, api, ws)
    assert code == 0, err
    assert "\x1b" not in out + err and "\x00" not in out + err and "\x07" not in out + err
    assert "\ufffdevil\\x1b]0;pwned\\x07\\x1b[2J\\x00end (12)" in out
    raw = (ws.root / "scores" / "hf" / "scores.json").read_bytes()
    doc = json.loads(raw.decode("utf-8"))  # strict UTF-8
    assert "\\ud800" not in raw.decode() and doc["images"][0]["raw_label"] == "\ufffdevil\x1b]0;pwned\x07\x1b[2J\x00end"
    # an older scores.json holding a lone surrogate must not break the whole report
    (ws.root / "scores" / "hf" / "scores.json").write_bytes(raw.replace(b"\\ufffd", b"\\ud800"))
    code, out, err = run_cli("report", "--workspace", str(ws.root))
    assert code == 0, err
    html = (ws.root / "reports" / "report" / "index.html").read_bytes().decode("utf-8")
    assert "\x1b" not in html and "evil" in html
    csv = (ws.root / "reports" / "report" / "unmapped_labels.csv").read_bytes().decode("utf-8")
    assert "\ufffdevil\\x1b]0;pwned\\x07\\x1b[2J\\x00end" in csv and "\x1b" not in csv and "\x00" not in csv


# -- 8. corrupt workspace files ---------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [("score", "--api", "API", "--set", "s1", "--dry-run", "--data", "synthetic:2/2"),
                                  ("report",), ("sets", "list")])
def test_corrupt_catalog_is_a_one_line_error_naming_it(tmp_path, run_cli, argv):
    ws = _synthetic_ws(tmp_path)
    api = _api(tmp_path / "api.toml", "http://127.0.0.1:1")
    cat = ws.root / "catalog.sqlite"
    for side in ("catalog.sqlite-wal", "catalog.sqlite-shm"):
        (ws.root / side).unlink(missing_ok=True)
    cat.write_bytes(b"SQLite format 3\x00" + b"\xff" * 300)
    code, out, err = run_cli(*[str(api) if a == "API" else a for a in argv], "--workspace", str(ws.root))
    assert code == 2 and err.startswith(f"error: {cat}: ") and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1


def test_corrupt_cache_is_a_one_line_error_naming_it(tmp_path, run_cli):
    ws = _synthetic_ws(tmp_path)
    api = _api(tmp_path / "api.toml", "http://127.0.0.1:1")
    cache = ws.dir("scores") / "cache.sqlite"
    cache.write_bytes(b"not a database at all" * 10)
    code, out, err = _score(run_cli, api, ws, "--dry-run")
    assert code == 2 and err.startswith(f"error: {cache}: "), err


# -- 9. fail fast ------------------------------------------------------------------------------------------------

def test_dead_port_fails_fast_with_one_line(tmp_path, run_cli):
    ws = _synthetic_ws(tmp_path)
    api = _api(tmp_path / "api.toml", f"http://127.0.0.1:{free_port()}", concurrency=2, max_retries=6)
    api.write_text(api.read_text().replace("backoff_max_s = 0.02", "backoff_max_s = 0.5")
                   .replace("backoff_base_s = 0.002", "backoff_base_s = 0.2"))
    t0 = time.monotonic()
    code, out, err = _score(run_cli, api, ws)
    assert code == 2 and time.monotonic() - t0 < 15
    assert err.startswith("error: faulty: ") and "5 transport errors in a row" in err, err
    assert len(err.strip().splitlines()) == 1
    assert not (ws.root / "scores" / "faulty" / "scores.json").exists()


def _answers_then_refusal(n_ok: int, status: int, error: str):
    """A scripted server's ``respond``: ``state["ok"]`` good tfserving answers, then ``status``."""
    state = {"ok": n_ok}

    def respond(path, headers, body):
        if state["ok"] <= 0:
            return status, {"error": error}
        state["ok"] -= 1
        return 200, tfserving_answer(body)

    return state, respond


def test_401_stops_at_once_keeps_answers_and_earlier_scores(tmp_path, run_cli):
    ws = _synthetic_ws(tmp_path)
    state, respond = _answers_then_refusal(12, 401, "invalid token")
    with scripted_server(respond) as srv:
        api = _api(tmp_path / "api.toml", srv.url, concurrency=1, params_extra='output_key = "scores"\n')
        state["ok"] = 4  # 4 answers, then every request is refused
        code, out, err = run_cli("score", "--api", str(api), "--set", "s1", "--data", "synthetic:2/2",
                                 "--workspace", str(ws.root), "--no-ablations")
        assert code == 2 and err.startswith("error: faulty: HTTP 401") and "4 answered image(s)" in err, err
        assert srv.n_requests == 5 and not (ws.root / "scores" / "faulty" / "scores.json").exists()
        state["ok"] = 100
        code, out, err = _score(run_cli, api, ws)
        assert code == 0 and srv.n_requests == 5 + 8 and "4 from cache" in out, err
        good = (ws.root / "scores" / "faulty" / "scores.json").read_bytes()
        # a new model version is all new queries: refused at once, the earlier scores stay
        api.write_text(api.read_text().replace('model = "m"', 'model = "m"\nversion = "2"'))
        state["ok"] = 0
        code, out, err = _score(run_cli, api, ws)
        assert code == 2 and "HTTP 401" in err and srv.n_requests == 14
        assert (ws.root / "scores" / "faulty" / "scores.json").read_bytes() == good


# -- 11. one writer per API, the spend ledger, the cumulative budget -----------------------------------------------

def test_second_writer_of_an_api_is_refused_or_waits(tmp_path, run_cli):
    from evalkit.scoring.lock import api_lock
    from evalkit.workspace import Workspace

    ws = _synthetic_ws(tmp_path)
    with running_server() as srv:
        api = _api(tmp_path / "api.toml", srv.url)
        with api_lock(Workspace(ws.root), "faulty"):
            code, out, err = _score(run_cli, api, ws)
            assert code == 2 and err.startswith("error: faulty: another run is scoring this API") \
                and "score.lock" in err and "--wait" in err, err
            assert not srv.requests_per_image
        holder = {}

        def hold():
            with api_lock(Workspace(ws.root), "faulty"):
                holder["in"] = True
                time.sleep(0.7)

        t = threading.Thread(target=hold)
        t.start()
        while "in" not in holder:
            time.sleep(0.01)
        code, out, err = _score(run_cli, api, ws, "--wait")
        t.join()
        assert code == 0 and "waiting for the lock" in out and "12 scored" in out, err
        assert len(srv.requests_per_image) == 12


def test_concurrent_runs_pay_each_image_once(tmp_path):
    from evalkit.scoring import load_api_config, score_api
    from evalkit.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    write_evalset(ws, "a", range(40))
    ds = make_dataset(40)
    with running_server(latency_s=0.01) as srv:
        write_api_file(tmp_path / "api.toml", srv.url, concurrency=2)
        outcomes = []

        def run():
            try:
                score_api(Workspace(ws.root), load_api_config(tmp_path / "api.toml"), ds, ["a"], wait=True)
                outcomes.append("ok")
            except UserError as exc:
                outcomes.append(str(exc))

        threads = [threading.Thread(target=run) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert outcomes == ["ok"] * 3 and max(srv.requests_per_image.values()) == 1
        doc = json.loads((ws.root / "scores" / "faulty" / "scores.json").read_text())
        assert doc["spent_cost"] == pytest.approx(40 * 2.0 / 1000)


def test_spent_cost_is_the_ledger_total_across_runs_and_aborts(tmp_path, run_cli):
    ws = _synthetic_ws(tmp_path)
    state, respond = _answers_then_refusal(3, 403, "forbidden")
    with scripted_server(respond) as srv:
        api = _api(tmp_path / "api.toml", srv.url, concurrency=1, params_extra='output_key = "scores"\n')
        code, out, err = _score(run_cli, api, ws, "--budget", "0.008")  # aborted after 3 paid answers
        assert code == 2 and "HTTP 403" in err
        state["ok"] = 100
        code, out, err = _score(run_cli, api, ws, "--budget", "0.008")  # 4 more, the rest over budget
        assert code == 0, err
        doc = json.loads((ws.root / "scores" / "faulty" / "scores.json").read_text())
        assert doc["spent_cost"] == pytest.approx(7 * 2.0 / 1000) and doc["run_cost"] == pytest.approx(0.008)
        assert sum(r["reason"] == "budget" for r in doc["images"]) == 5
        from evalkit.scoring.cache import ResponseCache

        with ResponseCache(ws.root / "scores" / "cache.sqlite") as cache:
            assert cache.spent("faulty") == (7, pytest.approx(0.014))


def test_budget_total_in_the_api_file_caps_spend_over_all_runs(tmp_path, run_cli):
    ws = _synthetic_ws(tmp_path)
    with running_server() as srv:
        api = _api(tmp_path / "api.toml", srv.url, extra="budget_total = 0.01")
        code, out, err = _score(run_cli, api, ws, "--budget", "0.006")
        assert code == 0 and sum(srv.answers_per_image.values()) == 3, err
        code, out, err = _score(run_cli, api, ws)
        assert code == 0 and sum(srv.answers_per_image.values()) == 5, err
        assert "budget_total 0.01 leaves 0.004" in out
        code, out, err = _score(run_cli, api, ws, "--dry-run")
        assert code == 0 and "budget allows 0 queries" in out
    doc = json.loads((ws.root / "scores" / "faulty" / "scores.json").read_text())
    assert doc["spent_cost"] == pytest.approx(0.01) and doc["budget_total"] == 0.01
    assert sum(r["reason"] == "budget" for r in doc["images"]) == 7


def test_paid_query_cap_combines_run_and_total_budgets():
    from evalkit.scoring.budget import paid_query_cap

    assert paid_query_cap(None, None, 0.0, 2.0) is None
    assert paid_query_cap(0.008, None, 5.0, 2.0) == 4
    assert paid_query_cap(None, 0.01, 0.004, 2.0) == 3
    assert paid_query_cap(1.0, 0.01, 0.02, 2.0) == 0
    assert paid_query_cap(0.5, 0.5, 0.0, 0.0) is None


@pytest.mark.parametrize("rel", ["catalog.sqlite", "predictions/control/seed0/synthetic/test.npz",
                                 "scores/toyapi/scores.json", "sets/discovery.json", "sets/control>blur.json",
                                 "fingerprints/toyapi.json", "pools/synthetic/test.json",
                                 "models/control/seed0/history.json"])
def test_truncated_workspace_file_is_named_by_report_and_sets(tmp_path, run_cli, rel):
    from report_fixtures import build_report_workspace

    ws = build_report_workspace(tmp_path / "ws")["ws"]
    path = ws.root / rel
    for side in ("catalog.sqlite-wal", "catalog.sqlite-shm"):
        (ws.root / side).unlink(missing_ok=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    code, out, err = run_cli("report", "--workspace", str(ws.root))
    assert code == 2 and err.startswith(f"error: {path}: ") and len(err.strip().splitlines()) == 1, err
    if rel != "catalog.sqlite":  # the rest of the report is still written, listing the damaged file
        assert "could not be read" in (ws.root / "reports" / "report" / "index.html").read_text("utf-8")
    if rel.startswith(("sets/control", "catalog")):
        code, out, err = run_cli("sets", "list", "--workspace", str(ws.root))
        assert code == 2 and err.startswith(f"error: {path}: "), err


def test_truncated_design_ledger_is_a_data_error_naming_it(tmp_path):
    from evalkit.artifacts import SCORES
    from evalkit.errors import DataError
    from evalkit.scoring.planned import plan_path, previous_plan
    from evalkit.workspace import Workspace, atomic_write_text

    ws = Workspace(tmp_path / "ws")
    atomic_write_text(ws.dir(SCORES) / "a" / "scores.json",
                      json.dumps({"api": "a", "pool": "p/test", "images": [], "plan": {"rounds": []}}))
    ws.catalog.record(SCORES, "a", "scores/a/scores.json")
    plan_path(ws, "a").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DataError) as info:
        previous_plan(ws, "a", "p/test", None)
    assert str(info.value).startswith(f"{plan_path(ws, 'a')}: not a readable design ledger")
