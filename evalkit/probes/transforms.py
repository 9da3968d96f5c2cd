"""NumPy image transforms that remove one cue (used for bias checks and cue ablations).

Each entry of :data:`IMAGE_TRANSFORMS` is ``fn(images_uint8, rng) -> images_uint8`` with the
same shape (N, H, W, 3); ``rng`` is a ``numpy.random.Generator`` (transforms that need no
randomness ignore it). Other stages use them, e.g. to score an API on grayscale images.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..registry import Registry

IMAGE_TRANSFORMS: Registry = Registry("image transform")


def _check(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images (N, H, W, C), got {images.dtype} {images.shape}")
    return images


@IMAGE_TRANSFORMS.register("grayscale")
def grayscale(images: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """Equal-weight channel mean, repeated on every channel (so channel order cannot matter)."""
    images = _check(images)
    gray = np.rint(images.astype(np.float32).mean(axis=-1, keepdims=True)).astype(np.uint8)
    return np.repeat(gray, images.shape[-1], axis=-1)


def gaussian_kernel1d(sigma: float) -> np.ndarray:
    """Normalised 1-D Gaussian kernel of radius ceil(3 sigma)."""
    radius = max(1, int(np.ceil(3 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return (k / k.sum()).astype(np.float32)


def lowpass_float(images: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """Gaussian blur (mirrored borders) as float32, the same filter as the blur probe's layer."""
    out = images.astype(np.float32)
    for axis in (1, 2):
        out = gaussian_filter1d(out, sigma, axis=axis, mode="mirror", truncate=3.0)
    return out


@IMAGE_TRANSFORMS.register("lowpass")
def lowpass(images: np.ndarray, rng: np.random.Generator | None = None, *, sigma: float = 1.5) -> np.ndarray:
    """Gaussian low-pass filter (sigma in pixels): removes fine texture, keeps shape and colour."""
    images = _check(images)
    return np.clip(np.rint(lowpass_float(images, sigma)), 0, 255).astype(np.uint8)


def patch_grid(images: np.ndarray, patch: int) -> np.ndarray:
    """(N, H, W, C) -> (N, P, patch, patch, C) patches in row-major order."""
    n, h, w, c = images.shape
    if h % patch or w % patch:
        raise ValueError(f"image size {h}x{w} is not a multiple of the patch size {patch}")
    grid = images.reshape(n, h // patch, patch, w // patch, patch, c).transpose(0, 1, 3, 2, 4, 5)
    return grid.reshape(n, (h // patch) * (w // patch), patch, patch, c)


def from_patch_grid(patches: np.ndarray, h: int, w: int) -> np.ndarray:
    n, _, patch, _, c = patches.shape
    grid = patches.reshape(n, h // patch, w // patch, patch, patch, c).transpose(0, 1, 3, 2, 4, 5)
    return grid.reshape(n, h, w, c)


@IMAGE_TRANSFORMS.register("patch_shuffle")
def patch_shuffle(images: np.ndarray, rng: np.random.Generator, *, patch: int = 8) -> np.ndarray:
    """Cut each image into patch x patch tiles and shuffle them, a new order per image."""
    images = _check(images)
    patches = patch_grid(images, patch)
    order = np.argsort(rng.random(patches.shape[:2]), axis=1)
    shuffled = np.take_along_axis(patches, order[:, :, None, None, None], axis=1)
    return from_patch_grid(shuffled, images.shape[1], images.shape[2])


_PERMUTATIONS = np.array([[0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]])


@IMAGE_TRANSFORMS.register("channel_permute")
def channel_permute(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Reorder the RGB channels with a random non-identity permutation per image."""
    images = _check(images)
    if images.shape[-1] != 3:
        raise ValueError("channel_permute needs RGB images")
    perms = _PERMUTATIONS[rng.integers(0, len(_PERMUTATIONS), size=len(images))]
    return np.take_along_axis(images, perms[:, None, None, :], axis=3)


@IMAGE_TRANSFORMS.register("mirror")
def mirror(images: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """Left-right mirror image (a control: CNNs trained with flips should not care)."""
    return _check(images)[:, :, ::-1, :].copy()


def apply_transform(name: str, images: np.ndarray, seed: int = 0) -> np.ndarray:
    """Apply the named transform with ``np.random.default_rng(seed)``."""
    return IMAGE_TRANSFORMS.get(name)(images, np.random.default_rng(seed))


def ablate_pool_images(name: str, images: np.ndarray, pool_indices, seed: int = 0) -> np.ndarray:
    """Apply the named transform so that each image's result depends only on its pool index.

    Random transforms (channel_permute, patch_shuffle) draw from ``default_rng([seed, index])``
    per image, so the ablated copy of pool image i is the same whichever other images are
    transformed with it: a query planner can ask for any subset and a cached answer stays valid.
    """
    fn = IMAGE_TRANSFORMS.get(name)
    images = _check(images)
    idx = np.asarray(pool_indices, dtype=np.int64)
    if idx.shape != (len(images),):
        raise ValueError(f"expected {len(images)} pool indices, got shape {idx.shape}")
    if name in _DETERMINISTIC:
        return fn(images, None)
    out = np.empty_like(images)
    for j, i in enumerate(idx):
        out[j:j + 1] = fn(images[j:j + 1], np.random.default_rng([int(seed), int(i)]))
    return out


_DETERMINISTIC = frozenset({"grayscale", "lowpass", "mirror"})
