"""Training probes: one run per (probe, seed) on its own stratified mini-set, saved to the
workspace and recorded in the catalog, so a re-run skips finished runs."""
from __future__ import annotations

import io
import json
import logging
import platform
import time

import numpy as np

from ..artifacts import MODEL, ModelKey, drop_run, model_inputs, model_settings, pool_of, recorded_run
from ..workspace import Artifact, Workspace, atomic_write_bytes, atomic_write_text
from .predict import flatten_pixels, write_predictions
from .spec import ProbeSpec, load_probe_spec

log = logging.getLogger(__name__)


def _versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("evalkit", "tensorflow", "keras", "numpy", "scikit-learn"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


def _miniset(ws: Workspace, dataset, size: int, seed: int) -> tuple[np.ndarray, str]:
    """(indices into the train split, miniset catalog key) via the minisets stage."""
    from ..minisets import load_manifest, sample_to_workspace

    art = sample_to_workspace(ws, dataset, size, seed)
    mini = load_manifest(ws.abspath(art), dataset)
    return np.asarray(mini.indices, dtype=np.int64), art.key


class _EpochBar:
    """Keras callback advancing a tqdm bar once per epoch."""

    def __new__(cls, bar, seed):
        import keras

        class Callback(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                bar.set_postfix(seed=seed, val_acc=f"{logs.get('val_accuracy', float('nan')):.3f}")
                bar.update(1)
        return Callback()


def enable_determinism(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and TensorFlow; optionally make TF ops deterministic (process-wide)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def fit_keras(spec: ProbeSpec, x_train, y_train, x_val, y_val, *, n_classes: int, seed: int,
              epochs: int, batch_size: int, callbacks=()):
    """Build and train the probe's Keras model; returns (model, history dict)."""
    import keras

    from .augment import AUGMENTATIONS
    from .tfdata import build_model, eval_dataset, make_optimizer, train_dataset

    augs = [_bind(AUGMENTATIONS.get(a), spec.augmentation_params.get(a, {}))
            for a in spec.augmentations]
    model = build_model(spec, x_train.shape[1:], n_classes, seed, train_images=x_train)
    ds, steps = train_dataset(x_train, y_train, batch_size=batch_size, epochs=epochs, seed=seed,
                              augmentations=augs)
    training = spec.training  # every key present: defaults are merged in on load
    optimizer = make_optimizer(training["optimizer"], training["learning_rate"], training["schedule"],
                               total_steps=steps * epochs, warmup_steps=steps * training["warmup_epochs"],
                               ema_momentum=training["ema_momentum"])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile="auto")
    stop = keras.callbacks.EarlyStopping(monitor=spec.training["monitor"], patience=spec.training["patience"],
                                         restore_best_weights=True)
    # With a weight average, validation and the early-stopping snapshot use the averaged weights.
    ema = [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if optimizer.use_ema else []
    hist = model.fit(ds, epochs=epochs, steps_per_epoch=steps, verbose=0, shuffle=False,
                     validation_data=eval_dataset(x_val, y_val), callbacks=[*ema, stop, *callbacks])
    history = {k: [float(v) for v in hist.history.get(k, [])]
               for k in ("loss", "accuracy", "val_loss", "val_accuracy")}
    return model, history


def _bind(fn, params):
    return (lambda x, s: fn(x, s, **params)) if params else fn


def _fit_sklearn(spec: ProbeSpec, x_train, y_train, x_val, y_val, *, seed: int, n_classes: int):
    from sklearn.metrics import log_loss

    from .architectures import ARCHITECTURES

    est = ARCHITECTURES.get(spec.architecture).factory(seed=seed, **spec.architecture_params)
    est.fit(flatten_pixels(x_train), y_train)
    history = {}
    for prefix, x, y in (("", x_train, y_train), ("val_", x_val, y_val)):
        p = est.predict_proba(flatten_pixels(x))
        history[f"{prefix}loss"] = [float(log_loss(y, p, labels=range(n_classes)))]
        history[f"{prefix}accuracy"] = [float(np.mean(p.argmax(1) == y))]
    return est, history


def train_probe(ws: Workspace, dataset, spec: ProbeSpec | str, seed: int, *, train_size: int,
                epochs: int, batch_size: int | None = None, progress: bool = True,
                pool_split: str = "test", deterministic: bool = True, _bar=None) -> Artifact:
    """Train one probe with one seed (skipped if recorded) and predict the evaluation pool.

    The seed fixes the stratified mini-set (``draw_miniset(train, train_size, seed)``), the
    held-out early-stopping slice, the weight initialisation, shuffling and augmentation.
    """
    spec = load_probe_spec(spec) if isinstance(spec, str) else spec
    key = ModelKey(spec.name, seed)
    batch_size = batch_size or spec.training["batch_size"]
    done, reason = recorded_run(ws, spec, seed, dataset, train_size=train_size, epochs=epochs,
                                batch_size=batch_size)
    if reason is not None:
        log.warning(f"retraining {spec.name} seed {seed}: {reason}")
        drop_run(ws, key)
    elif done is not None:
        from .predict import predict_pool

        predict_pool(ws, dataset, spec.name, seed, pool_split)  # no-op when already stored
        return done
    indices, mini_key = _miniset(ws, dataset, train_size, seed)
    from .tfdata import stratified_holdout

    train = dataset.split("train").subset(indices)
    tr, va = stratified_holdout(train.labels, spec.training["validation_fraction"], seed)
    x_train, y_train = train.images[tr], train.labels[tr]
    x_val, y_val = train.images[va], train.labels[va]
    n_classes = len(dataset.class_names)
    folder = ws.root / key.path
    folder.mkdir(parents=True, exist_ok=True)
    enable_determinism(seed, deterministic)
    start = time.perf_counter()
    own_bar = _bar is None and progress and spec.is_keras
    if own_bar:
        from tqdm.auto import tqdm

        _bar = tqdm(total=epochs, desc=spec.name, unit="epoch")
    if spec.is_keras:
        callbacks = [_EpochBar(_bar, seed)] if _bar is not None else []
        model, history = fit_keras(spec, x_train, y_train, x_val, y_val, n_classes=n_classes,
                                   seed=seed, epochs=epochs, batch_size=batch_size,
                                   callbacks=callbacks)
        if _bar is not None:  # early stopping: jump to the end of this seed's epochs
            _bar.update(epochs - len(history["loss"]))
        tmp = folder / "model.tmp.keras"
        model.save(tmp)
        tmp.replace(folder / "model.keras")
        from .predict import ProbeModel

        probe_model = ProbeModel(spec.name, seed, model, None, {})
    else:
        import joblib

        est, history = _fit_sklearn(spec, x_train, y_train, x_val, y_val, seed=seed, n_classes=n_classes)
        buf = io.BytesIO()
        joblib.dump(est, buf)
        atomic_write_bytes(folder / "model.joblib", buf.getvalue())
        from .predict import ProbeModel

        probe_model = ProbeModel(spec.name, seed, None, est, {})
        if _bar is not None:
            _bar.update(epochs)
    seconds = time.perf_counter() - start
    if own_bar:
        _bar.close()
    pool = dataset.split(pool_split)
    probs = probe_model.predict_proba(pool.images).astype(np.float16)  # as stored
    test_accuracy = float(np.mean(probs.argmax(1) == pool.labels))
    write_predictions(ws, dataset, spec.name, seed, pool_split, probs)
    meta = {"probe": spec.name, "seed": seed, "probe_file": str(spec.path),
            "probe_file_sha256": spec.sha256, "miniset": mini_key,
            "miniset_ids_sha256": _ids_digest(train.ids), "train_size": int(len(indices)),
            "n_train": int(len(tr)), "n_val": int(len(va)), "epochs": epochs,
            "epochs_run": len(history["loss"]) if spec.is_keras else 0,
            "batch_size": batch_size if spec.is_keras else None,
            "best_val_accuracy": max(history["val_accuracy"]) if history["val_accuracy"] else None,
            "seconds": round(seconds, 2), "deterministic": deterministic,
            "pool": str(pool_of(dataset, pool_split)), "test_accuracy": test_accuracy,
            "dataset_sha256": dataset.source_sha256, "versions": _versions()}
    atomic_write_text(folder / "history.json", json.dumps(history, indent=1))
    atomic_write_text(folder / "meta.json", json.dumps(meta, indent=1))
    return ws.catalog.record(
        MODEL, str(key), key.path, inputs=model_inputs(spec, dataset, mini_key),
        settings=model_settings(train_size=train_size, epochs=epochs, batch_size=batch_size),
        meta={"test_accuracy": test_accuracy, "seconds": meta["seconds"],
              "epochs_run": meta["epochs_run"]})


def _ids_digest(ids: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256("\n".join(map(str, ids)).encode()).hexdigest()


def train_bank(ws: Workspace, dataset, probes, seeds, *, train_size: int, epochs: int,
               batch_size: int | None = None, progress: bool = True, pool_split: str = "test",
               deterministic: bool = True) -> list[Artifact]:
    """Train every probe x seed not yet recorded (one tqdm bar per probe); resumable."""
    specs = [load_probe_spec(p) if isinstance(p, str) else p for p in probes]
    seeds = list(seeds)
    out = []
    for spec in specs:
        bs = batch_size or spec.training["batch_size"]
        runs = [recorded_run(ws, spec, s, dataset, train_size=train_size, epochs=epochs, batch_size=bs)
                for s in seeds]
        todo = [s for s, (art, stale) in zip(seeds, runs) if art is None or stale is not None]
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(seeds) * epochs, initial=(len(seeds) - len(todo)) * epochs,
                       desc=f"{spec.name:>14}", unit="epoch")
        try:
            for seed in seeds:
                out.append(train_probe(ws, dataset, spec, seed, train_size=train_size, epochs=epochs,
                                       batch_size=batch_size, progress=False, pool_split=pool_split,
                                       deterministic=deterministic, _bar=bar))
        finally:
            if bar is not None:
                bar.close()
    return out
