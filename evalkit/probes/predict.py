"""Loading trained probes and storing their predictions on an evaluation pool."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..artifacts import read_json
from ..artifacts import (PREDICTIONS, ModelKey, PredictionsKey, load_pool_labels, load_pool_predictions, model_file,
                         pool_of, record_pool, write_predictions_file)
from ..errors import DataError, UserError
from ..workspace import Workspace

__all__ = ["ProbeModel", "flatten_pixels", "load_pool_labels", "load_pool_predictions", "load_probe_model",
           "predict_pool", "write_predictions"]


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
        if len(images) <= batch_size:  # one batch: a direct call, no predict function to trace
            return np.asarray(self.keras_model(images.astype(np.float32), training=False), dtype=np.float32)
        from .tfdata import eval_dataset

        probs = self.keras_model.predict(eval_dataset(images, batch_size=batch_size), verbose=0)
        return np.asarray(probs, dtype=np.float32)


def flatten_pixels(images: np.ndarray) -> np.ndarray:
    """Raw pixels scaled to [0, 1], one row per image (the input of scikit-learn probes)."""
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


def load_probe_model(ws: Workspace, probe: str, seed: int) -> ProbeModel:
    """Load the trained probe ``probe``/``seed`` recorded in the workspace."""
    import json

    from ..serving.classifier import load_classifier

    art, path = model_file(ws, ModelKey(probe, seed))
    meta_path = ws.abspath(art) / "meta.json"
    meta = read_json(meta_path, "model meta") if meta_path.is_file() else {}
    try:
        clf = load_classifier(path)
    except ValueError as exc:
        raise DataError(str(exc)) from None
    keras = clf.model if clf.kind == "keras" else None
    return ProbeModel(probe, seed, keras, None if keras is not None else clf.model, meta)


def write_predictions(ws: Workspace, dataset, probe: str, seed: int, split: str, probs: np.ndarray):
    """Store probabilities (float16) of one probe on a pool and record them."""
    pool = record_pool(ws, dataset, split)
    data = dataset.split(split)
    if probs.shape != (len(data), len(dataset.class_names)):
        raise ValueError(f"probs shape {probs.shape} does not match pool {pool}")
    probs = probs.astype(np.float16)  # accuracy below is that of the stored probabilities
    key = PredictionsKey(ModelKey(probe, seed), pool)
    accuracy = float(np.mean(probs.argmax(1) == data.labels))
    return write_predictions_file(ws, key, probs, data.labels, data.ids,
                                  inputs={"model": str(key.model), "pool": str(pool),
                                          "source_sha256": dataset.source_sha256},
                                  meta={"accuracy": accuracy, "n": len(data)})


def predict_pool(ws: Workspace, dataset, probe: str, seed: int, split: str = "test"):
    """Predictions of a trained probe on ``dataset``'s ``split`` (skipped if already recorded)."""
    art = ws.catalog.get(PREDICTIONS, str(PredictionsKey(ModelKey(probe, seed), pool_of(dataset, split))))
    if art is not None:
        return art
    model = load_probe_model(ws, probe, seed)
    return write_predictions(ws, dataset, probe, seed, split, model.predict_proba(dataset.split(split).images))
