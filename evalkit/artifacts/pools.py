"""Evaluation pools: recording one, and opening its dataset once, verified against the record."""
from __future__ import annotations

import json

from ..errors import DataError
from ..workspace import Workspace, atomic_write_text
from .keys import POOL, Pool


def pool_of(dataset, split: str) -> Pool:
    """The pool of ``dataset``'s ``split``."""
    return Pool(dataset.name, split)


def pool_info(ws: Workspace, pool: str | Pool) -> dict | None:
    """The recorded pool document (dataset, split, source_sha256, n, class_names), or None."""
    art = ws.catalog.get(POOL, str(Pool.parse(pool)))
    if art is None:
        return None
    path = ws.abspath(art)
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise DataError("recorded pool file is missing", path=path) from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise DataError(f"not a readable pool JSON file ({exc})", path=path) from None
    except OSError as exc:
        raise DataError(f"cannot read the pool file ({exc.strerror or exc})", path=path) from None


def record_pool(ws: Workspace, dataset, split: str) -> Pool:
    """Record ``dataset``'s ``split`` as an evaluation pool (once); returns the pool."""
    pool = pool_of(dataset, split)
    if ws.catalog.get(POOL, str(pool)) is None:
        data = dataset.split(split)
        info = {"dataset": dataset.name, "split": split, "source_sha256": dataset.source_sha256,
                "n": len(data), "class_names": list(dataset.class_names)}
        rel = f"predictions/pools/{pool}.json"
        atomic_write_text(ws.root / rel, json.dumps(info, indent=1))
        ws.catalog.record(POOL, str(pool), rel, inputs={"source_sha256": dataset.source_sha256},
                          meta={"n": len(data)})
    return pool


def check_pool_dataset(ws: Workspace, pool: str | Pool, dataset) -> None:
    """DataError unless ``dataset`` is the data ``pool`` was recorded with (same checksum, size,
    classes). A pool that is not recorded passes."""
    pool = Pool.parse(pool)
    info = pool_info(ws, pool)
    if info is None:
        return
    sha = info.get("source_sha256")
    if sha and sha != dataset.source_sha256:
        raise DataError(f"the dataset {dataset.source} (sha256 {dataset.source_sha256[:12]}) is not the data "
                        f"pool {pool} was recorded with (sha256 {sha[:12]}); use the data source of the "
                        "earlier stages")
    split = dataset.split(pool.split)
    if info.get("n") not in (None, len(split)):
        raise DataError(f"pool {pool} was recorded with {info['n']} images, the dataset's {pool.split} split "
                        f"has {len(split)}")
    names = info.get("class_names")
    if names and list(names) != list(dataset.class_names):
        raise DataError(f"pool {pool}: the dataset's class names {list(dataset.class_names)} differ from the "
                        f"recorded ones {list(names)}")


def open_pool_dataset(ws: Workspace | None, pool: str | Pool, data=None, *, skip_bad: bool = False,
                      progress: bool = False):
    """Load the dataset of ``pool`` (``data``: a path, 'synthetic...', or None for the usual
    lookup) and check it is the data the pool was recorded with in ``ws``."""
    from ..data import load_dataset

    pool = Pool.parse(pool)
    if pool.dataset == "synthetic" and data is None:
        data = "synthetic"
    dataset = load_dataset(pool.dataset, data, skip_bad=skip_bad, progress=progress)
    if ws is not None:
        check_pool_dataset(ws, pool, dataset)
    return dataset
