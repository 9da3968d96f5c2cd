"""Scoring with a query budget: the planner (evalkit.planning) chooses which eval-set images and
which ablated copies to send; this module turns its requests into engine queries (cache first),
answers into labels, and writes ``scores.json`` with the plan and ``plan.npz`` (design ledger)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

import zipfile

from ..artifacts import SCORES, read_scores
from ..errors import DataError
from ..workspace import Workspace, atomic_write_bytes
from .adapters.base import ApiAnswer, ImageItem, image_key
from .engine import QueryResult

PLAN_FILE = "plan.npz"
DEFAULT_MAX_QUERIES = 1000


def default_max_queries(given, config, ablations) -> int | None:
    """The planner budget to use: the one given, else the API file's, else 1000 when ablations
    are scored (a fingerprint run), else None (send everything). "all" -> None."""
    value = given if given is not None else config.max_queries
    if value is None:
        value = DEFAULT_MAX_QUERIES if ablations else "all"
    return None if value == "all" else int(value)


def plan_path(ws: Workspace, api: str):
    return ws.dir(SCORES) / api / PLAN_FILE


def previous_plan(ws: Workspace, api: str, pool: str, mapper) -> tuple[Any, dict, dict, int, int]:
    """(ledger, clean answers, ablation answers, spent queries, rounds) of this API's last planned
    run on ``pool``, or empty state. Earlier answers are re-read from scores.json (labels are
    re-mapped, so a changed label table applies) and cost nothing again."""
    from ..planning import DrawLedger

    doc = _planned_scores(ws, api)
    path = plan_path(ws, api)
    if doc is None:
        return None, {}, {}, 0, 0
    plan = doc.get("plan") or {}
    if doc.get("pool") != pool or not plan:
        return None, {}, {}, 0, 0

    def answers(recs):
        return {int(r["index"]): r["label"] for r in recs if r.get("status") == "scored"}

    try:
        ledger = DrawLedger.from_bytes(path.read_bytes())
    except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"not a readable design ledger ({type(exc).__name__}: {exc})", path=path) from None
    abl = {t: answers(rs) for t, rs in (doc.get("ablations") or {}).items()}
    return (ledger, answers(doc.get("images", [])), abl, int(plan.get("spent_queries", 0)),
            len(plan.get("rounds", [])))


class PlannedAsk:
    """The planner's ``ask``: build each requested image (clean or ablated), take cached answers
    for free, send the rest through the engine while the money budget lasts, keep every record."""

    def __init__(self, engine, images: np.ndarray, seed: int, mapper, adapter, max_paid: int | None,
                 ablate: Callable):
        self.engine, self.images, self.seed, self.mapper = engine, images, seed, mapper
        self.adapter, self.max_paid, self.ablate = adapter, max_paid, ablate
        self.records: dict[str, dict[int, dict]] = {}
        self.fresh: dict[str, QueryResult] = {}
        self.cache_hits = 0
        self.paid = 0

    def _image(self, i: int, t: str) -> np.ndarray:
        img = self.images[i:i + 1]
        return img[0] if t == "" else self.ablate(img, t, self.seed, [i])[0]

    def __call__(self, requests):
        from .stage import _record  # one record format for both ways of scoring

        items = [(i, t, self._image(i, t)) for i, t in requests]
        keys = [image_key(im) for _, _, im in items]
        cached = self.engine.cached(list(dict.fromkeys(keys)))
        to_send, seen = [], set()
        for (i, t, im), k in zip(items, keys):
            if k not in cached and k not in seen:
                seen.add(k)
                to_send.append(ImageItem(k, im))
        allowed = len(to_send)
        if self.max_paid is not None:
            allowed = max(0, min(allowed, self.max_paid - self.paid))
        fresh = self.engine.run(to_send[:allowed]) if allowed else {}
        self.fresh.update(fresh)
        self.cache_hits += sum(1 for k in set(keys) if k in cached)
        paid = sum(1 for r in fresh.values() if isinstance(r.outcome, ApiAnswer) or r.outcome.cacheable)
        self.paid += paid
        over = {it.key for it in to_send[allowed:]}
        out = {}
        for (i, t, _), k in zip(items, keys):
            rec = _record(int(i), k, cached.get(k) or fresh.get(k), k in over, self.mapper, self.adapter)
            self.records.setdefault(t, {})[int(i)] = rec
            if rec["status"] == "scored":
                out[(int(i), t)] = rec["label"]
        return out, paid


def max_paid_queries(budget: float | None, price_per_1000: float) -> int | None:
    """Queries a money budget pays for (None = no money cap); see :func:`.budget.paid_query_cap`."""
    from .budget import paid_query_cap

    return paid_query_cap(budget, None, 0.0, price_per_1000)


def save_ledger(ws: Workspace, api: str, ledger) -> None:
    atomic_write_bytes(plan_path(ws, api), ledger.to_bytes())


def score_with_planner(ws: Workspace, config, split, pool: str, sets, ablations, *, max_queries: int,
                       budget: float | None, dry_run: bool, credentials, echo, rounds: int = 4,
                       wait: bool = False, new_run: bool = False):
    """Run the query planner for one API and write its scores (see ``score_api``: the same lock,
    spend ledger, budgets and fail-fast, through :func:`evalkit.scoring.writer.open_engine`)."""
    from ..planning import load_planning_data
    from .labels import LabelMapper
    from .stage import params_hash
    from .writer import open_engine

    adapter = config.adapter_instance()
    mapper = LabelMapper(split.class_names, config.label_overrides)
    data = load_planning_data(ws, ablations, split.images, pool=pool)
    with open_engine(ws, config, adapter, credentials, _scope(config, params_hash), lock=not dry_run,
                     wait=wait, echo=echo, new_run=new_run) as engine:
        return _run_planner(ws, engine, config, split, pool, sets, ablations, data, mapper, adapter,
                            max_queries=max_queries, budget=budget, dry_run=dry_run, credentials=credentials,
                            echo=echo, rounds=rounds, new_run=new_run)


def _scope(config, params_hash):
    from .cache import CacheScope

    return CacheScope(config.name, config.endpoint, config.model, config.version, params_hash(config))


def _run_planner(ws, engine, config, split, pool, sets, ablations, data, mapper, adapter, *, max_queries, budget,
                 dry_run, credentials, echo, rounds, new_run=False):
    from ..planning import QueryPlanner, plan_summary
    from ..probes.transforms import ablate_pool_images
    from .stage import ScoringPlan, _preflight, _write_scores
    from .writer import run_query_cap

    ledger, answers, abl, spent, done_rounds = previous_plan(ws, config.name, pool, mapper)
    planner = QueryPlanner(data, max_queries=max_queries, rounds=rounds, seed=config.seed)
    for line in plan_summary(planner, config.price_per_1000, spent):
        echo(line)
    remaining = max(max_queries - spent, 0)
    plan = ScoringPlan(config.name, tuple(s["id"] for s in sets), pool, int(data.population.size),
                       tuple(ablations), 0, 0, remaining, remaining, config.price_per_1000,
                       remaining * config.price_per_1000 / 1000, remaining * config.price_per_1000 / 1000)
    cap = run_query_cap(engine, config, budget, echo)   # --budget and budget_total, also in --dry-run
    if cap is not None and cap < remaining:
        echo(f"  the budget caps this run at {cap} paid queries (of the plan's {remaining})")
    if dry_run:
        return plan
    _preflight(adapter, ImageItem("preflight", split.images[0]), credentials, config)
    ask = PlannedAsk(engine, split.images, config.seed, mapper, adapter, cap,
                     lambda im, t, seed, idx: ablate_pool_images(t, im, idx, seed=seed))
    result = planner.run(ask, ledger=ledger, answers=answers, ablation_answers=abl, spent=spent,
                         first_round=done_rounds, echo=echo)
    spend = engine.cache.spent(config.name)
    save_ledger(ws, config.name, result.ledger)
    records = _merge_records(ws, config.name, ask.records)
    acc = result.accuracy.to_dict(list(split.class_names)) if result.accuracy else None
    prev_rounds = _previous_rounds(ws, config.name) if done_rounds else []
    extra = {"plan": {"max_queries": max_queries, "spent_queries": result.spent_queries,
                      "queries_this_run": result.queries, "stopped": result.stopped,
                      "rounds": prev_rounds + list(result.rounds), "verdicts": result.verdicts,
                      "population": int(data.population.size)},
             "pool_accuracy": acc}
    summary = ScoringPlan(plan.api, plan.sets, pool, plan.n_images, plan.ablations, 0, ask.cache_hits,
                          result.queries, result.queries, config.price_per_1000,
                          result.queries * config.price_per_1000 / 1000, plan.full_cost)
    art = _write_scores(ws, config, sets, pool, split, records, summary, ask.fresh, engine.http_requests,
                        spend, extra=extra, new_run=new_run)
    echo(f"{config.name}: planner sent {result.queries} queries (cost "
         f"{result.queries * config.price_per_1000 / 1000:.4f}), {result.spent_queries} in all runs of "
         f"this plan; stopped: {result.stopped}")
    return art


def _merge_records(ws: Workspace, api: str, new: dict[str, dict[int, dict]]) -> dict[str, list[dict]]:
    """Records of earlier planned runs plus this run's (this run wins), per variant, by pool index."""
    doc = _planned_scores(ws, api)
    old: dict[str, dict[int, dict]] = {}
    if doc is not None:
        if doc.get("plan"):
            old[""] = {int(r["index"]): r for r in doc.get("images", [])}
            for t, rs in (doc.get("ablations") or {}).items():
                old[t] = {int(r["index"]): r for r in rs}
    variants = {"": None, **{t: None for t in (*old, *new) if t}}
    return {v: [r for _, r in sorted({**old.get(v, {}), **new.get(v, {})}.items())] for v in variants}


def _previous_rounds(ws: Workspace, api: str) -> list[dict]:
    doc = _planned_scores(ws, api) or {}
    return list((doc.get("plan") or {}).get("rounds", []))


def _planned_scores(ws: Workspace, api: str) -> dict | None:
    """The API's stored scores when an earlier planned run left its design ledger, else None."""
    art = ws.catalog.get(SCORES, api)
    if art is None or not plan_path(ws, api).is_file() or not ws.abspath(art).is_file():
        return None
    return read_scores(ws.abspath(art))
