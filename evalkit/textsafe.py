"""Untrusted text (API labels, server messages, file contents) made safe to store and to show.

- :func:`safe_text`: valid Unicode that encodes as UTF-8 (lone surrogates become U+FFFD), for
  JSON, SQLite and HTML files.
- :func:`printable`: additionally escapes control characters (ESC/OSC sequences, NUL, C1) and
  bidirectional overrides as ``\\x1b``/``\\u202e``, for the terminal and one-line messages.
- :func:`safe_json`: :func:`safe_text` applied to every string (and key) of a JSON-like value.
- :func:`scalar_text`: any JSON value as text: a string as is, anything else as canonical JSON.
"""
from __future__ import annotations

import json
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def safe_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (so it always encodes as UTF-8)."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def _escape(m: re.Match) -> str:
    ch = m.group(0)
    if "\ud800" <= ch <= "\udfff":
        return "\ufffd"
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: Any) -> str:
    """``str(text)`` safe for a terminal: control characters (except tab and newline) and bidi
    overrides escaped as ``\\xNN``/``\\uNNNN``, lone surrogates replaced by U+FFFD."""
    text = str(text)
    return _UNPRINTABLE.sub(_escape, text)


def one_line(text: Any) -> str:
    """:func:`printable` with newlines and tabs escaped too (for one-line messages)."""
    return printable(text).replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def safe_json(obj: Any) -> Any:
    """A copy of a JSON-like value whose strings (and keys) are all :func:`safe_text`."""
    if isinstance(obj, str):
        return safe_text(obj)
    if isinstance(obj, dict):
        return {safe_text(k) if isinstance(k, str) else k: safe_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [safe_json(v) for v in obj]
    return obj


def scalar_text(value: Any) -> str | None:
    """A value an API sent where text was expected (e.g. a model version), as safe text:
    None stays None, a string is kept, anything else becomes canonical JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return safe_text(value)
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return safe_text(text)
