"""Exporting an evaluation set as a self-contained folder: ``manifest.json`` plus the images as
PNGs in ``DIR/<class>/<id>.png`` (an image folder any toolkit can read, no evalkit needed)."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
from PIL import Image

from ..data.images import ImageSplit
from ..errors import DataError, UserError
from ..workspace import Workspace, atomic_write_bytes, atomic_write_text
from ..artifacts import image_hash, load_evalset

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_IMAGE_EXT = re.compile(r"\.(png|jpe?g|bmp|gif|webp)$", re.IGNORECASE)


def safe_name(text: str) -> str:
    """A file-name-safe version of an image id or class name ('test/cat/0001.jpg' -> 'test_cat_0001')."""
    return _UNSAFE.sub("_", _IMAGE_EXT.sub("", str(text))).strip("_") or "_"


def _png(img: np.ndarray) -> bytes:
    arr = np.asarray(img, dtype=np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def export_set(ws: Workspace, set_id: str, to: str | Path, images: ImageSplit) -> Path:
    """Write set ``set_id`` to folder ``to``: verify every image against its stored content hash,
    save it as PNG, then write manifest.json (written last, so its presence means complete).
    Returns the manifest path. ``to`` must not exist or be empty."""
    doc = load_evalset(ws, set_id)
    out = Path(to).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError("export folder exists and is not empty; choose a new folder", path=out)
    if len(images) <= max(doc["indices"], default=-1):
        raise DataError(f"set {set_id}: the dataset has {len(images)} images in its pool split but the "
                        f"set indexes image {max(doc['indices'])}; use the data discovery ran on")
    classes = doc["class_names"]
    entries, used = [], set()
    for index, img_id, digest, label in zip(doc["indices"], doc["ids"], doc["hashes"], doc["labels"]):
        img = images.images[index]
        if str(images.ids[index]) != img_id or image_hash(img) != digest:
            raise DataError(f"set {set_id}: pool image {index} ({img_id}) differs from the one discovered "
                            f"(id or content hash changed); use the data discovery ran on")
        rel = f"{safe_name(classes[label])}/{safe_name(img_id)}.png"
        if rel in used:
            rel = f"{safe_name(classes[label])}/{safe_name(img_id)}_{index}.png"
        used.add(rel)
        atomic_write_bytes(out / rel, _png(img))
        entries.append({"file": rel, "index": index, "id": img_id, "hash": digest, "label": label,
                        "class": classes[label]})
    manifest = {
        "format": "evalkit-evalset/1", "id": doc["id"], "kind": doc["kind"],
        "separates": {"right": doc["probe_a"], "wrong": doc["probe_b"]}, "pool": doc["pool"],
        "class_names": classes, "n": len(entries), "gap": doc["gap"], "gap_ci": doc["gap_ci"],
        "mcnemar_p": doc["mcnemar_p"], "mcnemar_p_adjusted": doc.get("mcnemar_p_adjusted"),
        "random_gap": doc["random_gap"], "random_gap_ci": doc["random_gap_ci"], "kept": doc["kept"],
        "flags": doc["flags"], "validation_seeds": doc["validation_seeds"],
        "hash": "sha256 of the image's raw uint8 pixel bytes (H, W, C), C order", "images": entries}
    path = out / "manifest.json"
    atomic_write_text(path, json.dumps(manifest, indent=1))
    return path
