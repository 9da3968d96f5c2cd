"""Startup time and request latency of `evalkit serve` (MLServer + evalkit runtime).

Baselines in the same run: the bare `import tensorflow, mlserver` time of a fresh Python
(startup), and in-process ``model(x)`` on the same batch (latency). CIFAR-sized tiny CNN.

    .venv/bin/python bench/bench_serving.py [--repeats 20] [--batch 32]
"""
from __future__ import annotations

import argparse
import base64
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests
from PIL import Image


def _model(path: Path):
    import keras

    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Rescaling(1 / 255.0),
                          keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(),
                          keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.GlobalAveragePooling2D(),
                          keras.layers.Dense(10, activation="softmax")])
    m.save(path)
    return m


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args()
    from evalkit.serving import serve_model

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tensorflow, keras, mlserver, mlserver.rest, mlserver.grpc"],
                   check=True, capture_output=True)
    import_s = time.perf_counter() - t0
    x = np.random.default_rng(0).integers(0, 256, (args.batch, 32, 32, 3), dtype=np.uint8)
    pngs = []
    for im in x:
        buf = io.BytesIO()
        Image.fromarray(im).save(buf, format="PNG")
        pngs.append(base64.b64encode(buf.getvalue()).decode())
    with tempfile.TemporaryDirectory() as tmp:
        model = _model(Path(tmp) / "cnn.keras")
        local_ms = _median_ms(lambda: model(x.astype(np.float32), training=False), args.repeats)
        with serve_model(Path(tmp) / "cnn.keras") as served, requests.Session() as http:
            tensor = {"inputs": [{"name": "images", "datatype": "UINT8", "shape": list(x.shape),
                                  "data": x.ravel().tolist()}]}
            png = {"inputs": [{"name": "images", "datatype": "BYTES", "shape": [len(x)],
                               "parameters": {"content_type": "base64"}, "data": pngs}]}
            v1 = {"instances": [{"b64": p} for p in pngs]}
            ms = {
                "v2 UINT8 tensor": _median_ms(lambda: http.post(served.infer_url, json=tensor).raise_for_status(), args.repeats),
                "v2 BYTES (PNG)": _median_ms(lambda: http.post(served.infer_url, json=png).raise_for_status(), args.repeats),
                "v1 :predict b64": _median_ms(lambda: http.post(served.v1_predict_url, json=v1).raise_for_status(), args.repeats),
            }
            startup_s = served.startup_seconds
    print(f"baseline: fresh `import tensorflow, keras, mlserver`: {import_s:.1f} s")
    print(f"evalkit serve startup (spawn -> model ready): {startup_s:.1f} s "
          f"({startup_s / import_s:.2f}x the bare imports)")
    print(f"baseline: in-process model(x), batch {args.batch}: {local_ms:.1f} ms")
    for name, v in ms.items():
        print(f"{name:>18}, batch {args.batch}: {v:.1f} ms median "
              f"({v / local_ms:.1f}x in-process, {1000 * args.batch / v:.0f} images/s)")


if __name__ == "__main__":
    main()
