"""Executors fan independent tasks out: local processes (default) or a Ray cluster.

A task is a picklable top-level function plus keyword arguments; it writes its artifacts into
the workspace and records them in the catalog, so a lost task is simply run again (finished
work is skipped by the catalog check inside the task).
"""
from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..errors import UserError


@dataclass(frozen=True)
class Task:
    """One unit of work: ``fn(**kwargs)``; ``name`` is shown in progress output."""

    name: str
    fn: Callable[..., Any]
    kwargs: dict[str, Any]


class LocalExecutor:
    """Runs tasks in worker processes (spawned, so each has a clean TensorFlow state).

    A crashed worker breaks the pool; the tasks that did not finish are retried in a fresh pool,
    up to ``max_retries`` times.
    """

    name = "local"

    def __init__(self, workers: int = 1, max_retries: int = 2):
        self.workers = workers
        self.max_retries = max_retries

    def map(self, tasks: Sequence[Task], on_done: Callable[[Task, Any], None] | None = None) -> list[Any]:
        results: dict[int, Any] = {}
        pending = list(range(len(tasks)))
        for attempt in range(self.max_retries + 1):
            ctx = multiprocessing.get_context("spawn")
            try:
                with ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx) as pool:
                    futures = {i: pool.submit(tasks[i].fn, **tasks[i].kwargs) for i in pending}
                    for i, fut in futures.items():
                        results[i] = fut.result()
                        if on_done:
                            on_done(tasks[i], results[i])
                pending = []
            except BrokenProcessPool:
                pending = [i for i in pending if i not in results]
                if attempt == self.max_retries:
                    raise
            if not pending:
                break
        return [results[i] for i in range(len(tasks))]

    def close(self) -> None:
        """Nothing to release: each map() call owns its process pool."""


class RayExecutor:
    """Runs tasks as Ray tasks on a local instance or a ``ray://`` cluster address.

    Ray retries tasks whose worker died (``max_retries``). For a real cluster the workspace
    must be on a filesystem every node sees.
    """

    name = "ray"

    def __init__(self, address: str | None = None, max_retries: int = 3, num_cpus: int | None = None):
        self.address = address
        self.max_retries = max_retries
        self.num_cpus = num_cpus
        self._started_here = False

    def _init(self):
        try:
            import ray
        except ImportError:
            raise UserError("the ray executor needs Ray: pip install 'evalkit[ray]'") from None
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"ignore_reinit_error": True, "log_to_driver": False,
                                      "include_dashboard": False}
            if self.address:
                kwargs["address"] = self.address
            elif self.num_cpus:
                kwargs["num_cpus"] = self.num_cpus
            ray.init(**kwargs)
            self._started_here = True
        return ray

    def map(self, tasks: Sequence[Task], on_done: Callable[[Task, Any], None] | None = None) -> list[Any]:
        ray = self._init()
        refs = [ray.remote(max_retries=self.max_retries)(t.fn).remote(**t.kwargs) for t in tasks]
        results = []
        for task, ref in zip(tasks, refs):
            results.append(ray.get(ref))
            if on_done:
                on_done(task, results[-1])
        return results

    def close(self) -> None:
        """Shut down the Ray instance this executor started (a cluster we joined stays up)."""
        if self._started_here:
            import ray

            ray.shutdown()
            self._started_here = False


def make_executor(name: str, *, workers: int = 1, ray_address: str | None = None):
    """Build the executor named in the config or on the command line."""
    if name == "local":
        return LocalExecutor(workers=workers)
    if name == "ray":
        return RayExecutor(address=ray_address)
    raise UserError(f"unknown executor {name!r}; expected local or ray")
