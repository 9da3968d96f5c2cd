"""The truth behind the panel's expected labels: each member's cue scores on the whole pool.

  .venv/bin/python bench/bench_cue_truth.py --bank /work/bank --panel-dir /work/panel \
      --unseen /work/unseen --data ../shared/datasets/cifar10-jpeg.zip

A panel member is *expected* to rely less on a cue because of how it was trained; whether it does,
on the fingerprint's own scale, is a measurable fact: its accuracy kept under the cue's ablations
on all 10,000 test images, anchored like the fingerprint's ablation component at the standard
CNNs (1) and the cue-blind probes (0), with every seed of the bank (no image sampling left, no
selection: the whole pool). Each standard probe seed is scored the same way, so the table also
shows how far single standard CNNs stray from 1. Prints a markdown table; --out writes JSON.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def kept_on_pool(predict, images: np.ndarray, labels: np.ndarray, transforms) -> dict[str, float]:
    """{'clean': accuracy, transform: accuracy kept (ablated / clean)} on the whole pool."""
    from evalkit.fingerprint.inputs import ABLATION_SEED
    from evalkit.probes.transforms import ablate_pool_images

    idx = np.arange(len(images))
    clean = float(np.mean(predict(images) == labels))
    out = {"clean": clean}
    for t in transforms:
        acc = float(np.mean(predict(ablate_pool_images(t, images, idx, seed=ABLATION_SEED)) == labels))
        out[t] = acc / clean
    return out


def relative_scores(kept: dict, probe_kept: dict[str, list[dict]]) -> dict[str, float]:
    """{cue: mean over the cue's ablations of (drop - drop_blind) / (drop_standard - drop_blind)};
    anchors: mean over probes of each probe's mean over seeds (as the fingerprint does)."""
    from evalkit.fingerprint.cues import CUES

    def drop(probes, t):
        vals = [1 - np.mean([s[t] for s in probe_kept[p]]) for p in probes if p in probe_kept]
        return float(np.mean(vals)) if vals else None

    out = {}
    for name in CUES.names():
        spec = CUES.get(name)
        if not spec.blind:
            continue
        parts = []
        for t in spec.ablations:
            ds, db = drop(spec.users, t), drop(spec.blind, t)
            if ds is not None and db is not None and ds - db > 0:
                parts.append(((1 - kept[t]) - db) / (ds - db))
        out[name] = float(np.mean(parts)) if parts else float("nan")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bank", type=Path, required=True)
    ap.add_argument("--panel-dir", type=Path, required=True)
    ap.add_argument("--unseen", type=Path, default=None)
    ap.add_argument("--data", default=None)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    from bench_budget import ABLATIONS, members
    from evalkit.data import load_dataset
    from evalkit.fingerprint.cues import CUES, reference_probes
    from evalkit.probes import load_probe_model
    from evalkit.serving.classifier import load_classifier
    from evalkit.workspace import Workspace

    test = load_dataset("cifar10", args.data).split("test")
    transforms = [t for t in ABLATIONS if t != "mirror"]
    ws = Workspace(args.bank)
    probe_kept: dict[str, list[dict]] = {}
    t0 = time.time()
    for probe in reference_probes():
        if not (args.bank / "models" / probe).is_dir():
            print(f"probe {probe}: not in the bank", flush=True)
            continue
        for d in sorted((args.bank / "models" / probe).glob("seed*")):
            m = load_probe_model(ws, probe, int(d.name.removeprefix("seed")))
            probe_kept.setdefault(probe, []).append(
                kept_on_pool(lambda x: m.predict_proba(x).argmax(1), test.images, test.labels, transforms))
        print(f"probe {probe}: {len(probe_kept[probe])} seeds ({time.time() - t0:.0f} s)", flush=True)
    rows = []
    for probe in CUES.get("colour").users:
        for s, k in enumerate(probe_kept.get(probe, [])):
            rows.append({"name": f"bank {probe} seed{s}", "expected": "standard CNN", "acc": k["clean"],
                         "scores": relative_scores(k, probe_kept)})
    for mem in members(args.panel_dir, args.unseen, set()):
        clf = load_classifier(mem["file"])
        k = kept_on_pool(lambda x: clf.predict(x).argmax(1), test.images, test.labels, transforms)
        exp = (mem["cue"] or "none") + (" (partial)" if mem["partial"] else "")
        rows.append({"name": mem["name"], "expected": exp, "acc": k["clean"], "kept": k,
                     "scores": relative_scores(k, probe_kept)})
        print(f"{mem['name']}: {rows[-1]['scores']} ({time.time() - t0:.0f} s)", flush=True)
    cues = [c for c in CUES.names() if CUES.get(c).blind]
    print("\n| classifier | expected | test acc | " + " | ".join(cues) + " |")
    print("|---|---|---|" + "---|" * len(cues))
    for r in rows:
        print(f"| {r['name']} | {r['expected']} | {r['acc']:.3f} | "
              + " | ".join(f"{r['scores'][c]:.2f}" for c in cues) + " |")
    if args.out:
        args.out.write_text(json.dumps({"probe_kept": probe_kept, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
