"""SQLite response cache: one row per (api, endpoint, model, version, image hash, params hash),
and the spend ledger: one row per paid query (table ``spend``: api, image hash, cost, time, pid).

A row is written only once the final answer (or a final failure) for the image is known, and
committed at once (WAL) together with its ledger row, so a process killed at any moment loses
at most the requests in flight, a re-run never sends a query whose answer is stored, and the
ledger holds what every run really paid. Rows hold no secrets: the engine redacts bodies before
parsing. Any value is stored as text (odd types as canonical JSON), so a put never fails on what
a server sent. An unreadable file is a DataError naming it.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from ..errors import DataError
from ..textsafe import safe_json, scalar_text
from ..workspace import sqlite_errors

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    api TEXT NOT NULL, endpoint TEXT NOT NULL, model TEXT NOT NULL, version TEXT NOT NULL,
    image_hash TEXT NOT NULL, params_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('answer', 'failure')),
    raw TEXT, reason TEXT, latency_s REAL, time REAL NOT NULL, api_version TEXT,
    PRIMARY KEY (api, endpoint, model, version, image_hash, params_hash)
);
CREATE TABLE IF NOT EXISTS spend (
    api TEXT NOT NULL, image_hash TEXT NOT NULL, cost REAL NOT NULL, time REAL NOT NULL, pid INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS spend_api ON spend (api);
"""


@dataclass(frozen=True)
class CacheScope:
    """Everything but the image that identifies a query."""

    api: str
    endpoint: str
    model: str
    version: str
    params_hash: str


@dataclass(frozen=True)
class CachedResponse:
    image_hash: str
    status: str               # "answer" | "failure"
    raw: Any                  # the image's raw JSON answer (None for failures)
    reason: str | None
    latency_s: float | None
    time: float
    api_version: str | None


class ResponseCache:
    """Thread-safe; one connection guarded by a lock, each write committed immediately."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with sqlite_errors(self.path, "scoring cache"):
            self._con = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
            try:
                self._con.execute("PRAGMA journal_mode=WAL")
                self._con.execute("PRAGMA synchronous=NORMAL")
                with self._con:
                    self._con.executescript(_SCHEMA)
            except sqlite3.DatabaseError:
                self._con.close()
                raise

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> "ResponseCache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def get_many(self, scope: CacheScope, image_hashes: Iterable[str]) -> dict[str, CachedResponse]:
        """Stored responses for those of ``image_hashes`` that have one."""
        wanted = list(dict.fromkeys(image_hashes))
        out: dict[str, CachedResponse] = {}
        with self._lock, sqlite_errors(self.path, "scoring cache"):
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                rows = self._con.execute(
                    f"SELECT image_hash, status, raw, reason, latency_s, time, api_version FROM responses "
                    f"WHERE api=? AND endpoint=? AND model=? AND version=? AND params_hash=? "
                    f"AND image_hash IN ({','.join('?' * len(chunk))})",
                    (scope.api, scope.endpoint, scope.model, scope.version, scope.params_hash, *chunk),
                ).fetchall()
                for h, status, raw, reason, lat, t, ver in rows:
                    try:
                        value = json.loads(raw) if raw is not None else None
                    except (TypeError, ValueError, RecursionError) as exc:
                        raise DataError(f"cached answer of image {h!r} is damaged ({exc}); delete the file "
                                        "to query again", path=self.path) from None
                    out[h] = CachedResponse(h, status, value, reason, lat, t, ver)
        return out

    def put(self, scope: CacheScope, image_hash: str, *, status: str, raw: Any = None,
            reason: Any = None, latency_s: float | None = None, api_version: Any = None,
            cost: float | None = None) -> None:
        """Store one final response (committed before returning); with ``cost``, also the ledger
        row of this paid query, in the same transaction."""
        now = time.time()
        with self._lock, sqlite_errors(self.path, "scoring cache"), self._con:
            self._con.execute(
                "INSERT OR REPLACE INTO responses VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (scope.api, scope.endpoint, scope.model, scope.version, image_hash, scope.params_hash,
                 status, _raw_text(raw), scalar_text(reason), _number(latency_s), now,
                 scalar_text(api_version)))
            if cost is not None:
                self._con.execute("INSERT INTO spend VALUES (?,?,?,?,?)",
                                  (scope.api, image_hash, float(cost), now, os.getpid()))

    def spent(self, api: str) -> tuple[int, float]:
        """(paid queries, total cost) of ``api`` in the ledger, over every run."""
        with self._lock, sqlite_errors(self.path, "scoring cache"):
            n, cost = self._con.execute("SELECT COUNT(*), TOTAL(cost) FROM spend WHERE api=?", (api,)).fetchone()
        return int(n), float(cost)

    def count(self, scope: CacheScope | None = None) -> int:
        with self._lock, sqlite_errors(self.path, "scoring cache"):
            if scope is None:
                return self._con.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
            return self._con.execute(
                "SELECT COUNT(*) FROM responses WHERE api=? AND endpoint=? AND model=? AND version=? "
                "AND params_hash=?", (scope.api, scope.endpoint, scope.model, scope.version,
                                      scope.params_hash)).fetchone()[0]


def _raw_text(raw: Any) -> str | None:
    """A raw answer as JSON text (ASCII; lone surrogates become U+FFFD; odd values as strings)."""
    if raw is None:
        return None
    try:
        raw = safe_json(raw)
    except RecursionError:
        pass  # ensure_ascii below still gives storable text
    return json.dumps(raw, separators=(",", ":"), sort_keys=True, default=str)


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None
