"""Test support for the scoring stage: a fault-injecting TF-Serving-like server on 127.0.0.1
and a tiny workspace with one evaluation set over synthetic images."""
from __future__ import annotations

import base64
import email.utils
import hashlib
import io
import json
import socket
import threading
import time
from collections import Counter
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def decode_key(b64_png: str) -> str:
    """The cache key (sha256 of raw uint8 pixels) of a base64 PNG."""
    from PIL import Image

    arr = np.asarray(Image.open(io.BytesIO(base64.b64decode(b64_png))))
    if arr.ndim == 2:
        arr = arr[..., None]
    return hashlib.sha256(np.ascontiguousarray(arr, dtype=np.uint8).tobytes()).hexdigest()


def true_scores(key: str) -> list[float]:
    """The server's deterministic answer for an image: a probability vector over 10 classes."""
    rng = np.random.default_rng(int(key[:12], 16))
    p = rng.dirichlet(np.ones(10) * 0.3)
    return [round(float(x), 6) for x in p]


class FaultPlan:
    """Which fault (if any) answers the n-th request for an image: decided by a hash of
    (image key, n), so retries can succeed. Faults happen only while n <= ``fault_attempts``."""

    def __init__(self, p429=0.20, p503=0.10, pslow=0.05, pmalformed=0.05, fault_attempts=3):
        self.cuts = np.cumsum([p429, p503, pslow, pmalformed])
        self.fault_attempts = fault_attempts

    def fault(self, key: str, n: int) -> str | None:
        if n > self.fault_attempts:
            return None
        u = int(hashlib.sha256(f"{key}:{n}".encode()).hexdigest()[:8], 16) / 2 ** 32
        for name, cut in zip(("429", "503", "slow", "malformed"), self.cuts):
            if u < cut:
                return name
        return None


class LocalServer(ThreadingHTTPServer):
    """A threaded HTTP server on 127.0.0.1 and a free port (``url``)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default backlog of 5 resets connections under concurrent retries

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def serving(srv: LocalServer):
    """Serve ``srv`` on a background thread for the ``with`` block, then shut it down."""
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


class FaultyServer(LocalServer):

    def __init__(self, plan: FaultPlan | None, slow_s: float = 0.5, latency_s: float = 0.0,
                 api_key: str | None = None):
        self.plan, self.slow_s, self.latency_s, self.api_key = plan, slow_s, latency_s, api_key
        self.requests_per_image: Counter = Counter()
        self.answers_per_image: Counter = Counter()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def total_answers(self) -> int:
        with self.lock:
            return sum(self.answers_per_image.values())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FaultyServer

    def setup(self) -> None:
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms Nagle stalls

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except ConnectionResetError:  # the client gave up (timeout) or was killed
            pass

    def _send(self, status: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_POST(self) -> None:
        srv = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if srv.latency_s:
            time.sleep(srv.latency_s)
        if srv.api_key is not None and self.headers.get("Authorization") != f"Bearer {srv.api_key}":
            # echo the wrong key back, as some APIs do, to test redaction
            msg = f"invalid credentials: {self.headers.get('Authorization')}"
            return self._send(403, json.dumps({"error": msg}).encode())
        instances = json.loads(body)["instances"]
        keys = [decode_key(inst["b64"]) for inst in instances]
        with srv.lock:
            ns = []
            for k in keys:
                srv.requests_per_image[k] += 1
                ns.append(srv.requests_per_image[k])
        fault = srv.plan.fault(keys[0], ns[0]) if srv.plan else None
        if fault == "429":
            retry_after = "0" if ns[0] % 2 else email.utils.formatdate(time.time() - 1, usegmt=True)
            return self._send(429, b'{"error": "slow down"}', {"Retry-After": retry_after})
        if fault == "503":
            return self._send(503, b'{"error": "unavailable"}')
        if fault == "slow":
            time.sleep(srv.slow_s)
        if fault == "malformed":
            return self._send(200, b'{"predictions": [[0.1, 0.2,')
        with srv.lock:
            for k in keys:
                srv.answers_per_image[k] += 1
        self._send(200, json.dumps({"predictions": [true_scores(k) for k in keys]}).encode())


def running_server(plan: FaultPlan | None = None, **kw):
    return serving(FaultyServer(plan, **kw))


def make_dataset(n_images: int, seed: int = 1):
    """A synthetic LoadedDataset whose 'test' split has ``n_images`` tiny (8x8) images."""
    from evalkit.data.images import LoadedDataset
    from evalkit.data.synthetic import make_synthetic_split

    per_class = -(-n_images // 10)
    split = make_synthetic_split(per_class, size=8, seed=seed, prefix="test")
    split = split.subset(np.arange(n_images))
    split = type(split)(split.images, split.labels, split.ids, CLASSES)
    return LoadedDataset("tiny", CLASSES, {"test": split}, "test", "0" * 64)


def write_evalset(ws, set_id: str, indices, pool: str = "tiny/test") -> None:
    from evalkit.workspace import atomic_write_text

    doc = {"id": set_id, "kind": "pair", "pool": pool, "indices": [int(i) for i in indices],
           "class_names": list(CLASSES), "kept": True}
    path = ws.dir("sets") / f"{set_id.replace('>', '_')}.json"
    atomic_write_text(path, json.dumps(doc))
    ws.catalog.record("evalset", set_id, ws.relpath(path))


def write_api_file(path, url: str, *, concurrency=16, timeout_s=0.25, max_retries=5, extra="") -> None:
    path.write_text(f"""
name = "faulty"
adapter = "tfserving"
endpoint = "{url}"
model = "m"
price_per_1000 = 2.0

[params]
input_format = "b64"
top_k = 3

[engine]
concurrency = {concurrency}
rps = 5000
timeout_s = {timeout_s}
max_retries = {max_retries}
retry_time_cap_s = 30
backoff_base_s = 0.002
backoff_max_s = 0.02
{extra}
""")


def comparable(scores: dict) -> list[tuple]:
    """Scores records without timing, for equality checks across runs."""
    return [(r["index"], r["hash"], r["status"], r["label"], r["raw_label"], r["score"], r["reason"])
            for r in scores["images"]]


class ScriptedServer(LocalServer):
    """A server whose answers come from ``respond(path, headers, body) -> (status, bytes)``;
    counts requests (``n_requests``). For hostile answers: echoed headers, odd types, labels."""

    def __init__(self, respond):
        self.respond, self.n_requests, self.lock = respond, 0, threading.Lock()
        super().__init__(("127.0.0.1", 0), _ScriptedHandler)


class _ScriptedHandler(_Handler):
    server: ScriptedServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            self.server.n_requests += 1
        status, payload = self.server.respond(self.path, dict(self.headers), body)
        if not isinstance(payload, bytes):
            payload = json.dumps(payload).encode()
        self._send(status, payload)


def scripted_server(respond):
    return serving(ScriptedServer(respond))


def tfserving_answer(body: bytes, **extra) -> dict:
    """The FaultyServer's deterministic 200 answer to a tfserving b64 request, each prediction
    as ``{"scores": [...], **extra}`` (read with ``output_key = "scores"``)."""
    keys = [decode_key(inst["b64"]) for inst in json.loads(body)["instances"]]
    return {"predictions": [{"scores": true_scores(k), **extra} for k in keys]}


def free_port() -> int:
    """A local port with nothing listening on it (a dead server)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
