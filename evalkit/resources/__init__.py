"""Built-in probe, dataset and example API files, shipped inside the package.

In the source tree ``evalkit/resources/{probes,datasets,apis}`` are symlinks to the top-level
``probes/``, ``datasets/`` and ``apis/`` folders (the place to read and edit them); the wheel
build copies their files into the package, so an installed evalkit finds them anywhere.
User folders add to or override the built-ins: ``--probes-dir`` / ``$EVALKIT_PROBES`` for probes,
``$EVALKIT_DATASETS`` and ``./datasets`` for datasets, ``$EVALKIT_APIS`` for API files.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import UserError, did_you_mean

RESOURCES = Path(__file__).resolve().parent
KINDS = ("probes", "datasets", "apis")
APIS_ENV = "EVALKIT_APIS"


def builtin_dir(kind: str) -> Path:
    """The package's folder of built-in ``kind`` files (``probes``, ``datasets`` or ``apis``)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return RESOURCES / kind


def env_dirs(*names: str) -> list[Path]:
    """Folders listed (``os.pathsep``-separated) in the given environment variables, in order."""
    return [Path(p).expanduser() for name in names
            for p in os.environ.get(name, "").split(os.pathsep) if p.strip()]


def api_dirs() -> list[Path]:
    """Folders searched for API files by name: the built-in examples, then $EVALKIT_APIS."""
    return [builtin_dir("apis"), *env_dirs(APIS_ENV)]


def resolve_api_file(path: str | Path) -> Path:
    """An API file path as given when it exists, else ``NAME``, ``NAME.toml`` or ``apis/NAME.toml``
    looked up in :func:`api_dirs` (a later folder overrides an earlier one)."""
    path = Path(path)
    if path.is_file():
        return path
    if len(path.parts) == 1 or (len(path.parts) == 2 and path.parts[0] == "apis"):
        stem = path.stem if path.suffix == ".toml" else path.name
        found = [d / f"{stem}.toml" for d in api_dirs() if (d / f"{stem}.toml").is_file()]
        if found:
            return found[-1]
    known = sorted({p.stem for d in api_dirs() if d.is_dir() for p in d.glob("*.toml")})
    raise UserError(f"API file {str(path)!r} not found{did_you_mean(path.stem, known)}; give a path "
                    f"or the name of a built-in example: {', '.join(known) or '(none found)'}")
