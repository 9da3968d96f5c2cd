"""CLI command of the whole pipeline: `evalkit run CONFIG.toml`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def run(
    config: Path = typer.Argument(..., help="Pipeline config (TOML), e.g. configs/demo.toml or configs/full.toml."),
    workspace: Optional[Path] = typer.Option(
        None, "--workspace", "-w", help="Workspace directory (default: the config's [run] workspace)."),
    executor: Optional[str] = typer.Option(
        None, "--executor", help="local (worker processes, the default) or ray (fan probe training and "
                                 "API scoring out over Ray)."),
    ray_address: Optional[str] = typer.Option(
        None, "--ray-address", help="Ray cluster to join, e.g. ray://head:10001 (default: start a local Ray)."),
    data: Optional[str] = typer.Option(
        None, "--data", help="Dataset source overriding the config's [data] source (path or 'synthetic:N/M')."),
    quiet: bool = typer.Option(False, "--quiet", help="No per-epoch progress bars."),
) -> None:
    """Run sample -> train probes -> discover -> explain -> score APIs -> fingerprint -> report."""
    from dataclasses import replace

    from ..errors import UserError
    from ..pipeline import load_config, run as run_pipeline

    if executor is not None and executor not in ("local", "ray"):
        raise UserError(f"--executor must be local or ray, got {executor!r}")
    cfg = load_config(config, workspace=workspace)
    if data is not None:
        cfg = replace(cfg, data_source=data)
    run_pipeline(cfg, executor=executor, ray_address=ray_address, echo=typer.echo, progress=not quiet)


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the app."""
    app.command("run")(run)
