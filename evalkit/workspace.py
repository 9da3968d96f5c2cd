"""The workspace: one directory holding every artifact of a run, plus a SQLite catalog.

Layout (created on demand)::

    WORKSPACE/
      catalog.sqlite      what was produced, from which inputs, with which settings
      minisets/           mini-set manifests (JSON)
      models/             trained probes (.keras / .joblib, history, metadata)
      predictions/        class probabilities of each probe on the evaluation pool (.npz)
      sets/               discovered evaluation sets
      explanations/       Grad-CAM maps and overlays
      scores/             API responses cache and scores
      reports/            rendered reports

Every stage asks the catalog ``get(kind, key)`` before working, and ``record`` after, so a
re-run skips finished work and an interrupted run resumes. An artifact is recorded only once
its files are completely written (write to a temporary name, then rename), so a killed
process never leaves a half-written artifact that looks finished.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .errors import DataError, UserError
from .textsafe import safe_json, safe_text

DEFAULT_WORKSPACE_ENV = "EVALKIT_WORKSPACE"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS artifacts (
    kind     TEXT NOT NULL,
    key      TEXT NOT NULL,
    path     TEXT NOT NULL,
    inputs   TEXT NOT NULL,
    settings TEXT NOT NULL,
    meta     TEXT NOT NULL,
    created  REAL NOT NULL,
    PRIMARY KEY (kind, key)
);
"""


@dataclass(frozen=True)
class Artifact:
    """One catalog row. ``path`` is relative to the workspace root."""

    kind: str
    key: str
    path: str
    inputs: dict[str, Any]
    settings: dict[str, Any]
    meta: dict[str, Any]
    created: float


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: the same object always gives the same text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@contextmanager
def sqlite_errors(path: Path, what: str) -> Iterator[None]:
    """Turn an unreadable SQLite file (corrupt, truncated, not a database, locked too long) into
    a one-line DataError naming ``path``."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        raise DataError(f"not a readable {what} ({type(exc).__name__}: {exc}); move it away to start "
                        "afresh, or restore it", path=path) from None


class Catalog:
    """SQLite catalog of artifacts, keyed by (kind, key). An unreadable file is a DataError."""

    def __init__(self, db_path: Path):
        self.db_path = Path(db_path)
        with self._connect() as con:
            con.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with sqlite_errors(self.db_path, "workspace catalog"):
            con = sqlite3.connect(self.db_path, timeout=60)
            try:
                con.execute("PRAGMA journal_mode=WAL")
                with con:
                    yield con
            finally:
                con.close()

    def record(self, kind: str, key: str, path: str | Path, *, inputs: dict | None = None,
               settings: dict | None = None, meta: dict | None = None) -> Artifact:
        """Insert or replace the artifact (kind, key)."""
        art = Artifact(kind, key, str(path), inputs or {}, settings or {}, meta or {}, time.time())
        with self._connect() as con:
            con.execute(
                "INSERT OR REPLACE INTO artifacts VALUES (?,?,?,?,?,?,?)",
                (kind, key, art.path, canonical_json(safe_json(art.inputs)),
                 canonical_json(safe_json(art.settings)), canonical_json(safe_json(art.meta)), art.created))
        return art

    def get(self, kind: str, key: str) -> Artifact | None:
        with self._connect() as con:
            row = con.execute("SELECT * FROM artifacts WHERE kind=? AND key=?", (kind, key)).fetchone()
        return self._artifact(row) if row else None

    def list(self, kind: str | None = None) -> list[Artifact]:
        with self._connect() as con:
            if kind is None:
                rows = con.execute("SELECT * FROM artifacts ORDER BY kind, key").fetchall()
            else:
                rows = con.execute("SELECT * FROM artifacts WHERE kind=? ORDER BY key", (kind,)).fetchall()
        return [self._artifact(r) for r in rows]

    def delete(self, kind: str, key: str) -> None:
        with self._connect() as con:
            con.execute("DELETE FROM artifacts WHERE kind=? AND key=?", (kind, key))


    def _artifact(self, row) -> Artifact:
        try:
            kind, key, path, inputs, settings, meta, created = row
            return Artifact(kind, key, path, json.loads(inputs), json.loads(settings), json.loads(meta),
                            float(created))
        except (TypeError, ValueError) as exc:
            raise DataError(f"catalog row {row[:2]!r} is damaged ({exc})", path=self.db_path) from None


class Workspace:
    """A run directory with its catalog. Constructing it creates the directory."""

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()
        if self.root.exists() and not self.root.is_dir():
            raise UserError("workspace path exists and is not a directory", path=self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog(self.root / "catalog.sqlite")

    @classmethod
    def from_option(cls, path: str | Path | None) -> "Workspace":
        """The workspace given by --workspace, else $EVALKIT_WORKSPACE, else ./workspace."""
        return cls(path or os.environ.get(DEFAULT_WORKSPACE_ENV) or "workspace")

    def dir(self, kind: str) -> Path:
        """The folder for one kind of artifact (created on demand)."""
        d = self.root / kind
        d.mkdir(parents=True, exist_ok=True)
        return d

    def abspath(self, artifact: Artifact) -> Path:
        return self.root / artifact.path

    def relpath(self, path: Path) -> str:
        return str(Path(path).resolve().relative_to(self.root))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` as UTF-8 (lone surrogates from untrusted text become U+FFFD)."""
    atomic_write_bytes(path, safe_text(text).encode("utf-8"))
