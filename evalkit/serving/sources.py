"""Resolve what to serve: a trained probe from the workspace, or any ``.keras`` file."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Sequence

from ..artifacts import ModelKey, model_file
from ..errors import UserError
from .settings import CIFAR10_CLASS_NAMES, ModelSpec


def parse_probe_ref(ref: str) -> tuple[str, int]:
    """'control/0' or 'control/seed0' -> ('control', 0)."""
    key = ModelKey.parse_ref(ref)
    return key.probe, key.seed


def model_file_spec(path: str | Path, class_names: Sequence[str] | None = None,
                    name: str | None = None) -> ModelSpec:
    """Serve any Keras model file (or sklearn ``.joblib``); class names default to CIFAR-10's."""
    path = Path(path).expanduser()
    if path.suffix not in (".keras", ".joblib"):
        raise UserError("expected a Keras model file (.keras) or a scikit-learn probe "
                        "(.joblib)", path=path)
    if not path.is_file():
        raise UserError("model file not found", path=path)
    names = tuple(class_names) if class_names else CIFAR10_CLASS_NAMES
    return ModelSpec(path=path.resolve(), class_names=names, name=name or _safe_name(path.stem),
                     description=f"Keras model {path.name}")


def probe_spec(ws, ref: str, name: str | None = None) -> ModelSpec:
    """The spec of a trained probe ``NAME/SEED`` of workspace ``ws`` (catalog kind ``model``)."""
    key = ModelKey.parse_ref(ref)
    art, path = model_file(ws, key)
    folder = ws.abspath(art)
    return ModelSpec(path=path, class_names=_probe_class_names(folder, art),
                     name=name or _safe_name(f"{key.probe}-seed{key.seed}"),
                     description=f"evalkit probe {key}")


def _probe_class_names(folder: Path, art) -> tuple[str, ...]:
    """Class names from meta.json, else the catalog row, else CIFAR-10's."""
    meta_path = folder / "meta.json"
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise UserError(f"not valid JSON ({exc})", path=meta_path) from None
        if meta.get("class_names"):
            return tuple(str(c) for c in meta["class_names"])
    for source in (art.meta, art.inputs, art.settings):
        if source.get("class_names"):
            return tuple(str(c) for c in source["class_names"])
    return CIFAR10_CLASS_NAMES


def _safe_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")
    return name or "model"
