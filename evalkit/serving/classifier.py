"""The one model loader: a classifier file, ``.keras`` (a probe or any Keras model) or ``.joblib``
(a scikit-learn probe). Used by serving, the fingerprint and ``evalkit.probes.load_probe_model``.
No MLServer import here, so it is testable on its own."""
from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_CHUNK = 256  # images per forward pass


def _register_probe_layers() -> None:
    """Make evalkit's custom probe layers known to Keras (if the probes stage is installed)."""
    if importlib.util.find_spec("evalkit.probes.layers") is not None:
        import evalkit.probes.layers  # noqa: F401


@dataclass(frozen=True, eq=False)
class LoadedClassifier:
    """``predict(images float32 (N, H, W, 3) in [0, 255]) -> (N, C) float32 probabilities``."""

    path: Path
    kind: str                               # "keras" | "sklearn"
    model: Any = None
    input_size: tuple[int, int] | None = None  # (H, W) the model needs, None = any
    n_classes: int = 0

    def predict(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, dtype=np.float32)
        if len(images) == 0:
            return np.zeros((0, self.n_classes), np.float32)
        if self.kind == "sklearn":
            from ..probes.predict import flatten_pixels

            return np.asarray(self.model.predict_proba(flatten_pixels(images)), dtype=np.float32)
        parts = [np.asarray(self.model(images[i:i + _CHUNK], training=False), dtype=np.float32)
                 for i in range(0, len(images), _CHUNK)]
        return np.concatenate(parts)


def load_classifier(path: str | Path) -> LoadedClassifier:
    """Load ``path``; raise ValueError (with the reason) if it is not an image classifier."""
    path = Path(path)
    if path.suffix == ".joblib":
        import joblib

        est = joblib.load(path)
        if not hasattr(est, "predict_proba"):
            raise ValueError(f"{path}: the scikit-learn model has no predict_proba")
        n_features = int(getattr(est, "n_features_in_", 0))
        side = int(round(math.sqrt(n_features / 3))) if n_features else 0
        size = (side, side) if side and side * side * 3 == n_features else None
        return LoadedClassifier(path, "sklearn", est, size, len(est.classes_))
    _register_probe_layers()
    import keras

    model = keras.models.load_model(path, compile=False)
    in_shape = tuple(model.input_shape)
    if len(in_shape) != 4 or in_shape[-1] != 3:
        raise ValueError(f"{path}: model input must be (None, H, W, 3), got {in_shape}")
    size = (in_shape[1], in_shape[2]) if None not in in_shape[1:3] else None
    return LoadedClassifier(path, "keras", model, size, int(model.output_shape[-1]))
