"""`evalkit run` end to end on the tiny config (synthetic data, tiny probes, the served held-out
stand-in API): the report, report.json, resume after SIGKILL, and Ray giving the same results."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from evalkit.pipeline import STAGE_TITLES, load_config, run
from evalkit.workspace import Workspace

TINY = Path(__file__).parent / "fixtures" / "pipeline" / "tiny.toml"
# Figures about the run itself (wall times, latencies, how many queries this invocation sent)
# differ between runs; every result figure must not.
VOLATILE = re.compile(r"^(timing|pipeline)/|seconds|latency|span_s|queries_sent|cache_hits|http_requests")


def figures(report_json: Path) -> dict:
    doc = json.loads(report_json.read_text())
    assert doc["format"] == "evalkit-report/1"
    figs = {k: v for k, v in doc["figures"].items() if not VOLATILE.search(k)}
    assert len(figs) > 50 and any(k.startswith("api/") for k in figs)
    return figs


def bank_outputs(ws_root: Path) -> dict:
    """Everything a run computes that must not depend on the executor or on interruptions."""
    ws = Workspace(ws_root)
    out = {}
    for a in ws.catalog.list("predictions"):
        with np.load(ws.abspath(a)) as z:
            out[f"pred:{a.key}"] = z["probs"].tolist() if "probs" in z else {k: z[k].tolist() for k in z}
    for a in ws.catalog.list("evalset"):
        doc = json.loads(ws.abspath(a).read_text())
        out[f"set:{a.key}"] = (doc["indices"], doc["gap"], doc["kept"])
    for a in ws.catalog.list("scores"):
        doc = json.loads(ws.abspath(a).read_text())
        out[f"scores:{a.key}"] = [(r["index"], r["label"]) for r in doc["images"]]
        out[f"ablations:{a.key}"] = {t: [(r["index"], r["label"]) for r in rs] for t, rs in doc["ablations"].items()}
    return out


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    lines: list[str] = []
    result = run(TINY, workspace=tmp_path_factory.mktemp("local") / "ws", echo=lines.append, progress=False)
    return result, lines


def test_run_writes_report_with_every_stage(local_run):
    result, lines = local_run
    assert result.report.is_file() and result.report_json.is_file()
    assert lines[-1] == f"report: {result.report}"
    assert [t.stage for t in result.timings] == [s for s, _ in STAGE_TITLES]
    assert all(t.seconds >= 0 for t in result.timings) and result.total_seconds >= sum(
        t.seconds for t in result.timings) - 0.5
    assert any(line.startswith("stage times: ") and "total" in line for line in lines)
    for i, (_, title) in enumerate(STAGE_TITLES, 1):
        assert f"[{i}/{len(STAGE_TITLES)}] {title}" in lines

    ws = Workspace(result.workspace)
    assert {a.key for a in ws.catalog.list("model")} == {"control/seed0", "control/seed1", "grayscale/seed0",
                                                        "grayscale/seed1"}
    # the held-out model lives in its own sub-workspace: discovery never saw it
    assert Workspace(result.workspace / "heldout").catalog.get("model", "control/seed1000") is not None
    kept = [a for a in ws.catalog.list("evalset") if a.meta.get("kept")]
    assert kept, "the tiny config must yield at least one validated evaluation set"

    doc = json.loads(result.report_json.read_text())
    data, figs = doc["data"], doc["figures"]
    # probe accuracies in the report are the ones recorded at training time
    for a in ws.catalog.list("model"):
        probe, seed = a.key.split("/")
        entry = next(p for p in data["probes"] if p["name"] == probe)
        row = next(r for r in entry["seeds"] if f"seed{r['seed']}" == seed)
        assert row["accuracy"]["acc"] == pytest.approx(a.meta["test_accuracy"], abs=1e-9)
    # the served stand-in API was scored on every kept set, and its accuracy is recomputable
    api = next(x for x in data["apis"] if x["api"] == "heldout-control-seed1000")
    scores = json.loads((result.workspace / "scores" / api["api"] / "scores.json").read_text())
    assert sorted(scores["sets"]) == sorted(a.key for a in kept)
    assert scores["failures"] == 0 and set(scores["ablations"]) == {"grayscale", "mirror"}
    from evalkit.probes import load_pool_labels

    labels = load_pool_labels(ws, scores["pool"])[0]
    hits = [r["label"] == labels[r["index"]] for r in scores["images"]]
    assert api["accuracy_overall"]["acc"] == pytest.approx(np.mean(hits))
    # the query planner chose the images (default budget when fingerprinting) and estimated the
    # API's accuracy on the whole pool from its answers
    plan = scores["plan"]
    assert plan["max_queries"] == 1000 and 0 < plan["spent_queries"] <= 1000
    assert scores["queries_sent"] <= 1000
    pa = api["pool_accuracy"]
    assert pa["n_pool"] == len(labels) and pa["lo"] <= pa["acc"] <= pa["hi"]
    assert figs[f"api/{api['api']}/pool_accuracy.acc"] == pytest.approx(pa["acc"])
    assert api["fingerprint"]["verdict"] and api["fingerprint"]["status"]
    # stage times reach the report
    assert [s["stage"] for s in data["pipeline"][0]["stages"]] == [s for s, _ in STAGE_TITLES][:-1]
    assert any(k.startswith(f"pipeline/{data['pipeline'][0]['name']}/train/") for k in figs)
    html = result.report.read_text()
    assert "heldout-control-seed1000" in html and "Pipeline run" in html


def test_second_run_repeats_no_work(local_run):
    result, _ = local_run
    ws = Workspace(result.workspace)
    before = {(a.kind, a.key): a.created for k in ("model", "predictions", "evalset", "scores", "explanation")
              for a in ws.catalog.list(k)}
    lines: list[str] = []
    again = run(TINY, workspace=result.workspace, echo=lines.append, progress=False)
    after = {(a.kind, a.key): a.created for k in ("model", "predictions", "evalset", "scores", "explanation")
             for a in ws.catalog.list(k)}
    assert before == after
    assert any("0 to train" in line for line in lines)
    assert any("already scored" in line for line in lines)
    assert figures(again.report_json) == figures(result.report_json)


def test_interrupted_run_resumes_to_the_same_figures(local_run, tmp_path):
    reference, _ = local_run
    ws_root = tmp_path / "ws"
    cmd = [sys.executable, "-m", "evalkit", "run", str(TINY), "-w", str(ws_root), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            db = ws_root / "catalog.sqlite"
            if db.is_file() and len(Workspace(ws_root).catalog.list("model")) >= 2:
                break
            time.sleep(0.5)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)   # the run and its worker processes
        proc.wait()
    ws = Workspace(ws_root)
    survivors = {a.key: a.created for a in ws.catalog.list("model")}
    assert len(survivors) >= 2 and ws.catalog.get("report", "tiny") is None, "killed before the end"

    lines: list[str] = []
    resumed = run(TINY, workspace=ws_root, echo=lines.append, progress=False)
    assert {k: v for k, v in ((a.key, a.created) for a in ws.catalog.list("model")) if k in survivors} == survivors
    assert any(f"{len(survivors)} already done" in line for line in lines)
    assert bank_outputs(ws_root) == bank_outputs(reference.workspace)
    assert figures(resumed.report_json) == figures(reference.report_json)


def test_ray_executor_gives_the_local_results(local_run, tmp_path):
    pytest.importorskip("ray")
    reference, _ = local_run
    result = run(TINY, workspace=tmp_path / "ws", executor="ray", echo=lambda s: None, progress=False)
    assert json.loads((result.workspace / "pipeline" / "tiny.json").read_text())["executor"] == "ray"
    assert bank_outputs(result.workspace) == bank_outputs(reference.workspace)
    assert figures(result.report_json) == figures(reference.report_json)


def test_config_validation_fails_before_any_work(tmp_path, run_cli):
    good = TINY.read_text()
    cases = {
        "typo.toml": (good.replace("[discovery]\nsize", "[discovery]\nsise"), "sise"),
        "probe.toml": (good.replace('"grayscale"]', '"greyscale"]'), "greyscale"),
        "seeds.toml": (good.replace("seeds = [0, 1]", "seeds = [0]"), "at least 2"),
        "executor.toml": (good.replace('name = "tiny"', 'name = "tiny"\nexecutor = "dask"'), "executor"),
        "ablation.toml": (good.replace('"mirror"]', '"mirrror"]'), "mirrror"),
        "discovery.toml": (good.replace("[discovery]\nsize = 10", "[discovery]\nsize = 0"),
                           "[discovery] size must be >= 1"),
        "correction.toml": (good.replace("[discovery]\n", '[discovery]\ncorrection = "fdr"\n'),
                            "[discovery] correction must be one of"),
        "max_images.toml": (good.replace("[explain]\n", "[explain]\nmax_images = 0\n"),
                            "[explain] max_images must be >= 1"),
        "report.toml": (good.replace('[report]\nname = "tiny"', '[report]\nname = "a/b"'), "report name"),
    }
    for name, (text, needle) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        ws = tmp_path / f"ws-{name}"
        code, out, err = run_cli("run", str(path), "-w", str(ws))
        assert code == 2, (name, out, err)
        assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, (name, err)
        assert not ws.exists(), f"{name}: work started before validation finished"
    code, _, err = run_cli("run", str(tmp_path / "missing.toml"))
    assert code == 2 and "missing.toml" in err


def test_demo_and_full_configs_are_valid(project_root):
    demo = load_config(project_root / "configs" / "demo.toml")
    full = load_config(project_root / "configs" / "full.toml")
    assert demo.heldout_enabled and demo.apis and demo.apis[0].serve == "heldout"
    assert set(full.probes) >= {"control", "kernel5", "zca_shift", "grayscale", "blur", "patch_shuffle"}
    assert len(full.seeds) == 4 and full.train_size == 5000 and full.epochs == 20



def test_run_retrains_stale_probes_and_recomputes_later_stages(local_run, tmp_path, monkeypatch, project_root):
    """`evalkit run` uses the probes stage's own staleness check: changed epochs retrain every
    bank run, a changed probe file retrains that probe only; every later stage follows."""
    import shutil

    reference, _ = local_run
    ws_root = tmp_path / "ws"
    shutil.copytree(reference.workspace, ws_root)
    ws = Workspace(ws_root)
    kinds = ("model", "predictions", "discovery", "evalset", "explanation", "scores", "fingerprint")

    def state():
        return {k: {a.key: a.created for a in ws.catalog.list(k)} for k in kinds}

    def go(text):
        config = tmp_path / "tiny.toml"
        config.write_text(text)
        lines: list[str] = []
        run(config, workspace=ws_root, echo=lines.append, progress=False)
        return lines

    first = state()
    assert all(first[k] for k in kinds)
    lines = go(TINY.read_text().replace("epochs = 6\nbatch_size", "epochs = 5\nbatch_size")
               .replace("[explain]\n", "[explain]\nmax_images = 4\n"))
    assert any("0 already done, 4 to train" in line for line in lines), lines
    assert any("held-out control/seed1000 already trained" in line for line in lines), lines
    assert {a.settings["epochs"] for a in ws.catalog.list("model")} == {5}
    assert {a.meta["n_images"] for a in ws.catalog.list("explanation")} == {4}  # [explain] max_images
    second = state()
    for kind in kinds:  # every bank run retrained and every later stage recomputed
        assert second[kind] and all(second[kind][k] > first[kind].get(k, 0) for k in second[kind]), kind

    probes_dir = tmp_path / "probes"    # a later probes folder overrides the project's grayscale.toml
    probes_dir.mkdir()
    gray = (project_root / "probes" / "grayscale.toml").read_text()
    (probes_dir / "grayscale.toml").write_text(gray.replace("learning_rate = 0.001", "learning_rate = 0.0011"))
    monkeypatch.setenv("EVALKIT_PROBES_PATH", str(probes_dir))
    lines = go((tmp_path / "tiny.toml").read_text())
    assert any("2 already done, 2 to train" in line for line in lines), lines
    third = state()
    assert {k for k, t in third["model"].items() if t > second["model"][k]} == {"grayscale/seed0", "grayscale/seed1"}
    assert third["discovery"] != second["discovery"]


def test_a_second_config_on_one_workspace_reports_both_runs(local_run, tmp_path):
    """Two configs (two run names) on one workspace: the report shows each run's stage times
    under its own name instead of failing on figures with the same id."""
    import shutil

    reference, _ = local_run
    ws_root = tmp_path / "ws"
    shutil.copytree(reference.workspace, ws_root)
    config = tmp_path / "other.toml"
    config.write_text(TINY.read_text().replace('name = "tiny"', 'name = "tiny-again"', 1))
    assert config.read_text() != TINY.read_text()
    result = run(config, workspace=ws_root, echo=lambda line: None, progress=False)
    doc = json.loads(result.report_json.read_text())
    names = {k.split("/")[1] for k in doc["figures"] if k.startswith("pipeline/")}
    assert names == {"tiny", "tiny-again"}
