"""The adapter contract: pure request building and response parsing, no I/O.

An adapter turns a batch of images into one :class:`PreparedRequest` and turns the HTTP answer
into one outcome per image: :class:`ApiAnswer` (labels with scores), :class:`ImageFailure`
(final, e.g. an image the API rejects) or :class:`RetrySignal` (try again later). The engine
does the I/O. Generic HTTP handling (429, 5xx, Retry-After, non-JSON bodies) lives in
:meth:`Adapter.parse_response`; subclasses implement the hooks ``build_request`` and
``parse_json`` and may override ``body_signal`` for typed retryable errors inside bodies.
"""
from __future__ import annotations

import base64
import email.utils
import io
import json
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ...registry import Registry

ADAPTERS: Registry[type["Adapter"]] = Registry("API adapter")


@dataclass(frozen=True)
class ImageItem:
    """One image to score: ``key`` is the sha256 of its raw uint8 bytes."""

    key: str
    image: np.ndarray = field(repr=False, compare=False)


@dataclass(frozen=True)
class PreparedRequest:
    """An HTTP request ready to send. ``headers`` may hold secrets and never appear in repr."""

    method: str
    url: str
    headers: Mapping[str, str] = field(repr=False)
    body: bytes | None = field(default=None, repr=False)
    json: Any = field(default=None, repr=False)

    def body_bytes(self) -> bytes | None:
        if self.json is not None:
            return json.dumps(self.json, separators=(",", ":")).encode("utf-8")
        return self.body


@dataclass(frozen=True)
class ApiAnswer:
    """A final answer for one image: labels best first as (name, score in [0, 1])."""

    labels: tuple[tuple[str, float], ...]
    raw: Any
    api_version: str | None = None


@dataclass(frozen=True)
class ImageFailure:
    """A final failure for one image (the API will not answer it): not retried; cached unless
    ``cacheable`` is False (e.g. bad credentials, which a re-run with the right key fixes)."""

    reason: str
    cacheable: bool = True


@dataclass(frozen=True)
class RetrySignal:
    """A transient problem: retry after ``retry_after_s`` seconds (None: use backoff)."""

    reason: str
    retry_after_s: float | None = None


Outcome = ApiAnswer | ImageFailure | RetrySignal


def image_key(image: np.ndarray) -> str:
    """sha256 hex of the raw uint8 bytes (C-order) of one image (``evalkit.artifacts.image_hash``)."""
    from ...artifacts import image_hash

    return image_hash(image)


def encode_image(image: np.ndarray, fmt: str = "png", resize: int | None = None) -> bytes:
    """Encode one uint8 HxWxC image as PNG or JPEG bytes (deterministic), optionally resized."""
    from PIL import Image

    arr = np.ascontiguousarray(image, dtype=np.uint8)
    pil = Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)
    if resize and max(pil.size) != resize:
        pil = pil.resize((resize, resize), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    if fmt == "jpeg":
        pil.save(buf, format="JPEG", quality=95)
    else:
        pil.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP date; None if absent/bad."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup."""
    low = name.lower()
    for k, v in headers.items():
        if k.lower() == low:
            return v
    return None


def ranked(labels) -> tuple[tuple[str, float], ...]:
    """Labels sorted by score, best first (stable), as a tuple of (str, float)."""
    pairs = [(str(n), float(s)) for n, s in labels]
    return tuple(sorted(pairs, key=lambda p: -p[1]))


class Adapter:
    """Base class of all adapters. Constructed from an :class:`ApiConfig`; holds no state."""

    name = "base"
    #: the largest number of images one request may carry
    max_batch = 1
    #: keys allowed in the API file's [params] table, with their types
    params_schema: dict[str, type | tuple[type, ...]] = {}

    def __init__(self, config):
        self.config = config

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.config.params)

    # ---- hooks -------------------------------------------------------------------------
    def build_request(self, batch: Sequence[ImageItem], credentials) -> PreparedRequest:
        raise NotImplementedError

    def parse_json(self, data: Any, headers: Mapping[str, str],
                   batch: Sequence[ImageItem]) -> list[Outcome]:
        raise NotImplementedError

    def labels_from_raw(self, raw: Any) -> tuple[tuple[str, float], ...]:
        """Labels of one image from its cached raw answer (re-parsed at scoring time)."""
        raise NotImplementedError

    def body_signal(self, status: int, data: Any, headers: Mapping[str, str]) -> Outcome | None:
        """A typed signal carried in an error body (e.g. throttling), or None."""
        return None

    # ---- template method ---------------------------------------------------------------
    def encode(self, item: ImageItem) -> bytes:
        return encode_image(item.image, self.config.image_format, self.config.resize)

    def parse_response(self, status: int, headers: Mapping[str, str], body: bytes,
                       batch: Sequence[ImageItem]) -> list[Outcome]:
        """One outcome per image of ``batch``, from an HTTP status, headers and body."""
        data: Any = None
        parsed = True
        try:
            data = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            parsed = False
        if parsed:
            signal = self.body_signal(status, data, headers)
            if signal is not None:
                return [signal] * len(batch)
        if status == 429 or status >= 500 or status == 408:
            retry_after = parse_retry_after(header(headers, "Retry-After"))
            return [RetrySignal(f"HTTP {status}", retry_after)] * len(batch)
        if status >= 400:
            detail = _short(data) if parsed else _short(body[:200].decode("utf-8", "replace"))
            return [ImageFailure(f"HTTP {status}: {detail}", cacheable=status not in (401, 403))] * len(batch)
        if not parsed or data is None:
            return [RetrySignal(f"malformed JSON in HTTP {status} answer")] * len(batch)
        try:
            outcomes = self.parse_json(data, headers, batch)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            return [RetrySignal(f"unexpected answer shape: {type(exc).__name__}: {exc}")] * len(batch)
        if len(outcomes) != len(batch):
            return [RetrySignal(f"answer has {len(outcomes)} results for {len(batch)} images")] * len(batch)
        return outcomes


def _short(obj: Any, limit: int = 160) -> str:
    text = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"))
    return text if len(text) <= limit else text[:limit] + "..."
