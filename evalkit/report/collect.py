"""Read a workspace into a plain dict (``ReportData``): the only module that knows artifact formats.

Missing stages are fine: their sections are empty and the summary says "not run". An artifact
that is catalogued but unreadable is listed in ``data["problems"]`` (shown at the top of the
report) instead of failing the whole report. Nothing here reads environment variables or API
configuration files, so no secret can reach the report.
"""
from __future__ import annotations

import platform
import time
from collections import Counter
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from ..artifacts import (EXPLANATION, PIPELINE, POOL, ExplanationKey, ModelKey, Pool, PredictionsKey, image_hash,
                         read_evalset, read_json, read_predictions, read_scores)
from ..errors import DataError
from ..version import __version__
from . import sections
from .changes import collect_changes
from .comparison import build_comparison, select_apis
from .pairwise import api_correctness, pairwise_differences
from .images import thumbnail_data_uri

ReportData = dict[str, Any]
"""Keys: meta, summary, stages, class_names, probes, evalsets, apis, comparison, pairwise, problems
(see sections.py, comparison.py, pairwise.py)."""

STAGES = (("miniset", "Mini-sets"), ("model", "Probe training"), ("predictions", "Probe predictions"),
          ("discovery", "Set discovery"), ("evalset", "Evaluation sets"), ("explanation", "Explanations"),
          ("scores", "API scoring"), ("fingerprint", "Fingerprints"))
LIBRARIES = ("numpy", "scipy", "scikit-learn", "tensorflow", "keras", "tf-keras-vis", "jinja2", "pillow")


@contextmanager
def _guard(problems: list[str], unreadable: list[str], what: str) -> Iterator[None]:
    """Turn an unreadable artifact into a visible problem line (never silently dropped); a
    damaged file (DataError naming it) is also listed in ``unreadable`` as 'path: message'."""
    try:
        yield
    except (DataError, OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        problems.append(f"{what}: {type(exc).__name__}: {exc}")
        if isinstance(exc, DataError) and exc.path is not None:
            unreadable.append(str(exc))


def _json(path: Path) -> Any:
    return read_json(path, "artifact")


def public_endpoint(url: str | None) -> str | None:
    """Drop credentials, query string and fragment from an endpoint URL (they may hold keys)."""
    if not url:
        return url
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", "")) if parts.scheme else parts.path


def library_versions() -> dict[str, str]:
    out = {"evalkit": __version__, "python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


class PoolImages:
    """Thumbnails of pool images, when a matching dataset was given (else ``reason`` says why not)."""

    def __init__(self, dataset, pool: dict | None, hashes: dict[int, str]):
        self.split, self.reason = None, None
        if dataset is None:
            self.reason = "images unavailable: no dataset was given to the report (evalkit report --data ...)"
            return
        if pool is None:
            self.reason = "images unavailable: the workspace has no evaluation pool"
            return
        split = dataset.split(pool.get("split", "test"))
        sha = pool.get("source_sha256")
        bad = [i for i, h in list(hashes.items())[:20]
               if i >= len(split) or image_hash(split.images[i]) != h]
        if (sha and sha != dataset.source_sha256) or bad or (pool.get("n") not in (None, len(split))):
            self.reason = "images unavailable: the given dataset does not match the workspace's pool"
            return
        self.split = split

    def thumb(self, index: int) -> str | None:
        if self.split is None or not 0 <= index < len(self.split):
            return None
        return thumbnail_data_uri(self.split.images[index])


def collect_report_data(ws, dataset=None, *, max_gallery: int = 12, max_set_images: int = 30,
                        max_grids: int = 8, apis: list[str] | None = None) -> ReportData:
    """Read every artifact of workspace ``ws`` into a plain dict for the templates and report.json.

    ``dataset`` (an ``evalkit.data`` LoadedDataset of the pool's source) is only used to draw
    thumbnails; without it galleries say images are unavailable. ``apis`` restricts the report
    to those scored or fingerprinted APIs (an unknown name is a UserError with "did you mean").
    """
    problems: list[str] = []
    unreadable: list[str] = []
    rows = {kind: ws.catalog.list(kind) for kind, _ in STAGES + (("pool", ""),)}
    pools = {}
    for a in rows["pool"]:
        with _guard(problems, unreadable, f"pool {a.key}"):
            pools[a.key] = _json(ws.abspath(a))
    pred_keys = {a.key: PredictionsKey.parse(a.key) for a in rows["predictions"]}
    pred_pools = Counter(str(k.pool) for k in pred_keys.values())
    pool_key = (pred_pools.most_common(1)[0][0] if pred_pools else next(iter(pools), None))
    pool = pools.get(pool_key)

    predictions: dict[tuple[str, int], dict] = {}
    for a in rows["predictions"]:
        key = pred_keys[a.key]
        if str(key.pool) != pool_key:
            continue
        with _guard(problems, unreadable, f"predictions {a.key}"):
            p = read_predictions(ws.abspath(a))
            predictions[(key.model.probe, key.model.seed)] = {"probs": p.probs.astype(np.float32),
                                                              "labels": p.labels, "ids": p.ids}
    models: dict[tuple[str, int], dict] = {}
    for a in rows["model"]:
        mk = ModelKey.parse(a.key)
        entry = {"meta": dict(a.meta), "history": {}}
        d = ws.abspath(a)
        with _guard(problems, unreadable, f"model {a.key} meta.json"):
            if (d / "meta.json").is_file():
                entry["meta"].update(_json(d / "meta.json"))
        with _guard(problems, unreadable, f"model {a.key} history.json"):
            if (d / "history.json").is_file():
                entry["history"] = _json(d / "history.json")
        models[(mk.probe, mk.seed)] = entry

    evalsets = []
    for a in rows["evalset"]:
        with _guard(problems, unreadable, f"evaluation set {a.key}"):
            evalsets.append(read_evalset(ws.abspath(a)))
    class_names = list((pool or {}).get("class_names") or next((s["class_names"] for s in evalsets), []))
    pool_labels: dict[int, int] = {}
    if predictions:
        pool_labels = dict(enumerate(next(iter(predictions.values()))["labels"].tolist()))
    for s in evalsets:
        pool_labels.update(zip(map(int, s.get("indices", [])), map(int, s.get("labels", []))))
    hashes = {int(i): h for s in evalsets for i, h in zip(s.get("indices", []), s.get("hashes", []))}
    images = PoolImages(dataset, pool, hashes)

    explanations: dict[str, dict] = {}
    for a in rows[EXPLANATION]:
        with _guard(problems, unreadable, f"explanation {a.key}"):
            ek = ExplanationKey.parse(a.key)
            e = explanations.setdefault(ek.set_id, {"records": [], "grid_files": []})
            sanity = a.meta.get("sanity") if isinstance(a.meta.get("sanity"), dict) else {}
            e["records"].append({"method": ek.method, "probe": ek.model.probe, "seed": ek.model.seed,
                                 "layer": a.meta.get("layer"), "n_images": a.meta.get("n_images"),
                                 "sanity_spearman": sections._f(sanity.get("spearman_mean")),
                                 "deletion": _deletion(a.meta.get("faithfulness"))})
            e["grid_files"] += [str(p) for p in _grid_files(ws, a) if str(p) not in e["grid_files"]]
    for e in explanations.values():
        e["n_grids"] = len(e["grid_files"])
        e["grid_files"] = e["grid_files"][:max_grids]

    scores, fingerprints = {}, {}
    for a in rows["scores"]:
        with _guard(problems, unreadable, f"scores {a.key}"):
            scores[a.key] = read_scores(ws.abspath(a))
    for a in rows["fingerprint"]:
        with _guard(problems, unreadable, f"fingerprint {a.key}"):
            fingerprints[a.key] = _json(ws.abspath(a))
    chosen = select_apis(apis, [a.key for a in rows["scores"]] + [a.key for a in rows["fingerprint"]])
    if chosen is not None:
        scores = {k: v for k, v in scores.items() if k in chosen}
        fingerprints = {k: v for k, v in fingerprints.items() if k in chosen}
    discovery = None
    for a in rows["discovery"]:
        with _guard(problems, unreadable, f"discovery {a.key}"):
            discovery = {"pool": a.key, **sections.discovery_summary(_json(ws.abspath(a)))}

    pipeline_runs = []
    for a in ws.catalog.list(PIPELINE):
        with _guard(problems, unreadable, f"pipeline run {a.key}"):
            pipeline_runs.append(_json(ws.abspath(a)))

    probe_names = sorted({p for p, _ in predictions} | {p for p, _ in models})
    data: ReportData = {
        "meta": {"generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "workspace": ws.root.name,
                 "evalkit_version": __version__, "images_available": images.split is not None,
                 "images_reason": images.reason},
        "stages": [{"kind": k, "name": n, "count": len(rows[k]), "run": bool(rows[k])} for k, n in STAGES],
        "class_names": class_names,
        "probes": [sections.probe_section(p, {s: {**models.get((p, s), {}), **predictions.get((p, s), {})}
                                              for s in sorted({s for q, s in set(predictions) | set(models) if q == p})},
                                          class_names, images, max_gallery) for p in probe_names],
        "evalsets": [sections.evalset_section(s, predictions, explanations.get(s.get("id"), {"records": [], "grid_files": [], "n_grids": 0}), images,
                                              class_names, max_set_images) for s in evalsets],
        "apis": [sections.api_section(name, sc, fingerprints.get(name), evalsets, pool_labels, class_names)
                 for name, sc in sorted(scores.items())],
        "changes": [c for c in collect_changes(ws, images, lambda what: _guard(problems, unreadable, what))
                    if chosen is None or c["api"] in chosen],
        "discovery": discovery,
        "pipeline": pipeline_runs,
        "problems": problems,
        "unreadable": unreadable,
    }
    for name in sorted(set(fingerprints) - set(scores)):
        data["apis"].append(sections.api_section(name, None, fingerprints[name], evalsets, pool_labels, class_names))
    for api in data["apis"]:
        api["endpoint"] = public_endpoint(api.get("endpoint"))
    data["comparison"] = build_comparison(data["apis"])
    data["pairwise"] = pairwise_differences({n: api_correctness(sc, pool_labels) for n, sc in scores.items()},
                                            evalsets)
    data["summary"] = sections.summary(rows, pools, pool_key, models, data, library_versions())
    return data


def _deletion(faith) -> dict:
    """Mean deletion scores (predicted-class target) of the map, random maps and a centre blob."""
    pred = faith.get("predicted") if isinstance(faith, dict) else None
    pred = pred if isinstance(pred, dict) else {}
    return {k: sections._f(pred.get(k)) for k in ("deletion", "random", "blob")}


def _grid_files(ws, artifact) -> list[Path]:
    """PNG grids of an explanation record: paths named in its meta, else ``*grid*.png`` beside it."""
    base = ws.abspath(artifact)
    folder = base if base.is_dir() else base.parent
    named: list[Path] = []
    for value in artifact.meta.values():
        for item in (value if isinstance(value, list) else [value]):
            if isinstance(item, str) and item.lower().endswith(".png"):
                for cand in (ws.root / item, folder / item):
                    if cand.is_file() and cand.resolve().is_relative_to(ws.root):
                        named.append(cand)
                        break
    if not named and folder.is_dir():
        named = sorted(folder.rglob("*grid*.png"))
    return list(dict.fromkeys(named))


def pool_dataset_name(ws) -> str | None:
    """The dataset name of the workspace's evaluation pool (for loading thumbnails), or None."""
    pools = ws.catalog.list(POOL)
    if not pools:
        return None
    return str(_json(ws.abspath(pools[0])).get("dataset") or Pool.parse(pools[0].key).dataset)
