"""Shared template for the CAM methods (tf-keras-vis style).

:meth:`Explainer.explain` does the common work — flatten the probe for tf-keras-vis, batch the
images, pick the target class per image, normalise each map to [0, 1] and warn about NaN or
all-zero maps — and calls one hook per batch, :meth:`Explainer._raw_maps`, which a subclass
implements by calling its tf-keras-vis visualiser.
"""
from __future__ import annotations

import warnings
from abc import ABC
from dataclasses import dataclass

import numpy as np

from ..registry import Registry
from .flatten import CamModel, flatten_for_cam
from .layers import resolve_layer
from .targets import Target, class_score, get_target

METHODS: Registry[type["Explainer"]] = Registry("explanation method")


class ExplanationWarning(UserWarning):
    """A map is degenerate (NaN or all zero) and carries no information."""


@dataclass(frozen=True, eq=False)
class Explanation:
    """Maps for N images: ``maps`` float32 (N, H, W) in [0, 1]; ``classes`` int64 (N,) the
    explained class; ``probs`` float32 (N, C) the probe's probabilities."""

    method: str
    target: str
    layer: str
    scores_on: str
    maps: np.ndarray
    classes: np.ndarray
    probs: np.ndarray
    n_all_zero: int
    n_nan: int


def normalise_maps(raw: np.ndarray, *, what: str = "maps") -> tuple[np.ndarray, int, int]:
    """Scale each map to [0, 1] (min-max per map). NaN maps and constant maps become all zero
    and are counted; a warning names how many. Returns (maps float32, n_all_zero, n_nan)."""
    raw = np.asarray(raw, dtype=np.float64)
    flat = raw.reshape(len(raw), -1)
    nan = ~np.isfinite(flat).all(axis=1)
    flat = np.where(np.isfinite(flat), flat, 0.0)
    lo = flat.min(axis=1, keepdims=True) if flat.size else np.zeros((len(raw), 1))
    hi = flat.max(axis=1, keepdims=True) if flat.size else np.zeros((len(raw), 1))
    span = hi - lo
    constant = (span[:, 0] <= 1e-12 * np.maximum(1.0, np.abs(hi[:, 0]))) | nan
    out = np.where(constant[:, None], 0.0, (flat - lo) / np.where(span > 0, span, 1.0))
    n_nan, n_zero = int(nan.sum()), int(constant.sum())
    if n_nan:
        warnings.warn(f"{n_nan} of {len(raw)} {what} contain NaN or inf; set to all zero",
                      ExplanationWarning, stacklevel=3)
    if n_zero - n_nan:
        warnings.warn(f"{n_zero - n_nan} of {len(raw)} {what} are all zero (constant): the method "
                      "found no evidence for the target class", ExplanationWarning, stacklevel=3)
    return np.clip(out, 0.0, 1.0).reshape(raw.shape).astype(np.float32), n_zero, n_nan


class Explainer(ABC):
    """Base class of the CAM methods. Constructors only store parameters; the flat model
    (``cam_model_``) and the tf-keras-vis visualiser (``visualizer_``) are built on first use.

    model: a Keras probe mapping float32 images in [0, 255] to softmax probabilities.
    layer: path or name of the layer to explain (default: last convolution, nested included).
    randomise / seed: leaf-layer paths to re-initialise (sanity checks only).
    """

    name = ""
    visualizer_class = None  # a tf_keras_vis.ModelVisualization subclass

    def __init__(self, model, *, layer: str | None = None, batch_size: int = 64,
                 randomise=(), seed: int = 0):
        self.model = model
        self.layer = layer
        self.batch_size = batch_size
        self.randomise = tuple(randomise)
        self.seed = seed

    def _setup(self) -> None:
        if getattr(self, "cam_model_", None) is not None:
            return
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        path = resolve_layer(self.model, self.layer)
        self.cam_model_: CamModel = flatten_for_cam(self.model, path, randomise=self.randomise,
                                                    seed=self.seed)
        self.visualizer_ = self.visualizer_class(self.cam_model_.model, clone=False)

    def _call_kwargs(self) -> dict:
        """Extra keyword arguments for the visualiser call (hook)."""
        return {}

    def _raw_maps(self, batch: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """Unnormalised maps (B, H, W) for one batch (hook; default: the tf-keras-vis call)."""
        with warnings.catch_warnings():  # tf-keras-vis passes single inputs as a 1-element list
            warnings.filterwarnings("ignore", message="The structure of `inputs`")
            return np.asarray(self.visualizer_(
                class_score(classes), batch, penultimate_layer=self.cam_model_.layer,
                seek_penultimate_conv_layer=False, normalize_cam=False, **self._call_kwargs()))

    def explain(self, images: np.ndarray, target: "str | Target" = "predicted",
                labels: np.ndarray | None = None) -> Explanation:
        """Maps for ``images`` (N, H, W, 3), uint8 or float in [0, 255], for ``target``."""
        self._setup()
        target = get_target(target)
        images = np.asarray(images)
        if images.ndim != 4:
            raise ValueError(f"images must be (N, H, W, C), got shape {images.shape}")
        maps, classes, probs = [], [], []
        for start in range(0, len(images), self.batch_size):
            batch = images[start:start + self.batch_size].astype(np.float32)
            p = np.asarray(self.model(batch, training=False), dtype=np.float32)
            c = target(p, None if labels is None else np.asarray(labels)[start:start + len(batch)])
            maps.append(self._raw_maps(batch, c).reshape(batch.shape[:3]))
            classes.append(c)
            probs.append(p)
        raw = np.concatenate(maps) if maps else np.zeros(images.shape[:3], np.float32)
        out, n_zero, n_nan = normalise_maps(raw, what=f"{self.name} maps ({target.name} class)")
        n_classes = int(self.model.outputs[0].shape[-1])
        return Explanation(
            self.name, target.name, self.cam_model_.layer_path, self.cam_model_.scores_on, out,
            np.concatenate(classes) if classes else np.zeros(0, np.int64),
            np.concatenate(probs) if probs else np.zeros((0, n_classes), np.float32),
            n_zero, n_nan)


def get_method(name: str) -> type[Explainer]:
    """The Explainer class registered as ``name`` (UserError with 'did you mean' otherwise)."""
    from . import gradcam, gradcam_plus_plus, layercam, scorecam  # noqa: F401  (register)
    return METHODS.get(name)
