"""Discovery on a workspace: read predictions, discover, store — skipped when already up to date."""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..artifacts import Pool, check_pool_dataset, pool_info
from ..data.images import ImageSplit
from ..errors import DataError
from ..workspace import Workspace
from .correctness import load_correctness, split_seeds
from .discover import DiscoverySettings, discover
from .store import check_pool_images, is_up_to_date, load_discovery, store_discovery


@dataclass(frozen=True)
class DiscoveryRun:
    """What `discover_workspace` did: the stored discovery document and whether work was skipped."""

    document: dict
    skipped: bool


def _pool_images(ws: Workspace, pool: str, dataset) -> ImageSplit:
    """The pool's images; a LoadedDataset is first checked against the recorded pool."""
    if isinstance(dataset, ImageSplit):
        return dataset
    check_pool_dataset(ws, pool, dataset)
    return dataset.split(Pool.parse(pool).split)


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
    images = _pool_images(ws, pool, dataset)
    check_pool_images(matrix, images)
    if matrix.class_names != tuple(images.class_names):
        if pool_info(ws, pool) is not None:
            raise DataError(f"pool {pool}: the dataset's class names {list(images.class_names)} differ from "
                            f"the recorded ones {list(matrix.class_names)}; use the data the probes were trained on")
        matrix = replace(matrix, class_names=tuple(images.class_names))
    result = discover(matrix, settings)
    store_discovery(ws, result, matrix, images, store_flagged=store_flagged)
    return DiscoveryRun(load_discovery(ws, pool), skipped=False)
