"""Real-data acceptance: is the control probe's Grad-CAM more faithful than random maps?

    .venv/bin/python bench/bench_faithfulness.py [--workspace /work/bankws] [--probe control]
        [--seed 0] [--n 250] [--method gradcam] [--baseline blur] [--data PATH]

Needs a workspace holding a trained probe (catalog kind 'model', key '{probe}/seed{seed}').
Explains ``--n`` CIFAR-10 test images (the first n/10 of each class, so the set is stratified
and reproducible) for the predicted class, then computes deletion scores (area under the class
probability as the most salient pixels are replaced, 16 steps; lower = more faithful) for the
maps, for random maps and for a centred Gaussian blob, on the same images. Exit status 1 if the
method's mean deletion score is not lower than the random maps'.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def stratified_first(labels, n: int):
    """Indices of the first ceil(n / n_classes) images of each class, in pool order."""
    import numpy as np

    per = -(-n // (int(labels.max()) + 1))
    return np.sort(np.concatenate([np.flatnonzero(labels == c)[:per] for c in np.unique(labels)]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", type=Path, default=Path("/work/bankws"))
    ap.add_argument("--probe", default="control")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=250)
    ap.add_argument("--method", default="gradcam")
    ap.add_argument("--baseline", default="blur", choices=("blur", "mean"))
    ap.add_argument("--data", default=None, help="CIFAR-10 copy (default: the shared one)")
    args = ap.parse_args(argv)

    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(2)
    from evalkit.data import load_dataset
    from evalkit.errors import UserError
    from evalkit.explain import get_method
    from evalkit.explain.faithfulness import compare_with_baselines
    from evalkit.probes import load_probe_model
    from evalkit.workspace import Workspace

    if not (args.workspace / "catalog.sqlite").is_file():
        raise UserError(f"{args.workspace}: not a workspace (no catalog.sqlite); train a bank first")
    model = load_probe_model(Workspace(args.workspace), args.probe, args.seed).keras_model
    if model is None:
        raise UserError(f"probe {args.probe!r} is not a Keras model; Grad-CAM needs a CNN")
    test = load_dataset("cifar10", args.data, progress=False).split("test")
    idx = stratified_first(test.labels, args.n)
    images, labels = test.images[idx], test.labels[idx]
    t0 = time.perf_counter()
    exp = get_method(args.method)(model).explain(images, "predicted")
    t_maps = time.perf_counter() - t0
    report = compare_with_baselines(model, images, exp.maps, exp.classes, baseline=args.baseline)
    s = report.summary()
    acc = float((exp.classes == labels).mean())
    print(f"probe {args.probe}/seed{args.seed} from {args.workspace}; layer {exp.layer}; "
          f"accuracy on these images {acc:.3f}")
    print(f"images: {s['n_images']} CIFAR-10 test images ({len(idx) // 10} per class), "
          f"target: predicted class, {s['steps']} deletion steps, removed pixels -> {args.baseline}")
    print(f"{args.method} maps: {t_maps:.1f} s; all-zero maps: {exp.n_all_zero}, NaN maps: {exp.n_nan}")
    print(f"mean deletion score (lower = more faithful): {args.method} {s['deletion']:.4f}, "
          f"random {s['random']:.4f}, centre blob {s['blob']:.4f}")
    diff = report.random - report.deletion
    se = diff.std(ddof=1) / np.sqrt(len(diff))
    print(f"random - {args.method}: {diff.mean():.4f} (paired s.e. {se:.4f}); "
          f"{args.method} lower than random on {s['beats_random']:.1%} of images")
    ok = s["deletion"] < s["random"]
    print(f"acceptance ({args.method} mean deletion < random): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
