"""Class-stratified, reproducible mini-sets and their JSON manifests.

A manifest records the dataset, its source checksum, split, seed, sorted indices, and per image
its id, label and content hash (sha256 of the raw uint8 pixels). The same seed gives the same
bytes on any machine; loading a manifest against other data (hashes differ) is refused.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..artifacts import MINISET, MinisetKey, image_hash
from ..errors import UserError
from ..workspace import Artifact, Workspace, atomic_write_text, canonical_json

MANIFEST_FORMAT = "evalkit-miniset/1"
_FIELDS = ("dataset", "source_sha256", "split", "seed", "size", "indices", "ids", "hashes", "labels",
           "class_names")


@dataclass(frozen=True)
class MiniSet:
    """A stratified subset of one split. ``indices`` index ``dataset.split(split)``, sorted."""

    dataset: str
    source_sha256: str
    split: str
    seed: int
    size: int
    indices: tuple[int, ...]
    hashes: tuple[str, ...]
    labels: tuple[int, ...]
    class_names: tuple[str, ...]
    ids: tuple[str, ...] = ()

    def per_class(self) -> dict[str, int]:
        counts = np.bincount(np.asarray(self.labels, dtype=np.int64), minlength=len(self.class_names))
        return {name: int(c) for name, c in zip(self.class_names, counts)}

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces, trailing newline): byte-identical per seed."""
        body = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
        return canonical_json(dict(body, format=MANIFEST_FORMAT)) + "\n"


def class_quotas(n_classes: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size // n_classes`` per class; the remainder goes to classes drawn with ``rng``."""
    quotas = np.full(n_classes, size // n_classes, dtype=np.int64)
    quotas[rng.permutation(n_classes)[: size % n_classes]] += 1
    return quotas


def draw_miniset(dataset, size: int, seed: int, split: str = "train") -> MiniSet:
    """Draw ``size`` images of ``split``, equally many per class, with ``default_rng(seed)``."""
    data = dataset.split(split)
    n_classes = len(data.class_names)
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise UserError(f"mini-set size must be a positive integer, got {size!r}")
    if size > len(data):
        raise UserError(f"mini-set size {size} is larger than the {split} split of {dataset.name} ({len(data):,} images)")
    rng = np.random.default_rng(seed)
    quotas = class_quotas(n_classes, int(size), rng)
    chosen = []
    for label, quota in enumerate(quotas):
        pool = np.flatnonzero(data.labels == label)
        if quota > len(pool):
            raise UserError(f"class {data.class_names[label]!r} has only {len(pool)} images in the {split} "
                            f"split of {dataset.name}; cannot draw {quota} (use a smaller --size)")
        chosen.append(rng.choice(pool, size=int(quota), replace=False))
    indices = np.sort(np.concatenate(chosen)).astype(np.int64)
    return MiniSet(dataset=dataset.name, source_sha256=dataset.source_sha256, split=split, seed=int(seed),
                   size=int(size), indices=tuple(int(i) for i in indices),
                   hashes=tuple(image_hash(data.images[i]) for i in indices),
                   labels=tuple(int(data.labels[i]) for i in indices),
                   class_names=tuple(data.class_names), ids=tuple(str(data.ids[i]) for i in indices))


def load_manifest(path: str | Path, dataset) -> MiniSet:
    """Read a manifest and check it against ``dataset``; a mismatch is a UserError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise UserError("mini-set manifest not found; expected a JSON file written by 'evalkit sample'", path=path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"not valid JSON ({exc})", path=path) from None
    if not isinstance(raw, dict) or raw.get("format") != MANIFEST_FORMAT:
        raise UserError(f"not a mini-set manifest; expected \"format\": \"{MANIFEST_FORMAT}\"", path=path)
    missing = [k for k in _FIELDS if k not in raw]
    if missing:
        raise UserError(f"manifest lacks field(s) {', '.join(missing)}", path=path)
    ms = MiniSet(**{k: tuple(raw[k]) if isinstance(raw[k], list) else raw[k] for k in _FIELDS})
    data = dataset.split(ms.split)
    n = len(ms.indices)
    if not (len(ms.hashes) == len(ms.labels) == n) or (ms.ids and len(ms.ids) != n):
        raise UserError("indices, hashes, labels and ids must have the same length", path=path)
    if n and (min(ms.indices) < 0 or max(ms.indices) >= len(data)):
        raise UserError(f"indices out of range for the {ms.split} split of {dataset.name} ({len(data):,} "
                        "images): the manifest was drawn from a different copy of the data", path=path)
    if tuple(ms.class_names) != tuple(data.class_names):
        raise UserError(f"class names {list(ms.class_names)} differ from the loaded data's "
                        f"{list(data.class_names)}", path=path)
    actual = [image_hash(data.images[i]) for i in ms.indices]
    differ = [k for k, (a, b) in enumerate(zip(actual, ms.hashes)) if a != b]
    wrong_labels = [k for k, i in enumerate(ms.indices) if int(data.labels[i]) != ms.labels[k]]
    if differ or wrong_labels:
        k = (differ or wrong_labels)[0]
        raise UserError(f"{len(differ)} of {n} image hashes and {len(wrong_labels)} labels differ from the "
                        f"loaded data (first at index {ms.indices[k]}); the manifest was drawn from another "
                        f"copy of {ms.dataset} (sha256 {ms.source_sha256[:12]}...), the loaded one is "
                        f"{dataset.source} (sha256 {dataset.source_sha256[:12]}...)", path=path)
    return ms


def miniset_key(dataset_name: str, size: int, seed: int, split: str = "train") -> tuple[str, str]:
    """Catalog key and workspace-relative path of a mini-set (non-train splits get a suffix)."""
    key = MinisetKey(dataset_name, int(size), int(seed), split)
    return str(key), key.path


def sample_to_workspace(ws: Workspace, dataset, size: int, seed: int, split: str = "train") -> Artifact:
    """Draw the mini-set and write its manifest into ``ws`` (skipped when already recorded)."""
    key, rel = miniset_key(dataset.name, size, seed, split)
    art = ws.catalog.get(MINISET, key)
    if art is not None and ws.abspath(art).is_file():
        load_manifest(ws.abspath(art), dataset)  # refuses if this is another copy of the data
        return art
    ms = draw_miniset(dataset, size, seed, split)
    atomic_write_text(ws.root / rel, ms.to_json())
    return ws.catalog.record(
        MINISET, key, rel,
        inputs={"dataset": dataset.name, "source": dataset.source, "source_sha256": dataset.source_sha256},
        settings={"size": int(size), "seed": int(seed), "split": split},
        meta={"per_class": ms.per_class(), "manifest_sha256": hashlib.sha256(ms.to_json().encode()).hexdigest()})
