"""The official array formats: CIFAR python batches (tarball or extracted folder), MNIST npz.

Both give arrays directly (no image decoding). Tar members are read in place, never extracted.
"""
from __future__ import annotations

import re
import tarfile
from pathlib import Path

import numpy as np

from ..errors import DataError
from .images import ImageSplit
from .imagefolder import check_member_name
from .safe_pickle import safe_loads
from .spec import DatasetSpec

TRAIN_BATCH = re.compile(r"^data_batch_(\d+)$")
TEST_BATCH = "test_batch"
META = "batches.meta"


def is_cifar_batches_dir(path: Path) -> Path | None:
    """The folder holding ``data_batch_*`` (``path`` or ``path/cifar-10-batches-py``), or None."""
    for d in (path, path / "cifar-10-batches-py"):
        if (d / TEST_BATCH).is_file() or any(d.glob("data_batch_*")):
            return d
    return None


def read_cifar_tar(path: Path, spec: DatasetSpec) -> dict[str, ImageSplit]:
    """Read the batches of ``cifar-10-python.tar.gz`` from the tar stream (no extraction)."""
    blobs: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                check_member_name(member.name, archive=path)
                base = member.name.rsplit("/", 1)[-1]
                if member.isfile() and (base in (TEST_BATCH, META) or TRAIN_BATCH.match(base)):
                    if base in blobs:
                        raise DataError(f"archive holds two members named {base!r}", path=path)
                    blobs[base] = tar.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DataError(f"truncated or corrupt tar archive ({exc})", path=path) from None
    return _batches_to_splits(blobs, spec, where=str(path))


def read_cifar_folder(path: Path, spec: DatasetSpec) -> dict[str, ImageSplit]:
    """Read an extracted ``cifar-10-batches-py/`` folder."""
    blobs = {p.name: p.read_bytes() for p in sorted(path.iterdir())
             if p.is_file() and (p.name in (TEST_BATCH, META) or TRAIN_BATCH.match(p.name))}
    return _batches_to_splits(blobs, spec, where=str(path))


def _batches_to_splits(blobs: dict[str, bytes], spec: DatasetSpec, *, where: str) -> dict[str, ImageSplit]:
    train_names = sorted((n for n in blobs if TRAIN_BATCH.match(n)),
                         key=lambda n: int(TRAIN_BATCH.match(n).group(1)))
    if not train_names:
        raise DataError("no data_batch_* files found; expected the official CIFAR python format", path=where)
    if TEST_BATCH not in blobs:
        raise DataError(f"no {TEST_BATCH} file found; expected the official CIFAR python format", path=where)
    if META in blobs:
        meta = _plain_keys(safe_loads(blobs[META], where=f"{where}/{META}"), f"{where}/{META}")
        names = tuple(_text(n) for n in meta.get("label_names", ()))
        if names and names != spec.class_names:
            raise DataError(f"label_names {list(names)} differ from the class names of "
                            f"{spec.name} {list(spec.class_names)}", path=f"{where}/{META}")
    parts = {"train": [_read_batch(blobs[n], n, spec, f"{where}/{n}") for n in train_names],
             "test": [_read_batch(blobs[TEST_BATCH], TEST_BATCH, spec, f"{where}/{TEST_BATCH}")]}
    return {split: ImageSplit(np.concatenate([p[0] for p in batches]),
                              np.concatenate([p[1] for p in batches]),
                              np.concatenate([p[2] for p in batches]), spec.class_names)
            for split, batches in parts.items()}


def _read_batch(blob: bytes, batch: str, spec: DatasetSpec, where: str):
    obj = _plain_keys(safe_loads(blob, where=where), where)
    data, labels = obj.get("data"), obj.get("labels")
    h, w, c = spec.image_shape
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != h * w * c:
        got = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"'data' must be a uint8 array of shape (N, {h * w * c}), got {got}", path=where)
    if not isinstance(labels, (list, tuple, np.ndarray)) or len(labels) != data.shape[0]:
        raise DataError(f"'labels' must list one label per image ({data.shape[0]})", path=where)
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu" or (labels.size and (labels.min() < 0 or labels.max() >= len(spec.class_names))):
        raise DataError(f"'labels' must be integers in 0..{len(spec.class_names) - 1}", path=where)
    images = np.ascontiguousarray(data.reshape(-1, c, h, w).transpose(0, 2, 3, 1))
    ids = np.array([f"{batch}:{i}" for i in range(data.shape[0])])
    return images, labels.astype(np.int64), ids


def read_mnist_npz(path: Path, spec: DatasetSpec) -> dict[str, ImageSplit]:
    """Read the Keras ``mnist.npz`` (x_train, y_train, x_test, y_test); pickles are refused."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    except KeyError as exc:
        raise DataError(f"missing array {exc}; expected x_train, y_train, x_test, y_test", path=path) from None
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"truncated or corrupt npz ({exc})", path=path) from None
    h, w, c = spec.image_shape
    out = {}
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.shape[1:3] != (h, w) or len(x) != len(y):
            raise DataError(f"x_{split} must be uint8 (N, {h}, {w}) with one label each, "
                            f"got {x.dtype} {x.shape}", path=path)
        ids = np.array([f"{split}:{i}" for i in range(len(x))])
        out[split] = ImageSplit(np.ascontiguousarray(x.reshape(len(x), h, w, c)), y.astype(np.int64),
                                ids, spec.class_names)
    return out


def _plain_keys(obj: object, where: str) -> dict:
    if not isinstance(obj, dict):
        raise DataError(f"expected a dict, got {type(obj).__name__}", path=where)
    return {_text(k): v for k, v in obj.items()}


def _text(value: object) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)
