"""Acceptance: runs of one API compared, against real models served by `evalkit serve` (MLServer);
between runs the served model is swapped (same API name and model name; the endpoint's port is
whatever is free, and the API file is rewritten with it)."""
from __future__ import annotations

import contextlib
import json
import time

import pytest

from drift_bank import api_file, build_bank

pytestmark = pytest.mark.server  # the acceptance of "runs compared": 38-87 s on 2 shared cores, in the default run


def test_same_model_seed_swap_and_grayscale_swap(tmp_path, run_cli):
    from evalkit.artifacts import load_evalsets
    from evalkit.drift import compare_runs
    from evalkit.scoring import load_api_config, score_api
    from evalkit.scoring.runs import list_runs
    from evalkit.serving import ModelSpec, serve_model

    t0 = time.monotonic()
    ws, ds = build_bank(tmp_path / "ws")
    path = tmp_path / "served.toml"
    models = ws.root / "models"

    @contextlib.contextmanager
    def serve(probe: str, seed: int, version: str):
        spec = ModelSpec(models / probe / f"seed{seed}" / "model.keras", tuple(ds.class_names), "api", version)
        with serve_model(spec) as served:
            api_file(path, served.url)
            yield load_api_config(path)

    with serve("control", 0, "1") as cfg:
        score_api(ws, cfg, ds, max_queries=None)
        code, out, err = run_cli("score", "--api", str(path), "--all-sets", "--new-run", "--dry-run",
                                 "--data", "synthetic:60/20", "-w", str(ws.root))
        assert code == 0, err
        assert "0 cached" in out and "dry run: nothing sent" in out
        score_api(ws, cfg, ds, max_queries=None, new_run=True)
    same = compare_runs(ws, "served", n_boot=1000, dataset=ds)
    assert same["verdict"].startswith("no detectable change") and same["changed"] is False
    assert same["overall"]["flips"]["flips"] == 0 and same["overall"]["flips"]["rate"] == 0.0
    # every eval-set image in both runs (141 or 142 images here: the trained probes, and so the
    # kept sets, differ slightly between CPUs)
    assert same["n_common"] == len({i for d in load_evalsets(ws) for i in d["indices"]}) >= 100

    with serve("control", 1, "2") as cfg:
        score_api(ws, cfg, ds, max_queries=None, new_run=True)
    seed = compare_runs(ws, "served", n_boot=1000, dataset=ds)
    rate = seed["overall"]["flips"]["rate"]
    assert 0 < rate < 0.15
    assert not any(c.get("changed") for c in seed["cues"]), seed["cues"]

    with serve("grayscale", 0, "3") as cfg:
        score_api(ws, cfg, ds, max_queries=None, new_run=True)
    gray = compare_runs(ws, "served", n_boot=1000, dataset=ds)
    colour = next(c for c in gray["cues"] if c["cue"] == "colour")
    assert colour["changed"] and colour["p_holm"] < 0.01 and colour["hi"] < 0
    assert colour["score_a"] > 0.5 > colour["score_b"]
    cg = next(s for s in gray["sets"] if s["id"] == "control>grayscale")
    assert cg["p_holm"] < 0.01 and cg["diff"] < -0.5 and cg["hi"] < 0
    assert "cue reliance changed: colour" in gray["verdict"]
    assert gray["verdict"].startswith("changed: accuracy on control>grayscale fell")
    assert gray["overall"]["flips"]["rate"] > 3 * rate

    from evalkit.report import render_report

    index = render_report(ws, tmp_path / "report", name="report", dataset=ds)
    html = index.read_text()
    section = html[html.index('<section id="changes"'):]
    section = section[:section.index("</section>")]
    assert "cue reliance changed: colour" in section and section.count('<figure class="thumb flipped"') == min(
        gray["n_flipped"], 40)
    assert section.count('<img src="data:image/jpeg;base64,') == min(gray["n_flipped"], 40)
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["data"]["changes"][0]["verdict"] == gray["verdict"]
    assert report["figures"]["changes/served/flip_rate"] == gray["overall"]["flips"]["rate"]
    rows = (tmp_path / "report" / "changes.csv").read_text().splitlines()
    assert rows[0].startswith("api,run_a,run_b,set,n,") and len(rows) == 1 + len(gray["sets"]) + 1

    runs = list_runs(ws, "served")
    assert [r.model_versions for r in runs] == [("1",), ("1",), ("2",), ("3",)]
    assert [r.new_run for r in runs] == [False, True, True, True]
    print(f"served-model runs test: {time.monotonic() - t0:.0f} s; seed swap flip rate {rate:.3f}; "
          f"colour {colour['score_a']:.2f} -> {colour['score_b']:.2f}\n{seed['verdict']}\n{gray['verdict']}\n"
          f"seed swap cues: {[(c['cue'], c['diff'], c['lo'], c['hi'], c['p_holm']) for c in seed['cues']]}\n"
          f"seed swap sets: {[(s['id'], s['n'], s['diff'], s['p_holm']) for s in seed['sets']]}")
