"""The scoring stage: score one API on evaluation sets (and ablated copies), write scores.json."""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..artifacts import Pool, check_pool_dataset, load_evalsets, write_scores
from ..errors import UserError
from ..textsafe import safe_text
from ..workspace import Artifact, Workspace, canonical_json
from .adapters.base import ApiAnswer, ImageItem, image_key
from .api_config import ApiConfig, Credentials, check_api_name, redact, resolve_credentials
from .budget import check_budget
from .cache import CacheScope
from .engine import QueryResult
from .labels import LabelMapper, most_frequent_unmapped
from .runs import archive_run, run_block
from .writer import open_engine, run_query_cap


@dataclass(frozen=True)
class ScoringPlan:
    """What a run would send: distinct images, cache hits, new queries and their cost."""

    api: str
    sets: tuple[str, ...]
    pool: str
    n_images: int
    ablations: tuple[str, ...]
    n_ablation_images: int
    cache_hits: int
    queries: int                # distinct images to send (not cached)
    allowed_queries: int        # after the budget cap
    price_per_1000: float
    estimated_cost: float       # of the allowed queries
    full_cost: float            # of all queries, ignoring the budget

    def summary(self) -> str:
        abl = (f" + {self.n_ablation_images} ablated ({', '.join(self.ablations)})"
               if self.ablations else "")
        text = (f"{self.api}: {self.n_images} images from {len(self.sets)} set(s){abl}; "
                f"{self.cache_hits} cached, {self.queries} queries to send, estimated cost "
                f"{self.full_cost:.4f} at {self.price_per_1000:g} per 1000")
        if self.allowed_queries < self.queries:
            text += (f"; budget allows {self.allowed_queries} queries ({self.estimated_cost:.4f}), "
                     f"{self.queries - self.allowed_queries} image(s) will fail with reason 'budget'")
        return text


def params_hash(config: ApiConfig) -> str:
    """Hash of everything besides the image that changes the answer."""
    blob = canonical_json({"adapter": config.adapter, "params": dict(config.params),
                           "image_format": config.image_format, "resize": config.resize})
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def ablated_images(images: np.ndarray, transform: str, seed: int, pool_indices) -> np.ndarray:
    """The probes stage's ``ablate_pool_images``: each image's ablated copy depends only on its
    pool index and ``seed``, so with the default seed 0 the API sees the same ablated images as
    the reference probes, whichever subset of the pool is sent."""
    from ..probes.transforms import IMAGE_TRANSFORMS, ablate_pool_images  # built by the probes stage

    if transform not in IMAGE_TRANSFORMS:
        IMAGE_TRANSFORMS.get(transform)  # UserError with "did you mean"
    return np.asarray(ablate_pool_images(transform, images, pool_indices, seed=seed), dtype=np.uint8)


def _with_default_labels(config: ApiConfig, class_names: Sequence[str]) -> ApiConfig:
    """Vector-output adapters without output_labels rank the dataset's class names."""
    if config.adapter in ("tfserving", "kserve-v2") and "output_labels" not in config.params:
        return dataclasses.replace(config, params={**config.params, "output_labels": list(class_names)})
    return config


def score_api(ws: Workspace, api_config: ApiConfig, dataset, set_ids: Sequence[str] | None = None, *,
              ablations: Sequence[str] | None = None, budget: float | None = None, dry_run: bool = False,
              credentials: Credentials | None = None, environ: Mapping[str, str] | None = None,
              echo: Callable[[str], None] = lambda s: None,
              max_queries: int | None = None, wait: bool = False, new_run: bool = False) -> Artifact | ScoringPlan:
    """Score ``api_config`` on the eval sets (all kept sets when ``set_ids`` is None).

    ``ablations`` defaults to the API file's list; ``[]`` switches them off. Prints the plan
    (queries, estimated cost) through ``echo``. With ``dry_run`` nothing is sent and the
    :class:`ScoringPlan` is returned; otherwise ``scores/{api}/scores.json`` is written and
    recorded in the catalog (kind ``scores``, key = API name).

    ``max_queries``: let the query planner (evalkit.planning) choose at most this many queries
    among the sets' images and their ablated copies (cumulative over runs of the same API: a
    larger value continues an earlier plan); None sends every image and every ablated copy.
    ``new_run``: query afresh (cached answers of earlier runs are not read; a planned API re-sends
    its stored plan), see :mod:`evalkit.scoring.runs`.

    Only one run per API and workspace sends queries (``scores/{api}/score.lock``): another one
    raises UserError, or with ``wait`` waits for it. ``budget`` caps this run's spend; the API
    file's ``budget_total`` caps the spend ledger's total. A fail-fast stop raises
    :class:`~evalkit.scoring.engine.ScoringAborted` and leaves the earlier scores unchanged.
    """
    check_api_name(api_config.name, api_config.source or None)
    sets = load_evalsets(ws, set_ids)
    pools = {s["pool"] for s in sets}
    if len(pools) != 1:
        raise UserError(f"the evaluation sets come from different pools: {', '.join(sorted(pools))}")
    pool = pools.pop()
    check_pool_dataset(ws, pool, dataset)  # the data the pool was recorded with
    split = dataset.split(Pool.parse(pool).split)
    set_classes = tuple(sets[0].get("class_names") or split.class_names)
    if tuple(split.class_names) != set_classes:
        raise UserError(f"dataset classes {list(split.class_names)} differ from the sets' {list(set_classes)}")
    config = _with_default_labels(api_config, split.class_names)
    adapter = config.adapter_instance()
    mapper = LabelMapper(split.class_names, config.label_overrides)
    ablations = tuple(config.ablations if ablations is None else ablations)
    budget = check_budget(budget)

    if max_queries is not None:
        from .planned import score_with_planner

        if credentials is None and not dry_run:
            credentials = resolve_credentials(config, environ)
        if new_run:
            from .replay import replay_plan

            done = replay_plan(ws, config, split, pool, sets, budget=budget, dry_run=dry_run,
                               credentials=credentials, echo=echo, wait=wait)
            if done is not None:
                return done
        return score_with_planner(ws, config, split, pool, sets, ablations, max_queries=int(max_queries),
                                  budget=budget, dry_run=dry_run, credentials=credentials, echo=echo,
                                  wait=wait, new_run=new_run)

    indices = np.array(sorted({int(i) for s in sets for i in s["indices"]}), dtype=np.int64)
    if indices.size and (indices.min() < 0 or indices.max() >= len(split)):
        raise UserError(f"evaluation set indices fall outside the pool {pool} ({len(split)} images); "
                        "was the set made from another dataset?")
    images = split.images[indices]
    variants: dict[str, np.ndarray] = {"": images}
    for t in ablations:
        variants[t] = ablated_images(images, t, config.seed, indices)
    keys = {v: [image_key(im) for im in arr] for v, arr in variants.items()}

    scope = CacheScope(config.name, config.endpoint, config.model, config.version, params_hash(config))
    if not dry_run and credentials is None:
        credentials = resolve_credentials(config, environ)
    if credentials is not None and any(v in config.endpoint for v in credentials.values()):
        raise UserError(f"{config.source}: the endpoint contains a secret; pass it as a credential")
    with open_engine(ws, config, adapter, credentials, scope, lock=not dry_run, wait=wait, echo=echo,
                     new_run=new_run) as engine:
        order: list[ImageItem] = []
        seen: set[str] = set()
        for v, arr in variants.items():
            for k, im in zip(keys[v], arr):
                if k not in seen:
                    seen.add(k)
                    order.append(ImageItem(k, im))
        cached = engine.cached([it.key for it in order])
        to_send = [it for it in order if it.key not in cached]
        per_query = config.price_per_1000 / 1000.0
        cap = run_query_cap(engine, config, budget, echo)
        allowed = len(to_send) if cap is None else min(len(to_send), cap)
        plan = ScoringPlan(config.name, tuple(s["id"] for s in sets), pool, len(indices), ablations,
                           len(indices) * len(ablations), len(cached), len(to_send), allowed,
                           config.price_per_1000, allowed * per_query, len(to_send) * per_query)
        echo(plan.summary())
        if to_send:
            _preflight(adapter, to_send[0], credentials, config)
        if dry_run:
            return plan
        fresh = engine.run(to_send[:allowed])
        spend = engine.cache.spent(config.name)
        results: dict[str, QueryResult | None] = {**cached, **fresh}
        budget_keys = {it.key for it in to_send[allowed:]}
        records = {v: [_record(int(i), k, results.get(k), k in budget_keys, mapper, adapter)
                       for i, k in zip(indices, keys[v])] for v in variants}
        # written while the lock is held: the next run of this API sees these scores
        return _write_scores(ws, config, sets, pool, split, records, plan, fresh, engine.http_requests, spend,
                             new_run=new_run)


def _preflight(adapter, item: ImageItem, credentials, config: ApiConfig) -> None:
    """Build one request before sending anything, so configuration mistakes fail early."""
    try:
        adapter.build_request([item], credentials if credentials is not None else _DryCredentials())
    except (ValueError, KeyError) as exc:
        raise UserError(f"{config.source}: cannot build a {config.adapter} request: "
                        f"{redact(str(exc), credentials)}") from None


class _DryCredentials(Credentials):
    """Placeholder secrets for a dry run, which reads no secret."""

    def __getitem__(self, name):
        return "dry-run"

    def get(self, name):
        return "dry-run"


def _record(index: int, key: str, res: QueryResult | None, over_budget: bool, mapper: LabelMapper,
            adapter) -> dict[str, Any]:
    rec: dict[str, Any] = {"index": index, "hash": key, "status": "failed", "label": None,
                           "raw_label": None, "score": None, "reason": None, "latency_s": None}
    if res is None:
        rec["reason"] = "budget" if over_budget else "not queried"
        return rec
    rec["latency_s"] = None if res.latency_s is None else round(float(res.latency_s), 6)
    if isinstance(res.outcome, ApiAnswer):
        label, raw_label, score = mapper.decide(res.outcome.labels)
        rec.update(status="scored", label=label, raw_label=None if raw_label is None else safe_text(raw_label),
                   score=score)
    else:
        rec["reason"] = safe_text(str(res.outcome.reason))
    return rec


def _write_scores(ws: Workspace, config: ApiConfig, sets, pool: str, split, records, plan: ScoringPlan,
                  fresh: Mapping[str, QueryResult], http_requests: int, spend: tuple[int, float],
                  extra: dict | None = None, new_run: bool = False) -> Artifact:
    """Write scores.json. ``spend``: the ledger's (paid queries, cost) of the API over all runs.
    A run that sent queries and scored no image never replaces earlier scores (UserError)."""
    base = records[""]
    all_recs = [r for rs in records.values() for r in rs]
    if fresh and not any(r["status"] == "scored" for r in all_recs):
        _keep_earlier_scores(ws, config.name, next(iter(fresh.values())).outcome)
    abstained = [r["raw_label"] for r in all_recs if r["status"] == "scored" and r["label"] is None]
    answered_now = sum(1 for r in fresh.values() if isinstance(r.outcome, ApiAnswer) or r.outcome.cacheable)
    lat = np.array([r["latency_s"] for r in all_recs if r["latency_s"] is not None], dtype=np.float64)
    versions = sorted({r.outcome.api_version for r in fresh.values()
                       if isinstance(r.outcome, ApiAnswer) and r.outcome.api_version})
    doc = {
        "api": config.name, "adapter": config.adapter, "endpoint": config.endpoint,
        "model": config.model, "version": config.version, "api_versions": versions,
        "pool": pool, "class_names": list(split.class_names), "sets": [s["id"] for s in sets],
        "images": base, "ablations": {v: rs for v, rs in records.items() if v},
        "unmapped_labels": most_frequent_unmapped(abstained, n=50),
        "abstentions": len(abstained),
        "queries_sent": len(fresh), "http_requests": http_requests, "cache_hits": plan.cache_hits,
        "failures": sum(1 for r in all_recs if r["status"] == "failed"),
        "estimated_cost": round(plan.estimated_cost, 6),
        "spent_cost": round(spend[1], 6), "paid_queries": int(spend[0]),
        "run_cost": round(answered_now * config.price_per_1000 / 1000.0, 6),
        "budget_total": config.budget_total,
        "latency_p50_s": float(np.percentile(lat, 50)) if lat.size else None,
        "latency_p95_s": float(np.percentile(lat, 95)) if lat.size else None,
        **(extra or {}),
    }
    doc["run"] = run_block(ws, config.name, new_run=new_run, versions=versions)
    art = write_scores(
        ws, doc, inputs={"sets": doc["sets"], "pool": pool},
        settings={"adapter": config.adapter, "endpoint": config.endpoint, "model": config.model,
                  "version": config.version, "ablations": list(records)[1:], "params_hash": params_hash(config),
                  "max_queries": (extra or {}).get("plan", {}).get("max_queries")},
        meta={k: doc[k] for k in ("queries_sent", "cache_hits", "failures", "abstentions", "spent_cost")})
    archive_run(ws, doc)  # every scoring is a run, kept beside the latest
    return art


def _keep_earlier_scores(ws: Workspace, api: str, outcome) -> None:
    """UserError when ``api`` has earlier scores with a scored image (a run that failed outright
    must not replace them)."""
    from ..artifacts import SCORES, read_scores

    art = ws.catalog.get(SCORES, api)
    if art is None or not ws.abspath(art).is_file():
        return
    if any(r.get("status") == "scored" for r in read_scores(ws.abspath(art)).get("images", [])):
        reason = getattr(outcome, "reason", "no answer")
        raise UserError(f"{api}: every query of this run failed (e.g. {reason[:200]}); the earlier scores in "
                        f"{ws.abspath(art)} are kept")
