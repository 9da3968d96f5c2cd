"""The APIs comparison table in headless Chromium, with ten scored and fingerprinted APIs.

It is the first thing under the summary header, fits a 1280 px window without horizontal
scrolling, sorts by every column, shows the full verdict on hover and on click, and every number
in it equals the figure of the same id in report.json (and the row of data.comparison).
"""
from __future__ import annotations

import json

import pytest

from compare_fixtures import VERDICT_PAYLOAD, build_compare_workspace
from evalkit.report import render_report
from evalkit.report.render import format_value
from test_report_browser import chromium_page  # noqa: F401  (the shared browser fixture)

pytestmark = pytest.mark.browser


def expected_figures(comp: dict) -> dict[str, tuple[object, str]]:
    """figure id -> (value from data.comparison, format kind) for every number in the table."""
    out = {}
    for r in comp["rows"]:
        cid = f"compare/{r['api']}"
        for key in ("accuracy", "pool_accuracy"):
            if key == "pool_accuracy" and not comp["has_pool_accuracy"]:
                continue
            iv = r[key]
            out[f"{cid}/{key}.acc"] = (iv["acc"] if iv else None, "pct")
            if iv:
                out[f"{cid}/{key}.lo"], out[f"{cid}/{key}.hi"] = (iv["lo"], "pct"), (iv["hi"], "pct")
        for c in comp["columns"]:
            v = r["cues"].get(c["cue"])
            out[f"{cid}/cue/{c['cue']}.score"] = (v["score"] if v else None, "f2")
            if v and v["lo"] is not None:
                out[f"{cid}/cue/{c['cue']}.lo"], out[f"{cid}/cue/{c['cue']}.hi"] = (v["lo"], "f2"), (v["hi"], "f2")
        out[f"{cid}/queries_sent"] = (r["queries_sent"], "int")
        out[f"{cid}/cost"] = (r["cost"], "cost")
        out[f"{cid}/latency_p50_s"] = (r["latency_p50_s"], "s")
    return out


def column_value(row: dict, col: str):
    """The report.json value a column sorts by."""
    if col == "api":
        return row["api"].lower()
    if col in ("accuracy", "pool_accuracy"):
        return row[col]["acc"] if row[col] else None
    if col.startswith("cue-"):
        v = row["cues"].get(col[4:])
        return v["score"] if v else None
    if col == "headline":
        return row["headline"].lower()
    return row[col]


def is_sorted(values: list, descending: bool) -> bool:
    present = [v for v in values if v is not None]
    tail = values[len(present):]
    return all(v is None for v in tail) and present == sorted(present, reverse=descending)


def test_comparison_table_in_headless_chromium(chromium_page, tmp_path, project_root):  # noqa: F811
    fx = build_compare_workspace(tmp_path / "ws", n_apis=10, payload=True)
    index = render_report(fx["ws"])
    doc = json.loads((index.parent / "report.json").read_text("utf-8"))
    figures, comp = doc["figures"], doc["data"]["comparison"]
    rows = {r["api"]: r for r in comp["rows"]}
    assert len(rows) == 10 and comp["has_pool_accuracy"]

    page = chromium_page.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(index.as_uri(), wait_until="load")

    # the first thing under the summary header, starting on the first screen
    assert page.evaluate("document.querySelector('#summary > h2').nextElementSibling.id") == "comparison"
    table = page.locator("#apis-comparison")
    assert table.locator("tbody tr").count() == 10
    assert table.bounding_box()["y"] < 300

    def widths():
        return page.evaluate("""() => { const t = document.querySelector('#apis-comparison');
            const card = t.parentElement, s = getComputedStyle(card), r = t.getBoundingClientRect();
            const inner = card.getBoundingClientRect().right - parseFloat(s.borderRightWidth) - parseFloat(s.paddingRight);
            return {doc: document.documentElement.scrollWidth, win: window.innerWidth, left: r.left,
                    right: r.right, table: t.scrollWidth, width: r.width, card_inner_right: inner}; }""")
    w = widths()
    assert w["win"] == 1280 and w["doc"] <= 1280, w
    assert w["left"] >= 0 and w["right"] <= w["card_inner_right"] + 0.5 <= 1280 and w["table"] <= w["width"] + 0.5, w

    # every number in the table is a figure of report.json, shown as its formatted value
    shown = table.locator(".fig").evaluate_all(
        "els => els.map(e => [e.dataset.figure, e.dataset.value, e.textContent])")
    expected = expected_figures(comp)
    assert sorted(f for f, _, _ in shown) == sorted(expected)
    for fid, raw, text in shown:
        value, kind = expected[fid]
        assert figures[fid] == value, fid
        assert (None if raw == "" else float(raw)) == value, fid
        assert text == format_value(value, kind), fid
    assert rows["google-vision"]["accuracy"]["n"] == len([r for r in fx["scores"]["google-vision"]["images"]
                                                          if r["status"] == "scored"])

    # the verdict: a few words, the full sentence on hover (title) and on click (details)
    for name, r in rows.items():
        cell = table.locator(f"tr[data-api='{name}'] td.headline")
        assert cell.get_attribute("title") == r["verdict"]
        assert cell.locator("summary").inner_text().strip() == r["headline"]
    payload_api = fx["names"][1]
    cell = table.locator(f"tr[data-api='{payload_api}'] td.headline")
    cell.locator("summary").click()
    full = cell.locator(".full-verdict")
    assert full.is_visible() and full.inner_text() == rows[payload_api]["verdict"]
    assert VERDICT_PAYLOAD in full.inner_text() and page.locator("#comparison img").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert widths()["doc"] <= 1280
    cell.locator("summary").click()

    # sorting by each column, both directions, in the order of the report.json values
    headers = table.locator("thead th")
    cols = headers.evaluate_all("els => els.map(e => e.dataset.col)")
    assert cols[:3] == ["api", "accuracy", "pool_accuracy"] and len(cols) == 3 + len(comp["columns"]) + 4
    for k, col in enumerate(cols):
        for descending in (False, True):
            headers.nth(k).click()
            order = table.locator("tbody tr").evaluate_all("els => els.map(e => e.dataset.api)")
            values = [column_value(rows[a], col) for a in order]
            assert sorted(order) == sorted(rows) and is_sorted(values, descending), (col, descending, values)
            assert headers.nth(k).get_attribute("aria-sort") == ("descending" if descending else "ascending")

    assert errors == []
    artifacts = project_root / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    page.locator("#comparison").screenshot(path=str(artifacts / "comparison.png"))
    page.close()
