"""Builders of tiny on-disk datasets in every supported format (used by the test_data_* files)."""
from __future__ import annotations

import io
import pickle
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Every data test gets an empty cache and no $EVALKIT_DATA."""
    monkeypatch.setenv("EVALKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("EVALKIT_DATA", raising=False)


def tiny_images(n: int, seed: int, shape=(32, 32, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)


def png_bytes(img: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    im = Image.fromarray(img.squeeze(-1) if img.ndim == 3 and img.shape[-1] == 1 else img)
    (im.convert(mode) if mode else im).save(buf, format="PNG")
    return buf.getvalue()


def write_image_folder(root: Path, n_train: int = 2, n_test: int = 1, classes=CIFAR_CLASSES,
                       shape=(32, 32, 3)) -> dict[str, np.ndarray]:
    """PNG files root/<split>/<class>/<i>.png; returns the images per split in loader order."""
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        imgs = tiny_images(n * len(classes), seed=len(split), shape=shape)
        for c, cls in enumerate(classes):
            d = root / split / cls
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                (d / f"{i:04d}.png").write_bytes(png_bytes(imgs[c * n + i]))
        out[split] = imgs
    return out


def zip_folder(folder: Path, dest: Path, wrapper: str = "") -> Path:
    with zipfile.ZipFile(dest, "w") as zf:
        for p in sorted(folder.rglob("*")):
            rel = p.relative_to(folder).as_posix()
            zf.write(p, f"{wrapper}{rel}" + ("/" if p.is_dir() else ""))
    return dest


def cifar_batch(images: np.ndarray, labels, name: str) -> bytes:
    """A batch in the official layout: dict of bytes keys, data uint8 (N, 3072) channel-first."""
    data = images.transpose(0, 3, 1, 2).reshape(len(images), -1).copy()
    return pickle.dumps({b"batch_label": name.encode(), b"labels": [int(x) for x in labels],
                         b"data": data, b"filenames": [f"img_{i}.png".encode() for i in range(len(images))]})


def write_cifar_batches(root: Path, n_train_batches: int = 2, n_per_batch: int = 20) -> dict:
    """A tiny cifar-10-batches-py/ folder; returns {'train': (images, labels), 'test': ...}."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    train_imgs, train_labels = [], []
    for b in range(1, n_train_batches + 1):
        imgs = tiny_images(n_per_batch, seed=b)
        labels = rng.integers(0, 10, n_per_batch)
        (root / f"data_batch_{b}").write_bytes(cifar_batch(imgs, labels, f"training batch {b}"))
        train_imgs.append(imgs)
        train_labels.append(labels)
    test_imgs, test_labels = tiny_images(n_per_batch, seed=99), rng.integers(0, 10, n_per_batch)
    (root / "test_batch").write_bytes(cifar_batch(test_imgs, test_labels, "testing batch 1"))
    (root / "batches.meta").write_bytes(pickle.dumps({b"label_names": [c.encode() for c in CIFAR_CLASSES],
                                                      b"num_vis": 3072, b"num_cases_per_batch": n_per_batch}))
    return {"train": (np.concatenate(train_imgs), np.concatenate(train_labels)), "test": (test_imgs, test_labels)}


def tar_folder(folder: Path, dest: Path, arcname: str = "cifar-10-batches-py") -> Path:
    with tarfile.open(dest, "w:gz") as tar:
        tar.add(folder, arcname=arcname)
    return dest
