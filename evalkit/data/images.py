"""In-memory image data shared by every stage."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class ImageSplit:
    """One split of a dataset.

    images: uint8 array (N, H, W, C), RGB (C=3) or grayscale (C=1)
    labels: int64 array (N,), indices into ``class_names``
    ids:    str array (N,), stable per-image ids within the source (e.g. ``train/cat/0001.jpg``
            or ``data_batch_1:17``)
    """

    images: np.ndarray
    labels: np.ndarray
    ids: np.ndarray
    class_names: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, indices) -> "ImageSplit":
        idx = np.asarray(indices, dtype=np.int64)
        return ImageSplit(self.images[idx], self.labels[idx], self.ids[idx], self.class_names)


@dataclass(frozen=True, eq=False)
class LoadedDataset:
    """A dataset as loaded from one source: its splits and the source's checksum."""

    name: str
    class_names: tuple[str, ...]
    splits: dict[str, ImageSplit]
    source: str           # where it was read from (path or URL)
    source_sha256: str    # checksum of the source file, or of the folder listing + contents
    skipped: tuple[str, ...] = ()  # bad images skipped with --skip-bad, as "path: reason"

    def split(self, name: str) -> ImageSplit:
        from ..errors import UserError, did_you_mean

        if name not in self.splits:
            raise UserError(f"dataset {self.name!r} has no split {name!r}{did_you_mean(name, self.splits)}; "
                            f"expected one of: {', '.join(self.splits)}")
        return self.splits[name]
