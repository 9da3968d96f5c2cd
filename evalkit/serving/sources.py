"""Resolve what to serve: a trained probe from the workspace, or any ``.keras`` file."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Sequence

from ..errors import UserError, did_you_mean
from .settings import CIFAR10_CLASS_NAMES, ModelSpec

_PROBE_RE = re.compile(r"^(?P<probe>[^/\s]+)/(?:seed)?(?P<seed>\d+)$")


def parse_probe_ref(ref: str) -> tuple[str, int]:
    """'control/0' or 'control/seed0' -> ('control', 0)."""
    m = _PROBE_RE.match(ref.strip())
    if not m:
        raise UserError(f"--probe must look like NAME/SEED (e.g. control/0), got {ref!r}")
    return m["probe"], int(m["seed"])


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
    probe, seed = parse_probe_ref(ref)
    key = f"{probe}/seed{seed}"
    art = ws.catalog.get("model", key)
    if art is None:
        known = [a.key for a in ws.catalog.list("model")]
        hint = did_you_mean(key, known) or (
            f"; trained probes: {', '.join(known)}" if known else
            "; no probe is trained yet (run `evalkit probes train` first)")
        raise UserError(f"no trained probe {key!r} in workspace {ws.root}{hint}")
    folder = ws.abspath(art)
    model_file = next((f for f in (folder / "model.keras", folder / "model.joblib")
                       if f.is_file()), None)
    if model_file is None:
        raise UserError(f"model file of probe {key!r} is missing (expected model.keras or "
                        "model.joblib)", path=folder)
    return ModelSpec(path=model_file, class_names=_probe_class_names(folder, art),
                     name=name or _safe_name(f"{probe}-seed{seed}"),
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
