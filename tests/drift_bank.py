"""A small trained bank on synthetic data where colour is informative (each shape comes in a warm
and a cool class): tiny "control" and "grayscale" CNNs, two seeds each, their predictions, and
evaluation sets made from them. Used by the served-model runs test and bench/bench_drift.py."""
from __future__ import annotations

import json

import numpy as np

PROBES = ("control", "grayscale")


def tiny_cnn(gray: bool, seed: int):
    """A small CNN with a colour-statistics branch (channel max and mean); ``gray`` makes it see
    luminance only (evalkit's Grayscale layer inside the model, so it serves like a probe)."""
    import keras

    from evalkit.probes.layers import Grayscale

    keras.utils.set_random_seed(seed)
    inp = keras.Input((32, 32, 3))
    x = Grayscale()(inp) if gray else inp
    x = keras.layers.Rescaling(1 / 255.0)(x)
    y = keras.layers.Conv2D(16, 5, strides=2, activation="relu")(x)
    y = keras.layers.GlobalMaxPooling2D()(keras.layers.Conv2D(24, 3, activation="relu")(y))
    z = keras.layers.Concatenate()([keras.layers.GlobalMaxPooling2D()(x), keras.layers.GlobalAveragePooling2D()(x), y])
    z = keras.layers.Dense(32, activation="relu")(z)
    model = keras.Model(inp, keras.layers.Dense(10, activation="softmax")(z))
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    return model


def build_bank(root, *, n_train: int = 60, n_test: int = 20, epochs: int = 20, n_rest: int = 80):
    """(workspace, dataset): probes control and grayscale (seeds 0, 1; seed 1 held out for
    validation), their pool predictions, and the sets control>grayscale / grayscale>control
    (both seeds of one probe right, both of the other wrong) and "control>rest" (``n_rest``
    other pool images drawn at random: a baseline set)."""
    from evalkit.artifacts import record_pool, write_evalset
    from evalkit.data.synthetic import make_synthetic_dataset
    from evalkit.probes.predict import predict_pool
    from evalkit.workspace import Workspace, atomic_write_text

    ws = Workspace(root)
    ds = make_synthetic_dataset(n_train, n_test, seed=0)
    record_pool(ws, ds, "test")
    train, test = ds.split("train"), ds.split("test")
    right = {}
    for p in PROBES:
        for s in (0, 1):
            folder = ws.dir("models") / p / f"seed{s}"
            folder.mkdir(parents=True, exist_ok=True)
            model = tiny_cnn(p == "grayscale", 17 * s + (p == "grayscale"))
            model.fit(train.images.astype("float32"), train.labels, epochs=epochs, batch_size=32, verbose=0)
            model.save(folder / "model.keras")
            (folder / "meta.json").write_text(json.dumps({"probe": p, "seed": s, "class_names": list(ds.class_names)}))
            ws.catalog.record("model", f"{p}/seed{s}", ws.relpath(folder))
            predict_pool(ws, ds, p, s, "test")
            from evalkit.artifacts import load_pool_predictions
            probs = load_pool_predictions(ws, "synthetic/test")[(p, s)]
            right[(p, s)] = np.asarray(probs).argmax(1) == test.labels
    both = {p: right[(p, 0)] & right[(p, 1)] for p in PROBES}
    wrong = {p: ~right[(p, 0)] & ~right[(p, 1)] for p in PROBES}
    pairs = {(a, b): np.flatnonzero(both[a] & wrong[b]).tolist() for a, b in (("control", "grayscale"),
                                                                            ("grayscale", "control"))}
    used = {i for idx in pairs.values() for i in idx}
    rest = np.random.default_rng(0).permutation([i for i in range(len(test)) if i not in used])[:n_rest]
    pairs[("control", "rest")] = sorted(int(i) for i in rest)
    for (a, b), idx in pairs.items():
        sid = f"{a}>{b}"
        doc = {"id": sid, "kind": "rest" if b == "rest" else "pair", "probe_a": a, "probe_b": b, "pool": "synthetic/test",
               "indices": idx, "labels": [int(test.labels[i]) for i in idx], "kept": True}
        write_evalset(ws, doc, inputs={"pool": "synthetic/test"}, settings={}, meta={})
    split = {"validation": {p: [1] for p in PROBES}, "selection": {p: [0] for p in PROBES}}
    atomic_write_text(ws.root / "sets/discovery.json", json.dumps({"seed_split": split}))
    ws.catalog.record("discovery", "synthetic/test", "sets/discovery.json")
    return ws, ds


def api_file(path, url: str, model: str = "api") -> None:
    """A kserve-v2 API file for a model served by `evalkit serve`, with the grayscale ablation."""
    path.write_text(f"""
name = "served"
adapter = "kserve-v2"
endpoint = "{url}"
model = "{model}"
price_per_1000 = 1.0
ablations = ["grayscale"]

[params]
datatype = "UINT8"
output_name = "probabilities"
top_k = 1

[engine]
concurrency = 2
rps = 1000
timeout_s = 30
batch_size = 50
""")
