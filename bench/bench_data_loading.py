"""Data-loading benchmark: first load vs cached load of the shared CIFAR-10 zip, as whole processes.

Runs ``evalkit data info cifar10 --data ZIP`` in a fresh process with an empty cache directory
(EVALKIT_CACHE=<tmp>: decode 60,000 JPEGs and write the .npy cache), then again (new processes)
with that cache filled. Prints both wall times and their ratio. ``--serial`` also times a first
load with one decoding process (EVALKIT_DECODE_WORKERS=1) as the baseline for the worker pool.

    .venv/bin/python bench/bench_data_loading.py [--data ../shared/datasets/cifar10-jpeg.zip]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ZIP = ROOT.parent / "shared" / "datasets" / "cifar10-jpeg.zip"


def run_info(data: Path, cache: Path, workers: str | None = None) -> float:
    env = dict(os.environ, EVALKIT_CACHE=str(cache), TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("EVALKIT_DATA", None)
    if workers:
        env["EVALKIT_DECODE_WORKERS"] = workers
    cmd = [sys.executable, "-m", "evalkit", "data", "info", "cifar10", "--data", str(data)]
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    seconds = time.perf_counter() - start
    if out.returncode != 0 or "50,000 train  10,000 test" not in out.stdout:
        sys.exit(f"benchmark run failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_ZIP)
    ap.add_argument("--repeats", type=int, default=3, help="cached loads to time (median reported)")
    ap.add_argument("--serial", action="store_true", help="also time a first load with 1 decoding process")
    args = ap.parse_args()
    if not args.data.is_file():
        sys.exit(f"error: {args.data}: not found; pass --data PATH to the CIFAR-10 image-folder zip")
    print(f"data: {args.data} ({args.data.stat().st_size / 1e6:.1f} MB); CPUs: {os.cpu_count()}; "
          f"load average before: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-cache-") as tmp:
        first = run_info(args.data, Path(tmp) / "cache")
        cached = [run_info(args.data, Path(tmp) / "cache") for _ in range(args.repeats)]
        serial = run_info(args.data, Path(tmp) / "cache-serial", workers="1") if args.serial else None
    warm = statistics.median(cached)
    print(f"first load (empty cache, decode 60,000 JPEGs): {first:7.2f} s")
    print(f"cached load (median of {args.repeats} new processes): {warm:7.2f} s   "
          f"[{', '.join(f'{c:.2f}' for c in cached)}]")
    print(f"ratio first / cached: {first / warm:7.1f}x")
    if serial is not None:
        print(f"first load with 1 decoding process: {serial:7.2f} s  (pool speed-up {serial / first:.2f}x)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
