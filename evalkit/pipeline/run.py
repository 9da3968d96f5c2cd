"""`evalkit run`: the whole pipeline from one config, resumable, with per-stage times.

data -> mini-sets -> probe training -> held-out model -> discovery -> explanations ->
API scoring -> fingerprint -> report. Each stage skips what the workspace already holds, so
re-running after an interruption continues where it stopped.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from ..artifacts import PIPELINE
from ..workspace import Workspace, atomic_write_text
from . import stages
from .config import PipelineConfig, load_config
from .executors import make_executor

STAGE_TITLES = (("data", "load data"), ("sample", "draw mini-sets"), ("train", "train probes"),
                ("heldout", "train the held-out model"), ("discover", "discover evaluation sets"),
                ("explain", "explain"), ("score", "score APIs"), ("fingerprint", "fingerprint"),
                ("report", "write the report"))


@dataclass(frozen=True)
class StageTiming:
    stage: str
    title: str
    seconds: float
    summary: dict


@dataclass(frozen=True)
class RunResult:
    """What a pipeline run produced: the report's index.html, the workspace and stage timings."""

    report: Path
    workspace: Path
    timings: tuple[StageTiming, ...]
    total_seconds: float

    @property
    def report_json(self) -> Path:
        return self.report.parent / "report.json"


@dataclass
class _RunState:
    """What the stages of one run share: the workspace, config, executor and the loaded dataset."""

    ws: Workspace
    cfg: PipelineConfig
    executor: object
    echo: Callable[[str], None]
    progress: bool
    start: float
    timings: list[StageTiming]
    dataset: object = None


def _data(r: _RunState) -> dict:
    r.dataset = stages.open_dataset(r.cfg, r.ws, progress=r.progress)
    r.echo(f"  {r.dataset.name}: " + ", ".join(f"{s} {len(r.dataset.split(s))} images"
                                               for s in r.dataset.splits))
    return {"dataset": r.dataset.name, "pool": str(stages.pool_of(r.dataset, r.cfg)), "source": str(r.dataset.source)}


def _report(r: _RunState) -> dict:
    # record the times so far first: the report shows them
    _record_timings(r.ws, r.cfg, r.timings, time.perf_counter() - r.start, r.executor.name)
    return {"report": str(stages.report_stage(r.ws, r.cfg, r.dataset, r.echo))}


_STAGE_RUNNERS: dict[str, Callable[[_RunState], dict]] = {
    "data": _data,
    "sample": lambda r: stages.sample_stage(r.ws, r.cfg, r.dataset, r.echo),
    "train": lambda r: stages.train_stage(r.ws, r.cfg, r.dataset, r.executor, r.echo, progress=r.progress),
    "heldout": lambda r: stages.heldout_stage(r.ws, r.cfg, r.dataset, r.executor, r.echo, progress=r.progress),
    "discover": lambda r: stages.discover_stage(r.ws, r.cfg, r.dataset, r.echo),
    "explain": lambda r: stages.explain_stage(r.ws, r.cfg, r.dataset, r.echo),
    "score": lambda r: stages.score_stage(r.ws, r.cfg, r.executor, r.echo),
    "fingerprint": lambda r: stages.fingerprint_stage(r.ws, r.cfg, r.dataset, r.echo),
    "report": _report,
}


def run(config: str | Path | PipelineConfig, *, workspace: str | Path | None = None,
        executor: str | None = None, ray_address: str | None = None,
        echo: Callable[[str], None] = print, progress: bool = True) -> RunResult:
    """Run every stage of ``config`` (a path or a loaded :class:`PipelineConfig`).

    ``executor`` ("local" or "ray") and ``ray_address`` override the config's [run] table.
    The config is validated completely before any work starts; finished work is skipped."""
    cfg = config if isinstance(config, PipelineConfig) else load_config(config, workspace=workspace)
    ws = Workspace(cfg.workspace)
    ex = make_executor(executor or cfg.executor, workers=cfg.workers, ray_address=ray_address or cfg.ray_address)
    echo(f"evalkit run {cfg.path} -> workspace {ws.root} ({ex.name} executor)")
    state = _RunState(ws, cfg, ex, echo, progress, time.perf_counter(), [])
    try:
        for i, (stage, title) in enumerate(STAGE_TITLES, 1):
            echo(f"[{i}/{len(STAGE_TITLES)}] {title}")
            t0 = time.perf_counter()
            summary = _STAGE_RUNNERS[stage](state)
            state.timings.append(StageTiming(stage, title, round(time.perf_counter() - t0, 2), summary))
            echo(f"  done in {_fmt(state.timings[-1].seconds)}")
    finally:
        ex.close()
    total = round(time.perf_counter() - state.start, 2)
    _record_timings(ws, cfg, state.timings, total, ex.name)
    echo("stage times: " + ", ".join(f"{t.stage} {_fmt(t.seconds)}" for t in state.timings)
         + f"; total {_fmt(total)}")
    index = Path(state.timings[-1].summary["report"])
    echo(f"report: {index}")
    return RunResult(index, ws.root, tuple(state.timings), total)


def _fmt(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _record_timings(ws: Workspace, cfg: PipelineConfig, timings: list[StageTiming], total: float,
                    executor: str) -> None:
    """pipeline/{name}.json: stage times of this invocation (the report shows them)."""
    rel = f"pipeline/{cfg.name}.json"
    doc = {"config": str(cfg.path), "name": cfg.name, "executor": executor,
           "stages": [asdict(t) for t in timings], "total_seconds": total,
           "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    atomic_write_text(ws.root / rel, json.dumps(doc, indent=1, default=str))
    ws.catalog.record(PIPELINE, cfg.name, rel, settings={"config": str(cfg.path)},
                      meta={"total_seconds": total, "executor": executor})
