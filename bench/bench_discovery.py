"""Benchmark of discovery: 10,000 images x 50 probe-seeds must take seconds.

Synthetic mode (default): builds probabilities for P probes x S seeds on N images (noise with a
shared per-image difficulty, plus planted divergent subsets), then times
  - building the correctness matrix from the probabilities,
  - the full `discover` run (selection + vectorised bootstrap + McNemar + random baselines),
and compares the vectorised bootstrap with a baseline in the same run: the straightforward
per-resample Python loop (resample images, resample seeds, average), timed on a few subsets and
extrapolated to all of them.

Workspace mode (--workspace DIR): runs `discover` on the stored predictions of --pool and prints
the headline table (mean validated gap over kept pair subsets vs random subsets' mean |gap|).

    .venv/bin/python bench/bench_discovery.py
    .venv/bin/python bench/bench_discovery.py --workspace /work/bankws --pool cifar10/test
    .venv/bin/python bench/bench_discovery.py --workspace /work/bankws \
        --probe-names control,kernel5,zca_shift,grayscale,blur,patch_shuffle
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evalkit.discovery import (DiscoverySettings, discover, gap_with_ci, load_correctness,  # noqa: E402
                               matrix_from_probs, split_seeds, summary_table)


def synthetic_probs(n, n_classes, n_probes, n_seeds, rng):
    labels = rng.integers(0, n_classes, n)
    acc = rng.uniform(0.3, 0.95, n)
    probes = [f"probe{i:02d}" for i in range(n_probes)]
    planted = {(probes[i], probes[i + 1]): rng.choice(n, 300, replace=False) for i in range(0, n_probes - 1, 2)}
    probs = {}
    for p in probes:
        for s in range(n_seeds):
            c = rng.random(n) < acc
            for (a, b), idx in planted.items():
                if p == a:
                    c[idx] = rng.random(idx.size) < 0.95
                elif p == b:
                    c[idx] = rng.random(idx.size) < 0.05
            wrong = (labels + rng.integers(1, n_classes, n)) % n_classes
            pred = np.where(c, labels, wrong)
            conf = rng.uniform(0.4, 0.99, n).astype(np.float32)
            pr = np.repeat(((1 - conf) / (n_classes - 1))[:, None], n_classes, axis=1)
            pr[np.arange(n), pred] = conf
            probs[(p, s)] = pr.astype(np.float16)
    return labels, probs, planted


def loop_bootstrap(side_a, side_b, rng, n_boot):
    """Baseline: one resample at a time, in Python (what vectorising replaces)."""
    k = side_a[0].shape[1]
    out = np.empty(n_boot)
    for b in range(n_boot):
        img = rng.integers(0, k, k)

        def acc(side):
            return np.mean([c[rng.integers(0, c.shape[0], c.shape[0])][:, img].mean() for c in side])
        out[b] = acc(side_a) - acc(side_b)
    return np.percentile(out, [2.5, 97.5])


def run_synthetic(args):
    rng = np.random.default_rng(args.seed)
    labels, probs, planted = synthetic_probs(args.images, 10, args.probes, args.seeds, rng)
    ids = np.array([f"img{i}" for i in range(args.images)])
    t0 = time.perf_counter()
    matrix = matrix_from_probs("bench/test", probs, labels, ids)
    t_matrix = time.perf_counter() - t0
    settings = DiscoverySettings(size=args.size, n_boot=args.n_boot)
    t0 = time.perf_counter()
    result = discover(matrix, settings)
    t_discover = time.perf_counter() - t0
    n_sub = len(result.subsets)
    # baseline in the same run: loop bootstrap on a few subsets, extrapolated
    split = split_seeds(matrix)
    few = [s for s in result.subsets if s.kind == "pair" and s.indices][:3]
    t0 = time.perf_counter()
    for s in few:
        idx = np.array(s.indices)
        a = [matrix.correct[np.ix_(matrix.row_indices(s.probe_a, split.validation[s.probe_a]), idx)].astype(float)]
        b = [matrix.correct[np.ix_(matrix.row_indices(s.probe_b, split.validation[s.probe_b]), idx)].astype(float)]
        loop_bootstrap(a, b, np.random.default_rng(0), args.n_boot)
    t_loop = (time.perf_counter() - t0) / len(few)
    t0 = time.perf_counter()
    for s in few:
        gap_with_ci(a, b, rng=np.random.default_rng(0), n_boot=args.n_boot)
    t_vec = (time.perf_counter() - t0) / len(few)
    sm = summary_table(result)
    found = sum(1 for (a, b) in planted if next(s for s in result.subsets if s.id == f"{a}>{b}").kept)
    print(f"data: {args.images} images x {args.probes} probes x {args.seeds} seeds "
          f"= {args.probes * args.seeds} probe-seeds, k={args.size}, n_boot={args.n_boot}")
    print(f"correctness matrix from probabilities: {t_matrix:.2f} s")
    print(f"discover (selection + validation of {n_sub} subsets and {n_sub} random baselines): {t_discover:.2f} s")
    print(f"bootstrap per subset (2 x {args.n_boot} resamples): vectorised {t_vec * 1e3:.1f} ms vs "
          f"loop baseline {t_loop * 1e3:.1f} ms ({t_loop / t_vec:.0f}x); loop for all "
          f"{2 * n_sub} would take ~{2 * n_sub * t_loop:.0f} s")
    print(f"planted pairs kept: {found}/{len(planted)}; kept subsets {sm['n_kept']}/{sm['n_subsets']}; "
          f"mean kept pair gap {sm['mean_kept_pair_gap']:.3f}; random mean |gap| {sm['mean_random_abs_gap']:.3f}")


def run_workspace(args):
    from evalkit.workspace import Workspace

    ws = Workspace(args.workspace)
    names = [n for n in args.probe_names.split(",") if n] if args.probe_names else None
    matrix = load_correctness(ws, args.pool, names)
    settings = DiscoverySettings(size=args.size, n_boot=args.n_boot)
    t0 = time.perf_counter()
    result = discover(matrix, settings)
    dt = time.perf_counter() - t0
    sm = summary_table(result)
    seeds = {p: len(matrix.seeds(p)) for p in matrix.probes}
    print(f"workspace {ws.root}, pool {args.pool}: {matrix.n_images} images, probes {seeds}, "
          f"k={args.size}, discover {dt:.2f} s")
    print("| kept / pair subsets | mean validated gap (kept pairs) | mean gap (all pairs) | random mean abs gap |")
    print("|---|---|---|---|")
    print(f"| {sm['n_kept_pairs']}/{sm['n_pair_subsets']} | {sm['mean_kept_pair_gap']:.3f} | "
          f"{sm['mean_pair_gap']:.3f} | {sm['mean_random_abs_gap']:.3f} |")
    print(f"label audit: {sm['n_suspects']} suspect images; all subsets kept: {sm['n_kept']}/{sm['n_subsets']}")
    for s in result.subsets:
        print(f"  {s.id:<28} n={len(s.indices):>3} gap={s.validation.gap:+.3f} "
              f"[{s.validation.lo:+.3f},{s.validation.hi:+.3f}] random={s.random.gap:+.3f} "
              f"{'kept' if s.kept else ','.join(s.flags)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=10_000)
    ap.add_argument("--probes", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workspace", default=None)
    ap.add_argument("--pool", default="cifar10/test")
    ap.add_argument("--probe-names", default=None,
                    help="workspace mode: comma-separated probes to use (default: all trained)")
    args = ap.parse_args()
    run_workspace(args) if args.workspace else run_synthetic(args)


if __name__ == "__main__":
    main()
