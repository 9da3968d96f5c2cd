"""Probe-training benchmarks on real CIFAR-10 (results go to bench/RESULTS.md, "Probe training").

    python bench/bench_training.py speed  [--train-size 5000 --epochs 20 --repeat 3]
        control probe: evalkit (tf.data, the probe file's batch 32, Adam, early stopping on a
        500-image held-out slice) vs the classic Keras example (model.fit on NumPy arrays, batch
        32, RMSprop 1e-4 with decay 1e-6, flip + translate layers, validation_data = the 10,000
        test images every epoch) and the same example without the per-epoch validation; each in
        its own process; prints time, test accuracy and the speed ratios (with --repeat, per
        round and their median: the three runs of a round are back to back).
    python bench/bench_training.py settings [--epochs 4]
        short runs of the evalkit control probe: op determinism on/off, batch 32/64/128.
    python bench/bench_training.py bank --workspace /work/bankws --seeds 0-1 [--probes ...]
        trains the bank (resumable) and prints wall time and the test-accuracy table.
    python bench/bench_training.py check --workspace /work/bankws --seeds 0-1
        accuracy each probe keeps when a cue is removed from the test images.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ZIP = ROOT.parent / "shared" / "datasets" / "cifar10-jpeg.zip"
DEFAULT_BANK = "control,kernel5,zca_shift,grayscale,blur,patch_shuffle,knn,random_forest"
FLOORS = {"control": .60, "kernel5": .58, "grayscale": .55, "zca_shift": .45, "blur": .45,
          "patch_shuffle": .35, "knn": .25}


def load():
    from evalkit.data import load_dataset

    return load_dataset("cifar10", data=os.environ.get("EVALKIT_DATA") or ZIP, progress=False)


def run_keras_classic(train_size: int, epochs: int, seed: int, validate: bool = True) -> dict:
    """The classic Keras example (keras/examples/cifar10_cnn.py): NumPy arrays in [0, 1], batch 32,
    RMSprop(1e-4, decay 1e-6), flip + shift, ``validation_data=(x_test, y_test)`` every epoch
    (``validate=False`` drops that validation)."""
    import keras
    import numpy as np

    from evalkit.minisets import draw_miniset
    from evalkit.probes.architectures import classic_cnn

    ds = load()
    keras.utils.set_random_seed(seed)
    train = ds.split("train").subset(draw_miniset(ds, train_size, seed).indices)
    test = ds.split("test")
    x = train.images.astype("float32") / 255.0
    aug = keras.Sequential([keras.layers.RandomFlip("horizontal"),
                            keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest")])
    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, classic_cnn((32, 32, 3), 10, seed=seed)(aug(inputs)))
    # Keras 1/2's ``decay=1e-6`` is lr / (1 + decay * step), i.e. this inverse-time schedule
    lr = keras.optimizers.schedules.InverseTimeDecay(1e-4, decay_steps=1, decay_rate=1e-6)
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=lr),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x_test = test.images.astype("float32") / 255.0
    start = time.perf_counter()
    model.fit(x, train.labels, batch_size=32, epochs=epochs, verbose=0, shuffle=True,
              validation_data=(x_test, test.labels) if validate else None)
    seconds = time.perf_counter() - start
    probs = model.predict(x_test, batch_size=500, verbose=0)
    return {"seconds": seconds, "test_accuracy": float(np.mean(probs.argmax(1) == test.labels))}


def run_evalkit(train_size: int, epochs: int, seed: int, *, batch_size=None, deterministic=True,
                probe: str = "control") -> dict:
    from evalkit.probes import train_probe
    from evalkit.workspace import Workspace

    ds = load()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(tmp)
        start = time.perf_counter()
        art = train_probe(ws, ds, probe, seed, train_size=train_size, epochs=epochs,
                          batch_size=batch_size, progress=False, deterministic=deterministic)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "train_seconds": art.meta["seconds"],
            "test_accuracy": art.meta["test_accuracy"], "epochs_run": art.meta["epochs_run"]}


def child(kind: str, **kw) -> dict:
    """Run one measurement in a fresh process (op determinism is process-wide)."""
    out = subprocess.run([sys.executable, __file__, "_child", kind, json.dumps(kw)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cmd_speed(a) -> None:
    load()  # decode/cache once before timing
    print(f"control, {a.train_size} images, {a.epochs} epochs, seed {a.seed}, {os.cpu_count()} CPUs, "
          f"{a.repeat} round(s): evalkit, keras example, keras without validation")
    rounds = []
    for r in range(a.repeat):
        ek = child("evalkit", train_size=a.train_size, epochs=a.epochs, seed=a.seed)
        kc = child("keras", train_size=a.train_size, epochs=a.epochs, seed=a.seed)
        kn = child("keras", train_size=a.train_size, epochs=a.epochs, seed=a.seed, validate=False)
        rounds.append({"evalkit": ek, "keras_example": kc, "keras_no_validation": kn})
        print(f"round {r + 1}")
        print(f"  evalkit                 : {ek['seconds']:7.1f} s total ({ek['train_seconds']:.1f} s training, "
              f"{ek['epochs_run']} epochs run)  test acc {ek['test_accuracy']:.4f}")
        for label, k in (("keras example", kc), ("keras, no validation", kn)):
            print(f"  {label:24s}: {k['seconds']:7.1f} s training  test acc {k['test_accuracy']:.4f}   "
                  f"speed-up {k['seconds'] / ek['seconds']:.2f}x (training only "
                  f"{k['seconds'] / ek['train_seconds']:.2f}x)  accuracy diff "
                  f"{ek['test_accuracy'] - k['test_accuracy']:+.4f}", flush=True)
    if a.repeat > 1:  # on a shared VM the speed drifts between rounds; ratios within a round hold
        import statistics

        for key, label in (("keras_example", "keras example"), ("keras_no_validation", "keras, no validation")):
            ratios = [r[key]["seconds"] / r["evalkit"]["seconds"] for r in rounds]
            print(f"median speed-up vs {label}: {statistics.median(ratios):.2f}x  "
                  f"(rounds: {', '.join(f'{x:.2f}' for x in ratios)})")
    print(json.dumps(rounds))


def cmd_settings(a) -> None:
    load()
    rows = [("deterministic, batch 32", dict(batch_size=32)),
            ("non-deterministic, batch 32", dict(deterministic=False, batch_size=32)),
            ("deterministic, batch 64", dict(batch_size=64)),
            ("deterministic, batch 128", dict(batch_size=128))]
    for label, kw in rows:
        r = child("evalkit", train_size=a.train_size, epochs=a.epochs, seed=a.seed, **kw)
        print(f"{label:32s} {r['train_seconds']:7.1f} s for {r['epochs_run']} epochs  "
              f"test acc {r['test_accuracy']:.4f}", flush=True)


def cmd_bank(a) -> None:
    from evalkit.cli.common import parse_int_range
    from evalkit.probes import train_bank
    from evalkit.workspace import Workspace

    ds = load()
    ws = Workspace(a.workspace)
    probes, seeds = a.probes.split(","), parse_int_range(a.seeds, name="--seeds")
    start = time.perf_counter()
    train_bank(ws, ds, probes, seeds, train_size=a.train_size, epochs=a.epochs, progress=True)
    print(f"bank wall time this call: {time.perf_counter() - start:.0f} s")
    print_table(ws, probes, seeds)


def print_table(ws, probes, seeds) -> None:
    import numpy as np

    print("| probe | " + " | ".join(f"seed {s}" for s in seeds) + " | mean | floor | train s/run |")
    print("|---|" + "---|" * (len(seeds) + 3))
    for p in probes:
        arts = [ws.catalog.get("model", f"{p}/seed{s}") for s in seeds]
        accs = [a.meta["test_accuracy"] if a else float("nan") for a in arts]
        secs = [a.meta["seconds"] for a in arts if a]
        floor = FLOORS.get(p)
        print(f"| {p} | " + " | ".join(f"{x:.4f}" for x in accs) + f" | {np.mean(accs):.4f} | "
              f"{floor if floor else '-'} | {np.mean(secs) if secs else float('nan'):.0f} |")


def cmd_check(a) -> None:
    from evalkit.cli.common import parse_int_range
    from evalkit.probes.bias import check_bias, format_bias_table
    from evalkit.workspace import Workspace

    ds = load()
    report = check_bias(Workspace(a.workspace), ds, a.probes.split(","),
                        parse_int_range(a.seeds, name="--seeds"), n_images=a.n_images)
    print(format_bias_table(report))


def main() -> None:
    if sys.argv[1:2] == ["_child"]:
        kind, kw = sys.argv[2], json.loads(sys.argv[3])
        res = run_keras_classic(**kw) if kind == "keras" else run_evalkit(**kw)
        print(json.dumps(res))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["speed", "settings", "bank", "check"])
    ap.add_argument("--train-size", type=int, default=5000)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", default="0-1")
    ap.add_argument("--probes", default=DEFAULT_BANK)
    ap.add_argument("--workspace", default="/work/bankws")
    ap.add_argument("--n-images", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=1, help="speed: rounds of the three runs")
    a = ap.parse_args()
    a.epochs = a.epochs or (4 if a.command == "settings" else 20)
    {"speed": cmd_speed, "settings": cmd_settings, "bank": cmd_bank, "check": cmd_check}[a.command](a)


if __name__ == "__main__":
    main()
