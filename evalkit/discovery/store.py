"""Storing a discovery run in the workspace: `discovery` summary and one `evalset` per set.

Layout (ARCHITECTURE.md): ``sets/discovery.json`` (catalog kind ``discovery``, key = pool) and
``sets/{id}.json`` (kind ``evalset``, key = set id such as ``control>blur``).
"""
from __future__ import annotations

import json

import numpy as np

from ..artifacts import DISCOVERY, EVALSET, evalset_path, image_hash, read_json, write_evalset
from ..data.images import ImageSplit
from ..errors import DataError, UserError
from ..workspace import Workspace, atomic_write_text
from .correctness import CorrectnessMatrix
from .discover import DiscoveryResult, SubsetResult, summary_table

DISCOVERY_FILE = "sets/discovery.json"


def check_pool_images(matrix: CorrectnessMatrix, images: ImageSplit) -> None:
    """Fail unless ``images`` are the pool the predictions were made on (same ids, labels, order)."""
    if len(images) != matrix.n_images or not np.array_equal(images.ids.astype(str), matrix.ids):
        raise DataError(f"pool {matrix.pool}: the dataset's {len(images)} image ids do not match the "
                        f"{matrix.n_images} ids of the stored predictions; use the data the probes were trained on")
    if not np.array_equal(images.labels, matrix.labels):
        raise DataError(f"pool {matrix.pool}: dataset labels differ from the labels stored with the predictions")


def _estimate(est) -> dict:
    return {"gap": est.gap, "gap_ci": [est.lo, est.hi], "acc_a": est.acc_a, "acc_b": est.acc_b,
            "mcnemar_p": est.mcnemar_p, "n_a_ahead": est.n_a_ahead, "n_b_ahead": est.n_b_ahead}


def subset_record(s: SubsetResult) -> dict:
    """A subset with its statistics, as stored in discovery.json."""
    return {"id": s.id, "kind": s.kind, "probe_a": s.probe_a, "probe_b": s.probe_b, "n": len(s.indices),
            "n_candidates": s.n_candidates, "selection_gap": s.selection_gap, **_estimate(s.validation),
            "mcnemar_p_adjusted": s.mcnemar_p_adjusted, "random_gap": s.random.gap,
            "random_gap_ci": [s.random.lo, s.random.hi], "random_mcnemar_p": s.random.mcnemar_p,
            "kept": s.kept, "flags": list(s.flags), "indices": list(s.indices),
            "random_indices": list(s.random_indices)}


def _involved(result: DiscoveryResult, s: SubsetResult, seeds: dict) -> dict:
    probes = [s.probe_a] + ([s.probe_b] if s.kind == "pair" else [p for p in result.probes if p != s.probe_a])
    return {p: list(seeds[p]) for p in probes}


def evalset_record(result: DiscoveryResult, s: SubsetResult, matrix: CorrectnessMatrix,
                   images: ImageSplit) -> dict:
    """The `sets/{id}.json` document of one subset (fields per ARCHITECTURE.md, plus extras)."""
    idx = np.asarray(s.indices, dtype=np.int64)
    return {"id": s.id, "kind": s.kind, "probe_a": s.probe_a, "probe_b": s.probe_b, "pool": result.pool,
            "indices": idx.tolist(), "ids": [str(i) for i in matrix.ids[idx]],
            "hashes": [image_hash(images.images[i]) for i in idx],
            "labels": [int(v) for v in matrix.labels[idx]], "class_names": list(matrix.class_names),
            "selection_seeds": _involved(result, s, result.split.selection),
            "validation_seeds": _involved(result, s, result.split.validation),
            "k": result.settings.size, "gap": s.validation.gap,
            "gap_ci": [s.validation.lo, s.validation.hi], "mcnemar_p": s.validation.mcnemar_p,
            "mcnemar_p_adjusted": s.mcnemar_p_adjusted, "correction": result.settings.correction,
            "acc_a": s.validation.acc_a, "acc_b": s.validation.acc_b,
            "random_gap": s.random.gap, "random_gap_ci": [s.random.lo, s.random.hi],
            "kept": s.kept, "flags": list(s.flags)}


def discovery_document(result: DiscoveryResult, matrix: CorrectnessMatrix) -> dict:
    """The `sets/discovery.json` document: settings, seed split, every subset, label audit."""
    return {"pool": result.pool, "n_images": result.n_images, "probes": list(result.probes),
            "class_names": list(matrix.class_names), "settings": result.settings.to_dict(),
            "seed_split": result.split.to_dict(), "sources": result.sources,
            "summary": summary_table(result),
            "subsets": [subset_record(s) for s in result.subsets],
            "label_audit": [vars(a) for a in result.suspects]}


def store_discovery(ws: Workspace, result: DiscoveryResult, matrix: CorrectnessMatrix, images: ImageSplit,
                    *, store_flagged: bool = False) -> list[str]:
    """Write discovery.json and an evalset per kept subset (every non-empty subset with
    ``store_flagged``), record them in the catalog, and drop evalsets of this pool a previous run
    wrote that this run no longer produces. Returns the stored set ids."""
    check_pool_images(matrix, images)
    stored = []
    for s in result.subsets:
        if not s.indices or not (s.kept or store_flagged):
            continue
        write_evalset(ws, evalset_record(result, s, matrix, images),
                      inputs={"pool": result.pool, "discovery": DISCOVERY_FILE},
                      settings=result.settings.to_dict(),
                      meta={"kept": s.kept, "n": len(s.indices), "gap": s.validation.gap})
        stored.append(s.id)
    for art in ws.catalog.list(EVALSET):
        if art.inputs.get("pool") == result.pool and art.key not in stored:
            ws.catalog.delete(EVALSET, art.key)
            ws.abspath(art).unlink(missing_ok=True)
    atomic_write_text(ws.root / DISCOVERY_FILE, json.dumps(discovery_document(result, matrix), indent=1))
    ws.catalog.record(DISCOVERY, result.pool, DISCOVERY_FILE, inputs={"predictions": result.sources},
                      settings={**result.settings.to_dict(), "store_flagged": store_flagged},
                      meta={**summary_table(result), "sets": stored})
    return stored


def is_up_to_date(ws: Workspace, pool: str, sources: dict, settings: dict) -> bool:
    """True when a recorded discovery of ``pool`` used the same predictions and settings and all
    its files are present (so the work can be skipped)."""
    art = ws.catalog.get(DISCOVERY, pool)
    if art is None or art.inputs.get("predictions") != sources or art.settings != settings:
        return False
    if not ws.abspath(art).is_file():
        return False
    return all((ws.root / evalset_path(sid)).is_file() for sid in art.meta.get("sets", []))


def load_discovery(ws: Workspace, pool: str) -> dict:
    art = ws.catalog.get(DISCOVERY, pool)
    if art is None:
        raise UserError(f"no discovery run for pool {pool!r} in workspace {ws.root}; run discovery first")
    return read_json(ws.abspath(art), "discovery")
