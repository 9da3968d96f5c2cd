"""Strict validation of TOML tables against a declared set of keys and types."""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError, did_you_mean


def load_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file; a missing file or a syntax error is a one-line ConfigError."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("file not found; expected a TOML file", path=path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", path=path) from None


def check_keys(table: Mapping[str, Any], schema: Mapping[str, type | tuple[type, ...]],
               *, where: str, required: tuple[str, ...] = ()) -> None:
    """Fail on unknown keys (with a suggestion), missing required keys and wrong types."""
    for key, value in table.items():
        if key not in schema:
            raise ConfigError(
                f"unknown key '{key}'{did_you_mean(key, schema)}; "
                f"expected one of: {', '.join(sorted(schema))}", path=where)
        expected = schema[key]
        if expected is float:
            expected = (int, float)
        if isinstance(value, bool) and expected in (int, (int, float)):
            raise ConfigError(f"key '{key}' must be a number, got a boolean", path=where)
        if not isinstance(value, expected):
            names = "/".join(t.__name__ for t in (expected if isinstance(expected, tuple) else (expected,)))
            raise ConfigError(f"key '{key}' must be {names}, got {type(value).__name__} {value!r}", path=where)
    for key in required:
        if key not in table:
            raise ConfigError(f"missing required key '{key}'", path=where)
