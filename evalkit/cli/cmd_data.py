"""`evalkit data ...`: inspect and fetch datasets (thin over :mod:`evalkit.data`)."""
from __future__ import annotations

from typing import Optional

import numpy as np
import typer

from .common import DataOption, SkipBadOption

data_app = typer.Typer(no_args_is_help=True, help="Inspect and download datasets.")


def format_dataset_info(ds) -> str:
    """A table of images per split and per class."""
    splits = list(ds.splits)
    first = ds.split(splits[0])
    shape = "x".join(str(s) for s in first.images.shape[1:])
    counts = {s: np.bincount(ds.split(s).labels, minlength=len(ds.class_names)) for s in splits}
    total = sum(len(ds.split(s)) for s in splits)
    width = max(len("class"), *(len(c) for c in ds.class_names))
    lines = [f"dataset: {ds.name}",
             f"source:  {ds.source}",
             f"sha256:  {ds.source_sha256}",
             f"{len(ds.class_names)} classes, {total:,} images ({shape})",
             "  ".join(f"{len(ds.split(s)):,} {s}" for s in splits),
             "",
             f"{'class':<{width}}" + "".join(f"{s:>10}" for s in splits)]
    for i, name in enumerate(ds.class_names):
        lines.append(f"{name:<{width}}" + "".join(f"{int(counts[s][i]):>10,}" for s in splits))
    lines.append(f"{'total':<{width}}" + "".join(f"{len(ds.split(s)):>10,}" for s in splits))
    if ds.skipped:
        lines.append(f"skipped {len(ds.skipped):,} bad image(s) (--skip-bad), e.g. {ds.skipped[0]}")
    return "\n".join(lines)


@data_app.command("info")
def info(name: str = typer.Argument("cifar10", help="Dataset name (datasets/<name>.toml)."),
         data: Optional[str] = DataOption, skip_bad: bool = SkipBadOption) -> None:
    """Print images per split and per class."""
    from ..data import load_dataset

    ds = load_dataset(name, data, skip_bad=skip_bad, progress=True)
    typer.echo(format_dataset_info(ds))


@data_app.command("download")
def download(name: str = typer.Argument("cifar10", help="Dataset name (datasets/<name>.toml).")) -> None:
    """Download the official archive into the cache ($EVALKIT_CACHE) and verify its checksum."""
    from ..data.download import download_dataset
    from ..data.spec import get_spec

    typer.echo(f"downloaded: {download_dataset(get_spec(name), progress=True)}")


@data_app.command("list")
def list_datasets() -> None:
    """List the known datasets (datasets/*.toml)."""
    from ..data.spec import available_datasets, get_spec

    for name in available_datasets():
        spec = get_spec(name)
        typer.echo(f"{name:<10} {'x'.join(map(str, spec.image_shape)):<9} {len(spec.class_names)} classes  "
                   f"{spec.description}")


def register(app: typer.Typer) -> None:
    """Add `evalkit data` to the app."""
    app.add_typer(data_app, name="data")
