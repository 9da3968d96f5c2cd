"""Discovery on a workspace: read predictions, discover, store — skipped when already up to date."""
from __future__ import annotations

import json
from dataclasses import dataclass, replace

from ..data.images import ImageSplit, LoadedDataset
from ..errors import DataError, UserError
from ..workspace import Workspace
from .correctness import load_correctness, split_seeds
from .discover import DiscoverySettings, discover
from .store import check_pool_images, is_up_to_date, load_discovery, store_discovery


@dataclass(frozen=True)
class DiscoveryRun:
    """What `discover_workspace` did: the stored discovery document and whether work was skipped."""

    document: dict
    skipped: bool


def split_pool(pool: str) -> tuple[str, str]:
    """'cifar10/test' -> ('cifar10', 'test')."""
    if "/" not in pool:
        raise UserError(f"--pool must look like DATASET/SPLIT (e.g. cifar10/test), got {pool!r}")
    name, split = pool.rsplit("/", 1)
    return name, split


def load_pool_images(pool: str, data=None) -> LoadedDataset:
    """Load the dataset of ``pool`` with ``evalkit.data.load_dataset`` (data: path, 'synthetic:...')."""
    from ..data import load_dataset

    name = split_pool(pool)[0]
    if name == "synthetic" and data is None:
        data = "synthetic"
    return load_dataset(name, data)


def _pool_images(ws: Workspace, pool: str, dataset) -> tuple[ImageSplit, str | None, str | None]:
    if isinstance(dataset, ImageSplit):
        return dataset, None, None
    recorded = None
    art = ws.catalog.get("pool", pool)
    if art is not None and ws.abspath(art).is_file():
        recorded = json.loads(ws.abspath(art).read_text()).get("source_sha256")
    return dataset.split(split_pool(pool)[1]), recorded, dataset.source_sha256


def discover_workspace(ws: Workspace, pool: str, settings: DiscoverySettings, dataset, *,
                       store_flagged: bool = False, force: bool = False,
                       probes=None) -> DiscoveryRun:
    """Run discovery on the predictions of ``pool`` stored in ``ws`` and store the sets.

    ``dataset``: the pool's images, as a LoadedDataset (its pool split is used and its checksum
    compared with the recorded pool) or an ImageSplit; a callable returning one is called only
    when work is needed. ``probes`` restricts the bank to those probes (default: every probe
    with predictions). Skips when the recorded run used the same predictions and settings."""
    matrix = load_correctness(ws, pool, probes)
    recorded_settings = {**settings.to_dict(), "store_flagged": store_flagged}
    if not force and is_up_to_date(ws, pool, matrix.sources, recorded_settings):
        return DiscoveryRun(load_discovery(ws, pool), skipped=True)
    split_seeds(matrix, settings.split_seed)  # refuse probes with < 2 seeds before loading images
    if callable(dataset):
        dataset = dataset()
    images, recorded, given = _pool_images(ws, pool, dataset)
    check_pool_images(matrix, images, recorded, given)
    if matrix.class_names != tuple(images.class_names):
        if ws.catalog.get("pool", pool) is not None:
            raise DataError(f"pool {pool}: the dataset's class names {list(images.class_names)} differ from "
                            f"the recorded ones {list(matrix.class_names)}; pass the --data used for the probes")
        matrix = replace(matrix, class_names=tuple(images.class_names))
    result = discover(matrix, settings)
    store_discovery(ws, result, matrix, images, store_flagged=store_flagged)
    return DiscoveryRun(load_discovery(ws, pool), skipped=False)
