"""The rendered report in headless Chromium (Debian's package, installed by scripts/install-browser.sh).

No console or page errors, key sections and figures visible, injected labels shown as text with
no dialog and no script run, no network request, sortable tables work; saves a screenshot to
test-artifacts/report.png and the load time to test-artifacts/report-load.json.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from evalkit.report import render_report
from report_fixtures import CLASS_PAYLOAD, IMG_PAYLOAD, XSS_PAYLOAD, build_report_workspace

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
KEY_ELEMENTS = ["#summary", "#probes", "#evalsets", "#apis", "#methods", ".verdict", "#stages",
                "svg.training-curve", "svg.per-class-accuracy", "svg.confusion-matrix", "svg.gap-forest",
                "svg.api-accuracy", "svg.cue-profile", "figure.thumb img", "img.explain-grid",
                "table.unmapped-labels", "table.error-consistency"]


@pytest.fixture(scope="module")
def chromium_page():
    if not CHROMIUM.exists():
        pytest.skip(f"browser test: {CHROMIUM} not installed (run: sudo bash scripts/install-browser.sh)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def test_report_in_headless_chromium(chromium_page, tmp_path, project_root):
    fx = build_report_workspace(tmp_path / "ws")
    index = render_report(fx["ws"], dataset=fx["dataset"])
    page = chromium_page.new_page(viewport={"width": 1280, "height": 900})
    console_errors, page_errors, dialogs, requests = [], [], [], []
    page.on("console", lambda m: console_errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))

    start = time.perf_counter()
    page.goto(index.as_uri(), wait_until="load")
    wall_s = time.perf_counter() - start
    nav_s = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000
    page.wait_for_timeout(300)   # give any (unwanted) onerror handler time to fire

    assert console_errors == [] and page_errors == [] and dialogs == []
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    for sel in KEY_ELEMENTS:
        loc = page.locator(sel).first
        loc.scroll_into_view_if_needed()
        box = loc.bounding_box()
        assert loc.is_visible() and box and box["width"] > 20 and box["height"] > 20, sel
    assert page.locator("svg.plot").count() >= 3 * 4 + 3
    assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")

    for payload in (IMG_PAYLOAD, XSS_PAYLOAD):
        cell = page.locator("table.unmapped-labels .label-text").filter(has_text=payload)
        assert cell.count() == 1 and cell.inner_text() == payload and cell.is_visible()
    assert page.locator("img[src='x']").count() == 0 and page.locator("script").count() == 1
    assert XSS_PAYLOAD in page.locator(".verdict").first.inner_text()
    assert page.locator("svg.confusion-matrix text", has_text="cross<script>").count() >= 1
    assert page.locator("figcaption", has_text=CLASS_PAYLOAD).count() >= 1

    # progressive enhancement: clicking a header sorts the table by the figures' data-value
    table = page.locator("#probe-summary-table")
    table.locator("th", has_text="mean test accuracy").click()
    values = [float(v) for v in table.locator("tbody td:nth-child(3) .fig").evaluate_all(
        "els => els.map(e => e.dataset.value)")]
    assert values == sorted(values)

    artifacts = project_root / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "report.png"), full_page=True)
    (artifacts / "report-load.json").write_text(json.dumps(
        {"navigation_load_s": nav_s, "goto_wall_s": wall_s, "html_bytes": index.stat().st_size}, indent=1))
    assert (artifacts / "report.png").stat().st_size > 10_000
    assert nav_s < 2.0, f"report took {nav_s:.2f} s to load"
    page.close()
