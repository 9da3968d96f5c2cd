"""Report size and load time at the scale of the demo (configs/demo.toml), vs the small test report.

Builds a synthetic workspace shaped like the demo's: a 10,000-image pool, 4 probes x 2 seeds,
10 evaluation sets of 50 images, 3 of them explained (50 grids of 9 Grad-CAM cells each, written
with evalkit.explain.outputs.save_grid), one scored and fingerprinted API. Renders the report
with thumbnails and opens it in headless Chromium (/usr/bin/chromium). Prints figures.

    .venv/bin/python bench/bench_report.py
    .venv/bin/python bench/bench_report.py --report reports/demo/index.html   # also a real report
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from report_fixtures import build_report_workspace  # noqa: E402

from evalkit.explain.outputs import save_grid  # noqa: E402
from evalkit.report import render_report  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def demo_scale(root: Path):
    fx = build_report_workspace(root, n_test_per_class=1000)
    ws, test = fx["ws"], fx["dataset"].split("test")
    rng = np.random.default_rng(0)
    for art in ws.catalog.list("model"):   # a 4th probe: copy control's artifacts under another name
        if art.key.startswith("control/"):
            seed = art.key.split("/")[1]
            for kind, src_key, rel in (("model", art.key, f"models/patch_shuffle/{seed}"),
                                       ("predictions", f"{art.key}/synthetic/test",
                                        f"predictions/patch_shuffle/{seed}/synthetic/test.npz")):
                src = ws.abspath(ws.catalog.get(kind, src_key))
                dest = ws.root / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                if src.is_dir():
                    dest.mkdir(exist_ok=True)
                    for f in src.iterdir():
                        (dest / f.name).write_bytes(f.read_bytes())
                else:
                    dest.write_bytes(src.read_bytes())
                ws.catalog.record(kind, f"patch_shuffle/{seed}" + ("/synthetic/test" if kind == "predictions" else ""), rel)
    base = json.loads((ws.root / "sets/control>blur.json").read_text())
    probes = ["control", "grayscale", "blur", "patch_shuffle"]
    sets = []
    for k in range(10):
        a, b = probes[k % 4], probes[(k + 1 + k // 4) % 4]
        idx = sorted(rng.choice(len(test), 50, replace=False).tolist())
        s = dict(base, id=f"{a}>{b}#{k}", probe_a=a, probe_b=b, indices=idx, ids=[str(test.ids[i]) for i in idx],
                 hashes=[], labels=[int(test.labels[i]) for i in idx], kept=k % 3 != 2)
        (ws.root / f"sets/{s['id']}.json").write_text(json.dumps(s))
        ws.catalog.record("evalset", s["id"], f"sets/{s['id']}.json")
        sets.append(s)
    for s in sets[:3]:
        grids = []
        for j, i in enumerate(s["indices"]):
            maps = [np.clip(rng.normal(0.5, 0.2, (8, 8)), 0, 1) for _ in range(8)]
            rel = f"explanations/{s['id']}/gradcam/grids/{j:04d}.png"
            save_grid(ws.root / rel, test.images[i], f"#{i}\ntrue: x",
                      [(f"p{c // 2} s{c % 2}", "cat 0.91", m) for c, m in enumerate(maps)])
            grids.append(rel)
        for p in probes:
            for seed in (0, 1):
                ws.catalog.record("explanation", f"{s['id']}/gradcam/{p}/seed{seed}",
                                  f"explanations/{s['id']}/gradcam/{p}/seed{seed}", meta={"grids": grids})
    return fx


def measure(index: Path, browser) -> dict:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(index.as_uri(), wait_until="load")
    nav = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000
    page.close()
    total = sum(p.stat().st_size for p in index.parent.rglob("*") if p.is_file())
    return {"load_s": nav, "html_mb": index.stat().st_size / 1e6, "total_mb": total / 1e6, "errors": len(errors)}


def timed(fn, *args, **kwargs):
    """(fn(*args, **kwargs), seconds it took)."""
    start = time.perf_counter()
    return fn(*args, **kwargs), time.perf_counter() - start


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--report", type=Path, default=None, help="also measure this rendered index.html")
    args = ap.parse_args()
    m_real = None
    with tempfile.TemporaryDirectory() as tmp:
        small, t_small_build = timed(build_report_workspace, Path(tmp) / "small")
        small_index, t_small = timed(render_report, small["ws"], dataset=small["dataset"])
        demo, t_demo_build = timed(demo_scale, Path(tmp) / "demo")
        demo_index, t_demo = timed(render_report, demo["ws"], dataset=demo["dataset"])
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            measure(small_index, browser)   # warm-up
            m_small, m_demo = measure(small_index, browser), measure(demo_index, browser)
            if args.report is not None:
                m_real = measure(args.report.resolve(), browser)
            browser.close()
    print(f"baseline (test workspace, 100-image pool, 2 sets): build {t_small_build:.1f} s, render {t_small:.2f} s, "
          f"html {m_small['html_mb']:.2f} MB, total {m_small['total_mb']:.2f} MB, Chromium load {m_small['load_s']:.2f} s")
    print(f"demo scale (10,000-image pool, 4 probes x 2 seeds, 10 sets x 50, 3 x 50 grids): build {t_demo_build:.1f} s, "
          f"render {t_demo:.2f} s, html {m_demo['html_mb']:.2f} MB, total {m_demo['total_mb']:.2f} MB, "
          f"Chromium load {m_demo['load_s']:.2f} s, page errors {m_demo['errors']}")
    if m_real is not None:
        print(f"{args.report}: html {m_real['html_mb']:.2f} MB, total {m_real['total_mb']:.2f} MB, "
              f"Chromium load {m_real['load_s']:.2f} s, page errors {m_real['errors']}")
    print(f"budget: total < 20 MB -> {'ok' if m_demo['total_mb'] < 20 else 'OVER'}; "
          f"load < 2 s -> {'ok' if m_demo['load_s'] < 2 else 'OVER'}")


if __name__ == "__main__":
    main()
