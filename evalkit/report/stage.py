"""The report stage: collect a workspace, render index.html, write report.json + CSVs, record it."""
from __future__ import annotations

import re
from pathlib import Path

from ..artifacts import REPORT
from ..errors import UserError
from ..workspace import atomic_write_text
from .collect import collect_report_data
from .export import write_exports
from .images import copy_asset
from .render import render_html

MAX_REPORT_BYTES = 20 * 1024 * 1024
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def check_report_name(name: str) -> str:
    """A report name becomes a folder and a catalog key: letters, digits, '.', '_', '-'."""
    if not _NAME.match(name):
        raise UserError(f"report name {name!r} must be letters, digits, '.', '_' or '-' (no slashes)")
    return name


def render_report(ws, out_dir: str | Path | None = None, name: str = "report",
                  templates: str | Path | None = None, dataset=None, apis: list[str] | None = None) -> Path:
    """Render the workspace's report into ``out_dir`` (default ``WS/reports/{name}``); return index.html.

    ``dataset`` (optional LoadedDataset of the pool) enables thumbnails; ``templates`` is a folder
    whose templates override the package's; ``apis`` restricts the report to those APIs. Records
    catalog kind ``report`` with key ``name``; its meta ``unreadable`` lists damaged artifact files
    ('path: message'), which the report shows as problems (``evalkit report`` then exits 2 naming
    the first).
    """
    check_report_name(name)
    out = Path(out_dir) if out_dir is not None else ws.root / "reports" / name
    if out.exists() and not out.is_dir():
        raise UserError("report output path exists and is not a directory", path=out)
    out.mkdir(parents=True, exist_ok=True)
    data = collect_report_data(ws, dataset, apis=apis)
    for s in data["evalsets"]:
        s["grid_urls"] = [copy_asset(Path(p), out) for p in s["grid_files"]]
    html, ledger = render_html(data, templates=templates)
    index = out / "index.html"
    atomic_write_text(index, html)
    written = write_exports(out, data, ledger.values)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    try:
        rel = out.resolve().relative_to(ws.root)
    except ValueError:
        rel = out.resolve()
    ws.catalog.record(REPORT, name, str(rel), settings={"templates": str(templates) if templates else None, "apis": apis},
                      meta={"bytes": size, "html_bytes": index.stat().st_size, "figures": len(ledger.values),
                            "files": [p.name for p in written], "images": data["meta"]["images_available"],
                            "over_size_budget": size > MAX_REPORT_BYTES,
                            "unreadable": data.get("unreadable", [])})
    return index
