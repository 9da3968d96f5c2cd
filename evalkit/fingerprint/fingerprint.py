"""Stage functions: fingerprint a classifier, a scored API or a local ``.keras`` model, and
write ``fingerprints/{name}.json`` (catalog kind ``fingerprint``, key = name)."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Callable

import numpy as np

from ..artifacts import read_json
from ..artifacts import (DISCOVERY, EVALSET, FINGERPRINT, PREDICTIONS, Pool, check_pool_dataset, load_pool_labels,
                         load_scores, open_pool_dataset)
from ..errors import DataError, UserError
from ..workspace import Workspace, atomic_write_text, canonical_json
from .build import fingerprint_from_trials
from .inputs import (build_trials, load_eval_sets, probe_correctness, reference_ablations,
                     validation_seeds)
from .verdict import VerdictSettings

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
ABLATIONS = ("grayscale", "channel_permute", "lowpass", "patch_shuffle", "mirror")
# Bumped whenever the verdict's method changes, so recorded fingerprints are recomputed.
# 2: ablation scores anchored at the blind probes' drop as well as the standard CNNs'.
# 3: design weights (query planner); verdicts against both anchors (ignored/less/as_much/more).
# 4: cue CIs include the spread between reference models of one recipe (spread.py).
METHOD_VERSION = 4


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise UserError(f"fingerprint name {name!r} must be letters, digits, '_', '.', '-' "
                        "(it becomes a file name)")
    return name


def _pool_labels(ws: Workspace, pool: str, set_docs: list[dict]) -> np.ndarray:
    labels, _ = load_pool_labels(ws, pool)
    for d in set_docs:
        stored = np.asarray(d["labels"], dtype=np.int64)
        if not np.array_equal(labels[np.asarray(d["indices"], dtype=np.int64)], stored):
            raise DataError(f"set {d['id']!r}: its labels differ from the pool's stored labels")
    return np.asarray(labels, dtype=np.int64)


def _digest(obj) -> str:
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()


def fingerprint_classifier(ws: Workspace, name: str, predictions_by_pool_index: dict[int, int | None],
                           ablation_predictions: dict[str, dict[int, int | None]] | None = None, *,
                           pool: str | None = None, images: np.ndarray | Callable | None = None,
                           n_boot: int = 1000, seed: int = 0, settings: VerdictSettings | None = None,
                           extra: dict | None = None, force: bool = False, design=None) -> dict:
    """Fingerprint a classifier from its answers ``{pool index: class | None}`` (None = abstain).

    ablation_predictions: ``{transform: {pool index: class | None}}`` on transformed images.
    images: the pool's uint8 images (or a callable returning them), needed to measure the
    standard probes on the same ablations; without it ablation scores have no reference.
    design: the query planner's ``DrawLedger`` when it chose the images; every figure is then a
    design-weighted estimate over the eval-set images (None: every answer weighs the same).
    Skips work when the same inputs were fingerprinted before (unless ``force``)."""
    _check_name(name)
    ablation_predictions = {t: a for t, a in (ablation_predictions or {}).items() if a}
    pool, docs = load_eval_sets(ws, pool)
    st = settings or VerdictSettings()
    bank = [(a.kind, a.key, a.created) for kind in (EVALSET, PREDICTIONS, DISCOVERY)
            for a in ws.catalog.list(kind)]
    inputs = {"pool": pool, "sets": [d["id"] for d in docs], "bank": _digest(bank),
              "answers": _digest(sorted((int(k), v) for k, v in predictions_by_pool_index.items())),
              "ablations": {t: _digest(sorted((int(k), v) for k, v in a.items()))
                            for t, a in sorted(ablation_predictions.items())},
              "design": None if design is None else hashlib.sha256(design.to_bytes()).hexdigest()}
    run_settings = {"n_boot": n_boot, "seed": seed, "method_version": METHOD_VERSION, **st.__dict__}
    art = ws.catalog.get(FINGERPRINT, name)
    if (not force and art is not None and art.inputs == inputs and art.settings == run_settings
            and ws.abspath(art).is_file()):
        return read_json(ws.abspath(art), "fingerprint")
    labels = _pool_labels(ws, pool, docs)
    seeds = validation_seeds(ws, pool)
    probes = probe_correctness(ws, pool, labels, seeds)
    reference, ref_index = None, None
    if ablation_predictions and images is not None:
        ref_index = np.array(sorted({int(i) for a in ablation_predictions.values() for i in a}))
        reference = reference_ablations(ws, pool, ref_index, ablation_predictions, images,
                                        {p: s for p, (s, _) in probes.items()}, labels)
    trials = build_trials(docs, labels, probes, predictions_by_pool_index, ablation_predictions,
                          reference, ref_index)
    if design is not None:
        import dataclasses

        trials = dataclasses.replace(trials, weights=design.weights(trials.index), probes_on_population=True,
                                     ablation_weights={
            t: design.weights(trials.index, t) for t in trials.model_ablation})
    fp = fingerprint_from_trials(trials, name, n_boot=n_boot, seed=seed, settings=st)
    fp.update({"pool": pool, "probe_seeds": {p: s for p, (s, _) in probes.items()},
               "reference_ablations": reference is not None, **(extra or {})})
    rel = f"fingerprints/{name}.json"
    atomic_write_text(ws.root / rel, json.dumps(fp, indent=1))
    ws.catalog.record(FINGERPRINT, name, rel, inputs=inputs, settings=run_settings,
                      meta={"status": fp["status"], "dominant_cue": fp["dominant_cue"],
                            "nearest_probe": fp["nearest_probe"]["name"]})
    return fp


def _answers(records: list[dict]) -> dict[int, int | None]:
    """Scored records -> {pool index: label | None}; failed records are left out."""
    return {int(r["index"]): (None if r.get("label") is None else int(r["label"]))
            for r in records if r.get("status") == "scored"}


def fingerprint_api(ws: Workspace, api: str, *, data=None, dataset=None, use_ablations: bool = True,
                    n_boot: int = 1000, seed: int = 0, force: bool = False) -> dict:
    """Fingerprint an API from its ``scores.json`` (ablation answers are used when present).

    The pool's images (for the reference probes' ablations) come from ``dataset`` (a loaded
    dataset) or are loaded from the source ``data`` only when needed."""
    scores = load_scores(ws, api)
    ablations = {t: _answers(r) for t, r in (scores.get("ablations") or {}).items()} if use_ablations else {}
    pool = scores.get("pool")
    images = None
    if ablations:
        def images():
            return _pool_images(ws, pool, data, dataset)
    design = None
    if scores.get("plan"):
        from ..planning import DrawLedger
        from ..scoring.planned import plan_path

        design = DrawLedger.from_bytes(plan_path(ws, api).read_bytes())
    extra = {"adapter": scores.get("adapter"), "model": scores.get("model"),
             "pool_accuracy": scores.get("pool_accuracy"),
             "query_plan": {k: v for k, v in (scores.get("plan") or {}).items() if k != "rounds"} or None,
             "failures": scores.get("failures"), "unmapped_labels": scores.get("unmapped_labels", {}),
             "abstentions": sum(1 for r in scores.get("images", []) if r.get("status") == "scored"
                                and r.get("label") is None)}
    return fingerprint_classifier(ws, api, _answers(scores.get("images", [])), ablations, pool=pool,
                                  images=images, n_boot=n_boot, seed=seed, extra=extra, force=force,
                                  design=design)


def _pool_images(ws: Workspace, pool: str, data, dataset=None) -> np.ndarray:
    """The pool's uint8 images, from ``dataset`` when given, else loaded from ``data``; verified
    against the recorded pool either way."""
    if dataset is None:
        dataset = open_pool_dataset(ws, pool, data)
    else:
        check_pool_dataset(ws, pool, dataset)
    return dataset.split(Pool.parse(pool).split).images


def fingerprint_keras_model(ws: Workspace, path: str | Path, dataset=None, *, name: str | None = None,
                            use_ablations: bool = True, n_boot: int = 1000, seed: int = 0,
                            force: bool = False) -> dict:
    """Fingerprint a local ``.keras`` classifier: predict the eval-set images (and their
    ablations) locally. ``dataset``: the data source of the pool (path or 'synthetic:...')."""
    from ..probes.transforms import ablate_pool_images
    from ..serving.classifier import load_classifier
    from .inputs import ABLATION_SEED

    path = Path(path)
    if not path.is_file() or path.suffix != ".keras":
        raise UserError("expected an existing .keras model file", path=path)
    name = _check_name(name or path.stem)
    pool, docs = load_eval_sets(ws)
    idx = np.array(sorted({int(i) for d in docs for i in d["indices"]}), dtype=np.int64)
    all_images = _pool_images(ws, pool, dataset)
    try:
        clf = load_classifier(path)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    imgs = all_images[idx]

    def answers(x: np.ndarray) -> dict[int, int | None]:
        return {int(i): int(c) for i, c in zip(idx, clf.predict(x).argmax(1))}

    ablations = {t: answers(ablate_pool_images(t, imgs, idx, seed=ABLATION_SEED))
                 for t in (ABLATIONS if use_ablations else ())}
    return fingerprint_classifier(ws, name, answers(imgs), ablations, pool=pool, images=all_images,
                                  n_boot=n_boot, seed=seed, force=force,
                                  extra={"model_file": str(path.resolve())})
