"""Heatmaps per second for the control probe: batched vs one image at a time, same run.

    .venv/bin/python bench/bench_explain.py [--method gradcam] [--bank /work/bankws]
        [--n-batched 512] [--n-single 48] [--batch-size 64]

Uses the trained control probe of the bank workspace (``--bank``, kind 'model',
key 'control/seed0') when there is one, else a freshly built (untrained) control-architecture
model (probes/control.toml via evalkit.probes.tfdata.build_model); the output says which.
Speed does not depend on the weights or the image content: inputs are synthetic 32x32 images.
Set-up (flattening the model, the first call) is excluded from both timings. TensorFlow runs
on 2 threads (the target machine has 2 cores). Exit status 1 if batched is < 5x faster.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def control_model(bank: Path, seed: int):
    """(keras model, description): the bank's trained control probe, else a fresh one."""
    from evalkit.workspace import Workspace

    if (bank / "catalog.sqlite").is_file():
        ws = Workspace(bank)
        if ws.catalog.get("model", f"control/seed{seed}") is not None:
            from evalkit.probes import load_probe_model

            return load_probe_model(ws, "control", seed).keras_model, f"trained control/seed{seed} from {bank}"
    from evalkit.probes import load_probe_spec
    from evalkit.probes.tfdata import build_model

    model = build_model(load_probe_spec("control"), (32, 32, 3), 10, seed=seed)
    return model, "freshly built control-architecture model (untrained; no trained control in the bank yet)"


def rate(explainer, images, batch_size: int) -> tuple[float, float]:
    """(heatmaps per second, seconds) explaining ``images`` in batches of ``batch_size``."""
    explainer.batch_size = batch_size
    explainer.explain(images[:batch_size])  # warm-up: flatten + trace, excluded
    t0 = time.perf_counter()
    explainer.explain(images)
    dt = time.perf_counter() - t0
    return len(images) / dt, dt


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--method", default="gradcam")
    ap.add_argument("--bank", type=Path, default=Path("/work/bankws"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-batched", type=int, default=512)
    ap.add_argument("--n-single", type=int, default=48)
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args(argv)

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import warnings

    from evalkit.data.synthetic import make_synthetic_split
    from evalkit.explain import ExplanationWarning, get_method

    warnings.simplefilter("ignore", ExplanationWarning)  # untrained models give some flat maps
    model, which = control_model(args.bank, args.seed)
    n = max(args.n_batched, args.n_single)
    images = make_synthetic_split(-(-n // 10), size=32, seed=5).images[:n]
    explainer = get_method(args.method)(model)
    batched, t_b = rate(explainer, images[:args.n_batched], args.batch_size)
    single, t_s = rate(explainer, images[:args.n_single], 1)
    ratio = batched / single
    print(f"model: {which}")
    print(f"method: {args.method}, layer {explainer.cam_model_.layer_path}, "
          f"TensorFlow {tf.__version__}, 2 threads")
    print(f"batched (batch {args.batch_size}): {batched:8.1f} heatmaps/s  "
          f"({args.n_batched} images in {t_b:.2f} s)")
    print(f"one at a time:        {single:8.1f} heatmaps/s  ({args.n_single} images in {t_s:.2f} s)")
    print(f"speed-up: {ratio:.1f}x (required >= 5x): {'PASS' if ratio >= 5 else 'FAIL'}")
    return 0 if ratio >= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
