"""The pipeline's stages as plain functions: ``stage(ws, cfg, dataset, ...) -> summary dict``.

Every stage skips work the workspace catalog already records, so calling them again (or
``evalkit run`` after an interruption) only does what is missing. Tasks that fan out over an
executor (probe training, API scoring) are top-level functions taking only picklable
arguments; each worker loads the dataset itself (a cached load takes well under a second).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..artifacts import (EVALSET, MODEL, SCORES, ModelKey, Pool, check_pool_dataset, load_evalsets, needs_training,
                         pool_of as _pool_of)
from ..workspace import Workspace
from .config import ApiEntry, PipelineConfig
from .executors import Task

HELDOUT_DIR = "heldout"   # sub-workspace: discovery never sees the held-out model
Echo = Callable[[str], None]


def open_dataset(cfg: PipelineConfig, ws: Workspace | None = None, *, progress: bool = True):
    """Load the config's dataset once (first load decodes and caches; later loads map the cache)
    and check it is the data of the workspace's recorded pool."""
    from ..data import load_dataset

    dataset = load_dataset(cfg.dataset, cfg.data_source, skip_bad=cfg.skip_bad, progress=progress)
    if ws is not None:
        check_pool_dataset(ws, pool_of(dataset, cfg), dataset)
    return dataset


def pool_of(dataset, cfg: PipelineConfig) -> Pool:
    return _pool_of(dataset, cfg.pool_split)


# -- mini-sets and probe training -----------------------------------------------------------

def sample_stage(ws: Workspace, cfg: PipelineConfig, dataset, echo: Echo = print) -> dict:
    """Draw (or reuse) one stratified mini-set per seed."""
    from ..minisets import sample_to_workspace

    keys = [sample_to_workspace(ws, dataset, cfg.train_size, s).key for s in cfg.seeds]
    echo(f"  {len(keys)} mini-sets of {cfg.train_size} images: {', '.join(keys)}")
    return {"minisets": keys}


def train_task(ws_root: str, dataset_name: str, data_source: str | None, skip_bad: bool, probe: str,
               seed: int, train_size: int, epochs: int, batch_size: int | None, pool_split: str,
               progress: bool) -> dict:
    """Train one probe x seed into ``ws_root`` (skipped when recorded); runs in a worker."""
    from ..data import load_dataset
    from ..probes import train_probe

    dataset = load_dataset(dataset_name, data_source, skip_bad=skip_bad, progress=False)
    art = train_probe(Workspace(ws_root), dataset, probe, seed, train_size=train_size, epochs=epochs,
                      batch_size=batch_size, progress=progress, pool_split=pool_split)
    return {"probe": probe, "seed": seed, "test_accuracy": art.meta.get("test_accuracy"),
            "seconds": art.meta.get("seconds")}


def _train_tasks(ws: Workspace, cfg: PipelineConfig, dataset, pairs, *, train_size: int, epochs: int,
                 progress: bool) -> list[Task]:
    """A task per (probe, seed) that the probes stage's own check says must be (re)trained."""
    from ..probes import load_probe_spec

    tasks = []
    for probe, seed in pairs:
        spec = load_probe_spec(probe)
        reason = needs_training(ws, spec, seed, dataset, pool_of(dataset, cfg), train_size=train_size,
                                epochs=epochs, batch_size=cfg.batch_size or spec.training["batch_size"])
        if reason is None:
            continue
        tasks.append(Task(str(ModelKey(probe, seed)), train_task, dict(
            ws_root=str(ws.root), dataset_name=cfg.dataset, data_source=cfg.data_source,
            skip_bad=cfg.skip_bad, probe=probe, seed=seed, train_size=train_size, epochs=epochs,
            batch_size=cfg.batch_size, pool_split=cfg.pool_split, progress=progress)))
    return tasks


def train_stage(ws: Workspace, cfg: PipelineConfig, dataset, executor, echo: Echo = print, *,
                progress: bool = True) -> dict:
    """Train every probe x seed of the config that is not recorded yet or is stale (changed probe
    file, dataset, mini-set size, epochs or batch size), fanned out on ``executor``."""
    pairs = [(p, s) for p in cfg.probes for s in cfg.seeds]
    tasks = _train_tasks(ws, cfg, dataset, pairs, train_size=cfg.train_size, epochs=cfg.epochs,
                         progress=progress)
    echo(f"  {len(pairs)} probe runs, {len(pairs) - len(tasks)} already done, {len(tasks)} to train "
         f"on the {executor.name} executor")

    def done(task: Task, res: dict) -> None:
        acc = res["test_accuracy"]
        echo(f"  trained {task.name}: test accuracy {acc:.3f} in {res['seconds']:.0f} s")

    executor.map(tasks, on_done=done)
    return {"runs": len(pairs), "trained": len(tasks)}


def heldout_workspace(ws: Workspace) -> Workspace:
    return Workspace(ws.root / HELDOUT_DIR)


def heldout_stage(ws: Workspace, cfg: PipelineConfig, dataset, executor, echo: Echo = print, *,
                  progress: bool = True) -> dict:
    """Train the held-out stand-in 'external' model in its own sub-workspace."""
    if not cfg.heldout_enabled:
        echo("  disabled")
        return {"trained": 0}
    hws = heldout_workspace(ws)
    key = ModelKey(cfg.heldout_probe, cfg.heldout_seed)
    tasks = _train_tasks(hws, cfg, dataset, [(key.probe, key.seed)], train_size=cfg.heldout_train_size,
                         epochs=cfg.heldout_epochs, progress=progress)
    for res in executor.map(tasks):
        echo(f"  held-out {key}: test accuracy "
             f"{res['test_accuracy']:.3f} in {res['seconds']:.0f} s (not part of the probe bank)")
    if not tasks:
        echo(f"  held-out {key} already trained")
    return {"trained": len(tasks)}


# -- discovery and explanations ---------------------------------------------------------------

def discover_stage(ws: Workspace, cfg: PipelineConfig, dataset, echo: Echo = print) -> dict:
    """Find evaluation sets on the selection seeds and validate them on the held-out seeds."""
    from ..discovery import discover_workspace

    run = discover_workspace(ws, str(pool_of(dataset, cfg)), cfg.discovery, dataset)
    kept = [a.key for a in ws.catalog.list(EVALSET) if a.meta.get("kept")]
    n_subsets = len(run.document.get("subsets") or [])
    echo(f"  {'reused the recorded' if run.skipped else 'ran'} discovery: {len(kept)} of {n_subsets} "
         "candidate subsets kept (validated on held-out probe seeds)")
    return {"kept": len(kept), "skipped": run.skipped}


def kept_sets(ws: Workspace) -> list[dict]:
    """Kept evaluation sets, largest validated gap first (ties by id)."""
    if not any(a.meta.get("kept") for a in ws.catalog.list(EVALSET)):
        return []
    sets = load_evalsets(ws, kept=True)
    return sorted(sets, key=lambda s: (-(s.get("gap") or 0.0), s["id"]))


def explain_stage(ws: Workspace, cfg: PipelineConfig, dataset, echo: Echo = print) -> dict:
    """Grad-CAM-family maps for the probes on the ``max_sets`` most discriminative sets."""
    from ..explain.stage import explain_set

    if not cfg.explain_enabled:
        echo("  disabled")
        return {"sets": 0}
    chosen = kept_sets(ws)[: cfg.explain_max_sets]
    for s in chosen:
        res = explain_set(ws, dataset, s["id"], cfg.explain_method, probes=cfg.explain_probes,
                          max_images=cfg.explain_max_images)
        echo(f"  {s['id']}: {len(res.records)} probe runs explained, {len(res.grids)} grids"
             + (f", skipped {', '.join(k for k, _ in res.skipped)} (no convolutions)" if res.skipped else ""))
    if not chosen:
        echo("  no kept evaluation set to explain")
    return {"sets": len(chosen)}


# -- API scoring, fingerprint, report ---------------------------------------------------------

def heldout_api_name(cfg: PipelineConfig) -> str:
    return f"heldout-{cfg.heldout_probe}-seed{cfg.heldout_seed}"


def _scores_current(ws: Workspace, cfg: PipelineConfig, entry: ApiEntry, name: str, sets: list[str],
                    ablations: tuple[str, ...]) -> bool:
    """The API's recorded scores cover these sets and ablations without failures, and are newer
    than the sets (rewritten when discovery reran) and, for the served model, than that model."""
    art = ws.catalog.get(SCORES, name)
    if art is None or sorted(art.inputs.get("sets", [])) != sorted(sets) or art.meta.get("failures") \
            or tuple(art.settings.get("ablations", ())) != ablations \
            or art.settings.get("max_queries") != _planned_limit(cfg, entry, ablations):
        return False
    inputs = [ws.catalog.get(EVALSET, s) for s in sets]
    if entry.serve:
        inputs.append(heldout_workspace(ws).catalog.get(MODEL, str(ModelKey(cfg.heldout_probe, cfg.heldout_seed))))
    return all(a is not None and a.created <= art.created for a in inputs)


def _heldout_api_config(name: str, ablations, url: str, model: str, class_names) -> Any:
    from ..scoring.api_config import ApiConfig, EngineSettings

    return ApiConfig(name=name, adapter="kserve-v2", endpoint=url, model=model,
                     ablations=tuple(ablations), engine=EngineSettings(concurrency=4, rps=1000.0,
                                                                              batch_size=32),
                     params={"input_name": "images", "datatype": "UINT8", "output_name": "probabilities",
                             "output_labels": list(class_names), "top_k": 3},
                     source="[[apis]] serve = \"heldout\"")


def score_task(ws_root: str, dataset_name: str, data_source: str | None, skip_bad: bool,
               api_file: str | None, serve_probe: str | None, api_name: str,
               ablations: tuple[str, ...], max_queries: int | str | None = None) -> dict:
    """Score one API on the kept sets (serving the held-out model first if asked); runs in a worker."""
    from ..data import load_dataset
    from ..scoring import load_api_config, score_api
    from ..scoring.planned import default_max_queries

    ws = Workspace(ws_root)
    dataset = load_dataset(dataset_name, data_source, skip_bad=skip_bad, progress=False)
    if api_file is not None:
        config = load_api_config(api_file)
        art = score_api(ws, config, dataset, ablations=ablations,
                        max_queries=default_max_queries(max_queries, config, ablations))
        return {"api": art.key, **art.meta}
    from ..serving import probe_spec, serve_model

    spec = probe_spec(heldout_workspace(ws), serve_probe)
    with serve_model(spec) as served:
        config = _heldout_api_config(api_name, ablations, served.url, served.model_name, served.class_names)
        art = score_api(ws, config, dataset, ablations=ablations,
                        max_queries=default_max_queries(max_queries, config, ablations))
    return {"api": art.key, "startup_seconds": round(served.startup_seconds, 1), **art.meta}


def _api_name(cfg: PipelineConfig, entry: ApiEntry) -> str:
    if entry.serve:
        return heldout_api_name(cfg)
    from ..scoring import load_api_config

    return load_api_config(api_file(cfg, entry)).name


def api_file(cfg: PipelineConfig, entry: ApiEntry) -> str:
    p = Path(entry.file)
    if p.is_absolute() or p.is_file() or not (cfg.path.parent / p).is_file():
        return str(p)  # load_api_config also finds built-in example files by name
    return str(cfg.path.parent / p)


def _planned_limit(cfg: PipelineConfig, entry: ApiEntry, ablations) -> int | None:
    """The planner budget a scoring task of this entry will use (None = everything)."""
    from ..scoring import load_api_config
    from ..scoring.api_config import ApiConfig
    from ..scoring.planned import default_max_queries

    config = (ApiConfig(name="heldout", adapter="kserve-v2", endpoint="http://heldout") if entry.serve
              else load_api_config(api_file(cfg, entry)))
    return default_max_queries(cfg.max_queries, config, ablations)


def score_stage(ws: Workspace, cfg: PipelineConfig, executor, echo: Echo = print) -> dict:
    """Score each configured API on the kept sets (plus cue ablations when fingerprinting)."""
    sets = [s["id"] for s in kept_sets(ws)]
    if not sets:
        echo("  no kept evaluation set: nothing to score")
        return {"apis": 0}
    ablations = tuple(cfg.ablations) if cfg.fingerprint_enabled else ()
    tasks = []
    for entry in cfg.apis:
        name = _api_name(cfg, entry)
        if _scores_current(ws, cfg, entry, name, sets, ablations):
            echo(f"  {name}: already scored on {len(sets)} sets")
            continue
        tasks.append(Task(name, score_task, dict(
            ws_root=str(ws.root), dataset_name=cfg.dataset, data_source=cfg.data_source, skip_bad=cfg.skip_bad,
            api_file=None if entry.serve else api_file(cfg, entry), api_name=name,
            serve_probe=str(ModelKey(cfg.heldout_probe, cfg.heldout_seed)) if entry.serve else None,
            ablations=ablations, max_queries=cfg.max_queries)))

    def done(task: Task, res: dict) -> None:
        extra = f", server start-up {res['startup_seconds']} s" if "startup_seconds" in res else ""
        echo(f"  {task.name}: {res['queries_sent']} queries sent (cost {res.get('spent_cost', 0):.4f}), "
             f"{res['cache_hits']} cached, {res['failures']} failed{extra}")

    executor.map(tasks, on_done=done)
    return {"apis": len(cfg.apis), "scored": len(tasks)}


def fingerprint_stage(ws: Workspace, cfg: PipelineConfig, dataset, echo: Echo = print) -> dict:
    """Evidence and verdict (which cue each scored API relies on)."""
    from ..fingerprint.fingerprint import fingerprint_api

    if not cfg.fingerprint_enabled:
        echo("  disabled")
        return {"apis": 0}
    names = [a.key for a in ws.catalog.list(SCORES)]
    for name in names:
        doc = fingerprint_api(ws, name, dataset=dataset)
        echo(f"  {doc['verdict']}")
    return {"apis": len(names)}


def report_stage(ws: Workspace, cfg: PipelineConfig, dataset, echo: Echo = print) -> Path:
    """Render the HTML report (+ report.json, CSVs); returns index.html."""
    from ..report import render_report

    return render_report(ws, out_dir=cfg.report_dir, name=cfg.report_name, dataset=dataset)
