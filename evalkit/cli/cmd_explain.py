"""CLI commands of the 'explain' stage: `evalkit explain`."""
from __future__ import annotations

from typing import Optional

import typer

from .common import DataOption, WorkspaceOption, parse_int_range, parse_name_list


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the app."""
    app.command("explain")(explain)


def explain(
    set_id: str = typer.Option(..., "--set", help="Evaluation set id (see `sets/` in the workspace)."),
    method: str = typer.Option("gradcam", "--method", help="gradcam, gradcam++, scorecam or layercam."),
    probes: Optional[str] = typer.Option(None, "--probes", help="Comma-separated probes (default: all trained)."),
    seeds: Optional[str] = typer.Option(None, "--seeds", help="Seeds, e.g. '0-2' (default: all trained)."),
    layer: Optional[str] = typer.Option(None, "--layer", help="Layer to explain (default: last convolution)."),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Images per batch."),
    data: Optional[str] = DataOption,
    workspace: Optional[str] = WorkspaceOption,
) -> None:
    """Heatmaps of each probe on every image of an evaluation set, with deletion and
    weight-randomisation checks."""
    from ..explain.stage import explain_set
    from ..workspace import Workspace

    ws = Workspace.from_option(workspace)
    result = explain_set(ws, data, set_id, method, probes=parse_name_list(probes),
                         seeds=parse_int_range(seeds, name="--seeds") if seeds else None,
                         layer=layer, batch_size=batch_size)
    for art in result.records:
        f = art.meta["faithfulness"]["predicted"]
        s = art.meta.get("sanity") or {}
        typer.echo(f"{art.key}: layer {art.meta['layer']}; deletion {f['deletion']:.3f} "
                   f"(random {f['random']:.3f}, centre blob {f['blob']:.3f}, lower is better); "
                   f"randomised-weights rank corr {s.get('spearman_mean', float('nan')):.2f}")
    for probe, reason in result.skipped:
        typer.echo(f"note: skipped {probe}: {reason}")
    if result.grids:
        typer.echo(f"grids: {ws.root / result.grids[0].rsplit('/', 1)[0]} ({len(result.grids)} images)")
