"""The pipeline config (one TOML file), validated fully before any work starts."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config_schema import check_keys, load_toml
from ..discovery.discover import DiscoverySettings
from ..errors import ConfigError, UserError
from ..resources import resolve_api_file
from ..scoring.api_config import parse_max_queries

_SECTIONS = {"run": dict, "data": dict, "probes": dict, "discovery": dict, "explain": dict,
             "heldout": dict, "apis": list, "fingerprint": dict, "report": dict}
_RUN = {"name": str, "workspace": str, "executor": str, "ray_address": str, "workers": int}
_DATA = {"dataset": str, "source": str, "pool_split": str, "skip_bad": bool}
_PROBES = {"names": list, "seeds": list, "train_size": int, "epochs": int, "batch_size": int}
_DISCOVERY = {"size": int, "balanced": bool, "min_margin": float, "max_reuse": int, "include_suspect": bool,
              "audit_confidence": float, "n_boot": int, "alpha": float, "correction": str, "split_seed": int,
              "random_state": int}
_EXPLAIN = {"enabled": bool, "method": str, "probes": list, "max_sets": int, "max_images": int}
_HELDOUT = {"enabled": bool, "probe": str, "seed": int, "train_size": int, "epochs": int}
_API = {"file": str, "serve": str}
_FINGERPRINT = {"enabled": bool, "ablations": list, "max_queries": (int, str)}
_REPORT = {"name": str, "dir": str}
EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class ApiEntry:
    """An API to score: an API TOML file, or `serve = "heldout"` for the demo's served stand-in."""

    file: str | None = None
    serve: str | None = None


@dataclass(frozen=True)
class PipelineConfig:
    path: Path
    name: str
    workspace: Path
    executor: str = "local"
    ray_address: str | None = None
    workers: int = 1
    dataset: str = "cifar10"
    data_source: str | None = None
    pool_split: str = "test"
    skip_bad: bool = False
    probes: tuple[str, ...] = ("control", "kernel5", "zca_shift", "grayscale", "blur", "patch_shuffle")
    seeds: tuple[int, ...] = (0, 1, 2, 3)
    train_size: int = 5000
    epochs: int = 20
    batch_size: int | None = None
    discovery: DiscoverySettings = field(default_factory=DiscoverySettings)
    explain_enabled: bool = True
    explain_method: str = "gradcam"
    explain_probes: tuple[str, ...] | None = None
    explain_max_sets: int = 4
    explain_max_images: int | None = None   # explain the first N images of each set (None: all)
    heldout_enabled: bool = False
    heldout_probe: str = "control"
    heldout_seed: int = 1000
    heldout_train_size: int = 5000
    heldout_epochs: int = 20
    apis: tuple[ApiEntry, ...] = ()
    fingerprint_enabled: bool = True
    ablations: tuple[str, ...] = ("grayscale", "lowpass", "patch_shuffle", "channel_permute", "mirror")
    max_queries: int | str | None = None   # query planner budget per API (None: API file's, else 1000)
    report_name: str = "report"
    report_dir: Path | None = None

    @property
    def pool(self) -> str:
        return f"{self.dataset}/{self.pool_split}"


def _section(raw: dict, name: str, schema: dict, where: str) -> dict:
    table = raw.get(name, {})
    check_keys(table, schema, where=f"{where} [{name}]")
    return table


def _str_list(value: list, where: str, key: str) -> tuple[str, ...]:
    if not all(isinstance(v, str) for v in value):
        raise ConfigError(f"'{key}' must be a list of strings", path=where)
    return tuple(value)


def load_config(path: str | Path, *, workspace: str | Path | None = None) -> PipelineConfig:
    """Read and validate a pipeline config; names of probes, transforms and API files are checked too."""
    path = Path(path)
    raw = load_toml(path)
    where = str(path)
    check_keys(raw, _SECTIONS, where=where)
    run = _section(raw, "run", _RUN, where)
    data = _section(raw, "data", _DATA, where)
    probes = _section(raw, "probes", _PROBES, where)
    disc = _section(raw, "discovery", _DISCOVERY, where)
    expl = _section(raw, "explain", _EXPLAIN, where)
    held = _section(raw, "heldout", _HELDOUT, where)
    fp = _section(raw, "fingerprint", _FINGERPRINT, where)
    rep = _section(raw, "report", _REPORT, where)
    apis = []
    for i, entry in enumerate(raw.get("apis", [])):
        if not isinstance(entry, dict):
            raise ConfigError(f"[[apis]] entry {i} must be a table", path=where)
        check_keys(entry, _API, where=f"{where} [[apis]][{i}]")
        if ("file" in entry) == ("serve" in entry):
            raise ConfigError(f"[[apis]] entry {i} needs exactly one of 'file' or 'serve'", path=where)
        if entry.get("serve") not in (None, "heldout"):
            raise ConfigError(f"[[apis]] entry {i}: serve must be \"heldout\", got {entry['serve']!r}", path=where)
        if entry.get("serve") and not held.get("enabled", False):
            raise ConfigError(f"[[apis]] entry {i} serves the held-out model but [heldout] enabled is false",
                              path=where)
        if "file" in entry:
            api_path = (path.parent / entry["file"]) if not Path(entry["file"]).is_absolute() else Path(entry["file"])
            if not api_path.is_file() and not Path(entry["file"]).is_file():
                try:  # the name of a built-in example API file (or one in $EVALKIT_APIS)
                    resolve_api_file(entry["file"])
                except UserError:
                    raise ConfigError(f"[[apis]] entry {i}: API file {entry['file']!r} not found",
                                      path=where) from None
        apis.append(ApiEntry(file=entry.get("file"), serve=entry.get("serve")))

    executor = run.get("executor", "local")
    if executor not in EXECUTORS:
        raise ConfigError(f"[run] executor must be one of {', '.join(EXECUTORS)}, got {executor!r}", path=where)
    seeds = probes.get("seeds", [0, 1, 2, 3])
    if not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise ConfigError("[probes] seeds must be a list of integers", path=where)
    if len(set(seeds)) < 2:
        raise ConfigError("[probes] seeds needs at least 2 distinct seeds (discovery validates on held-out seeds)",
                          path=where)
    _at_least(where, "probes", probes, train_size=20, epochs=1, batch_size=1)
    _at_least(where, "heldout", held, train_size=20, epochs=1)
    _at_least(where, "explain", expl, max_sets=0, max_images=1)
    _at_least(where, "run", run, workers=1)
    if not probes.get("names", True):
        raise ConfigError("[probes] names must name at least one probe", path=where)
    for key in ("dataset", "pool_split"):
        if key in data and not data[key].strip():
            raise ConfigError(f"[data] {key} must not be empty", path=where)
    try:
        discovery = DiscoverySettings(**disc)
    except UserError as exc:  # the settings' own checks, reworded for the config file
        raise ConfigError(f"[discovery] {str(exc).removeprefix('discovery ')}", path=where) from None
    ws_root = Path(workspace) if workspace else Path(run.get("workspace", f"workspaces/{run.get('name', path.stem)}"))
    if not ws_root.is_absolute() and workspace is None:
        ws_root = Path.cwd() / ws_root
    cfg = PipelineConfig(
        path=path, name=run.get("name", path.stem), workspace=ws_root, executor=executor,
        ray_address=run.get("ray_address") or None, workers=run.get("workers", 1),
        dataset=data.get("dataset", "cifar10"), data_source=data.get("source") or None,
        pool_split=data.get("pool_split", "test"), skip_bad=data.get("skip_bad", False),
        probes=_str_list(probes.get("names", list(PipelineConfig.probes)), where, "names"),
        seeds=tuple(seeds), train_size=probes.get("train_size", 5000), epochs=probes.get("epochs", 20),
        batch_size=probes.get("batch_size"), discovery=discovery,
        explain_enabled=expl.get("enabled", True), explain_method=expl.get("method", "gradcam"),
        explain_probes=_str_list(expl["probes"], where, "probes") if "probes" in expl else None,
        explain_max_sets=expl.get("max_sets", 4), explain_max_images=expl.get("max_images"),
        heldout_enabled=held.get("enabled", False), heldout_probe=held.get("probe", "control"),
        heldout_seed=held.get("seed", 1000), heldout_train_size=held.get("train_size", 5000),
        heldout_epochs=held.get("epochs", 20), apis=tuple(apis),
        fingerprint_enabled=fp.get("enabled", True),
        ablations=_str_list(fp.get("ablations", list(PipelineConfig.ablations)), where, "ablations"),
        max_queries=parse_max_queries(fp.get("max_queries"), where=f"{where}: [fingerprint] max_queries"),
        report_name=rep.get("name", run.get("name", path.stem)),
        report_dir=Path(rep["dir"]) if "dir" in rep else None,
    )
    _check_names(cfg, where)
    return cfg


def _at_least(where: str, section: str, table: dict, **lows: int) -> None:
    for key, lo in lows.items():
        if key in table and table[key] < lo:
            raise ConfigError(f"[{section}] {key} must be >= {lo}, got {table[key]}", path=where)


def _check_names(cfg: PipelineConfig, where: str) -> None:
    """Resolve every named thing now, so a typo fails before hours of training."""
    from ..probes import load_probe_spec  # raises UserError with did-you-mean
    from ..probes.transforms import IMAGE_TRANSFORMS

    for name in cfg.probes + ((cfg.heldout_probe,) if cfg.heldout_enabled else ()):
        load_probe_spec(name)
    for name in cfg.explain_probes or ():
        if name not in cfg.probes:
            raise ConfigError(f"[explain] probe {name!r} is not in [probes] names", path=where)
    for name in cfg.ablations:
        IMAGE_TRANSFORMS.get(name)
    if cfg.explain_method not in ("gradcam", "gradcam++", "scorecam", "layercam"):
        raise ConfigError(f"[explain] method must be gradcam, gradcam++, scorecam or layercam, "
                          f"got {cfg.explain_method!r}", path=where)
    from ..report.stage import check_report_name

    try:
        check_report_name(cfg.report_name)
    except UserError as exc:
        raise ConfigError(f"[report] {exc}", path=where) from None
