"""Model-parameter randomisation test (Adebayo et al. 2018, "Sanity checks for saliency maps").

Re-initialise the probe's weights — cascading from the output layer down, or all at once —
recompute the maps for the *same* classes and compare them with the trained probe's maps by
Spearman rank correlation per image. A method that explains the model, not the image, gives
maps that change clearly (low correlation) once the weights are random.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import keras
import numpy as np
from scipy.stats import rankdata

from .base import Explanation, ExplanationWarning, get_method
from .layers import iter_layers
from .targets import FixedClasses

MODES = ("cascading", "all")


@dataclass(frozen=True)
class SanityStep:
    """Maps after re-initialising ``randomised`` (leaf-layer paths, top first)."""

    randomised: tuple[str, ...]
    spearman_mean: float      # over images whose maps are not constant
    spearman_median: float
    n_defined: int            # images with a defined correlation
    n_all_zero: int           # randomised maps that came out all zero


@dataclass(frozen=True)
class SanityResult:
    method: str
    mode: str
    layer: str
    n_images: int
    steps: tuple[SanityStep, ...]

    @property
    def final_spearman(self) -> float:
        """Mean rank correlation once every weighted layer is random."""
        return self.steps[-1].spearman_mean


def spearman_per_image(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation between a[i] and b[i] (flattened); NaN when either is constant."""
    ra = rankdata(np.asarray(a).reshape(len(a), -1), axis=1)
    rb = rankdata(np.asarray(b).reshape(len(b), -1), axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    den = np.sqrt((ra ** 2).sum(axis=1) * (rb ** 2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (ra * rb).sum(axis=1) / np.where(den > 0, den, 1), np.nan)


def weighted_layers(model) -> list[str]:
    """Leaf-layer paths with learned weights, in graph order (input-side preprocessing such as
    Normalization statistics is not a learned parameter and stays as trained)."""
    return [p for p, layer in iter_layers(model)
            if layer.weights and not isinstance(layer, keras.layers.Normalization)]


def randomisation_test(model, images: np.ndarray, *, method: str = "gradcam",
                       target: str = "predicted", labels=None, layer: str | None = None,
                       mode: str = "cascading", seed: int = 0, batch_size: int = 64,
                       trained: Explanation | None = None) -> SanityResult:
    """Compare trained maps with maps of re-initialised copies of ``model``.

    mode 'cascading': one step per weighted layer, re-initialising from the top down to it;
    'all': one step with every weighted layer re-initialised. The probe is not modified.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    cls = get_method(method)
    if trained is None:
        trained = cls(model, layer=layer, batch_size=batch_size).explain(images, target, labels)
    paths = weighted_layers(model)[::-1]
    plans = [tuple(paths[:k]) for k in range(1, len(paths) + 1)] if mode == "cascading" else [tuple(paths)]
    steps = []
    for randomised in plans:
        explainer = cls(model, layer=trained.layer, batch_size=batch_size, randomise=randomised,
                        seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExplanationWarning)  # counted below instead
            rand = explainer.explain(images, FixedClasses(trained.classes))
        rho = spearman_per_image(trained.maps, rand.maps)
        ok = rho[np.isfinite(rho)]
        steps.append(SanityStep(randomised, float(ok.mean()) if ok.size else float("nan"),
                                float(np.median(ok)) if ok.size else float("nan"),
                                int(ok.size), rand.n_all_zero))
    return SanityResult(trained.method, mode, trained.layer, len(images), tuple(steps))
