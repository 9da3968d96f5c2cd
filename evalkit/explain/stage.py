"""The explain stage: maps of every probe on every image of an evaluation set, in the workspace.

Per (set, method, probe, seed) it writes ``explanations/{set}/{method}/{probe}/seed{seed}/``:
``maps.npz`` (float32 maps in [0, 1] for the predicted and the true class, classes, probs,
deletion scores of the maps and of the random / centre-blob baselines), PNG overlays, and
records catalog kind ``explanation``. Grids (one per image, one column per probe) go to
``explanations/{set}/{method}/grids/`` and are listed in each record's meta.
"""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

import numpy as np

from ..artifacts import read_npz
from ..artifacts import (EXPLANATION, MODEL, ExplanationKey, ModelKey, Pool, image_hash, load_evalset, model_rows,
                         open_pool_dataset)
from ..errors import DataError, UserError, did_you_mean
from ..workspace import Artifact, Workspace, canonical_json
from .base import get_method
from .faithfulness import compare_with_baselines
from .layers import find_last_conv_layer
from .outputs import save_grid, save_maps_npz, save_overlay
from .sanity import randomisation_test

KIND = EXPLANATION


@dataclass(frozen=True)
class ExplainSetResult:
    set_id: str
    method: str
    records: tuple[Artifact, ...]
    skipped: tuple[tuple[str, str], ...]   # (probe/seed, reason)
    grids: tuple[str, ...]                 # workspace-relative PNG paths


def _load_probe(ws: Workspace, probe: str, seed: int):
    from ..probes import load_probe_model  # stage 3

    return load_probe_model(ws, probe, seed)


def _load_split(dataset, pool: str):
    pool = Pool.parse(pool)
    if dataset is None or isinstance(dataset, str):
        dataset = open_pool_dataset(None, pool, dataset)
    return dataset.split(pool.split)


def _models(ws: Workspace, probes, seeds) -> list[ModelKey]:
    found = [k for k, _ in model_rows(ws)]
    names = sorted({k.probe for k in found})
    for p in probes or ():
        if p not in names:
            raise UserError(f"no trained probe {p!r} in {ws.root}{did_you_mean(p, names)}; "
                            f"trained: {', '.join(names) or 'none'}")
    return [k for k in found if (probes is None or k.probe in probes) and (seeds is None or k.seed in seeds)]


def _images(dataset, evalset: dict, set_id: str) -> tuple[np.ndarray, np.ndarray]:
    split = _load_split(dataset, evalset["pool"])
    idx = np.asarray(evalset["indices"], dtype=np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= len(split)):
        raise DataError(f"set {set_id!r}: indices exceed the pool's {len(split)} images")
    images = split.images[idx]
    for i, h in zip(range(len(idx)), evalset.get("hashes") or []):
        if image_hash(images[i]) != h:
            raise DataError(f"set {set_id!r}: image {int(idx[i])} differs from the one the set was "
                            "built on; expected the same copy of the dataset")
    return images, np.asarray(evalset["labels"], dtype=np.int64)


def _inputs(ws: Workspace, evalset: dict, model: ModelKey, n_images: int) -> dict:
    """What an explanation is made from: the set's images and the trained run (its catalog time,
    which changes when the probe is retrained)."""
    art = ws.catalog.get(MODEL, str(model))
    content = canonical_json({"indices": evalset["indices"], "hashes": evalset.get("hashes")})
    return {"evalset": evalset["id"], "model": str(model), "n_images": n_images,
            "evalset_sha256": hashlib.sha256(content.encode()).hexdigest(),
            "model_created": None if art is None else art.created}


def _explain_probe(ws, out_dir, model, images, labels, method, layer, batch_size, sanity_images):
    explainer = get_method(method)(model, layer=layer, batch_size=batch_size)
    pred = explainer.explain(images, "predicted")
    true = explainer.explain(images, "true", labels)
    faith = {t.target: compare_with_baselines(model, images, t.maps, t.classes) for t in (pred, true)}
    k = min(sanity_images, len(images))
    trained = dataclasses.replace(pred, maps=pred.maps[:k], classes=pred.classes[:k], probs=pred.probs[:k])
    sanity = randomisation_test(model, images[:k], method=method, mode="all", trained=trained,
                                batch_size=batch_size) if k else None
    save_maps_npz(out_dir / "maps.npz", maps_predicted=pred.maps, maps_true=true.maps,
                  classes_predicted=pred.classes, classes_true=true.classes, probs=pred.probs,
                  **{f"deletion_{t}_{w}": getattr(f, w) for t, f in faith.items()
                     for w in ("deletion", "random", "blob")})
    for i in range(len(images)):
        save_overlay(out_dir / "overlays" / f"{i:04d}_predicted.png", images[i], pred.maps[i])
        if pred.classes[i] != true.classes[i]:
            save_overlay(out_dir / "overlays" / f"{i:04d}_true.png", images[i], true.maps[i])
    return {"layer": pred.layer, "scores_on": pred.scores_on, "n_images": len(images),
            "n_all_zero": {"predicted": pred.n_all_zero, "true": true.n_all_zero},
            "n_nan": {"predicted": pred.n_nan, "true": true.n_nan},
            "faithfulness": {t: f.summary() for t, f in faith.items()},
            "sanity": None if sanity is None else {
                "mode": sanity.mode, "n_images": sanity.n_images,
                "spearman_mean": sanity.final_spearman,
                "n_defined": sanity.steps[-1].n_defined, "n_all_zero": sanity.steps[-1].n_all_zero}}


def explain_set(ws: Workspace, dataset, set_id: str, method: str, probes=None, seeds=None,
                layer: str | None = None, batch_size: int = 64, *,
                sanity_images: int = 32, max_images: int | None = None) -> ExplainSetResult:
    """Explain every image of evaluation set ``set_id`` for each trained probe (or ``probes`` /
    ``seeds``) with ``method``; skips finished (catalog) work and probes without convolutions.

    dataset: a LoadedDataset holding the set's pool, or a data path/spec for ``load_dataset``.
    max_images: explain only the set's first ``max_images`` images (default: all).
    """
    get_method(method)  # fail early on a bad name
    evalset = load_evalset(ws, set_id)
    if max_images is not None:
        if max_images < 1:
            raise UserError(f"max_images must be >= 1, got {max_images}")
        evalset = {**evalset, **{k: evalset[k][:max_images] for k in ("indices", "ids", "hashes", "labels")
                                 if k in evalset}}
    images, labels = _images(dataset, evalset, set_id)
    class_names = list(evalset.get("class_names") or [])
    root = ws.dir("explanations") / set_id / method
    done, skipped = [], []
    for mk in _models(ws, probes, seeds):
        probe, seed = mk.probe, mk.seed
        key = ExplanationKey(set_id, method, mk)
        inputs = _inputs(ws, evalset, mk, len(images))
        art = ws.catalog.get(KIND, str(key))
        if art is None or art.inputs != inputs:
            loaded = _load_probe(ws, probe, seed)
            model = getattr(loaded, "keras_model", None)
            if model is None:
                skipped.append((str(mk), "not a Keras model (no convolutions)"))
                continue
            if layer is None and find_last_conv_layer(model) is None:
                skipped.append((str(mk), "no convolutional layer"))
                continue
            out_dir = ws.root / key.path
            meta = _explain_probe(ws, out_dir, model, images, labels, method, layer, batch_size,
                                  sanity_images)
            art = ws.catalog.record(
                KIND, str(key), key.path, inputs=inputs,
                settings={"method": method, "layer": layer, "batch_size": batch_size,
                          "sanity_images": sanity_images}, meta=meta)
        done.append((probe, seed, art))
    grids = _write_grids(ws, root, images, labels, evalset, class_names, done)
    records = tuple(a if a.meta.get("grids") == grids else
                    ws.catalog.record(KIND, a.key, a.path, inputs=a.inputs, settings=a.settings,
                                      meta={**a.meta, "grids": grids}) for _, _, a in done)
    return ExplainSetResult(set_id, method, records, tuple(skipped), tuple(grids))


def _write_grids(ws, root, images, labels, evalset, class_names, done) -> list[str]:
    if not done:
        return []
    name = (lambda c: class_names[c] if c < len(class_names) else str(c))
    loaded = [(p, s, read_npz(ws.abspath(a) / "maps.npz", "explanation maps")) for p, s, a in done]
    paths = []
    for i in range(len(images)):
        columns = [(f"{p} s{s}", f"{name(int(z['classes_predicted'][i]))} "
                    f"{float(z['probs'][i, z['classes_predicted'][i]]):.2f}", z["maps_predicted"][i])
                   for p, s, z in loaded]
        path = root / "grids" / f"{i:04d}.png"
        save_grid(path, images[i], f"#{evalset['indices'][i]}\ntrue: {name(int(labels[i]))}", columns)
        paths.append(ws.relpath(path))
    return paths
