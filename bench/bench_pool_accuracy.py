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

Also in the same run: the *outside* design draws the accuracy sample only from pool images
outside the eval sets (the cue draws cover those), and a ceiling for model-assisted estimators:
the Brier score of the member's correctness predicted from its class alone, from the class x
difficulty strata (the estimator's model, fitted on the whole pool), and from a logistic model
of every probe run's correctness and log-probability of the true class (5-fold cross-fitted).
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
    from evalkit.probes import load_pool_predictions

    probs = [np.asarray(p) for p in load_pool_predictions(ws, "cifar10/test").values()]
    outside = np.ones(data.n_pool, bool)
    outside[data.population] = False
    alloc_out = neyman_allocation(strata[outside], data.difficulty[outside], data.labels[outside], args.accuracy_draws)
    alloc_out = np.pad(alloc_out, (0, alloc.size - alloc_out.size))
    strata_out = np.where(outside, strata, -1)
    print("| member | truth | mean estimate | sd | MAE (points) | design, bootstrap within | coverage | mean CI width | 2 x 1.96 sd |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in args.members.split(","):
        path = sorted(args.panel_dir.glob(f"panel-{kind.replace('_', '-')}-seed*.keras"))[0]
        clean = load_classifier(path).predict(test.images).argmax(1)
        truth = float(np.mean(clean == test.labels))
        rows = {("pool", "stratum"): [], ("pool", "class"): [], ("outside", "class"): []}
        for rep in range(args.reps):
            for design, draw_strata, draw_alloc in (("pool", strata, alloc), ("outside", strata_out, alloc_out)):
                rng = np.random.default_rng(rep)
                led = DrawLedger(data.n_pool, ["grayscale"])
                idx = list(led.accuracy_draws(rng, draw_strata, draw_alloc))
                for cue in data.informativeness:
                    idx += list(led.cue_draws(rng, data.population, data.labels, data.informativeness[cue],
                                              args.cue_draws, ["grayscale"], 0.3))
                answers = {int(i): int(clean[i]) for i in idx}
                for d, how in rows:
                    if d == design:
                        a = estimate_pool_accuracy(led, answers, data.labels, strata, n_boot=500, seed=rep,
                                                   resample_within=how)
                        rows[(d, how)].append((a.acc, a.lo, a.hi))
        for (design, how), v in rows.items():
            v = np.array(v)
            print(f"| {path.stem} | {truth:.3f} | {v[:, 0].mean():.3f} | {v[:, 0].std():.3f} | "
                  f"{100 * np.abs(v[:, 0] - truth).mean():.2f} | {design}, {how} | "
                  f"{np.mean((v[:, 1] <= truth) & (truth <= v[:, 2])):.0%} | {100 * np.mean(v[:, 2] - v[:, 1]):.1f} | "
                  f"{392 * v[:, 0].std():.1f} |", flush=True)
        print(f"  {path.stem}: Brier of its correctness (variance {np.var(clean == test.labels):.4f}) "
              + ", ".join(f"{k} {b:.4f}" for k, b in predictability(clean == test.labels, data.labels, strata, probs).items()),
              flush=True)
    return 0


def predictability(correct: np.ndarray, labels: np.ndarray, strata: np.ndarray, probs: list) -> dict:
    """Brier scores of predicting ``correct`` from the class, from the strata (in-sample means)
    and from a cross-fitted logistic model of the probe runs' outputs."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold, cross_val_predict

    y = correct.astype(float)
    mean_of = lambda g: (np.bincount(g, weights=y) / np.bincount(g))[g]  # noqa: E731
    rows = np.arange(labels.size)
    X = np.column_stack([np.eye(int(labels.max()) + 1)[labels]]
                        + [p.argmax(1) == labels for p in probs] + [np.log(p[rows, labels] + 1e-6) for p in probs])
    fit = cross_val_predict(LogisticRegression(max_iter=2000), X, y, cv=KFold(5, shuffle=True, random_state=0),
                            method="predict_proba")[:, 1]
    return {"class": float(np.mean((y - mean_of(labels)) ** 2)), "strata": float(np.mean((y - mean_of(strata)) ** 2)),
            "probe logistic": float(np.mean((y - fit) ** 2))}


if __name__ == "__main__":
    sys.exit(main())
