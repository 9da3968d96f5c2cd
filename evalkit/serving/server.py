"""Run MLServer with the evalkit runtime as a subprocess on 127.0.0.1 and wait until ready.

``with serve_model(spec) as served:`` gives a :class:`ServedModel` (base URL, model name, v2
and v1 endpoints) for tests, the pipeline and benchmarks; the server is stopped on exit.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import requests

from ..errors import UserError
from .settings import ModelSpec, choose_ports, write_server_folder
from .sources import model_file_spec

DEFAULT_HOST = "127.0.0.1"
DEFAULT_STARTUP_TIMEOUT = 180.0  # s; MLServer + TensorFlow imports are slow on a busy machine
_ERROR_LINE = re.compile(r"^(?:[\w.]+\.)?\w*(?:Error|Exception|Exit)\b:?.*$")


@dataclass(frozen=True)
class ServedModel:
    """A model being served. ``url`` is the server's base URL, e.g. http://127.0.0.1:8080."""

    url: str
    model_name: str
    class_names: tuple[str, ...]
    grpc_port: int
    pid: int
    startup_seconds: float
    log_path: Path

    @property
    def infer_url(self) -> str:
        """v2 / Open Inference protocol endpoint."""
        return f"{self.url}/v2/models/{self.model_name}/infer"

    @property
    def v1_predict_url(self) -> str:
        """v1 / TF-Serving REST endpoint."""
        return f"{self.url}/v1/models/{self.model_name}:predict"


class ModelServer:
    """One MLServer subprocess serving one model. ``start()`` blocks until it is ready."""

    def __init__(self, spec: ModelSpec, *, host: str = DEFAULT_HOST, port: int = 0,
                 startup_timeout: float = DEFAULT_STARTUP_TIMEOUT):
        self.spec = spec
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self.process_: subprocess.Popen | None = None
        self.served_: ServedModel | None = None

    def start(self) -> ServedModel:
        """Start the server; raise UserError if the port is busy or the model fails to load."""
        if not Path(self.spec.path).is_file():
            raise UserError("model file not found", path=self.spec.path)
        ports = choose_ports(self.host, self.port)
        self._folder = Path(tempfile.mkdtemp(prefix="evalkit-serve-"))
        write_server_folder(self._folder, self.spec, ports)
        fd, log_name = tempfile.mkstemp(prefix=f"evalkit-serve-{self.spec.name}-", suffix=".log")
        self._log_path = Path(log_name)
        t0 = time.perf_counter()
        with os.fdopen(fd, "wb") as log:
            self.process_ = subprocess.Popen(
                [sys.executable, "-m", "mlserver.cli.main", "start", str(self._folder)],
                cwd=self._folder, env=_server_env(), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent)
        url = f"http://{_url_host(ports.host)}:{ports.http_port}"
        try:
            self._wait_ready(url)
        except BaseException:
            self.stop(keep_log=True)
            raise
        self.served_ = ServedModel(url, self.spec.name, self.spec.class_names, ports.grpc_port,
                                   self.process_.pid, time.perf_counter() - t0, self._log_path)
        return self.served_

    def _wait_ready(self, url: str) -> None:
        checks = [f"{url}/v2/health/ready", f"{url}/v2/models/{self.spec.name}/ready"]
        deadline = time.monotonic() + self.startup_timeout
        with requests.Session() as http:
            while True:
                code = self.process_.poll()
                if code is not None:
                    raise UserError(f"model server exited while starting (code {code}): "
                                    f"{_last_error(self._log_path)} (log: {self._log_path})")
                if _all_ok(http, checks):
                    return
                failed = _load_failure(self._log_path)
                if failed:
                    raise UserError(f"model {self.spec.name!r} failed to load: {failed} "
                                    f"(log: {self._log_path})")
                if time.monotonic() > deadline:
                    raise UserError(f"model server not ready after {self.startup_timeout:.0f} s "
                                    f"(log: {self._log_path})")
                time.sleep(0.25)

    def stop(self, *, keep_log: bool = False, grace: float = 20.0) -> int | None:
        """SIGTERM the server (SIGKILL after ``grace`` s); remove its temp files. Return its exit code."""
        code = None
        if self.process_ is not None:
            if self.process_.poll() is None:
                self.process_.terminate()
                try:
                    self.process_.wait(grace)
                except subprocess.TimeoutExpired:
                    self.process_.kill()
                    self.process_.wait()
            code = self.process_.returncode
        if getattr(self, "_folder", None) is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
        self._keep_log = keep_log or getattr(self, "_keep_log", False)  # sticky: errors cite it
        if not self._keep_log and getattr(self, "_log_path", None) is not None:
            self._log_path.unlink(missing_ok=True)
        return code

    def wait(self) -> int:
        """Block until the server process ends; return its exit code."""
        return self.process_.wait()

    def __enter__(self) -> ServedModel:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@contextmanager
def serve_model(model: ModelSpec | str | Path, *, class_names: Sequence[str] | None = None,
                name: str | None = None, host: str = DEFAULT_HOST, port: int = 0,
                startup_timeout: float = DEFAULT_STARTUP_TIMEOUT) -> Iterator[ServedModel]:
    """Serve a ModelSpec or a ``.keras`` file on ``host`` (port 0 = any free port) while inside."""
    spec = model if isinstance(model, ModelSpec) else model_file_spec(model, class_names, name)
    server = ModelServer(spec, host=host, port=port, startup_timeout=startup_timeout)
    served = server.start()
    try:
        yield served
    finally:
        server.stop()


def _all_ok(http: requests.Session, urls: list[str]) -> bool:
    for u in urls:
        try:
            if http.get(u, timeout=2).status_code != 200:
                return False
        except requests.RequestException:
            return False
    return True


def _server_env() -> dict:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])  # so the subprocess imports this evalkit
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if the process that started it dies."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _read_log(path: Path) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return []


def _last_error(path: Path) -> str:
    """The last 'SomeError: message' line of the server log (one line)."""
    errors = [ln.strip() for ln in _read_log(path) if _ERROR_LINE.match(ln.strip())]
    return errors[-1][:500] if errors else "no error message in the log"


def _load_failure(path: Path) -> str | None:
    lines = _read_log(path)
    if any("failed to load" in ln for ln in lines):
        return _last_error(path)
    return None
