"""A fake image-classification server on 127.0.0.1 that speaks all 8 adapter protocols and
answers each image with its true label (looked up by the sha256 of its decoded pixels), with
switchable faults drawn by probability from a seed: 429 + Retry-After, 503, hangs past the client
timeout, garbage bodies, wrong counts in batch answers, hostile labels, request headers (with the
key) echoed in bodies, and odd types in version fields. Used by tests and bench/bench_hostile.py."""
from __future__ import annotations

import base64
import email.utils
import hashlib
import io
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from scoring_servers import LocalServer, _Handler, serving

PROTOCOLS = ("tfserving", "kserve-v2", "google-vision", "rekognition", "azure-customvision",
             "azure-vision", "huggingface", "http-json")
BATCHED = {"tfserving": 8, "kserve-v2": 8, "google-vision": 8}
HOSTILE_LABELS = ("<script>alert('owned')</script>", "<img src=x onerror=alert(1)>",
                  "\x1b[2J\x1b[31mred\x1b[0m", "\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\",
                  "nul\x00byte", "lone\ud800surrogate", "\u202eevil", "\x07bell\x9b", "z" * 3000)


@dataclass(frozen=True)
class Faults:
    """Fault probabilities per request (drawn from ``seed``, the first image and the attempt) and
    switches for hostile content in every answer. ``odd_types``: version fields are objects, and
    half the answers (by image) spell every number as a string."""

    p429: float = 0.0
    p503: float = 0.0
    phang: float = 0.0
    pgarbage: float = 0.0
    pwrong_count: float = 0.0
    hostile_labels: bool = False
    echo_headers: bool = False
    odd_types: bool = False
    hang_s: float = 1.0
    seed: int = 0
    latency_s: float = 0.0   # every request takes at least this long
    p_hostile_top: float = 0.0  # share of images (by key) whose hostile labels outrank the true one

    def hostile_top(self, key: str) -> bool:
        return int(hashlib.sha256(f"{self.seed}:top:{key}".encode()).hexdigest()[:12], 16) / 16 ** 12 < self.p_hostile_top

    def draw(self, key: str, attempt: int) -> str | None:
        u = int(hashlib.sha256(f"{self.seed}:{key}:{attempt}".encode()).hexdigest()[:12], 16) / 16 ** 12
        for name, p in (("429", self.p429), ("503", self.p503), ("hang", self.phang),
                        ("garbage", self.pgarbage), ("wrong_count", self.pwrong_count)):
            if u < p:
                return name
            u -= p
        return None


HOSTILE_MIX = Faults(p429=0.20, p503=0.10, phang=0.05, pgarbage=0.05, pwrong_count=0.02,
                     hostile_labels=True, echo_headers=True, odd_types=True, p_hostile_top=0.05)


def pixels_key(png_or_jpeg: bytes) -> str:
    from PIL import Image

    arr = np.asarray(Image.open(io.BytesIO(png_or_jpeg)))
    return _key(arr[..., None] if arr.ndim == 2 else arr)


def _key(arr: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(arr, dtype=np.uint8).tobytes()).hexdigest()


def _protocol(path: str, headers: Mapping[str, str]) -> str:
    if "X-Amz-Target" in headers:
        return "rekognition"
    for prefix, name in (("/v1/models/", "tfserving"), ("/v2/models/", "kserve-v2"), ("/vision/", "google-vision"),
                         ("/customvision/", "azure-customvision"), ("/computervision/", "azure-vision"),
                         ("/hf/", "huggingface"), ("/classify", "http-json")):
        if path.startswith(prefix):
            return name
    raise ValueError(f"no protocol serves {path}")


def request_keys(protocol: str, body: bytes) -> list[str]:
    """The image keys of one request, in request order."""
    if protocol in ("azure-customvision", "azure-vision", "huggingface"):
        return [pixels_key(body)]
    doc = json.loads(body)
    if protocol == "tfserving":
        return [pixels_key(base64.b64decode(inst["b64"])) for inst in doc["instances"]]
    if protocol == "kserve-v2":
        t = doc["inputs"][0]
        return [_key(a) for a in np.asarray(t["data"], dtype=np.uint8).reshape(t["shape"])]
    if protocol == "google-vision":
        return [pixels_key(base64.b64decode(r["image"]["content"])) for r in doc["requests"]]
    if protocol == "rekognition":
        return [pixels_key(base64.b64decode(doc["Image"]["Bytes"]))]
    return [pixels_key(base64.b64decode(doc["image"]))]  # http-json


def answer(protocol: str, names: list[str], faults: Faults, headers: Mapping[str, str],
           classes: tuple[str, ...], count: int | None = None, tops: list[bool] | None = None) -> object:
    """The 200 answer naming ``names`` (0.9) for each image, ``count`` results if given; hostile
    labels score 0.5 and below, or are the only labels of the images flagged in ``tops``."""
    extra = list(HOSTILE_LABELS) if faults.hostile_labels else []
    echo = {"echo": dict(headers)} if faults.echo_headers else {}
    version = {"v": [1, {"deep": True}], **echo} if faults.odd_types else "1"
    tops = tops or [False] * len(names)
    if count is not None:
        names, tops = (names * 2)[:count], (tops * 2)[:count]
    labels = [([] if top else [(n, 0.9)]) + [(h, 0.5 - i * 0.01) for i, h in enumerate(extra)]
              for n, top in zip(names, tops)]
    if protocol == "tfserving":
        return {"predictions": [{"scores": _vector(n, classes), **echo} for n in names]}
    if protocol == "kserve-v2":
        data = [x for n in names for x in _vector(n, classes)]
        return {"model_name": "m", "model_version": version,
                "outputs": [{"name": "probs", "shape": [len(names), len(classes)], "datatype": "FP32", "data": data}]}
    if protocol == "google-vision":
        return {"responses": [{"labelAnnotations": [{"description": a, "score": s} for a, s in ls], **echo}
                              for ls in labels]}
    (ls,) = labels
    if protocol == "rekognition":
        return {"Labels": [{"Name": a, "Confidence": s * 100, "Parents": []} for a, s in ls],
                "LabelModelVersion": version, **echo}
    if protocol == "azure-customvision":
        return {"predictions": [{"tagName": a, "probability": s} for a, s in ls], "iteration": version, **echo}
    if protocol == "azure-vision":
        return {"tagsResult": {"values": [{"name": a, "confidence": s} for a, s in ls]}, "modelVersion": version,
                **echo}
    if protocol == "huggingface":
        return [{"label": a, "score": s, **echo} for a, s in ls]
    return {"result": {"labels": [{"name": a, "confidence": s * 100} for a, s in ls], "model_version": version},
            **echo}


def numbers_as_text(doc: object) -> object:
    """``doc`` with every number (scores, confidences, shapes) spelled as a string."""
    if isinstance(doc, dict):
        return {k: v if k == "echo" else numbers_as_text(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [numbers_as_text(v) for v in doc]
    return str(doc) if isinstance(doc, (int, float)) and not isinstance(doc, bool) else doc


def _vector(name: str, classes: tuple[str, ...]) -> list[float]:
    return [0.91 if c == name else 0.01 for c in classes]


GARBAGE = (b'{"predictions": [[0.1, 0.2,', b"<html><body>502 Bad Gateway</body></html>", b"\x00\xff\xfe garbage",
           b"[" * 3000 + b"]" * 3000, b"NaN", b'"\\ud800"')


class FakeApiServer(LocalServer):
    """Answers requests of any of the 8 protocols; ``truth`` maps image keys to class names.
    Counts requests per image (``requests_per_image``) and faults sent (``faults_sent``)."""

    request_queue_size = 256

    def __init__(self, truth: Mapping[str, str], classes, faults: Faults = Faults()):
        self.truth, self.classes, self.faults = dict(truth), tuple(classes), faults
        self.requests_per_image: Counter = Counter()
        self.faults_sent: Counter = Counter()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _FakeHandler)


class _FakeHandler(_Handler):
    server: FakeApiServer

    def do_POST(self) -> None:
        srv, f = self.server, self.server.faults
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = dict(self.headers)
        if f.latency_s:
            time.sleep(f.latency_s)
        try:
            protocol = _protocol(self.path, headers)
            keys = request_keys(protocol, body)
        except (ValueError, LookupError, TypeError, OSError) as exc:  # e.g. a body cut by a killed client
            return self._send(400, json.dumps({"error": f"bad request: {type(exc).__name__}"}).encode())
        with srv.lock:
            for k in keys:
                srv.requests_per_image[k] += 1
            fault = f.draw(keys[0], srv.requests_per_image[keys[0]])
            if fault == "wrong_count" and protocol not in BATCHED:
                fault = "garbage"
            srv.faults_sent[fault or "none"] += 1
        echo = {"you_sent": headers} if f.echo_headers else {}
        if fault == "429":
            attempt = srv.requests_per_image[keys[0]]
            retry_after = "0" if attempt % 2 else email.utils.formatdate(time.time() - 1, usegmt=True)
            return self._send(429, json.dumps({"error": "slow down", **echo}).encode(), {"Retry-After": retry_after})
        if fault == "503":
            return self._send(503, json.dumps({"error": "unavailable", **echo}).encode())
        if fault == "hang":
            time.sleep(f.hang_s)
        if fault == "garbage":
            return self._send(200, GARBAGE[int(keys[0][:4], 16) % len(GARBAGE)])
        count = None
        if fault == "wrong_count":
            count = len(keys) + 1 if len(keys) == 1 or int(keys[0][4], 16) % 2 else len(keys) - 1
        doc = answer(protocol, [srv.truth[k] for k in keys], f, headers, srv.classes, count,
                     [f.hostile_labels and f.hostile_top(k) for k in keys])
        if f.odd_types and int(keys[0][5], 16) % 2:  # half the answers: every number as a string
            doc = numbers_as_text(doc)
        self._send(200, json.dumps(doc).encode())


def fake_api_server(truth: Mapping[str, str], classes, faults: Faults = Faults()):
    return serving(FakeApiServer(truth, classes, faults))


#: secrets per protocol: credential name -> environment variable
CREDENTIALS = {"tfserving": {"token": "FAKE_TOKEN"}, "kserve-v2": {"token": "FAKE_TOKEN"},
               "google-vision": {"api_key": "FAKE_API_KEY"},
               "rekognition": {"access_key_id": "FAKE_AKID", "secret_access_key": "FAKE_SECRET"},
               "azure-customvision": {"prediction_key": "FAKE_API_KEY"},
               "azure-vision": {"api_key": "FAKE_API_KEY"}, "huggingface": {"token": "FAKE_TOKEN"},
               "http-json": {"api_key": "FAKE_API_KEY"}}
_PARAMS = {
    "tfserving": 'output_key = "scores"\noutput_labels = {classes}\ntop_k = 3\n',
    "kserve-v2": 'output_name = "probs"\noutput_labels = {classes}\ntop_k = 3\n',
    "google-vision": "max_results = 20\n",
    "rekognition": 'region = "us-east-1"\n',
    "azure-customvision": 'project_id = "p1"\npublished_name = "it1"\n',
    "azure-vision": "",
    "huggingface": "",
    "http-json": ('path = "/classify"\ntemplate = { image = "{image_b64}" }\n'
                  'headers = { "X-Api-Key" = "{secret:api_key}" }\nlabels_path = "result.labels"\n'
                  'label_field = "name"\nscore_field = "confidence"\nscore_scale = 0.01\n'
                  'version_path = "result.model_version"\n'),
}
_ENDPOINT = {"google-vision": "{url}/vision/v1/images:annotate", "huggingface": "{url}/hf"}


def api_file_text(protocol: str, url: str, classes, *, name: str | None = None, timeout_s: float = 0.3,
                  concurrency: int = 8, max_retries: int = 8) -> str:
    """An API file scoring through ``protocol`` against the fake server at ``url``."""
    creds = "\n".join(f'{k} = {{ env = "{v}" }}' for k, v in CREDENTIALS[protocol].items())
    endpoint = _ENDPOINT.get(protocol, "{url}").format(url=url)
    return (f'name = "{name or protocol}"\nadapter = "{protocol}"\nendpoint = "{endpoint}"\nmodel = "m"\n'
            f"price_per_1000 = 1.0\n\n[credentials]\n{creds}\n\n[engine]\nconcurrency = {concurrency}\n"
            f"rps = 5000\ntimeout_s = {timeout_s}\nmax_retries = {max_retries}\nretry_time_cap_s = 60\n"
            f"backoff_base_s = 0.002\nbackoff_max_s = 0.02\n"
            f"batch_size = {BATCHED.get(protocol, 1)}\n\n[params]\n"
            + _PARAMS[protocol].replace("{classes}", json.dumps(list(classes))))


def fake_secrets(seed: int = 0) -> dict[str, str]:
    """Distinct 48-character secrets for every environment variable the API files name."""
    names = sorted({v for c in CREDENTIALS.values() for v in c.values()})
    return {n: "sk-" + hashlib.sha256(f"{seed}:{n}".encode()).hexdigest()[:45] for n in names}
