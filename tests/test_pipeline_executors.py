"""LocalExecutor: a worker process that dies mid-task breaks the pool; the unfinished tasks run
again in a fresh pool, finished ones are not repeated, and a task that always kills its worker
fails after ``max_retries`` retries."""
from __future__ import annotations

import os
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from evalkit.pipeline.executors import LocalExecutor, Task


def _square_or_die(x: int, log: str, die_times: int) -> int:
    """Append x to the log; the first ``die_times`` calls with x == 2 kill their worker."""
    path = Path(log)
    with path.open("a") as f:
        f.write(f"{x}\n")
    if x == 2 and path.read_text().split().count("2") <= die_times:
        os._exit(1)  # as the OOM killer would: no exception, no cleanup
    return x * x


def _tasks(log: Path, die_times: int) -> list[Task]:
    return [Task(f"t{x}", _square_or_die, {"x": x, "log": str(log), "die_times": die_times})
            for x in range(4)]


def test_tasks_of_a_crashed_worker_run_again_in_a_fresh_pool(tmp_path):
    log = tmp_path / "calls.txt"
    done = []
    results = LocalExecutor(workers=1, max_retries=2).map(_tasks(log, die_times=1),
                                                          on_done=lambda t, r: done.append(t.name))
    assert results == [0, 1, 4, 9]
    calls = log.read_text().split()
    assert calls.count("2") == 2  # died once, then ran in the new pool
    assert calls.count("0") == 1 and calls.count("1") == 1  # finished before the crash: not rerun
    assert sorted(done) == ["t0", "t1", "t2", "t3"] and len(done) == 4


def test_a_task_that_always_kills_its_worker_fails_after_max_retries(tmp_path):
    log = tmp_path / "calls.txt"
    with pytest.raises(BrokenProcessPool):
        LocalExecutor(workers=1, max_retries=2).map(_tasks(log, die_times=99))
    assert log.read_text().split().count("2") == 3  # first try + 2 retries
