"""Screenshot the top of a rendered report for the README (headless Chromium via playwright).

    .venv/bin/python scripts/screenshot_report.py reports/demo/index.html docs/demo-report.png
"""
import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright


def main(index: str, out: str, height: int = 1400) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"]) if chromium \
            else p.chromium.launch()
        page = browser.new_page(viewport={"width": 1280, "height": height})
        page.goto(Path(index).resolve().as_uri())
        page.wait_for_load_state("load")
        page.screenshot(path=out, full_page=False)
        browser.close()
    print(f"screenshot: {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
