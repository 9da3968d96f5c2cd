"""Readers and writers of the files stages hand to each other: predictions (.npz), evaluation
sets and scores (JSON). A missing, truncated or corrupt file raises DataError naming its path."""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import DataError, UserError, did_you_mean
from ..textsafe import safe_json
from ..workspace import Artifact, Workspace, atomic_write_bytes, atomic_write_text
from .keys import EVALSET, MODEL, PREDICTIONS, SCORES, ModelKey, Pool, PredictionsKey, evalset_path, scores_path


@dataclass(frozen=True, eq=False)
class Predictions:
    """One predictions file: ``probs`` float16 (N, C), ``labels`` int64 (N,), ``ids`` str (N,)."""

    probs: np.ndarray
    labels: np.ndarray
    ids: np.ndarray


def predictions_bytes(probs: np.ndarray, labels: np.ndarray, ids: np.ndarray) -> bytes:
    """The npz bytes of a predictions file (probabilities stored as float16)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, probs=np.asarray(probs).astype(np.float16),
                        labels=np.asarray(labels).astype(np.int64), ids=np.asarray(ids).astype(str))
    return buf.getvalue()


def read_predictions(path: Path, raw: bytes | None = None) -> Predictions:
    """Read a predictions npz (from ``raw`` bytes when given); DataError naming ``path`` if unreadable."""
    path = Path(path)
    try:
        if raw is None:
            raw = path.read_bytes()
        with np.load(io.BytesIO(raw), allow_pickle=False) as z:
            out = Predictions(np.asarray(z["probs"]), np.asarray(z["labels"]).astype(np.int64),
                              np.asarray(z["ids"]).astype(str))
    except FileNotFoundError:
        raise DataError("recorded predictions file is missing", path=path) from None
    except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"not a readable predictions npz with probs/labels/ids ({type(exc).__name__}: {exc})",
                        path=path) from None
    if out.probs.ndim != 2 or not (len(out.probs) == len(out.labels) == len(out.ids)):
        raise DataError(f"predictions have shapes probs {out.probs.shape}, labels {out.labels.shape}, "
                        f"ids {out.ids.shape}; expected (N, C), (N,), (N,)", path=path)
    return out


def write_predictions_file(ws: Workspace, key: PredictionsKey, probs, labels, ids, *,
                           inputs: dict, meta: dict) -> Artifact:
    """Write and record the predictions of ``key`` (kind ``predictions``)."""
    path = ws.root / key.path
    atomic_write_bytes(path, predictions_bytes(probs, labels, ids))
    return ws.catalog.record(PREDICTIONS, str(key), key.path, inputs=inputs, meta=meta)


def predictions_rows(ws: Workspace, pool: str | Pool | None = None) -> list[tuple[PredictionsKey, Artifact]]:
    """Recorded predictions (of ``pool`` only, when given), sorted by key."""
    want = None if pool is None else Pool.parse(pool)
    rows = [(PredictionsKey.parse(a.key), a) for a in ws.catalog.list(PREDICTIONS)]
    return sorted(((k, a) for k, a in rows if want is None or k.pool == want), key=lambda r: r[0])


def load_pool_predictions(ws: Workspace, pool: str | Pool = "cifar10/test") -> dict[tuple[str, int], np.ndarray]:
    """All recorded probabilities on ``pool``: ``{(probe, seed): probs (N, C) float16}``."""
    return {(k.model.probe, k.model.seed): read_predictions(ws.abspath(a)).probs
            for k, a in predictions_rows(ws, pool)}


def load_pool_labels(ws: Workspace, pool: str | Pool = "cifar10/test") -> tuple[np.ndarray, np.ndarray]:
    """(labels, ids) of a pool, read from any stored predictions file on it."""
    for _, art in predictions_rows(ws, pool):
        p = read_predictions(ws.abspath(art))
        return p.labels, p.ids
    raise UserError(f"no predictions on pool {str(pool)!r} in workspace {ws.root}")


def model_rows(ws: Workspace) -> list[tuple[ModelKey, Artifact]]:
    """Recorded probe runs, sorted by (probe, seed)."""
    return sorted(((ModelKey.parse(a.key), a) for a in ws.catalog.list(MODEL)), key=lambda r: r[0])


# -- evaluation sets ----------------------------------------------------------------------------

def _read_doc(path: Path, what: str, required: tuple[str, ...]) -> dict:
    """A JSON document with ``required`` fields; DataError naming ``path`` if it is unreadable.
    Its strings are made valid Unicode (lone surrogates -> U+FFFD)."""
    path = Path(path)
    try:
        doc = safe_json(json.loads(path.read_text("utf-8")))
    except FileNotFoundError:
        raise DataError(f"recorded {what} file is missing", path=path) from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise DataError(f"not a readable {what} JSON file ({type(exc).__name__}: {exc})", path=path) from None
    except OSError as exc:
        raise DataError(f"cannot read the {what} file ({exc.strerror or exc})", path=path) from None
    missing = [k for k in required if not isinstance(doc, dict) or k not in doc]
    if missing:
        raise DataError(f"{what} file lacks field(s) {', '.join(missing)}", path=path)
    return doc


def _write_doc(ws: Workspace, kind: str, key: str, rel: str, doc: dict, **record) -> Artifact:
    atomic_write_text(ws.root / rel, json.dumps(safe_json(doc), indent=1))
    return ws.catalog.record(kind, key, rel, **record)


def read_json(path: Path, what: str = "JSON") -> Any:
    """Any workspace JSON file; DataError naming ``path`` when it is missing or unreadable."""
    return _read_doc(path, what, ())


def read_npz(path: Path, what: str = "npz") -> dict[str, np.ndarray]:
    """Every array of a workspace .npz file (no pickles), read at once; DataError naming ``path``
    when it is missing, truncated or corrupt."""
    path = Path(path)
    try:
        with np.load(io.BytesIO(path.read_bytes()), allow_pickle=False) as z:
            return {k: np.asarray(z[k]) for k in z.files}
    except FileNotFoundError:
        raise DataError(f"recorded {what} file is missing", path=path) from None
    except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"not a readable {what} file ({type(exc).__name__}: {exc})", path=path) from None


def read_evalset(path: Path) -> dict:
    """An evaluation-set document (``sets/{id}.json``); DataError naming ``path`` if unreadable."""
    return _read_doc(path, "evaluation set", ("id", "pool", "indices"))


def write_evalset(ws: Workspace, doc: dict, *, inputs: dict, settings: dict, meta: dict) -> Artifact:
    """Write and record one evaluation set (kind ``evalset``, key = its id)."""
    return _write_doc(ws, EVALSET, doc["id"], evalset_path(doc["id"]), doc, inputs=inputs, settings=settings,
                      meta=meta)


def _recorded(ws: Workspace, kind: str, key: str, unknown: str, first: str):
    """The catalog row (kind, key); UserError ``unknown`` + 'did you mean' + the known keys if absent."""
    art = ws.catalog.get(kind, key)
    if art is None:
        known = [a.key for a in ws.catalog.list(kind)]
        raise UserError(f"{unknown} {key!r} in workspace {ws.root}{did_you_mean(key, known)}"
                        + (f"; known: {', '.join(known)}" if known else f"; {first}"))
    return art


def load_evalset(ws: Workspace, set_id: str) -> dict:
    """The stored evaluation set ``set_id``; an unknown id raises UserError with 'did you mean'."""
    return read_evalset(ws.abspath(_recorded(ws, EVALSET, set_id, "unknown evaluation set", "run discovery first")))


def load_evalsets(ws: Workspace, ids: Sequence[str] | None = None, kept: bool = True,
                  pool: str | None = None) -> list[dict]:
    """Evaluation sets by id (in the order given), or when ``ids`` is None every stored set
    (only kept ones when ``kept``, only those of ``pool`` when given), sorted by id.
    Raises UserError when ``ids`` is None and no set qualifies."""
    if ids is not None:
        return [load_evalset(ws, i) for i in ids]
    docs = [read_evalset(ws.abspath(a)) for a in ws.catalog.list(EVALSET)]
    docs = [d for d in docs if (not kept or d.get("kept", True)) and (pool is None or d["pool"] == str(pool))]
    if not docs:
        raise UserError(f"no {'kept ' if kept else ''}evaluation sets{f' on pool {str(pool)!r}' if pool else ''} "
                        f"in workspace {ws.root}; run discovery first")
    return sorted(docs, key=lambda d: d["id"])


def single_pool(docs: list[dict]) -> Pool:
    """The one pool the evaluation sets ``docs`` come from (UserError if several)."""
    pools = sorted({d["pool"] for d in docs})
    if len(pools) != 1:
        raise UserError(f"the evaluation sets come from several pools ({', '.join(pools)}); choose one")
    return Pool.parse(pools[0])


# -- scores ---------------------------------------------------------------------------------------

def read_scores(path: Path) -> dict:
    """A scores document (``scores/{api}/scores.json``); DataError naming ``path`` if unreadable."""
    return _read_doc(path, "scores", ("api", "pool", "images"))


def write_scores(ws: Workspace, doc: dict, *, inputs: dict, settings: dict, meta: dict) -> Artifact:
    """Write and record the scores of API ``doc['api']`` (kind ``scores``, key = API name)."""
    return _write_doc(ws, SCORES, doc["api"], scores_path(doc["api"]), doc, inputs=inputs, settings=settings,
                      meta=meta)


def load_scores(ws: Workspace, api: str) -> dict:
    """The stored scores of ``api``; an unknown API raises UserError naming the scored ones."""
    return read_scores(ws.abspath(_recorded(ws, SCORES, api, "no scores for API", "score it first")))


def model_file(ws: Workspace, key: ModelKey) -> tuple[Artifact, Path]:
    """(catalog row, model.keras or model.joblib) of a trained probe run; UserError naming the
    trained runs when it is not recorded, DataError when its model file is missing."""
    art = _recorded(ws, MODEL, str(key), "no trained probe", "no probe is trained yet")
    folder = ws.abspath(art)
    found = next((f for f in (folder / "model.keras", folder / "model.joblib") if f.is_file()), None)
    if found is None:
        raise DataError(f"model file of probe {str(key)!r} is missing (expected model.keras or model.joblib)",
                        path=folder)
    return art, found
