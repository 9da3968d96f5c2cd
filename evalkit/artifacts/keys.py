"""Catalog kinds and typed keys: one builder (``str(key)``) and one parser (``Key.parse``) each.

A key's text is what the workspace catalog stores; no other module formats or splits it.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, fields
from typing import ClassVar, get_type_hints

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
_FIELD = re.compile(r"\{(\w+)\}")


def image_hash(img: np.ndarray) -> str:
    """sha256 hex of the image's raw uint8 bytes in C order (whatever the array's layout)."""
    return hashlib.sha256(np.ascontiguousarray(img, dtype=np.uint8).tobytes()).hexdigest()


class _Key:
    """A key class declares its text format(s) once, e.g. ``"{probe}/seed{seed}"``: ``str(key)``
    builds the text and ``Key.parse(text)`` reads it back (UserError if malformed). A field's
    pattern follows its type (int: digits, another key: that key's format, str: one path part)
    unless ``_PATTERNS`` names it."""

    _FORMATS: ClassVar[tuple[str, ...]]
    _WHAT: ClassVar[str]
    _PATTERNS: ClassVar[dict[str, str]] = {}
    _FOLDER: ClassVar[str] = ""      # workspace folder of the artifact's files, named like the key
    _SUFFIX: ClassVar[str] = ""

    @property
    def path(self) -> str:
        """Workspace-relative path of the artifact: ``{folder}/{key}{suffix}``."""
        return f"{self._FOLDER}/{self}{self._SUFFIX}"

    def _format(self) -> str:
        return self._FORMATS[0]

    def __str__(self) -> str:
        return self._format().format(**{f.name: getattr(self, f.name) for f in fields(self)})

    @classmethod
    def _pattern(cls, fmt: str, named: bool = True) -> str:
        types, out, pos = get_type_hints(cls), [], 0
        for m in _FIELD.finditer(fmt):
            t = types[m[1]]
            sub = cls._PATTERNS.get(m[1]) or (r"\d+" if t is int else t._pattern(t._FORMATS[0], named=False)
                                              if isinstance(t, type) and issubclass(t, _Key) else _NAME)
            out += [re.escape(fmt[pos:m.start()]), f"(?P<{m[1]}>{sub})" if named else f"(?:{sub})"]
            pos = m.end()
        return "".join(out) + re.escape(fmt[pos:])

    @classmethod
    def parse(cls, text):
        if isinstance(text, cls):
            return text
        types = get_type_hints(cls)
        for fmt in cls._FORMATS:
            m = re.fullmatch(cls._pattern(fmt), str(text))
            if m is not None:
                return cls(**{k: types[k].parse(v) if isinstance(types[k], type) and issubclass(types[k], _Key)
                              else types[k](v) for k, v in m.groupdict().items()})
        shape = _FIELD.sub(lambda m: m[1].upper(), cls._FORMATS[0])
        raise UserError(f"{cls._WHAT} must look like {shape} (e.g. {cls._EXAMPLE}), got {text!r}")


@dataclass(frozen=True, order=True)
class Pool(_Key):
    """An evaluation pool: one split of one dataset."""

    dataset: str
    split: str
    _FORMATS = ("{dataset}/{split}",)
    _WHAT, _EXAMPLE = "a pool", "cifar10/test"


@dataclass(frozen=True, order=True)
class ModelKey(_Key):
    """A trained probe run."""

    probe: str
    seed: int
    _FORMATS = ("{probe}/seed{seed}",)
    _WHAT, _EXAMPLE = "a model key", "control/seed0"
    _FOLDER = "models"

    @classmethod
    def parse_ref(cls, text: str) -> "ModelKey":
        """A user's reference to a probe run: 'control/0' or 'control/seed0'."""
        return _ProbeRef.parse(text.strip()).model


@dataclass(frozen=True)
class _ProbeRef(_Key):
    name: str
    seed: int
    _FORMATS = ("{name}/{seed}", "{name}/seed{seed}")
    _WHAT, _EXAMPLE = "a probe reference", "control/0"

    @property
    def model(self) -> ModelKey:
        return ModelKey(self.name, self.seed)


@dataclass(frozen=True, order=True)
class PredictionsKey(_Key):
    """A probe run's predictions on a pool."""

    model: ModelKey
    pool: Pool
    _FORMATS = ("{model}/{pool}",)
    _WHAT, _EXAMPLE = "a predictions key", "control/seed0/cifar10/test"
    _FOLDER, _SUFFIX = "predictions", ".npz"


@dataclass(frozen=True, order=True)
class ExplanationKey(_Key):
    """Maps of one probe run on one evaluation set (a set id may hold any character)."""

    set_id: str
    method: str
    model: ModelKey
    _FORMATS = ("{set_id}/{method}/{model}",)
    _WHAT, _EXAMPLE = "an explanation key", "control>blur/gradcam/control/seed0"
    _PATTERNS = {"set_id": ".+"}
    _FOLDER = "explanations"


@dataclass(frozen=True, order=True)
class MinisetKey(_Key):
    """A mini-set of a split (the split is written only when it is not ``train``)."""

    dataset: str
    size: int
    seed: int
    split: str = "train"
    _FORMATS = ("{dataset}/n{size}/seed{seed}", "{dataset}/n{size}/seed{seed}/{split}")
    _WHAT, _EXAMPLE = "a mini-set key", "cifar10/n2000/seed0"

    def _format(self) -> str:
        return self._FORMATS[self.split != "train"]

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
