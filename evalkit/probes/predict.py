"""Loading trained probes and storing their predictions on an evaluation pool."""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import UserError
from ..workspace import Workspace, atomic_write_bytes, atomic_write_text


def model_key(probe: str, seed: int) -> str:
    return f"{probe}/seed{seed}"


def pool_name(dataset, split: str) -> str:
    return f"{dataset.name}/{split}"


@dataclass(frozen=True, eq=False)
class ProbeModel:
    """A trained probe: ``predict_proba(images_uint8) -> (N, C)`` float32 probabilities."""

    probe: str
    seed: int
    keras_model: Any          # keras.Model, or None for scikit-learn probes
    sklearn_model: Any        # fitted estimator, or None for Keras probes
    meta: dict

    def predict_proba(self, images: np.ndarray, *, batch_size: int = 500) -> np.ndarray:
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise UserError(f"expected RGB images (N, H, W, 3), got shape {images.shape}")
        if self.keras_model is None:
            return self.sklearn_model.predict_proba(flatten_pixels(images)).astype(np.float32)
        from .pipeline import eval_dataset

        probs = self.keras_model.predict(eval_dataset(images, batch_size=batch_size), verbose=0)
        return np.asarray(probs, dtype=np.float32)


def flatten_pixels(images: np.ndarray) -> np.ndarray:
    """Raw pixels scaled to [0, 1], one row per image (the input of scikit-learn probes)."""
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


def load_probe_model(ws: Workspace, probe: str, seed: int) -> ProbeModel:
    """Load the trained probe ``probe``/``seed`` recorded in the workspace."""
    art = ws.catalog.get("model", model_key(probe, seed))
    if art is None:
        trained = sorted(a.key for a in ws.catalog.list("model"))
        raise UserError(f"no trained probe {model_key(probe, seed)!r} in workspace {ws.root}; "
                        f"trained: {', '.join(trained) or 'none'} (run 'evalkit probes train')")
    folder = ws.abspath(art)
    meta = json.loads((folder / "meta.json").read_text())
    if (folder / "model.keras").is_file():
        import keras

        from . import layers  # noqa: F401  (registers the custom layers)

        model = keras.saving.load_model(folder / "model.keras", compile=False)
        return ProbeModel(probe, seed, model, None, meta)
    import joblib

    return ProbeModel(probe, seed, None, joblib.load(folder / "model.joblib"), meta)


def record_pool(ws: Workspace, dataset, split: str) -> str:
    """Record the evaluation pool (dataset split) in the catalog; returns its name."""
    pool = pool_name(dataset, split)
    if ws.catalog.get("pool", pool) is None:
        data = dataset.split(split)
        info = {"dataset": dataset.name, "split": split, "source_sha256": dataset.source_sha256,
                "n": len(data), "class_names": list(dataset.class_names)}
        path = ws.dir("predictions") / "pools" / f"{pool}.json"
        atomic_write_text(path, json.dumps(info, indent=1))
        ws.catalog.record("pool", pool, ws.relpath(path), inputs={"source_sha256": dataset.source_sha256},
                          meta={"n": len(data)})
    return pool


def write_predictions(ws: Workspace, dataset, probe: str, seed: int, split: str,
                      probs: np.ndarray):
    """Store probabilities (float16) of one probe on a pool and record them."""
    pool = record_pool(ws, dataset, split)
    data = dataset.split(split)
    if probs.shape != (len(data), len(dataset.class_names)):
        raise ValueError(f"probs shape {probs.shape} does not match pool {pool}")
    probs = probs.astype(np.float16)  # accuracy below is that of the stored probabilities
    buf = io.BytesIO()
    np.savez_compressed(buf, probs=probs, labels=data.labels.astype(np.int64),
                        ids=data.ids.astype(str))
    path = ws.dir("predictions") / probe / f"seed{seed}" / f"{pool}.npz"
    atomic_write_bytes(path, buf.getvalue())
    accuracy = float(np.mean(probs.argmax(1) == data.labels))
    return ws.catalog.record("predictions", f"{model_key(probe, seed)}/{pool}", ws.relpath(path),
                             inputs={"model": model_key(probe, seed), "pool": pool,
                                     "source_sha256": dataset.source_sha256},
                             meta={"accuracy": accuracy, "n": len(data)})


def predict_pool(ws: Workspace, dataset, probe: str, seed: int, split: str = "test"):
    """Predictions of a trained probe on ``dataset``'s ``split`` (skipped if already recorded)."""
    key = f"{model_key(probe, seed)}/{pool_name(dataset, split)}"
    art = ws.catalog.get("predictions", key)
    if art is not None:
        return art
    model = load_probe_model(ws, probe, seed)
    return write_predictions(ws, dataset, probe, seed, split,
                             model.predict_proba(dataset.split(split).images))


def load_pool_predictions(ws: Workspace, pool: str = "cifar10/test") -> dict[tuple[str, int], np.ndarray]:
    """All recorded probabilities on ``pool``: ``{(probe, seed): probs (N, C) float16}``."""
    out: dict[tuple[str, int], np.ndarray] = {}
    for art in ws.catalog.list("predictions"):
        probe, seed_part, rest = art.key.split("/", 2)
        if rest != pool:
            continue
        with np.load(ws.abspath(art)) as npz:
            out[(probe, int(seed_part.removeprefix("seed")))] = npz["probs"]
    return out


def load_pool_labels(ws: Workspace, pool: str = "cifar10/test") -> tuple[np.ndarray, np.ndarray]:
    """(labels, ids) of a pool, read from any stored predictions file on it."""
    for art in ws.catalog.list("predictions"):
        if art.key.split("/", 2)[2] == pool:
            with np.load(ws.abspath(art)) as npz:
                return npz["labels"], npz["ids"]
    raise UserError(f"no predictions on pool {pool!r} in workspace {ws.root}")
