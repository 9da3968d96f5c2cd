"""Full-pool accuracy from the planner's designs: bias, spread and CI coverage over repeated draws.

  .venv/bin/python bench/bench_pool_accuracy.py --bank /work/bank --panel-dir /work/panel \
      --members strong_none,strong_partial_grayscale,none,lowpass --reps 100 \
      --data ../shared/datasets/cifar10-jpeg.zip

For each member, 100 times: the planner's round-1 accuracy sample (200 clean pool images,
stratified by class x probe difficulty) plus class-balanced informative cue draws (150 per cue)
from the eval-set images, answered from the member's own predictions on the whole pool (the
truth is known). The post-stratified, design-weighted estimate is then given two bootstrap CIs
in the same run: resampling the answers within each class x difficulty stratum (the baseline)
and within each class (collapsed strata, the default). Prints bias, sd, MAE and coverage.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bank", type=Path, required=True)
    ap.add_argument("--panel-dir", type=Path, required=True)
    ap.add_argument("--members", default="strong_none,none")
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--accuracy-draws", type=int, default=200)
    ap.add_argument("--cue-draws", type=int, default=150)
    ap.add_argument("--data", default=None)
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench_pool_accuracy"),
                    help="scratch workspace mirroring the bank (the bank is not written to)")
    args = ap.parse_args(argv)

    from bench_budget import ABLATIONS
    from bench_fingerprint_panel import mirror_bank
    from evalkit.data import load_dataset
    from evalkit.planning import DrawLedger, estimate_pool_accuracy, load_planning_data
    from evalkit.planning.design import difficulty_strata, neyman_allocation
    from evalkit.serving.classifier import load_classifier

    test = load_dataset("cifar10", args.data).split("test")
    ws, _ = mirror_bank(args.bank, args.out / "ws")
    data = load_planning_data(ws, ABLATIONS, test.images, pool="cifar10/test")
    strata = difficulty_strata(data.labels, data.difficulty)
    alloc = neyman_allocation(strata, data.difficulty, data.labels, args.accuracy_draws)
    print("| member | truth | mean estimate | sd | MAE (points) | bootstrap within | coverage | mean CI width | 2 x 1.96 sd |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in args.members.split(","):
        path = sorted(args.panel_dir.glob(f"panel-{kind.replace('_', '-')}-seed*.keras"))[0]
        clean = load_classifier(path).predict(test.images).argmax(1)
        truth = float(np.mean(clean == test.labels))
        rows = {"stratum": [], "class": []}
        for rep in range(args.reps):
            rng = np.random.default_rng(rep)
            led = DrawLedger(data.n_pool, ["grayscale"])
            idx = list(led.accuracy_draws(rng, strata, alloc))
            for cue in data.informativeness:
                idx += list(led.cue_draws(rng, data.population, data.labels, data.informativeness[cue],
                                          args.cue_draws, ["grayscale"], 0.3))
            answers = {int(i): int(clean[i]) for i in idx}
            for how in rows:
                a = estimate_pool_accuracy(led, answers, data.labels, strata, n_boot=500, seed=rep,
                                           resample_within=how)
                rows[how].append((a.acc, a.lo, a.hi))
        for how, v in rows.items():
            v = np.array(v)
            print(f"| {path.stem} | {truth:.3f} | {v[:, 0].mean():.3f} | {v[:, 0].std():.3f} | "
                  f"{100 * np.abs(v[:, 0] - truth).mean():.2f} | {how} | "
                  f"{np.mean((v[:, 1] <= truth) & (truth <= v[:, 2])):.0%} | {100 * np.mean(v[:, 2] - v[:, 1]):.1f} | "
                  f"{392 * v[:, 0].std():.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
