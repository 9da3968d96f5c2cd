"""Deletion faithfulness: does removing the pixels a map calls important hurt the class score?

For each image, pixels are removed in order of decreasing saliency in ``steps`` equal chunks
(replaced by a blurred copy of the image or by its mean colour); the probe's probability of the
explained class is measured after each step, and the deletion score is the area under that
curve (x from 0 to 1). Lower is better: a faithful map makes the score drop fast. Ties between
equally salient pixels are broken at random (seeded), so an all-zero map scores like a random map.
The same images are scored with random maps and a centred Gaussian blob as baselines.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from .base import ExplanationWarning

BASELINES = ("blur", "mean")


@dataclass(frozen=True, eq=False)
class FaithfulnessReport:
    """Per-image deletion scores (N,) of the method and both baselines, and their means."""

    deletion: np.ndarray
    random: np.ndarray
    blob: np.ndarray
    steps: int
    baseline: str

    @property
    def n_images(self) -> int:
        return int(len(self.deletion))

    def summary(self) -> dict:
        """Means, the share of images where the map beats the random map, and the image count."""
        return {"deletion": float(np.mean(self.deletion)), "random": float(np.mean(self.random)),
                "blob": float(np.mean(self.blob)),
                "beats_random": float(np.mean(self.deletion < self.random)),
                "n_images": self.n_images, "steps": self.steps, "baseline": self.baseline}


def random_maps(n: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """Uniform random maps (N, H, W) float32 in [0, 1]."""
    return np.random.default_rng(seed).random((n, height, width), dtype=np.float32)


def centre_blob_maps(n: int, height: int, width: int, sigma: float = 0.25) -> np.ndarray:
    """A centred Gaussian blob (std = ``sigma`` x image size) for every image, in [0, 1]."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    d2 = ((yy - (height - 1) / 2) / height) ** 2 + ((xx - (width - 1) / 2) / width) ** 2
    blob = np.exp(-d2 / (2 * sigma ** 2))
    blob = (blob - blob.min()) / (blob.max() - blob.min())
    return np.broadcast_to(blob.astype(np.float32), (n, height, width)).copy()


def warn_degenerate(maps: np.ndarray, what: str = "maps") -> None:
    """Warn when some maps are NaN or all zero (they rank pixels at random)."""
    flat = np.asarray(maps).reshape(len(maps), -1)
    n_nan = int((~np.isfinite(flat)).any(axis=1).sum())
    n_zero = int((np.nan_to_num(flat) == 0).all(axis=1).sum()) if flat.size else 0
    if n_nan:
        warnings.warn(f"{n_nan} of {len(flat)} {what} contain NaN", ExplanationWarning, stacklevel=2)
    if n_zero:
        warnings.warn(f"{n_zero} of {len(flat)} {what} are all zero; their deletion order is random",
                      ExplanationWarning, stacklevel=2)


def removed_image(images: np.ndarray, baseline: str) -> np.ndarray:
    """What deleted pixels are replaced with: a blurred copy (sigma = size/8) or the mean colour."""
    images = np.asarray(images, dtype=np.float32)
    if baseline == "mean":
        return np.broadcast_to(images.mean(axis=(1, 2), keepdims=True), images.shape).copy()
    if baseline == "blur":
        sigma = max(1.0, images.shape[1] / 8)
        return gaussian_filter(images, sigma=(0, sigma, sigma, 0), mode="nearest")
    raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")


def predict_probs(model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The probe's probabilities for float32 images, in batches (no progress bar)."""
    out = [np.asarray(model(images[i:i + batch_size], training=False))
           for i in range(0, len(images), batch_size)]
    return np.concatenate(out).astype(np.float32)


def deletion_curves(model, images: np.ndarray, maps: np.ndarray, classes: np.ndarray, *,
                    steps: int = 16, baseline: str = "blur", seed: int = 0,
                    chunk: int = 32, batch_size: int = 256) -> np.ndarray:
    """Class probability after deleting 0, 1/steps, ..., all of the pixels: (N, steps + 1)."""
    images = np.asarray(images, dtype=np.float32)
    maps = np.nan_to_num(np.asarray(maps, dtype=np.float32))
    n, h, w = maps.shape
    if images.shape[:3] != (n, h, w):
        raise ValueError(f"maps {maps.shape} do not match images {images.shape}")
    rng = np.random.default_rng(seed)
    counts = np.round(np.linspace(0, h * w, steps + 1)).astype(int)
    curves = np.empty((n, steps + 1), np.float32)
    for start in range(0, n, chunk):
        img, m = images[start:start + chunk], maps[start:start + chunk].reshape(-1, h * w)
        filler = removed_image(img, baseline).reshape(len(img), h * w, -1)
        tiebreak = rng.random(m.shape)
        order = np.lexsort((tiebreak, -m), axis=1)  # most salient first, random among ties
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(h * w)[None, :].repeat(len(img), 0), axis=1)
        flat = img.reshape(len(img), h * w, -1)
        batch = np.stack([np.where((rank < k)[:, :, None], filler, flat) for k in counts], axis=1)
        probs = predict_probs(model, batch.reshape((-1,) + img.shape[1:]), batch_size)
        probs = probs.reshape(len(img), steps + 1, -1)
        cls = np.asarray(classes[start:start + chunk], dtype=np.int64)
        curves[start:start + len(img)] = np.take_along_axis(probs, cls[:, None, None], axis=2)[:, :, 0]
    return curves


def deletion_scores(model, images, maps, classes, **kwargs) -> np.ndarray:
    """Area under each image's deletion curve (N,), x in [0, 1]; lower is more faithful."""
    curves = deletion_curves(model, images, maps, classes, **kwargs)
    return ((curves[:, :-1] + curves[:, 1:]) / 2).mean(axis=1).astype(np.float32)


def compare_with_baselines(model, images, maps, classes, *, steps: int = 16,
                           baseline: str = "blur", seed: int = 0) -> FaithfulnessReport:
    """Deletion scores of ``maps`` and of random and centre-blob maps on the same images."""
    warn_degenerate(maps)
    n, h, w = np.asarray(maps).shape
    kw = {"steps": steps, "baseline": baseline, "seed": seed}
    return FaithfulnessReport(
        deletion_scores(model, images, maps, classes, **kw),
        deletion_scores(model, images, random_maps(n, h, w, seed), classes, **kw),
        deletion_scores(model, images, centre_blob_maps(n, h, w), classes, **kw),
        steps, baseline)
