"""Did the API change? False alarms and detection power of `evalkit compare`.

  .venv/bin/python bench/bench_drift.py [--reps 20] [--n-boot 1000]

A small bank on synthetic data where colour is informative (tests/drift_bank.py: tiny control
and grayscale CNNs, two seeds each, three evaluation sets) and a simulated stochastic API: on
every clean image and grayscale copy it answers with a class *drawn* from fixed probabilities
(the control seed-0 model's softmax), so answers near a tie change from run to run while the
model does not. Every run is archived as a real run of the workspace and compared with
`evalkit.drift.compare_runs` (the same code as `evalkit compare`).

1. False alarms: NULL_REPS pairs of independent runs of the unchanged API; share of verdicts
   "changed" (any part), and of each kind (accuracy on a set / overall, cue reliance).
2. Power: run B answers, on a random share S of the images (clean and grayscale copy together),
   with the grayscale probe's probabilities instead (a colour-related change of the API);
   S in 2%, 5%, 10%, 20%, 50%, 100%; REPS comparisons each; share detected (any part of the
   verdict / accuracy / colour cue changed / colour cue significant without the 0.5 margin).
Thresholds are those of `evalkit compare` (alpha 0.05, cue margin 0.5), fixed before this ran.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # this checkout's evalkit and the test bank


def _probs(ws, ds, probe: str, seed: int) -> dict[str, np.ndarray]:
    """The model's probabilities on the pool's clean images and their grayscale copies."""
    from evalkit.probes import load_probe_model
    from evalkit.probes.transforms import ablate_pool_images

    imgs = ds.split("test").images
    idx = np.arange(len(imgs))
    m = load_probe_model(ws, probe, seed)
    return {"": m.predict_proba(imgs), "grayscale": m.predict_proba(ablate_pool_images("grayscale", imgs, idx, seed=0))}


def _draw(rng, p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    p = p / p.sum(axis=1, keepdims=True)
    u = rng.random(len(p))[:, None]
    return np.minimum((p.cumsum(axis=1) < u).sum(axis=1), p.shape[1] - 1)


def _run(ws, indices, base, alt, share: float, rng) -> None:
    """Archive one simulated run: answers drawn from ``base`` (``alt`` on a random share)."""
    from evalkit.scoring.runs import archive_run, run_block

    use_alt = rng.random(len(base[""])) < share
    doc = {"api": "sim", "pool": "synthetic/test", "sets": [], "queries_sent": 2 * len(indices), "cache_hits": 0,
           "class_names": [], "ablations": {}}
    for v in ("", "grayscale"):
        p = np.where(use_alt[:, None], alt[v], base[v])
        ans = _draw(rng, p)
        recs = [{"index": int(i), "hash": "-", "status": "scored", "label": int(ans[i])} for i in indices]
        if v:
            doc["ablations"][v] = recs
        else:
            doc["images"] = recs
    doc["run"] = run_block(ws, "sim", new_run=True, versions=[])
    archive_run(ws, doc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--null-reps", type=int, default=100, help="comparisons of the unchanged API")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--shares", default="0.02,0.05,0.1,0.2,0.5,1")
    args = ap.parse_args()
    from drift_bank import build_bank

    from evalkit.artifacts import load_evalsets
    from evalkit.drift import compare_runs

    t0 = time.time()
    ws, ds = build_bank(Path(tempfile.mkdtemp(prefix="bench-drift-")) / "ws", n_test=40, n_rest=160)
    indices = sorted({int(i) for d in load_evalsets(ws) for i in d["indices"]})
    base, alt = _probs(ws, ds, "control", 0), _probs(ws, ds, "grayscale", 0)
    labels = ds.split("test").labels
    acc = (base[""].argmax(1)[indices] == labels[indices]).mean()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(f"bank: {len(indices)} eval-set images in {len(load_evalsets(ws))} sets; simulated API = control seed 0 "
          f"(argmax accuracy {acc:.3f}), answers drawn from its softmax; "
          f"n_boot {args.n_boot}; commit {commit}; setup {time.time() - t0:.0f} s")
    print(f"{'change':<22} {'flip rate':>9} {'any':>6} {'accuracy':>9} {'colour cue':>11} {'colour p<a':>11} "
          f"{'other cue':>10}")
    rng = np.random.default_rng(2026)
    for share in [0.0] + [float(s) for s in args.shares.split(",")]:
        hits = {"any": 0, "acc": 0, "colour": 0, "colour_sig": 0, "other": 0}
        flips = []
        t1 = time.time()
        reps = args.null_reps if share == 0 else args.reps
        for _ in range(reps):
            _run(ws, indices, base, alt, 0.0, rng)
            _run(ws, indices, base, alt, share, rng)
            doc = compare_runs(ws, "sim", n_boot=args.n_boot, seed=int(rng.integers(1 << 30)), dataset=ds)
            flips.append(doc["overall"]["flips"]["rate"])
            hits["any"] += doc["changed"]
            hits["acc"] += any(s["changed"] for s in doc["sets"]) or doc["overall"]["changed"]
            hits["colour"] += any(c["changed"] for c in doc["cues"] if c["cue"] == "colour")
            hits["colour_sig"] += any(c["significant"] for c in doc["cues"] if c["cue"] == "colour")
            hits["other"] += any(c["changed"] for c in doc["cues"] if c["cue"] != "colour")
        name = "none (same model)" if share == 0 else f"{share:.0%} -> grayscale probe"
        r = reps
        print(f"{name:<22} {np.mean(flips):>9.3f} {hits['any'] / r:>6.2f} {hits['acc'] / r:>9.2f} "
              f"{hits['colour'] / r:>11.2f} {hits['colour_sig'] / r:>11.2f} {hits['other'] / r:>10.2f}   (n={r}, {time.time() - t1:.0f} s)", flush=True)
    print(f"total {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
