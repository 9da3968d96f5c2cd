"""SQLite response cache: one row per (api, endpoint, model, version, image hash, params hash).

A row is written only once the final answer (or a final failure) for the image is known, and
committed at once (WAL), so a process killed at any moment loses at most the requests in
flight, and a re-run never sends a query whose answer is stored. Rows hold no secrets.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    api TEXT NOT NULL, endpoint TEXT NOT NULL, model TEXT NOT NULL, version TEXT NOT NULL,
    image_hash TEXT NOT NULL, params_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('answer', 'failure')),
    raw TEXT, reason TEXT, latency_s REAL, time REAL NOT NULL, api_version TEXT,
    PRIMARY KEY (api, endpoint, model, version, image_hash, params_hash)
);
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
        self._con = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=NORMAL")
        with self._con:
            self._con.executescript(_SCHEMA)

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
        with self._lock:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                rows = self._con.execute(
                    f"SELECT image_hash, status, raw, reason, latency_s, time, api_version FROM responses "
                    f"WHERE api=? AND endpoint=? AND model=? AND version=? AND params_hash=? "
                    f"AND image_hash IN ({','.join('?' * len(chunk))})",
                    (scope.api, scope.endpoint, scope.model, scope.version, scope.params_hash, *chunk),
                ).fetchall()
                for h, status, raw, reason, lat, t, ver in rows:
                    out[h] = CachedResponse(h, status, json.loads(raw) if raw is not None else None,
                                            reason, lat, t, ver)
        return out

    def put(self, scope: CacheScope, image_hash: str, *, status: str, raw: Any = None,
            reason: str | None = None, latency_s: float | None = None,
            api_version: str | None = None) -> None:
        """Store one final response (committed before returning)."""
        raw_text = None if raw is None else json.dumps(raw, separators=(",", ":"), sort_keys=True)
        with self._lock, self._con:
            self._con.execute(
                "INSERT OR REPLACE INTO responses VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (scope.api, scope.endpoint, scope.model, scope.version, image_hash, scope.params_hash,
                 status, raw_text, reason, latency_s, time.time(), api_version))

    def count(self, scope: CacheScope | None = None) -> int:
        with self._lock:
            if scope is None:
                return self._con.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
            return self._con.execute(
                "SELECT COUNT(*) FROM responses WHERE api=? AND endpoint=? AND model=? AND version=? "
                "AND params_hash=?", (scope.api, scope.endpoint, scope.model, scope.version,
                                      scope.params_hash)).fetchone()[0]
