"""Runs: every scoring of an API is kept as a run (id, time, the API's reported model version).

The latest run is ``scores/{api}/scores.json`` (what the fingerprint and the report read); each
run is also archived as ``scores/{api}/runs/{run_id}/scores.json`` (with ``plan.npz`` when the
query planner chose the images) and recorded in the catalog (kind ``scores-run``, key
``{api}/{run_id}``). ``evalkit score --new-run`` queries afresh: the response cache is not read
for answers stored before the run started (it is still written), and a planned API re-sends
exactly the images and ablated copies of its stored plan (:func:`replay_plan`).
"""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass

from ..artifacts import SCORES, read_scores
from ..errors import UserError, did_you_mean
from ..textsafe import safe_json
from ..workspace import Workspace, atomic_write_text
from .cache import ResponseCache

RUNS = "scores-run"


@dataclass(frozen=True)
class RunInfo:
    """One archived run of an API."""

    api: str
    id: str
    time: float              # unix time the run was written
    new_run: bool            # queried afresh (cache not read)
    model_versions: tuple[str, ...]
    queries_sent: int
    cache_hits: int
    n_images: int            # clean images answered (status 'scored')
    planned: bool
    path: str                # scores.json, relative to the workspace

    @property
    def when(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.time))


class FreshReadCache(ResponseCache):
    """The response cache for a new run: answers stored before ``since`` are not read (so every
    image is queried again), answers of this run are; every answer is written as usual."""

    def __init__(self, path, since: float, **kwargs):
        super().__init__(path, **kwargs)
        self.since = float(since)

    def get_many(self, scope, image_hashes):
        return {h: r for h, r in super().get_many(scope, image_hashes).items() if r.time >= self.since}


def open_cache(ws: Workspace, new_run: bool = False) -> ResponseCache:
    """The workspace's response cache (``scores/cache.sqlite``); write-only for old rows on a new run."""
    path = ws.dir(SCORES) / "cache.sqlite"   # = writer.cache_path
    return FreshReadCache(path, time.time()) if new_run else ResponseCache(path)


def _new_id(ws: Workspace, api: str, now: float) -> str:
    base = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    run_id, n = base, 1
    while ws.catalog.get(RUNS, f"{api}/{run_id}") is not None:
        n += 1
        run_id = f"{base}-{n}"
    return run_id


def run_block(ws: Workspace, api: str, *, new_run: bool, versions) -> dict:
    """The ``run`` field of a scores document: a fresh id (UTC time, unique per API) and time.
    Scores written before runs existed (no ``run`` field) are archived first as a run of their own."""
    _archive_legacy(ws, api)
    now = time.time()
    return {"id": _new_id(ws, api, now), "time": now, "new_run": bool(new_run), "model_versions": sorted(versions)}


def _archive_legacy(ws: Workspace, api: str) -> None:
    art = ws.catalog.get(SCORES, api)
    if art is None or not ws.abspath(art).is_file():
        return
    doc = read_scores(ws.abspath(art))
    if "run" not in doc:
        doc["run"] = {"id": _new_id(ws, api, art.created), "time": art.created, "new_run": False,
                      "model_versions": sorted(doc.get("api_versions") or [])}
        archive_run(ws, doc)


def archive_run(ws: Workspace, doc: dict) -> RunInfo:
    """Copy the scores document (and its plan ledger) into ``runs/{id}/`` and record the run."""
    from .planned import plan_path

    api, run = doc["api"], doc["run"]
    folder = ws.dir(SCORES) / api / "runs" / run["id"]
    atomic_write_text(folder / "scores.json", json.dumps(safe_json(doc), indent=1))
    if doc.get("plan") and plan_path(ws, api).is_file():
        shutil.copyfile(plan_path(ws, api), folder / "plan.npz")
    meta = {"time": run["time"], "new_run": run["new_run"], "model_versions": run["model_versions"],
            "queries_sent": int(doc.get("queries_sent") or 0), "cache_hits": int(doc.get("cache_hits") or 0),
            "n_images": sum(1 for r in doc.get("images", []) if r.get("status") == "scored"),
            "planned": bool(doc.get("plan"))}
    art = ws.catalog.record(RUNS, f"{api}/{run['id']}", ws.relpath(folder / "scores.json"),
                            inputs={"sets": doc.get("sets"), "pool": doc.get("pool")}, meta=meta)
    return _info(api, run["id"], art)


def _info(api: str, run_id: str, art) -> RunInfo:
    m = art.meta
    return RunInfo(api, run_id, float(m["time"]), bool(m["new_run"]), tuple(m.get("model_versions") or ()),
                   int(m["queries_sent"]), int(m["cache_hits"]), int(m["n_images"]), bool(m["planned"]),
                   art.path)


def list_runs(ws: Workspace, api: str) -> list[RunInfo]:
    """The runs of ``api``, oldest first; UserError naming the APIs with runs when it has none."""
    rows = [a for a in ws.catalog.list(RUNS) if a.key.rsplit("/", 1)[0] == api]
    if not rows:
        apis = sorted({a.key.rsplit("/", 1)[0] for a in ws.catalog.list(RUNS)})
        raise UserError(f"no runs of API {api!r} in workspace {ws.root}{did_you_mean(api, apis)}"
                        + (f"; APIs with runs: {', '.join(apis)}" if apis else "; score it first"))
    return sorted((_info(api, a.key.rsplit("/", 1)[1], a) for a in rows), key=lambda r: (r.time, r.id))


def pick_runs(ws: Workspace, api: str, run_a: str | None = None, run_b: str | None = None
              ) -> tuple[RunInfo, RunInfo]:
    """The two runs to compare: those named, else the last two."""
    runs = list_runs(ws, api)
    by_id = {r.id: r for r in runs}
    if (run_a is None) != (run_b is None):
        raise UserError("give two run ids (RUN_A RUN_B) or none (the last two runs)")
    if run_a is None:
        if len(runs) < 2:
            raise UserError(f"API {api!r} has {len(runs)} run; score it again with "
                            f"'evalkit score --api ... --new-run' to compare two runs")
        return runs[-2], runs[-1]
    for r in (run_a, run_b):
        if r not in by_id:
            raise UserError(f"unknown run {r!r} of API {api!r}{did_you_mean(r, list(by_id))}; "
                            f"runs: {', '.join(by_id)}")
    if run_a == run_b:
        raise UserError(f"RUN_A and RUN_B are the same run {run_a!r}")
    return by_id[run_a], by_id[run_b]


def load_run(ws: Workspace, run: RunInfo) -> dict:
    """The scores document of an archived run."""
    return read_scores(ws.root / run.path)


def run_plan(ws: Workspace, run: RunInfo):
    """The DrawLedger a planned run was weighted with (None for an unplanned run)."""
    from ..planning import DrawLedger

    path = ws.root / run.path
    ledger = path.with_name("plan.npz")
    return DrawLedger.from_bytes(ledger.read_bytes()) if run.planned and ledger.is_file() else None


def new_run_limit(ws: Workspace, api: str, limit: int | None) -> int | None:
    """The planner budget of a new run given no --max-queries: like the latest run (its stored plan
    when it was planned, every image when it was not), so the two runs are paired."""
    art = ws.catalog.get(SCORES, api)
    if art is None or not (ws.root / art.path).is_file():
        return limit
    plan = read_scores(ws.root / art.path).get("plan")
    return int(plan.get("max_queries") or limit or 1) if plan else None
