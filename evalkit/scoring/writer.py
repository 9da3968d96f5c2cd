"""What both ways of scoring (every image, or the query planner) share around the engine: one
writer per API (the lock), the cache with its spend ledger, and the money cap of a run."""
from __future__ import annotations

from contextlib import contextmanager, nullcontext
from typing import Callable, Iterator

from ..artifacts import SCORES
from .budget import budget_note, paid_query_cap
from .cache import CacheScope
from .engine import ScoringEngine
from .lock import api_lock
from .runs import open_cache


def cache_path(ws):
    return ws.dir(SCORES) / "cache.sqlite"


@contextmanager
def open_engine(ws, config, adapter, credentials, scope: CacheScope, *, lock: bool = True, wait: bool = False,
                echo: Callable[[str], None] = lambda s: None, new_run: bool = False) -> Iterator[ScoringEngine]:
    """A :class:`ScoringEngine` on the workspace cache, holding the API's lock (unless ``lock`` is
    False, e.g. a dry run, which sends and writes nothing). Each paid answer costs
    ``price_per_1000 / 1000`` in the ledger. ``new_run``: answers cached before now are not read
    (:class:`evalkit.scoring.runs.FreshReadCache`)."""
    with (api_lock(ws, config.name, wait=wait, echo=echo) if lock else nullcontext()):
        cache = open_cache(ws, new_run)
        try:
            yield ScoringEngine(adapter, config.engine, credentials, cache, scope, seed=config.seed,
                                cost_per_query=config.price_per_1000 / 1000.0)
        finally:
            cache.close()


def run_query_cap(engine: ScoringEngine, config, budget: float | None,
                  echo: Callable[[str], None] = lambda s: None) -> int | None:
    """Paid queries this run may send: within ``--budget`` and what the API file's ``budget_total``
    leaves after the ledger's total (None = no cap). Says what the cumulative budget leaves."""
    _, spent = engine.cache.spent(config.name)
    note = budget_note(config, spent)
    if note:
        echo(note)
    return paid_query_cap(budget, config.budget_total, spent, config.price_per_1000)
