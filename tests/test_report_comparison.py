"""The APIs comparison (report.json, apis_comparison.csv, --apis, fingerprint --compare) and the
pairwise differences, against values computed by hand or straight from the scores files."""
from __future__ import annotations

import csv
import json

import pytest

from compare_fixtures import build_compare_workspace
from evalkit.errors import UserError
from evalkit.report import collect_report_data, render_report
from evalkit.report.comparison import headline, select_apis
from evalkit.report.pairwise import api_correctness, pairwise_differences
from evalkit.stats import wilson_ci


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return build_compare_workspace(tmp_path_factory.mktemp("cmp") / "ws", n_apis=5, n_per_class=20, set_size=15,
                                   sample=40)


def test_comparison_rows_equal_the_scores_and_fingerprints(fx):
    data = collect_report_data(fx["ws"])
    comp = data["comparison"]
    assert [r["api"] for r in comp["rows"]] == sorted(fx["names"])
    assert [c["cue"] for c in comp["columns"]] == ["colour", "fine_texture", "global_shape", "orientation"]
    assert [c["scale"] for c in comp["columns"]] == ["relative"] * 3 + ["absolute"]
    labels = fx["labels"]
    for r in comp["rows"]:
        sc, fp = fx["scores"][r["api"]], fx["fingerprints"][r["api"]]
        scored = [x for x in sc["images"] if x["status"] == "scored"]
        k = sum(x["label"] is not None and x["label"] == labels[x["index"]] for x in scored)
        lo, hi = wilson_ci(k, len(scored))
        assert r["accuracy"] == pytest.approx({"acc": k / len(scored), "lo": lo, "hi": hi, "n": len(scored)})
        pool = sc.get("pool_accuracy")
        assert r["pool_accuracy"] == (None if pool is None else
                                      {"acc": pool["acc"], "lo": pool["lo"], "hi": pool["hi"], "n": pool["n_answered"]})
        for cue, c in fp["cue_profile"].items():
            got = r["cues"][cue]
            assert (got["score"], got["lo"], got["hi"], got["verdict"], got["scale"]) == pytest.approx(
                (c["score"], c["lo"], c["hi"], c["verdict"], c["scale"]))
        assert (r["queries_sent"], r["cost"], r["latency_p50_s"]) == (sc["queries_sent"], sc["spent_cost"],
                                                                      sc["latency_p50_s"])
        assert r["verdict"] == fp["verdict"] and r["status"] == fp["status"]
    heads = {r["api"]: r["headline"] for r in comp["rows"]}
    assert heads == {"google-vision": "like a standard CNN", "rekognition": "less colour",
                     "azure-vision": "less fine texture", "azure-customvision": "ignores colour",
                     "huggingface-vit": "less fine texture (+1 cue)"}
    assert comp["scales"]["relative"][0] <= 0.0 and comp["scales"]["relative"][1] >= 1.6
    assert comp["scales"]["absolute"] == [0.0, 0.25]


def test_headline_words():
    prof = [{"cue": "colour", "verdict": "more"}, {"cue": "global_shape", "verdict": "less"},
            {"cue": "fine_texture", "verdict": "ignored"}]
    assert headline({"status": "biased", "dominant_cue": "colour", "cue_profile": prof}) == "more colour (+2 cues)"
    assert headline({"status": "inconclusive", "dominant_cue": None, "cue_profile": []}) == "inconclusive"
    assert headline(None) == "not fingerprinted"


def test_csv_and_report_json_agree(fx, tmp_path):
    index = render_report(fx["ws"], out_dir=tmp_path / "rep")
    doc = json.loads((index.parent / "report.json").read_text("utf-8"))
    rows = {r["api"]: r for r in doc["data"]["comparison"]["rows"]}
    with open(index.parent / "apis_comparison.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [t["api"] for t in table] == list(rows)
    for t in table:
        r = rows[t["api"]]
        assert float(t["accuracy"]) == r["accuracy"]["acc"] and int(t["n_scored"]) == r["accuracy"]["n"]
        assert float(t["colour_score"]) == r["cues"]["colour"]["score"]
        assert t["global_shape_verdict"] == r["cues"]["global_shape"]["verdict"]
        assert t["pool_accuracy"] == ("" if r["pool_accuracy"] is None else repr(r["pool_accuracy"]["acc"]))
        assert (int(t["queries_sent"]), float(t["cost"]), t["headline"]) == (r["queries_sent"], r["cost"], r["headline"])
        assert doc["figures"][f"compare/{t['api']}/accuracy.acc"] == r["accuracy"]["acc"]
    with open(index.parent / "api_pairs.csv", newline="") as f:
        pairs = list(csv.DictReader(f))
    assert len([p for p in pairs if p["group"] == "all"]) == 10          # 5 APIs: 10 pairs
    assert len(pairs) == 10 * (1 + 6)                                      # + one row per kept set


def test_report_restricted_to_some_apis(fx, tmp_path, run_cli):
    code, out, err = run_cli("report", "-w", str(fx["ws"].root), "-o", str(tmp_path / "two"),
                             "--apis", "rekognition,google-vision")
    assert code == 0, err
    doc = json.loads((tmp_path / "two" / "report.json").read_text("utf-8"))
    assert [a["api"] for a in doc["data"]["apis"]] == ["google-vision", "rekognition"]
    assert [r["api"] for r in doc["data"]["comparison"]["rows"]] == ["google-vision", "rekognition"]
    assert [(p["a"], p["b"]) for p in doc["data"]["pairwise"]["pairs"]] == [("google-vision", "rekognition")]
    code, out, err = run_cli("report", "-w", str(fx["ws"].root), "-o", str(tmp_path / "bad"), "--apis", "rekognitoin")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "did you mean 'rekognition'?" in err and err.startswith("error: --apis")
    with pytest.raises(UserError):
        select_apis([], ["a"])


def test_fingerprint_compare_prints_the_table(fx, run_cli):
    code, out, err = run_cli("fingerprint", "-w", str(fx["ws"].root), "--compare", "azure-customvision,google-vision")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["api", "accuracy", "(scored)"] and set(lines[1]) <= {"-", " "}
    data = collect_report_data(fx["ws"], apis=["azure-customvision", "google-vision"])
    for line, r in zip(lines[2:4], data["comparison"]["rows"]):
        acc = r["accuracy"]
        assert line.startswith(r["api"]) and f"{100 * acc['acc']:.1f}% [{100 * acc['lo']:.1f}%, {100 * acc['hi']:.1f}%]" in line
        c = r["cues"]["colour"]
        assert f"{c['score']:.2f} {c['word']} [{c['lo']:.2f}, {c['hi']:.2f}]" in line and r["headline"] in line
    assert "ignores colour" in lines[2] and "like a standard CNN" in lines[3]
    code, _, err = run_cli("fingerprint", "-w", str(fx["ws"].root), "--compare", "googel-vision")
    assert code == 2 and "did you mean 'google-vision'?" in err
    code, _, err = run_cli("fingerprint", "-w", str(fx["ws"].root), "--compare", "all", "--api", "x")
    assert code == 2 and "exactly one of" in err


def test_api_correctness_counts_abstentions_wrong_and_drops_failures():
    sc = {"images": [{"index": 0, "status": "scored", "label": 1}, {"index": 1, "status": "scored", "label": None},
                     {"index": 2, "status": "failed", "label": None}, {"index": 3, "status": "scored", "label": 0}]}
    assert api_correctness(sc, {0: 1, 1: 1, 2: 0, 3: 2}) == {0: True, 1: False, 3: False}


def test_pairwise_differences_hand_values():
    # set s = images 0..9: A right on 0..7, B right on 0..2 -> only A: 5, only B: 0 -> p = 2 / 2^5
    # images 10..19 (no set): both right except A wrong on 10, 11 -> overall only A 5, only B 2
    a = {i: i <= 7 or i >= 12 for i in range(20)}
    b = {i: i <= 2 or i >= 10 for i in range(20)}
    c = {100 + i: True for i in range(5)}                        # shares no image: no pair with it
    sets = [{"id": "s", "indices": list(range(10)), "kept": True},
            {"id": "dropped", "indices": list(range(5)), "kept": False}]
    pw = pairwise_differences({"A": a, "B": b, "C": c}, sets)
    assert [(p["a"], p["b"]) for p in pw["pairs"]] == [("A", "B")]
    p = pw["pairs"][0]
    assert (p["n"], p["only_a"], p["only_b"]) == (20, 5, 2)
    assert p["acc_a"] == pytest.approx(0.8) and p["acc_b"] == pytest.approx(0.65) and p["diff"] == pytest.approx(0.15)
    assert p["p"] == pytest.approx(2 * (1 + 7 + 21) / 128)        # 2 P(X <= 2), X ~ Bin(7, 1/2)
    [s] = p["sets"]
    assert (s["group"], s["n"], s["only_a"], s["only_b"]) == ("s", 10, 5, 0)
    assert s["diff"] == pytest.approx(0.5) and s["p"] == pytest.approx(0.0625)
    # Holm over the two tests: 0.0625 * 2 = 0.125, then max(0.125, 0.453125 * 1)
    assert s["p_holm"] == pytest.approx(0.125) and p["p_holm"] == pytest.approx(0.453125)
    assert p["better_a"] == [] and p["better_b"] == []
    # kappa: pA = 0.8, pB = 0.65, c_obs = 13/20, c_exp = 0.8 * 0.65 + 0.2 * 0.35 = 0.59
    assert p["kappa"] == pytest.approx((0.65 - 0.59) / 0.41)
    assert p["kappa_lo"] < p["kappa"] < p["kappa_hi"]
    assert "Holm" in pw["method"] and "bootstrap" in pw["method"]


def test_rich_table_view(fx, capsys):
    from evalkit.cli.compare_view import print_comparison
    from evalkit.report.comparison import comparison_from_workspace

    comp = comparison_from_workspace(fx["ws"], ["rekognition", "google-vision"])
    assert [r["api"] for r in comp["rows"]] == ["rekognition", "google-vision"]   # in the order asked
    print_comparison(comp, use_rich=True)
    out = capsys.readouterr().out
    assert "APIs side by side" in out and "rekognition" in out and "google-vision" in out
    assert "less" in out and "┃" in out
