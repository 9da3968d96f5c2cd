"""CLI commands of the 'report' stage: `evalkit report`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import WorkspaceOption, echo_path


def report(
    workspace: Optional[Path] = WorkspaceOption,
    output: Optional[Path] = typer.Option(
        None, "-o", "--output", help="Report folder, e.g. reports/NAME (default: WORKSPACE/reports/report). "
                                     "Its last part is the report's name in the catalog."),
    templates: Optional[Path] = typer.Option(
        None, "--templates", help="Folder of templates overriding the built-in ones (base.html, sections/*.html)."),
    data: Optional[str] = typer.Option(
        None, "--data", help="Dataset source of the evaluation pool, to draw thumbnails: a path, "
                             "'synthetic:N/M', or 'auto' (the usual dataset lookup). Without it galleries "
                             "say images are unavailable."),
    apis: Optional[str] = typer.Option(
        None, "--apis", help="Only these scored APIs, comma-separated (default: every one)."),
) -> None:
    """Render the workspace's HTML report, report.json and CSV tables."""
    from ..report import render_report
    from ..report.collect import pool_dataset_name
    from .common import parse_name_list
    from ..workspace import Workspace

    ws = Workspace.from_option(workspace)
    dataset = None
    if data:
        from ..data import load_dataset
        from ..errors import UserError

        name = pool_dataset_name(ws)
        if name is None:
            raise UserError("--data given but the workspace has no evaluation pool to draw images from")
        dataset = load_dataset(name, None if data == "auto" else data)
    name = output.name if output is not None else "report"
    index = render_report(ws, out_dir=output, name=name, templates=templates, dataset=dataset,
                          apis=parse_name_list(apis))
    echo_path("report", index)
    from ..artifacts import REPORT
    from ..errors import DataError

    unreadable = ws.catalog.get(REPORT, name).meta.get("unreadable") or []
    if unreadable:  # the report is written and lists them; the command still says the workspace is damaged
        more = f" (and {len(unreadable) - 1} more)" if len(unreadable) > 1 else ""
        raise DataError(f"{unreadable[0]}{more}; the report lists the unreadable files as problems")


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the app."""
    app.command("report")(report)
