"""One writer per API per workspace: ``scores/{api}/score.lock``, held (an OS file lock, released
when the process ends, even when killed) for the whole of a scoring run. A second run of the same
API refuses with a message naming the API and the lock, or waits for it (``--wait``)."""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from ..errors import UserError

LOCK_NAME = "score.lock"

if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def lock_path(ws, api: str) -> Path:
    return ws.dir("scores") / api / LOCK_NAME


@contextmanager
def api_lock(ws, api: str, *, wait: bool = False, echo: Callable[[str], None] = lambda s: None,
             poll_s: float = 0.2) -> Iterator[Path]:
    """Hold the scoring lock of ``api`` in workspace ``ws``. Busy: UserError naming the API, the
    holder's pid and the lock file, or with ``wait`` block until it is free (saying so once)."""
    path = lock_path(ws, api)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        said = False
        while not _try_lock(fd):
            if not wait:
                raise UserError(f"{api}: another run is scoring this API in this workspace ({_holder(path)}; "
                                f"lock {path}); wait for it to finish or pass --wait")
            if not said:
                echo(f"{api}: waiting for the lock {path} ({_holder(path)})")
                said = True
            time.sleep(poll_s)
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
            yield path
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        text = ""
    return f"held by {text}" if text.startswith("pid ") else "held"
