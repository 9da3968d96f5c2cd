"""Options shared by several commands."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

WorkspaceOption = typer.Option(
    None, "--workspace", "-w", envvar="EVALKIT_WORKSPACE",
    help="Workspace directory holding every artifact of a run (default: ./workspace).")

DataOption = typer.Option(
    None, "--data", envvar="EVALKIT_DATA",
    help="Local copy of the dataset: official tarball, cifar-10-batches-py/ folder, "
         "image folder or zip of one. Default: ../shared copy if present, else download.")

SkipBadOption = typer.Option(
    False, "--skip-bad", help="Skip single bad images (counted in the output) instead of failing.")


def parse_int_range(text: str, *, name: str) -> list[int]:
    """Parse '0-3', '0,2,5' or '1' into a list of ints; raise UserError otherwise."""
    from ..errors import UserError

    out: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = part.split("-", 1)
                lo_i, hi_i = int(lo), int(hi)
                if hi_i < lo_i:
                    raise ValueError
                out.extend(range(lo_i, hi_i + 1))
            elif part:
                out.append(int(part))
    except ValueError:
        raise UserError(f"{name} must look like '0-3' or '0,2,5', got {text!r}") from None
    if not out:
        raise UserError(f"{name} is empty; expected e.g. '0-3'")
    return out


def parse_name_list(text: Optional[str]) -> Optional[list[str]]:
    """Parse 'a,b,c' into a list, or None for None/''."""
    if not text:
        return None
    return [t.strip() for t in text.split(",") if t.strip()]


def echo_path(label: str, path: Path) -> None:
    typer.echo(f"{label}: {path}")
