"""Build a multi-API example workspace and screenshot the report's comparison table (README image).

    .venv/bin/python scripts/screenshot_comparison.py [docs/apis_comparison.png] [--keep DIR]

The workspace (ten APIs, written directly by tests/compare_fixtures.py: no training, no server)
goes to a temporary folder, or to DIR with --keep; the screenshot is the "APIs side by side" card
at a 1280 px wide window, in headless Chromium (playwright; Debian's chromium when installed).
"""
import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from compare_fixtures import build_compare_workspace  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from evalkit.report import render_report  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default=str(ROOT / "docs" / "apis_comparison.png"))
    ap.add_argument("--keep", help="write the example workspace (and its report) here instead of a temp folder")
    args = ap.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="evalkit-compare-"))
    try:
        fx = build_compare_workspace(folder / "workspace")
        index = render_report(fx["ws"])
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"]) if chromium \
                else p.chromium.launch()
            page = browser.new_page(viewport={"width": 1280, "height": 1000}, device_scale_factor=1)
            page.goto(index.as_uri(), wait_until="load")
            page.locator("#apis-comparison th[data-col='accuracy']").click()
            page.locator("#apis-comparison th[data-col='accuracy']").click()   # best first
            page.locator("#comparison").screenshot(path=args.out)
            browser.close()
        print(f"report: {index}\nscreenshot: {args.out}")
    finally:
        if not args.keep:
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
