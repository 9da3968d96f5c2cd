"""`evalkit sample`: draw a reproducible class-stratified mini-set into the workspace."""
from __future__ import annotations

from typing import Optional

import typer

from .common import DataOption, SkipBadOption, WorkspaceOption


def sample(dataset: str = typer.Option("cifar10", "--dataset", help="Dataset name (datasets/<name>.toml)."),
           size: int = typer.Option(5000, "--size", min=1, help="Number of images, equal per class."),
           seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same manifest."),
           split: str = typer.Option("train", "--split", help="Split to draw from."),
           data: Optional[str] = DataOption, workspace: Optional[str] = WorkspaceOption,
           skip_bad: bool = SkipBadOption) -> None:
    """Draw a class-stratified mini-set and print the manifest's path."""
    from ..data import load_dataset
    from ..minisets import sample_to_workspace
    from ..workspace import Workspace

    ds = load_dataset(dataset, data, skip_bad=skip_bad, progress=True)
    if ds.skipped:
        typer.echo(f"skipped {len(ds.skipped):,} bad image(s) (--skip-bad)", err=True)
    ws = Workspace.from_option(workspace)
    art = sample_to_workspace(ws, ds, size, seed, split)
    typer.echo(str(ws.abspath(art)))


def register(app: typer.Typer) -> None:
    """Add `evalkit sample` to the app."""
    app.command("sample")(sample)
