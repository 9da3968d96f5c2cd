"""API files: one TOML per API, strictly validated. Secrets never live in the file.

Example::

    adapter = "google-vision"
    endpoint = "https://vision.googleapis.com/v1/images:annotate"
    model = "builtin/stable"
    price_per_1000 = 1.5
    budget_total = 20.0          # optional: cap on the spend ledger's total over all runs
    ablations = ["blur"]

    [credentials]
    api_key = { env = "GOOGLE_VISION_API_KEY" }     # or { file = "~/.secrets/vision.key" }

    [engine]
    concurrency = 8
    rps = 10
    batch_size = 16
    max_consecutive_errors = 5   # fail fast after this many transport errors in a row

    [labels]
    "tabby" = "cat"

Credentials name an environment variable or a file; the secret is read at run time only.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..config_schema import check_keys, load_toml
from ..errors import ConfigError, UserError
from .redaction import redact_text

_TOP = {"name": str, "adapter": str, "endpoint": str, "model": str, "version": str,
        "price_per_1000": float, "ablations": list, "seed": int, "credentials": dict,
        "engine": dict, "image": dict, "params": dict, "labels": dict, "max_queries": (int, str),
        "budget_total": float}
_ENGINE = {"concurrency": int, "rps": float, "timeout_s": float, "max_retries": int,
           "retry_time_cap_s": float, "backoff_base_s": float, "backoff_max_s": float,
           "batch_size": int, "max_consecutive_errors": int, "max_response_mb": float}
_IMAGE = {"format": str, "resize": int}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class EngineSettings:
    concurrency: int = 4
    rps: float = 10.0
    timeout_s: float = 30.0
    max_retries: int = 6
    retry_time_cap_s: float = 300.0
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    batch_size: int = 1
    #: stop the run (error, exit 2) after this many transport errors in a row (no HTTP answer; a
    #: request already in flight at the previous error does not count: one stall is one error)
    max_consecutive_errors: int = 5
    #: a response body larger than this (MiB) is dropped unread and retried: a server that sends
    #: gigabytes must not exhaust memory (a batch of 64 1000-class score vectors is ~2 MiB)
    max_response_mb: float = 32.0


@dataclass(frozen=True)
class ApiConfig:
    """A validated API file. ``credentials`` maps a name to ("env", VAR) or ("file", PATH)."""

    name: str
    adapter: str
    endpoint: str
    model: str = ""
    version: str = ""
    price_per_1000: float = 0.0
    ablations: tuple[str, ...] = ()
    seed: int = 0
    credentials: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    engine: EngineSettings = field(default_factory=EngineSettings)
    image_format: str = "png"
    resize: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    label_overrides: Mapping[str, str] = field(default_factory=dict)
    source: str = ""
    max_queries: int | str | None = None   # query planner budget; "all" = send everything
    budget_total: float | None = None      # cumulative spend cap over all runs (the spend ledger)

    def adapter_instance(self):
        from .adapters import ADAPTERS

        return ADAPTERS.get(self.adapter)(self)


class Secret(str):
    """A string whose repr never shows its value."""

    def __repr__(self) -> str:
        return "Secret('***')"


@dataclass(frozen=True, repr=False)
class Credentials:
    """Resolved secrets by name. Never printed; :meth:`values` feeds redaction."""

    secrets: Mapping[str, Secret] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Secret:
        if name not in self.secrets:
            raise UserError(f"the API file declares no credential '{name}'; add it under [credentials]")
        return self.secrets[name]

    def get(self, name: str) -> Secret | None:
        return self.secrets.get(name)

    def values(self) -> list[str]:
        return [str(v) for v in self.secrets.values() if v]

    def __repr__(self) -> str:
        return f"Credentials({', '.join(sorted(self.secrets))})"


def load_api_config(path: str | Path) -> ApiConfig:
    """Read and validate one API file; unknown keys, types and adapters are one-line ConfigErrors."""
    from ..resources import resolve_api_file
    from .adapters import ADAPTERS

    path = resolve_api_file(path)  # a path, or the name of a built-in example / $EVALKIT_APIS file
    raw = load_toml(path)
    where = str(path)
    check_keys(raw, _TOP, where=where, required=("adapter", "endpoint"))
    if raw["adapter"] not in ADAPTERS:
        ADAPTERS.get(raw["adapter"])  # raises UserError with "did you mean"
    adapter_cls = ADAPTERS.get(raw["adapter"])
    engine_tbl = raw.get("engine", {})
    check_keys(engine_tbl, _ENGINE, where=f"{where} [engine]")
    engine = EngineSettings(**{k: (float(v) if isinstance(EngineSettings.__dataclass_fields__[k].default, float)
                                   else v) for k, v in engine_tbl.items()})
    _check_engine(engine, where)
    if engine.batch_size > adapter_cls.max_batch:
        raise ConfigError(f"[engine] batch_size {engine.batch_size} is more than the "
                          f"{raw['adapter']} adapter allows ({adapter_cls.max_batch})", path=where)
    image_tbl = raw.get("image", {})
    check_keys(image_tbl, _IMAGE, where=f"{where} [image]")
    fmt = image_tbl.get("format", "png")
    if fmt not in ("png", "jpeg"):
        raise ConfigError(f"[image] format must be 'png' or 'jpeg', got {fmt!r}", path=where)
    resize = image_tbl.get("resize") or None
    if resize is not None and not 8 <= resize <= 4096:
        raise ConfigError(f"[image] resize must be 8..4096 pixels, got {resize}", path=where)
    params = raw.get("params", {})
    check_keys(params, adapter_cls.params_schema, where=f"{where} [params]")
    labels = raw.get("labels", {})
    for k, v in labels.items():
        if not isinstance(v, str):
            raise ConfigError(f"[labels] '{k}' must map to a class name (or \"\" to abstain), got {v!r}",
                              path=where)
    ablations = raw.get("ablations", [])
    if not all(isinstance(a, str) for a in ablations):
        raise ConfigError("'ablations' must be a list of transform names", path=where)
    price = check_amount(raw.get("price_per_1000", 0.0), "price_per_1000", where)
    budget_total = raw.get("budget_total")
    if budget_total is not None:
        budget_total = check_amount(budget_total, "budget_total", where)
    max_queries = parse_max_queries(raw.get("max_queries"), where=f"{where}: max_queries")
    endpoint = check_endpoint(raw["endpoint"], where)
    seed = raw.get("seed", 0)
    if seed < 0:
        raise ConfigError(f"seed must be a whole number >= 0, got {seed}", path=where)
    name = check_api_name(raw.get("name", path.stem), where,
                          "" if "name" in raw else " (taken from the file name; set name = \"...\" in the file)")
    return ApiConfig(
        name=name, adapter=raw["adapter"], endpoint=endpoint,
        model=raw.get("model", ""), version=raw.get("version", ""), price_per_1000=price,
        ablations=tuple(ablations), seed=seed, budget_total=budget_total,
        credentials=_parse_credentials(raw.get("credentials", {}), where),
        engine=engine, image_format=fmt, resize=resize, params=params,
        label_overrides=dict(labels), source=str(path.resolve()), max_queries=max_queries)


def parse_max_queries(value, *, where: str) -> int | str | None:
    """A query budget: a whole number >= 1, or "all" (send every image and ablated copy)."""
    if value is None or value == "all":
        return value
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where} must be a whole number >= 1 or \"all\", got {value!r}")
    return value


def check_api_name(name: str, where: str | None, hint: str = "") -> str:
    """An API name becomes a folder (scores/NAME/) and a catalog key: letters, digits, '.', '_', '-'."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"name must be letters, digits, '.', '_' or '-' (at most 100, no path separators, "
                          f"not starting with '.' or '-'), got {name!r}{hint}", path=where)
    return name


def check_amount(value, what: str, where: str | None = None) -> float:
    """A money amount (price, budget): a finite number >= 0, else a one-line ConfigError."""
    try:
        amount = float(value)
    except (TypeError, ValueError):
        amount = math.nan
    if isinstance(value, bool) or not math.isfinite(amount) or amount < 0:
        raise ConfigError(f"{what} must be a finite number >= 0, got {value!r}", path=where)
    return amount


def check_endpoint(endpoint: str, where: str) -> str:
    """An http(s) URL with a host (and a valid port), without trailing '/'."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(endpoint)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 1) > 0
    except ValueError:  # a bad port or bracketed host
        ok = False
    if not ok or any(c.isspace() or ord(c) < 32 for c in endpoint):
        raise ConfigError(f"endpoint must be an http:// or https:// URL with a host, got {endpoint!r}",
                          path=where)
    return endpoint.rstrip("/")


def _check_engine(e: EngineSettings, where: str) -> None:
    for key in ("rps", "timeout_s", "max_response_mb"):
        value = getattr(e, key)
        if not math.isfinite(value) or value <= 0:
            raise ConfigError(f"[engine] {key} must be a finite number > 0, got {value!r}", path=where)
    for key in ("retry_time_cap_s", "backoff_base_s", "backoff_max_s"):
        value = getattr(e, key)
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"[engine] {key} must be a finite number >= 0, got {value!r}", path=where)
    checks = [("concurrency", e.concurrency >= 1), ("max_retries", e.max_retries >= 0),
              ("batch_size", e.batch_size >= 1), ("max_consecutive_errors", e.max_consecutive_errors >= 1)]
    for key, ok in checks:
        if not ok:
            raise ConfigError(f"[engine] {key} is out of range: {getattr(e, key)!r}", path=where)


def _parse_credentials(table: Mapping[str, Any], where: str) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for name, spec in table.items():
        if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in ("env", "file") \
                or not isinstance(next(iter(spec.values())), str):
            raise ConfigError(f"[credentials] '{name}' must be {{ env = \"VAR\" }} or {{ file = \"PATH\" }}; "
                              "secrets are never written in the API file", path=where)
        kind, ref = next(iter(spec.items()))
        out[name] = (kind, ref)
    return out


def resolve_credentials(config: ApiConfig, environ: Mapping[str, str] | None = None) -> Credentials:
    """Read every declared secret from its environment variable or file (run time only)."""
    environ = os.environ if environ is None else environ
    base = Path(config.source).parent if config.source else Path.cwd()
    secrets: dict[str, Secret] = {}
    for name, (kind, ref) in config.credentials.items():
        if kind == "env":
            value = environ.get(ref)
            if not value:
                raise UserError(f"{config.name}: credential '{name}' needs the environment variable {ref}, "
                                "which is not set")
        else:
            p = Path(ref).expanduser()
            p = p if p.is_absolute() else base / p
            if not p.is_file():
                raise UserError(f"{config.name}: credential '{name}' file not found: {p}")
            value = p.read_text(encoding="utf-8").strip()
            if not value:
                raise UserError(f"{config.name}: credential '{name}' file is empty: {p}")
        secrets[name] = Secret(value)
    return Credentials(secrets)


def redact(text: str, credentials: Credentials | None) -> str:
    """Replace every secret value in ``text`` (or any piece of 8+ characters of one, in its plain,
    JSON or URL spelling) by '***' (see :mod:`evalkit.scoring.redaction`)."""
    if credentials is None:
        return text
    return redact_text(text, credentials.values())
