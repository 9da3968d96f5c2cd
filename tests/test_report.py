"""Report stage: values shown equal values computed, report.json == HTML figures, CSVs, escaping."""
from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser

import numpy as np
import pytest

from evalkit.report import collect_report_data, render_report
from evalkit.report.render import format_value
from evalkit.stats import wilson_ci
from evalkit.workspace import Workspace
from report_fixtures import (API, CLASS_PAYLOAD, IMG_PAYLOAD, SECRET, XSS_PAYLOAD,
                             build_report_workspace)


class _Page(HTMLParser):
    """Collects tags/attributes, figure spans and their text, and SVG text."""

    def __init__(self):
        super().__init__()
        self.tags, self.figures, self.svg_text, self.scripts = [], {}, [], 0
        self._fig, self._svg = None, 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        self.scripts += tag == "script"
        self._svg += tag == "svg"
        if tag == "span" and "data-figure" in a:
            self._fig = [a["data-figure"], a["data-value"], ""]

    def handle_endtag(self, tag):
        self._svg -= tag == "svg"
        if tag == "span" and self._fig:
            fid, raw, text = self._fig
            self.figures.setdefault(fid, (raw, text))
            self._fig = None

    def handle_data(self, data):
        if self._fig:
            self._fig[2] += data
        if self._svg:
            self.svg_text.append(data)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    fx = build_report_workspace(tmp_path_factory.mktemp("report") / "ws")
    index = render_report(fx["ws"], dataset=fx["dataset"])
    page = _Page()
    html = index.read_text(encoding="utf-8")
    page.feed(html)
    return {**fx, "index": index, "html": html, "page": page,
            "json": json.loads((index.parent / "report.json").read_text(encoding="utf-8"))}


def test_shown_accuracy_equals_computed(built):
    figs = built["json"]["figures"]
    n = len(built["labels"])
    for (probe, seed), acc in built["accuracy"].items():
        k = int(round(acc * n))
        fid = f"probe/{probe}/seed{seed}/accuracy"
        assert figs[f"{fid}.acc"] == pytest.approx(acc, abs=1e-12)
        assert (figs[f"{fid}.lo"], figs[f"{fid}.hi"]) == pytest.approx(wilson_ci(k, n))
        assert figs[f"{fid}.n"] == n
        raw, text = built["page"].figures[f"{fid}.acc"]
        assert text == f"{100 * acc:.1f}%" and float(raw) == acc
    mean = np.mean([built["accuracy"][("control", s)] for s in (0, 1)])
    assert figs["probe/control/mean_accuracy"] == pytest.approx(mean)


def test_per_class_accuracy_and_confusion(built):
    labels, pred0, pred1 = built["labels"], built["preds"][("blur", 0)], built["preds"][("blur", 1)]
    probe = next(p for p in built["json"]["data"]["probes"] if p["name"] == "blur")
    conf = np.array(probe["confusion"])
    assert conf.sum() == 2 * len(labels)
    for c, row in enumerate(probe["per_class"]):
        mask = labels == c
        k = int((pred0[mask] == c).sum() + (pred1[mask] == c).sum())
        assert conf[c, c] == k and row["n"] == 2 * mask.sum()
        assert row["acc"] == pytest.approx(k / row["n"])
    assert probe["n_misclassified"] == int((pred0 != labels).sum())
    assert all(g["true"] != g["pred"] for g in probe["gallery"])


def test_html_figures_equal_report_json(built):
    html_figs, json_figs = built["page"].figures, built["json"]["figures"]
    assert set(html_figs) == set(json_figs) and len(json_figs) > 100
    for fid, (raw, text) in html_figs.items():
        value = json_figs[fid]
        assert (raw == "") == (value is None), fid
        if value is not None:
            assert float(raw) == value, fid
    assert json_figs["set/control>blur/gap"] == 0.55
    assert json_figs[f"api/{API}/unmapped/{IMG_PAYLOAD}"] == 3
    assert json_figs[f"api/{API}/cue/shape"] == 0.7
    assert html_figs["set/control>blur/gap"][1] == format_value(0.55, "pp") == "+55.0 pp"


def test_api_accuracy_per_set_and_counts(built):
    api = built["json"]["data"]["apis"][0]
    assert (api["n_images"], api["n_scored"], api["n_failed"], api["n_abstained"]) == (13, 12, 1, 2)
    by_set = {r["set"]: r for r in api["accuracy_per_set"]}
    assert by_set["control>blur"]["source"] == "fingerprint" and by_set["control>blur"]["acc"] == 0.75
    s = built["sets"]["control>rest"]   # not in the fingerprint: computed from scores.json
    recs = {r["index"]: r for r in built["scores"]["images"] if r["status"] == "scored"}
    hits = [recs[i]["label"] == y for i, y in zip(s["indices"], s["labels"]) if i in recs]
    assert by_set["control>rest"]["source"] == "scores"
    assert by_set["control>rest"]["acc"] == pytest.approx(sum(hits) / len(hits)) and by_set["control>rest"]["n"] == len(hits)
    assert [u["label"] for u in api["unmapped_labels"]][:2] == [IMG_PAYLOAD, "tabby cat"] or \
        api["unmapped_labels"][0] == {"label": IMG_PAYLOAD, "count": 3}
    assert api["fingerprint"]["nearest_probe"]["name"] == "control"


def test_csv_exports_parse(built):
    out = built["index"].parent
    rows = list(csv.DictReader(io.StringIO((out / "probes.csv").read_text(encoding="utf-8"))))
    assert len(rows) == 6
    for r in rows:
        assert float(r["accuracy"]) == pytest.approx(built["accuracy"][(r["probe"], int(r["seed"]))])
    labels = {r["label"]: int(r["count"]) for r in csv.DictReader(open(out / "unmapped_labels.csv", encoding="utf-8"))}
    assert labels[IMG_PAYLOAD] == 3 and labels["'=HYPERLINK(\"http://x\")"] == 1   # formula neutralised
    sets = list(csv.DictReader(open(out / "evalsets.csv", encoding="utf-8")))
    assert [(s["set"], s["kept"]) for s in sets] == [("control>blur", "True"), ("control>rest", "False")]
    for name in ("per_class_accuracy.csv", "apis.csv", "api_accuracy_per_set.csv", "cue_profile.csv",
                 "error_consistency.csv"):
        assert len(list(csv.reader(open(out / name, encoding="utf-8")))) >= 2, name


def test_outside_strings_are_escaped_everywhere(built):
    html, page = built["html"], built["page"]
    for payload in (IMG_PAYLOAD, XSS_PAYLOAD, CLASS_PAYLOAD, "<script>window"):
        assert payload not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert page.scripts == 1                          # only the report's own sortable-table script
    for tag, attrs in page.tags:
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        if tag == "img":
            assert attrs["src"].startswith(("data:image/jpeg;base64,", "assets/")), attrs["src"]
    assert any(CLASS_PAYLOAD in t for t in page.svg_text)      # shown as text inside SVG labels
    raw_json = (built["index"].parent / "report.json").read_text(encoding="utf-8")
    assert "<" not in raw_json and ">" not in raw_json
    assert IMG_PAYLOAD in json.dumps(built["json"], ensure_ascii=False)   # same data once parsed


def test_no_secret_and_no_cdn(built):
    for path in built["index"].parent.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".json", ".csv"):
            text = path.read_text(encoding="utf-8")
            assert SECRET not in text and "api_key" not in text, path
    assert "https://api.example.com/v1/classify" in built["html"]
    for tag, attrs in built["page"].tags:
        for key in ("src", "href"):
            assert not str(attrs.get(key, "")).startswith(("http:", "https:", "//")), (tag, attrs)


def test_thumbnails_and_explanation_grid_inlined_or_copied(built):
    out = built["index"].parent
    imgs = [a for t, a in built["page"].tags if t == "img"]
    n_gallery = sum(min(12, int((built["preds"][(p, 0)] != built["labels"]).sum())) for p in ("control", "grayscale", "blur"))
    assert sum(a["src"].startswith("data:") for a in imgs) == n_gallery + 8 + 6
    grids = [a["src"] for a in imgs if a.get("class") == "explain-grid"]
    assert len(grids) == 2 and all((out / g).is_file() for g in grids) and grids[0] != grids[1]
    assert built["json"]["figures"]["set/control>blur/explain/gradcam/grayscale/seed0/sanity_spearman"] == 0.12
    figs = built["json"]["figures"]
    assert [figs[f"set/control>blur/explain/gradcam/control/seed0/{k}"] for k in
            ("deletion", "deletion_random", "deletion_blob")] == [0.31, 0.42, 0.35]
    assert "images unavailable" not in built["html"]
    art = built["ws"].catalog.get("report", "report")
    assert art.path == "reports/report" and art.meta["figures"] == len(built["json"]["figures"])


def test_without_dataset_galleries_say_images_unavailable(built, tmp_path):
    data = collect_report_data(built["ws"])
    assert data["probes"][0]["gallery"] and data["probes"][0]["gallery"][0]["thumb"] is None
    assert "no dataset was given" in data["meta"]["images_reason"]
    from evalkit.data.synthetic import make_synthetic_dataset
    other = collect_report_data(built["ws"], make_synthetic_dataset(4, 4, seed=5))
    assert "does not match" in other["meta"]["images_reason"]
    index = render_report(built["ws"], out_dir=tmp_path / "noimg", name="noimg")
    assert "images unavailable" in index.read_text(encoding="utf-8")


def test_workspace_with_only_probes_renders_not_run(tmp_path):
    full = build_report_workspace(tmp_path / "full")
    ws = Workspace(tmp_path / "probes-only")
    for kind in ("pool", "model", "predictions"):
        for a in full["ws"].catalog.list(kind):
            src = full["ws"].abspath(a)
            dest = ws.root / a.path
            dest.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                import shutil
                shutil.copytree(src, dest)
            else:
                dest.write_bytes(src.read_bytes())
            ws.catalog.record(kind, a.key, a.path, meta=a.meta)
    html = render_report(ws).read_text(encoding="utf-8")
    assert "Set discovery not run" in html and "API scoring not run" in html
    assert "fingerprint stage not run" in html and 'data-probe="control"' in html
    empty = render_report(Workspace(tmp_path / "empty")).read_text(encoding="utf-8")
    assert "Probe training not run" in empty


def test_unreadable_artifact_is_listed_not_fatal(tmp_path):
    fx = build_report_workspace(tmp_path / "ws")
    (fx["ws"].root / f"scores/{API}/scores.json").write_text("{not json", encoding="utf-8")
    data = collect_report_data(fx["ws"])
    assert any(p.startswith(f"scores {API}") for p in data["problems"])
    assert data["apis"][0]["scored_run"] is False and data["apis"][0]["fingerprint"] is not None
    assert "could not be read" in render_report(fx["ws"]).read_text(encoding="utf-8")


def test_user_templates_override_and_stay_escaped(built, tmp_path):
    tdir = tmp_path / "tpl" / "sections"
    tdir.mkdir(parents=True)
    (tdir / "methods.html").write_text(
        '<section id="methods"><p id="custom">Custom methods for {{ data.apis[0].unmapped_labels[0].label }}</p>'
        "</section>", encoding="utf-8")
    html = render_report(built["ws"], out_dir=tmp_path / "out", name="custom", templates=tmp_path / "tpl") \
        .read_text(encoding="utf-8")
    assert '<p id="custom">Custom methods for &lt;img src=x onerror=alert(1)&gt;</p>' in html
    assert "How to read this report</h2>" not in html and 'id="summary"' in html


def test_cli_report(built, run_cli, tmp_path):
    out = tmp_path / "reports" / "cli-demo"
    code, stdout, err = run_cli("report", "--workspace", str(built["ws"].root), "-o", str(out),
                                "--data", "synthetic:4/4")
    assert code == 0, err
    assert (out / "index.html").is_file() and (out / "report.json").is_file()
    assert "images unavailable" not in (out / "index.html").read_text(encoding="utf-8")
    assert built["ws"].catalog.get("report", "cli-demo") is not None
    code, _, err = run_cli("report", "--workspace", str(built["ws"].root), "--templates", str(tmp_path / "nope"))
    assert code == 2 and err.startswith("error:") and "templates directory not found" in err


def test_wilson_ci_known_values():
    lo, hi = wilson_ci(8, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.4902, 0.9433)
    assert wilson_ci(0, 20)[0] == 0.0 and wilson_ci(20, 20)[1] == 1.0
    with pytest.raises(ValueError):
        wilson_ci(3, 2)


def test_report_of_the_fingerprint_stage_output(tmp_path):
    """The real fingerprint stage's JSON (not the fixture's) renders: verdict, nearest probe, cues."""
    fingerprint = pytest.importorskip("evalkit.fingerprint.fingerprint")
    fx = build_report_workspace(tmp_path / "ws")
    answers = {int(i): int(fx["preds"][("control", 0)][i]) for s in fx["sets"].values() for i in s["indices"]}
    fp = fingerprint.fingerprint_classifier(fx["ws"], "real", answers, n_boot=50)
    data = collect_report_data(fx["ws"])
    api = next(a for a in data["apis"] if a["api"] == "real")
    assert api["scored_run"] is False and api["fingerprint"]["verdict"] == fp["verdict"]
    assert api["fingerprint"]["nearest_probe"]["name"] == fp["nearest_probe"]["name"]
    assert {r["cue"] for r in api["fingerprint"]["cue_profile"]} == set(fp["cue_profile"])
    html = render_report(fx["ws"]).read_text(encoding="utf-8")
    from markupsafe import escape
    assert str(escape(fp["verdict"])) in html


def test_undefined_explanation_figures_render_as_missing(tmp_path):
    """A sanity check with no defined correlation (NaN) is shown as missing, not a broken report.json."""
    fx = build_report_workspace(tmp_path / "ws")
    set_id = "control>rest"
    fx["ws"].catalog.record("explanation", f"{set_id}/gradcam/control/seed0", "explanations/none",
                            meta={"layer": "cnn/conv2", "n_images": 3, "sanity": {"spearman_mean": float("nan")},
                                  "faithfulness": {"predicted": {"deletion": float("nan"), "random": 0.5}}})
    report_json = render_report(fx["ws"]).parent / "report.json"
    figs = json.loads(report_json.read_text())["figures"]
    prefix = f"set/{set_id}/explain/gradcam/control/seed0/"
    assert figs[prefix + "deletion_random"] == 0.5
    assert figs[prefix + "sanity_spearman"] is None and figs[prefix + "deletion"] is None  # missing, not NaN
