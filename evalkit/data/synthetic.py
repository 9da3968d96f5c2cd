"""Small synthetic image datasets for tests and tiny demos (no download needed).

Each class combines a shape (circle, square, triangle, cross, ring), a colour family (warm or
cool) and a stripe texture, drawn at a random position and size over a noisy background, so
probes that are blind to colour, texture or shape make different mistakes on it.
"""
from __future__ import annotations

import hashlib

import numpy as np

from .images import ImageSplit, LoadedDataset

SYNTHETIC_CLASSES = ("circle_warm", "square_warm", "triangle_warm", "cross_warm", "ring_warm",
                     "circle_cool", "square_cool", "triangle_cool", "cross_cool", "ring_cool")


def _shape_mask(kind: int, size: int, cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    dy, dx = yy - cy, xx - cx
    if kind == 0:  # circle
        return dy ** 2 + dx ** 2 <= r ** 2
    if kind == 1:  # square
        return (np.abs(dy) <= r * 0.85) & (np.abs(dx) <= r * 0.85)
    if kind == 2:  # triangle (apex up)
        return (dy <= r * 0.8) & (dy >= -r) & (np.abs(dx) <= (dy + r) * 0.6)
    if kind == 3:  # cross
        return ((np.abs(dy) <= r * 0.3) & (np.abs(dx) <= r)) | ((np.abs(dx) <= r * 0.3) & (np.abs(dy) <= r))
    d2 = dy ** 2 + dx ** 2  # ring
    return (d2 <= r ** 2) & (d2 >= (0.55 * r) ** 2)


def make_synthetic_split(n_per_class: int, *, size: int = 32, seed: int = 0,
                         n_classes: int = 10, prefix: str = "train") -> ImageSplit:
    """Generate ``n_per_class`` images per class as an :class:`ImageSplit` (uint8 RGB)."""
    if not 1 <= n_classes <= len(SYNTHETIC_CLASSES):
        raise ValueError(f"n_classes must be in 1..{len(SYNTHETIC_CLASSES)}")
    rng = np.random.default_rng(seed)
    n = n_per_class * n_classes
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    for i, c in enumerate(labels):
        shape, cool = int(c) % 5, int(c) // 5
        bg = rng.normal(110, 25, size=(1, 1, 3)) + rng.normal(0, 12, size=(size, size, 3))
        base = np.array([200, 90, 40]) if not cool else np.array([40, 110, 200])
        colour = np.clip(base + rng.normal(0, 25, size=3), 0, 255)
        r = rng.uniform(0.22, 0.38) * size
        cy, cx = rng.uniform(r, size - r, size=2)
        mask = _shape_mask(shape, size, cy, cx, r)
        freq = 0.5 + 0.35 * (int(c) % 3)
        stripes = 1.0 + 0.25 * np.sin(freq * (xx + yy) + rng.uniform(0, 6.3))
        img = bg.copy()
        img[mask] = (colour[None, :] * stripes[mask][:, None])
        images[i] = np.clip(img, 0, 255).astype(np.uint8)
    ids = np.array([f"{prefix}/{SYNTHETIC_CLASSES[c]}/{i:05d}.png" for i, c in enumerate(labels)])
    return ImageSplit(images, labels.astype(np.int64), ids, SYNTHETIC_CLASSES[:n_classes])


def make_synthetic_dataset(n_train_per_class: int = 40, n_test_per_class: int = 10, *,
                           size: int = 32, seed: int = 0, n_classes: int = 10) -> LoadedDataset:
    """A :class:`LoadedDataset` with 'train' and 'test' splits of synthetic images."""
    train = make_synthetic_split(n_train_per_class, size=size, seed=seed, n_classes=n_classes, prefix="train")
    test = make_synthetic_split(n_test_per_class, size=size, seed=seed + 10_000, n_classes=n_classes, prefix="test")
    digest = hashlib.sha256(train.images.tobytes() + test.images.tobytes()).hexdigest()
    return LoadedDataset(name="synthetic", class_names=train.class_names,
                         splits={"train": train, "test": test},
                         source=f"synthetic:{n_train_per_class}/{n_test_per_class}/{size}/{seed}",
                         source_sha256=digest)
