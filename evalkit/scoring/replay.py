"""A new run of a planned API on the same plan: every clean image and ablated copy the stored
plan answered is sent again (nothing read from the cache), the design ledger is kept, so the
two runs are paired image by image and weighted alike."""
from __future__ import annotations

import numpy as np

from ..artifacts import load_pool_predictions
from .adapters.base import ImageItem

UNSENT = ("budget", "not queried")


def plan_requests(doc: dict) -> list[tuple[int, str]]:
    """(pool index, variant) of every query the stored run sent ('' = the clean image)."""
    def sent(recs):
        return [int(r["index"]) for r in recs if r.get("status") == "scored" or r.get("reason") not in UNSENT]

    out = [(i, "") for i in sent(doc.get("images", []))]
    for t, recs in sorted((doc.get("ablations") or {}).items()):
        out += [(i, t) for i in sent(recs)]
    return out


def replay_plan(ws, config, split, pool: str, sets, *, budget, dry_run: bool, credentials, echo, wait=False):
    """Re-send the latest planned run's queries as a new run; None when there is no stored plan.
    Returns the ScoringPlan on a dry run, else the scores Artifact."""
    from ..planning import DrawLedger
    from ..planning.accuracy import estimate_pool_accuracy
    from ..planning.design import difficulty_strata
    from ..probes.transforms import ablate_pool_images
    from .api_config import resolve_credentials
    from .cache import CacheScope
    from .labels import LabelMapper
    from .planned import PlannedAsk, _planned_scores, max_paid_queries, plan_path
    from .stage import ScoringPlan, _preflight, _write_scores, params_hash
    from .writer import open_engine, run_query_cap

    doc = _planned_scores(ws, config.name)
    if doc is None or doc.get("pool") != pool:
        return None
    requests = plan_requests(doc)
    per_query = config.price_per_1000 / 1000.0
    n_clean = sum(1 for _, t in requests if t == "")
    max_paid = max_paid_queries(budget, config.price_per_1000)
    allowed = len(requests) if max_paid is None else min(len(requests), max_paid)
    plan = ScoringPlan(config.name, tuple(s["id"] for s in sets), pool, n_clean,
                       tuple(sorted(doc.get("ablations") or {})), len(requests) - n_clean, 0, len(requests),
                       allowed, config.price_per_1000, allowed * per_query, len(requests) * per_query)
    echo(f"{config.name}: new run of the stored plan: {n_clean} images + {len(requests) - n_clean} "
         f"ablated copies, {len(requests)} queries (none from cache), estimated cost "
         f"{plan.full_cost:.4f} at {config.price_per_1000:g} per 1000"
         + (f"; budget allows {allowed}" if allowed < len(requests) else ""))
    if dry_run:
        return plan
    if credentials is None:
        credentials = resolve_credentials(config)
    adapter = config.adapter_instance()
    mapper = LabelMapper(split.class_names, config.label_overrides)
    scope = CacheScope(config.name, config.endpoint, config.model, config.version, params_hash(config))
    with open_engine(ws, config, adapter, credentials, scope, wait=wait, echo=echo, new_run=True) as engine:
        _preflight(adapter, ImageItem("preflight", split.images[0]), credentials, config)
        ask = PlannedAsk(engine, split.images, config.seed, mapper, adapter, run_query_cap(engine, config, budget, echo),
                         lambda im, t, seed, idx: ablate_pool_images(t, im, idx, seed=seed))
        answers, paid = ask(requests)
        spend = engine.cache.spent(config.name)
        variants = ["", *sorted(t for t in ask.records if t)]
        records = {v: [r for _, r in sorted(ask.records.get(v, {}).items())] for v in variants}
        ledger = DrawLedger.from_bytes(plan_path(ws, config.name).read_bytes())
        labels = np.asarray(split.labels, dtype=np.int64)
        preds = load_pool_predictions(ws, pool)
        difficulty = np.mean([np.asarray(p).argmax(1) == labels for p in preds.values()], axis=0)
        clean = {i: lab for (i, t), lab in answers.items() if t == ""}
        acc = estimate_pool_accuracy(ledger, clean, labels, difficulty_strata(labels, difficulty),
                                     n_boot=1000, seed=config.seed)
        extra = {"plan": {**doc["plan"], "queries_this_run": int(paid), "replay_of": (doc.get("run") or {}).get("id")},
                 "pool_accuracy": acc.to_dict(list(split.class_names)) if acc else None}
        summary = ScoringPlan(plan.api, plan.sets, pool, n_clean, plan.ablations, plan.n_ablation_images,
                              ask.cache_hits, paid, paid, config.price_per_1000, paid * per_query, plan.full_cost)
        # written while the lock is held, like every run
        art = _write_scores(ws, config, sets, pool, split, records, summary, ask.fresh, engine.http_requests,
                            spend, extra=extra, new_run=True)
    echo(f"{config.name}: new run sent {paid} queries (cost {paid * per_query:.4f}) on the stored plan")
    return art
