"""Catalog kinds and typed keys: one builder (``str(key)``) and one parser (``Key.parse``) each.

A key's text is what the workspace catalog stores; no other module formats or splits it.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np

from ..errors import UserError

# catalog kinds (the `kind` column of the workspace catalog)
MINISET, MODEL, PREDICTIONS, POOL = "miniset", "model", "predictions", "pool"
DISCOVERY, EVALSET, EXPLANATION, SCORES = "discovery", "evalset", "explanation", "scores"
FINGERPRINT, FINGERPRINT_REFERENCE = "fingerprint", "fingerprint-reference"
REPORT, PIPELINE = "report", "pipeline"
KINDS = (MINISET, MODEL, PREDICTIONS, POOL, DISCOVERY, EVALSET, EXPLANATION, SCORES, FINGERPRINT,
         FINGERPRINT_REFERENCE, REPORT, PIPELINE)

_NAME = r"[^/\s]+"


def image_hash(img: np.ndarray) -> str:
    """sha256 hex of the image's raw uint8 bytes in C order (whatever the array's layout)."""
    return hashlib.sha256(np.ascontiguousarray(img, dtype=np.uint8).tobytes()).hexdigest()


def _match(pattern: re.Pattern, text: str, what: str, example: str) -> re.Match:
    m = pattern.match(str(text))
    if m is None:
        raise UserError(f"{what} must look like {example}, got {text!r}")
    return m


@dataclass(frozen=True, order=True)
class Pool:
    """An evaluation pool: one split of one dataset, written ``dataset/split``."""

    dataset: str
    split: str
    _RE = re.compile(rf"^(?P<dataset>{_NAME})/(?P<split>{_NAME})$")

    def __str__(self) -> str:
        return f"{self.dataset}/{self.split}"

    @classmethod
    def parse(cls, text: "str | Pool") -> "Pool":
        if isinstance(text, Pool):
            return text
        m = _match(cls._RE, text, "a pool", "DATASET/SPLIT (e.g. cifar10/test)")
        return cls(m["dataset"], m["split"])


@dataclass(frozen=True, order=True)
class ModelKey:
    """A trained probe run: ``{probe}/seed{seed}``."""

    probe: str
    seed: int
    _RE = re.compile(rf"^(?P<probe>{_NAME})/seed(?P<seed>\d+)$")
    _REF = re.compile(rf"^(?P<probe>{_NAME})/(?:seed)?(?P<seed>\d+)$")

    def __str__(self) -> str:
        return f"{self.probe}/seed{self.seed}"

    @classmethod
    def parse(cls, text: str) -> "ModelKey":
        m = _match(cls._RE, text, "a model key", "PROBE/seedN (e.g. control/seed0)")
        return cls(m["probe"], int(m["seed"]))

    @classmethod
    def parse_ref(cls, text: str) -> "ModelKey":
        """A user's reference to a probe run: 'control/0' or 'control/seed0'."""
        m = _match(cls._REF, text.strip(), "a probe reference", "NAME/SEED (e.g. control/0)")
        return cls(m["probe"], int(m["seed"]))

    @property
    def folder(self) -> str:
        """Workspace-relative folder of the model files."""
        return f"models/{self.probe}/seed{self.seed}"


@dataclass(frozen=True, order=True)
class PredictionsKey:
    """A probe run's predictions on a pool: ``{probe}/seed{seed}/{dataset}/{split}``."""

    model: ModelKey
    pool: Pool
    _RE = re.compile(rf"^(?P<model>{_NAME}/seed\d+)/(?P<pool>{_NAME}/{_NAME})$")

    def __str__(self) -> str:
        return f"{self.model}/{self.pool}"

    @classmethod
    def parse(cls, text: str) -> "PredictionsKey":
        m = _match(cls._RE, text, "a predictions key", "PROBE/seedN/DATASET/SPLIT")
        return cls(ModelKey.parse(m["model"]), Pool.parse(m["pool"]))

    @property
    def path(self) -> str:
        return f"predictions/{self.model.probe}/seed{self.model.seed}/{self.pool}.npz"


@dataclass(frozen=True, order=True)
class ExplanationKey:
    """Maps of one probe run on one evaluation set: ``{set}/{method}/{probe}/seed{seed}``."""

    set_id: str
    method: str
    model: ModelKey
    _RE = re.compile(rf"^(?P<set>.+)/(?P<method>{_NAME})/(?P<model>{_NAME}/seed\d+)$")

    def __str__(self) -> str:
        return f"{self.set_id}/{self.method}/{self.model}"

    @classmethod
    def parse(cls, text: str) -> "ExplanationKey":
        m = _match(cls._RE, text, "an explanation key", "SET/METHOD/PROBE/seedN")
        return cls(m["set"], m["method"], ModelKey.parse(m["model"]))

    @property
    def folder(self) -> str:
        return f"explanations/{self.set_id}/{self.method}/{self.model.probe}/seed{self.model.seed}"


@dataclass(frozen=True, order=True)
class MinisetKey:
    """A mini-set: ``{dataset}/n{size}/seed{seed}`` (plus ``/{split}`` when not drawn from train)."""

    dataset: str
    size: int
    seed: int
    split: str = "train"
    _RE = re.compile(rf"^(?P<dataset>{_NAME})/n(?P<size>\d+)/seed(?P<seed>\d+)(?:/(?P<split>{_NAME}))?$")

    def __str__(self) -> str:
        return f"{self.dataset}/n{self.size}/seed{self.seed}" + ("" if self.split == "train" else f"/{self.split}")

    @classmethod
    def parse(cls, text: str) -> "MinisetKey":
        m = _match(cls._RE, text, "a mini-set key", "DATASET/nSIZE/seedN[/SPLIT]")
        return cls(m["dataset"], int(m["size"]), int(m["seed"]), m["split"] or "train")

    @property
    def path(self) -> str:
        suffix = "" if self.split == "train" else f"-{self.split}"
        return f"minisets/{self.dataset}-n{self.size}-seed{self.seed}{suffix}.json"


def evalset_path(set_id: str) -> str:
    """Workspace-relative file of evaluation set ``set_id`` (catalog kind ``evalset``, key = id)."""
    return f"sets/{set_id}.json"


def scores_path(api: str) -> str:
    """Workspace-relative scores file of API ``api`` (catalog kind ``scores``, key = API name)."""
    return f"scores/{api}/scores.json"
