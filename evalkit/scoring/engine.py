"""The scoring engine: bounded concurrency, a requests-per-second limit, timeouts, retries with
exponential backoff and full jitter (connection errors, 429, 5xx, Retry-After, typed signals
from bodies), a retry-time cap per request, and the response cache. Every image ends with a
final answer or a failure with a reason.

Every response body and header value is redacted (secrets removed) on arrival, before an adapter
parses, shortens or stores any of it. Fail fast: a 401/403, or ``max_consecutive_errors``
transport errors in a row (each request sent after the previous error; requests in flight at an
error fail in the same stall and do not count), stop the run (:class:`ScoringAborted`); answers already received stay
cached. Each final server answer is a paid query: its cache row and ledger row are written in one
transaction, before anything else can fail."""
from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Sequence

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from ..errors import UserError
from ..textsafe import one_line, scalar_text
from .adapters.base import Adapter, ApiAnswer, ImageFailure, ImageItem, RetrySignal
from .api_config import Credentials, EngineSettings, redact
from .cache import CacheScope, ResponseCache
from .redaction import redact_bytes, redact_text

log = logging.getLogger("evalkit.scoring")


@dataclass(frozen=True)
class QueryResult:
    """The final outcome for one image. ``outcome`` is an ApiAnswer or an ImageFailure."""

    key: str
    outcome: ApiAnswer | ImageFailure
    latency_s: float | None
    attempts: int          # HTTP requests sent for this image in this run (0 = from cache)
    from_cache: bool


class ScoringAborted(UserError):
    """The run stopped early (fail fast): the API refuses the credentials or is unreachable."""


class TokenBucket:
    """At most ``rate`` acquisitions per second on average, bursts of ``burst``; thread-safe."""

    def __init__(self, rate: float, burst: float = 1.0, *, clock=time.monotonic, sleep=time.sleep):
        self.rate, self.burst = float(rate), max(1.0, float(burst))
        self._clock, self._sleep = clock, sleep
        self._tokens, self._last = self.burst, clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until it is available; returns the time waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
        if wait > 0:
            self._sleep(wait)
        return wait


def backoff_delay(attempt: int, settings: EngineSettings, rng: random.Random,
                  retry_after: float | None) -> float:
    """Full jitter: uniform(0, min(max, base * 2**(attempt-1))), at least Retry-After if given."""
    jitter = rng.uniform(0.0, min(settings.backoff_max_s, settings.backoff_base_s * 2 ** (attempt - 1)))
    return jitter if retry_after is None else max(retry_after, jitter)


class ScoringEngine:
    """Sends the uncached images of a run and stores every final answer in the cache."""

    def __init__(self, adapter: Adapter, settings: EngineSettings, credentials: Credentials | None,
                 cache: ResponseCache, scope: CacheScope, *, seed: int = 0, cost_per_query: float = 0.0,
                 sleep: Callable[[float], None] | None = None):
        self.adapter, self.settings, self.credentials = adapter, settings, credentials
        self.cache, self.scope, self.seed, self._sleep = cache, scope, seed, sleep
        self.cost_per_query = float(cost_per_query)
        self._secrets = credentials.values() if credentials is not None else []
        self._bucket = TokenBucket(settings.rps, burst=min(settings.rps, settings.concurrency))
        self._local = threading.local()
        self._count_lock = threading.Lock()
        self._abort = threading.Event()
        self.abort_reason: str | None = None
        self._transport_errors = 0
        self._last_error_at = float("-inf")
        self.http_requests = 0
        self.paid = 0          # final server answers received by this engine (ledger rows written)

    # ---- public -------------------------------------------------------------------------
    def cached(self, keys: Sequence[str]) -> dict[str, QueryResult]:
        """Final results already in the cache, by image key."""
        out = {}
        for key, row in self.cache.get_many(self.scope, keys).items():
            if row.status == "answer":
                outcome: ApiAnswer | ImageFailure = ApiAnswer(self.adapter.labels_from_raw(row.raw), row.raw,
                                                              row.api_version)
            else:
                outcome = ImageFailure(row.reason or "failed")
            out[key] = QueryResult(key, outcome, row.latency_s, 0, True)
        return out

    def run(self, items: Sequence[ImageItem],
            on_result: Callable[[QueryResult], None] | None = None) -> dict[str, QueryResult]:
        """Query every item (distinct keys; callers skip cached ones) and return final results."""
        size = self.settings.batch_size
        batches = [list(items[i:i + size]) for i in range(0, len(items), size)]
        results: dict[str, QueryResult] = {}
        lock = threading.Lock()

        def work(batch: list[ImageItem]) -> None:
            if self._abort.is_set():
                return
            for res in self._score_batch(batch):
                with lock:
                    results[res.key] = res
                if on_result is not None:
                    on_result(res)

        with ThreadPoolExecutor(max_workers=self.settings.concurrency,
                                thread_name_prefix="evalkit-score") as pool:
            futures = [pool.submit(work, b) for b in batches]
            try:
                for f in futures:
                    f.result()
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
        if self._abort.is_set():
            raise ScoringAborted(
                f"{self.scope.api}: {self.abort_reason}; {self.paid} answered image(s) of this run are kept "
                "in the cache (a re-run resumes) and earlier scores are unchanged")
        return results

    def stop(self, reason: str) -> None:
        """Fail fast: send nothing more (requests in flight finish; their answers are cached)."""
        with self._count_lock:
            if not self._abort.is_set():
                self.abort_reason = one_line(redact(reason, self.credentials))
                self._abort.set()

    # ---- one batch, with retries --------------------------------------------------------
    def _session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            s.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0))
            s.mount("https://", HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0))
            self._local.session = s
        return s

    def _send(self, batch: list[ImageItem]):
        req = self.adapter.build_request(batch, self.credentials)
        self._bucket.acquire()
        with self._count_lock:
            self.http_requests += 1
        t0 = time.monotonic()
        try:
            resp = self._session().request(req.method, req.url, headers=dict(req.headers),
                                           data=req.body_bytes(), timeout=self.settings.timeout_s,
                                           allow_redirects=False, stream=True)
            content = _read_capped(resp, int(self.settings.max_response_mb * 2 ** 20))
        except requests.RequestException as exc:
            detail = redact(str(exc), self.credentials)[:200]
            reason = f"{type(exc).__name__}: {detail}"
            with self._count_lock:
                # requests already in flight when the last error came fail in the same stall:
                # only one sent after it counts, so one stall of every worker is one error
                if t0 >= self._last_error_at:
                    self._transport_errors += 1
                    self._last_error_at = time.monotonic()
                n = self._transport_errors
            if n >= self.settings.max_consecutive_errors:
                self.stop(f"{n} transport errors in a row, the API looks unreachable (last: {reason})")
            return [RetrySignal(reason)] * len(batch), time.monotonic() - t0
        with self._count_lock:
            self._transport_errors = 0
        if content is None:
            return ([RetrySignal(f"HTTP {resp.status_code} response larger than "
                                 f"{self.settings.max_response_mb:g} MiB, dropped unread "
                                 "(raise [engine] max_response_mb if the API's answers are that large)")]
                    * len(batch), time.monotonic() - t0)
        body = redact_bytes(content, self._secrets) if self._secrets else content
        headers = resp.headers if not self._secrets else CaseInsensitiveDict(
            {k: redact_text(v, self._secrets) for k, v in resp.headers.items()})
        outcomes = self.adapter.parse_response(resp.status_code, headers, body, batch)
        if resp.status_code in (401, 403):
            first = next((o.reason for o in outcomes if hasattr(o, "reason")), f"HTTP {resp.status_code}")
            self.stop(f"{first[:300]} (the API refuses the credentials; check them)")
        return outcomes, time.monotonic() - t0

    def _pause(self, delay: float) -> None:
        if self._sleep is not None:
            self._sleep(delay)
        else:
            self._abort.wait(delay)  # a fail-fast stop ends the wait at once

    def _final(self, item: ImageItem, outcome, latency: float | None, attempts: int) -> QueryResult:
        if isinstance(outcome, ApiAnswer):
            outcome = dataclasses.replace(outcome, api_version=scalar_text(outcome.api_version))
            self.cache.put(self.scope, item.key, status="answer", raw=outcome.raw, latency_s=latency,
                           api_version=outcome.api_version, cost=self.cost_per_query)
            self._count_paid()
        else:
            outcome = ImageFailure(one_line(redact(str(outcome.reason), self.credentials)), outcome.cacheable)
            if outcome.cacheable:
                self.cache.put(self.scope, item.key, status="failure", reason=outcome.reason,
                               latency_s=latency, cost=self.cost_per_query)
                self._count_paid()
            log.info("image %s failed: %s", item.key[:12], outcome.reason)
        return QueryResult(item.key, outcome, latency, attempts, False)

    def _count_paid(self) -> None:
        with self._count_lock:
            self.paid += 1

    def _score_batch(self, batch: list[ImageItem]) -> list[QueryResult]:
        s = self.settings
        rng = random.Random(zlib.crc32(f"{self.seed}:{batch[0].key}".encode()))
        pending, attempts, start = batch, 0, time.monotonic()
        done: list[QueryResult] = []
        while pending:
            if self._abort.is_set():
                break
            outcomes, latency = self._send(pending)
            attempts += 1
            retry = []
            for item, outcome in zip(pending, outcomes):
                if isinstance(outcome, RetrySignal):
                    retry.append((item, outcome))
                else:
                    done.append(self._final(item, outcome, latency, attempts))
            if not retry:
                break
            last = retry[0][1]
            waits = [o.retry_after_s for _, o in retry if o.retry_after_s is not None]
            delay = backoff_delay(attempts, s, rng, max(waits) if waits else None)
            why = None
            if attempts > s.max_retries:
                why = f"gave up after {attempts} attempts; last: {last.reason}"
            elif time.monotonic() - start + delay > s.retry_time_cap_s:
                why = f"retry time cap of {s.retry_time_cap_s:g}s reached after {attempts} attempts; last: {last.reason}"
            if why is not None:
                done += [self._final(item, ImageFailure(why, cacheable=False), None, attempts)
                         for item, _ in retry]
                break
            self._pause(delay)
            pending = [item for item, _ in retry]
        return done


def _read_capped(resp: requests.Response, limit: int) -> bytes | None:
    """The response body, or None (connection closed) once it grows beyond ``limit`` bytes."""
    length = resp.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > limit:
        resp.close()
        return None
    chunks, size = [], 0
    for chunk in resp.iter_content(chunk_size=1 << 16):
        size += len(chunk)
        if size > limit:
            resp.close()
            return None
        chunks.append(chunk)
    resp.close()
    return b"".join(chunks)
