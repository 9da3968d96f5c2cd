"""Reading what the fingerprint needs from a workspace and turning it into :class:`Trials`.

A classifier's answers are given as ``{pool index: class index | None}`` (None = abstained; an
index that is missing was not scored or failed), for the original images and per ablation.
"""
from __future__ import annotations

import hashlib
import io

import numpy as np

from ..artifacts import (DISCOVERY, FINGERPRINT_REFERENCE, load_evalsets, load_pool_predictions, read_json, read_npz,
                         single_pool)
from ..errors import DataError
from ..errors import UserError
from ..workspace import Workspace, atomic_write_bytes, canonical_json
from .cues import reference_probes
from .evidence import EvalSetSpec, Trials

ABLATION_SEED = 0  # rng seed of the random transforms applied to the reference probes' images


def load_eval_sets(ws: Workspace, pool: str | None = None) -> tuple[str, list[dict]]:
    """(pool, kept evaluation-set documents of that pool, by id); raises if there are none."""
    docs = load_evalsets(ws, pool=pool)
    return str(single_pool(docs)), docs


def validation_seeds(ws: Workspace, pool: str) -> dict[str, list[int]] | None:
    """Each probe's held-out seeds from the discovery run (None when not recorded)."""
    art = ws.catalog.get(DISCOVERY, pool)
    if art is None or not ws.abspath(art).is_file():
        return None
    split = read_json(ws.abspath(art), "discovery").get("seed_split", {})
    return {p: list(s) for p, s in split.get("validation", {}).items()} or None


def probe_correctness(ws: Workspace, pool: str, labels: np.ndarray,
                      seeds: dict[str, list[int]] | None) -> dict[str, tuple[list[int], np.ndarray]]:
    """{probe: (seeds, (S, N) float correctness on the pool)} over the held-out seeds."""
    by_probe: dict[str, dict[int, np.ndarray]] = {}
    for (probe, seed), probs in load_pool_predictions(ws, pool).items():
        if seeds is None or seed in seeds.get(probe, ()):
            by_probe.setdefault(probe, {})[seed] = (np.asarray(probs).argmax(1) == labels).astype(float)
    if not by_probe:
        raise UserError(f"no probe predictions on pool {pool!r} in workspace {ws.root}; "
                        "run 'evalkit probes train' first")
    return {p: (sorted(d), np.stack([d[s] for s in sorted(d)])) for p, d in sorted(by_probe.items())}


def reference_ablations(ws: Workspace, pool: str, indices: np.ndarray, transforms, images,
                        probe_seeds: dict[str, list[int]], labels: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Correctness of the reference probes (standard and cue-blind) on transformed pool images,
    cached in the workspace and grown on demand (each image's ablated copy depends only on its
    pool index, so a cached column stays valid whatever else is asked for).

    images: the pool's uint8 images (N, H, W, 3), or a callable returning them (called only when
    some indices are not cached). Returns {transform: {probe: (S, len(indices))}}."""
    reference = reference_probes()
    probes = {p: s for p, s in probe_seeds.items() if p in reference}
    transforms = sorted(transforms)
    indices = np.asarray(indices, dtype=np.int64)
    if not probes or not transforms:
        return {}
    spec = {"pool": pool, "probes": probes, "transforms": transforms, "seed": ABLATION_SEED,
            "per_image_rng": True}
    key = f"{pool}/{hashlib.sha256(canonical_json(spec).encode()).hexdigest()[:16]}"
    have_idx, have = np.zeros(0, np.int64), {}
    art = ws.catalog.get(FINGERPRINT_REFERENCE, key)
    if art is not None and ws.abspath(art).is_file():
        npz = read_npz(ws.abspath(art), "fingerprint reference")
        if "indices" not in npz:
            raise DataError("fingerprint reference file lacks 'indices'", path=ws.abspath(art))
        have_idx = npz["indices"]
        have = {k: v for k, v in npz.items() if k != "indices"}
    missing = np.setdiff1d(indices, have_idx)
    if missing.size:
        new = _reference_correctness(ws, missing, transforms, images, probes, labels)
        have_idx = np.concatenate([have_idx, missing])
        have = {k: np.concatenate([have[k], new[k]], axis=1) if k in have else new[k] for k in new}
        order = np.argsort(have_idx, kind="stable")
        have_idx, have = have_idx[order], {k: a[:, order] for k, a in have.items()}
        buf = io.BytesIO()
        np.savez_compressed(buf, indices=have_idx, **have)
        path = ws.dir("fingerprints") / "reference" / f"{key.replace('/', '_')}.npz"
        atomic_write_bytes(path, buf.getvalue())
        ws.catalog.record(FINGERPRINT_REFERENCE, key, ws.relpath(path), inputs=spec,
                          meta={"n_images": int(have_idx.size)})
    cols = np.searchsorted(have_idx, indices)
    return {t: {p: have[f"{t}|{p}"][:, cols] for p in probes} for t in transforms}


def _reference_correctness(ws: Workspace, indices: np.ndarray, transforms, images, probes,
                           labels: np.ndarray) -> dict[str, np.ndarray]:
    """{"transform|probe": (S, len(indices)) float correctness} predicted locally."""
    from ..probes import load_probe_model
    from ..probes.transforms import ablate_pool_images

    imgs = (images() if callable(images) else images)[indices]
    truth = labels[indices]
    # Each model is loaded once and predicts every ablated copy in one call (reloading it per
    # transform rebuilt its predict function each time: tf.function retracing).
    models = {(p, s): load_probe_model(ws, p, s) for p, seeds in probes.items() for s in seeds}
    x = np.concatenate([ablate_pool_images(t, imgs, indices, seed=ABLATION_SEED) for t in transforms])
    n = len(imgs)
    hits = {key: m.predict_proba(x).argmax(1) == np.tile(truth, len(transforms)) for key, m in models.items()}
    out = {}
    for i, t in enumerate(transforms):
        for p, seeds in probes.items():
            out[f"{t}|{p}"] = np.stack([hits[(p, s)][i * n:(i + 1) * n] for s in seeds]).astype(float)
    return out


def correctness_of(answers: dict[int, int | None], index: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(U,) 1 right / 0 wrong or abstained / NaN not answered, for the pool images ``index``."""
    out = np.full(index.shape[0], np.nan)
    for j, i in enumerate(index):
        i = int(i)
        if i in answers:
            a = answers[i]
            out[j] = 0.0 if a is None else float(int(a) == int(labels[i]))
    return out


def build_trials(set_docs: list[dict], labels: np.ndarray,
                 probes: dict[str, tuple[list[int], np.ndarray]],
                 answers: dict[int, int | None], ablation_answers: dict[str, dict[int, int | None]],
                 reference: dict[str, dict[str, np.ndarray]] | None = None,
                 reference_index: np.ndarray | None = None) -> Trials:
    """Trials over the union of the sets' images and the ablated images."""
    idx = set()
    for d in set_docs:
        idx.update(int(i) for i in d["indices"])
    for a in ablation_answers.values():
        idx.update(int(i) for i in a)
    index = np.array(sorted(idx), dtype=np.int64)
    pos = {int(i): j for j, i in enumerate(index)}
    sets = tuple(EvalSetSpec(d["id"], d["kind"], d["probe_a"], d["probe_b"],
                             np.array([pos[int(i)] for i in d["indices"]], dtype=np.int64))
                 for d in set_docs)
    probe_corr = {p: c[:, index] for p, (_, c) in probes.items()}
    probe_abl: dict[str, dict[str, np.ndarray]] = {}
    if reference:
        ref_pos = {int(i): j for j, i in enumerate(reference_index)}
        cols = np.array([ref_pos.get(int(i), -1) for i in index])
        for t, by_probe in reference.items():
            probe_abl[t] = {}
            for p, arr in by_probe.items():
                full = np.full((arr.shape[0], index.size), np.nan)
                full[:, cols >= 0] = arr[:, cols[cols >= 0]]
                probe_abl[t][p] = full
    return Trials(index=index, sets=sets, model=correctness_of(answers, index, labels),
                  probes=probe_corr,
                  model_ablation={t: correctness_of(a, index, labels) for t, a in ablation_answers.items()},
                  probe_ablation=probe_abl)
