"""Redaction of secrets from server text, applied before anything is parsed, shortened, stored
or shown: the engine redacts every response body and header value on arrival.

A secret is removed wherever it appears whole, and also where any piece of it of at least
:data:`MIN_PIECE` characters appears (a server that echoes a header and cuts it short, or an error
message cut by someone else), in its plain, JSON-escaped and URL-encoded spellings.
"""
from __future__ import annotations

import json
from typing import Iterable, Sequence, TypeVar
from urllib.parse import quote, quote_plus

MIN_PIECE = 8
MASK = "***"
T = TypeVar("T", str, bytes)


def secret_forms(secrets: Iterable[str]) -> list[str]:
    """Every spelling of each secret a server may echo: as is, JSON-escaped, URL-encoded."""
    forms: list[str] = []
    for s in secrets:
        if not s:
            continue
        for f in (s, json.dumps(s)[1:-1], json.dumps(s, ensure_ascii=False)[1:-1],
                  json.dumps(s)[1:-1].replace("/", "\\/"), quote(s, safe=""), quote_plus(s, safe="")):
            if f and f not in forms:
                forms.append(f)
    return sorted(forms, key=len, reverse=True)


def _spans(text, secret) -> set[tuple[int, int]]:
    """(start, end) of every run of ``text`` that is a piece of ``secret`` of >= MIN_PIECE chars,
    extended as far as it keeps matching (or of the whole secret when it is shorter)."""
    n, out = len(secret), set()
    if n < MIN_PIECE:
        pos = text.find(secret)
        while pos != -1:
            out.add((pos, pos + n))
            pos = text.find(secret, pos + 1)
        return out
    for q in range(n - MIN_PIECE + 1):
        gram = secret[q:q + MIN_PIECE]
        pos = text.find(gram)
        while pos != -1:
            start, sq = pos, q
            while start > 0 and sq > 0 and text[start - 1] == secret[sq - 1]:
                start, sq = start - 1, sq - 1
            end, eq = pos + MIN_PIECE, q + MIN_PIECE
            while end < len(text) and eq < n and text[end] == secret[eq]:
                end, eq = end + 1, eq + 1
            out.add((start, end))
            pos = text.find(gram, pos + 1)
    return out


def _redact(text: T, secrets: Sequence[T], mask: T) -> T:
    spans: set[tuple[int, int]] = set()
    for s in secrets:
        spans |= _spans(text, s)
    if not spans:
        return text
    pieces, last = [], 0
    for start, end in sorted(spans):
        if end <= last:
            continue
        if start > last:
            pieces.append(text[last:start])
            pieces.append(mask)
        elif not pieces or pieces[-1] != mask:
            pieces.append(mask)
        last = end
    pieces.append(text[last:])
    return text[:0].join(pieces)


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (or piece of one, see module doc) replaced by '***'."""
    forms = secret_forms(secrets)
    return _redact(text, forms, MASK) if forms and text else text


def redact_bytes(data: bytes, secrets: Iterable[str]) -> bytes:
    """:func:`redact_text` for raw bytes (a response body), on the UTF-8 spellings of the secrets."""
    forms = [f.encode("utf-8", "surrogatepass") for f in secret_forms(secrets)]
    return _redact(data, forms, MASK.encode()) if forms and data else data
