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
import math
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
        seconds = float(value)
        return None if math.isnan(seconds) else max(0.0, seconds)
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
        """One outcome per image of ``batch``, from an HTTP status, headers and body. Never raises
        on what a server sends: an answer that cannot be read is a :class:`RetrySignal` with a
        reason (the engine turns repeated ones into a failure with that reason)."""
        data, parsed = _load_json(body)
        if parsed:
            try:
                signal = self.body_signal(status, data, headers)
            except PARSE_ERRORS as exc:
                signal = _unreadable(exc)
            if signal is not None:
                return [_checked_or_retry(signal)] * len(batch)
        if status == 429 or status >= 500 or status == 408:
            retry_after = parse_retry_after(header(headers, "Retry-After"))
            return [_checked(RetrySignal(f"HTTP {status}", retry_after))] * len(batch)
        if status >= 400:
            detail = _short(data) if parsed else _short(body[:200].decode("utf-8", "replace"))
            return [ImageFailure(f"HTTP {status}: {detail}", cacheable=status not in (401, 403))] * len(batch)
        if not parsed or data is None:
            return [RetrySignal(f"malformed JSON in HTTP {status} answer")] * len(batch)
        try:
            outcomes = list(self.parse_json(data, headers, batch))
        except PARSE_ERRORS as exc:
            return [_unreadable(exc)] * len(batch)
        if len(outcomes) != len(batch):
            return [RetrySignal(f"answer has {len(outcomes)} results for {len(batch)} images")] * len(batch)
        return [_checked_or_retry(o) for o in outcomes]


#: what reading an odd answer can raise (a missing field, a wrong type, a bad number, no such output)
PARSE_ERRORS = (LookupError, TypeError, ValueError, AttributeError, ArithmeticError, StopIteration,
                RecursionError, UnicodeError)
#: answers nested deeper than this are refused (deep nesting is no answer, and blows the stack)
MAX_JSON_DEPTH = 64


def _load_json(body: bytes) -> tuple[Any, bool]:
    """(value, True) for a JSON body nested at most :data:`MAX_JSON_DEPTH` deep, else (None, False)."""
    if not body:
        return None, True
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # JSONDecodeError is a ValueError
        return None, False
    return (data, True) if _depth_at_most(data, MAX_JSON_DEPTH) else (None, False)


def _depth_at_most(data: Any, limit: int) -> bool:
    stack = [(data, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth >= limit:
                return False
            stack.extend((v, depth + 1) for v in (node.values() if isinstance(node, dict) else node))
    return True


def _checked(outcome: Any) -> Outcome:
    """``outcome`` if it is well formed; ValueError/TypeError otherwise. Retry-After delays are
    made finite and non-negative (NaN: none given)."""
    if isinstance(outcome, ApiAnswer):
        for pair in outcome.labels:
            name, score = pair
            if not isinstance(name, str) or not isinstance(score, float) or not math.isfinite(score):
                raise ValueError(f"label {_short(repr(name), 60)} has score {score!r}, expected a finite number")
        return outcome
    if isinstance(outcome, RetrySignal):
        wait = outcome.retry_after_s
        if wait is not None:
            wait = float(wait)
            wait = None if math.isnan(wait) else min(max(wait, 0.0), MAX_RETRY_AFTER_S)
        return RetrySignal(str(outcome.reason), wait)
    if isinstance(outcome, ImageFailure):
        return ImageFailure(str(outcome.reason), bool(outcome.cacheable))
    raise TypeError(f"adapter returned {type(outcome).__name__}, expected an outcome")


def _unreadable(exc: BaseException) -> RetrySignal:
    return RetrySignal(f"unexpected answer shape: {type(exc).__name__}: {_short(str(exc))}")


def _checked_or_retry(outcome: Any) -> Outcome:
    try:
        return _checked(outcome)
    except PARSE_ERRORS as exc:
        return _unreadable(exc)


#: a server asking to wait longer than this is asked again after this (a day)
MAX_RETRY_AFTER_S = 86400.0


def _short(obj: Any, limit: int = 160) -> str:
    text = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"), default=repr)
    return text if len(text) <= limit else text[:limit] + "..."
