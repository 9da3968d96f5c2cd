"""Map an API's own label vocabulary ("Airliner", "tabby, tabby cat", "Sports cars") to classes.

Sources, first match wins: user overrides (the API file's [labels] table; "" means abstain),
the not-a-class list, the built-in synonym table and the ImageNet-1k -> CIFAR-10 table (both
TOML files in ``evalkit/scoring/data``, editable), then the label's last word ("cargo ship" ->
"ship"). Matching is case-insensitive and tolerates plurals, '-', '_' and extra spaces. Labels
mapping to no class are abstentions: kept and counted, never dropped.
"""
from __future__ import annotations

import re
import tomllib
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Iterable, Mapping, Sequence

from ..errors import ConfigError, did_you_mean

_IRREGULAR = {"geese": "goose", "mice": "mouse", "oxen": "ox", "feet": "foot", "teeth": "tooth",
              "children": "child", "people": "person", "deer": "deer", "sheep": "sheep"}


def normalize_label(label: str) -> str:
    """Lower-case, '-'/'_' to spaces, whitespace collapsed."""
    return " ".join(re.sub(r"[_\-]+", " ", str(label).lower()).split())


def singular_forms(label: str) -> list[str]:
    """The label and plausible singulars of its last word ('sports cars' -> 'sports car')."""
    head, _, last = label.rpartition(" ")
    prefix = f"{head} " if head else ""
    forms = [label]
    if last in _IRREGULAR:
        forms.append(prefix + _IRREGULAR[last])
    if last.endswith("men"):
        forms.append(prefix + last[:-3] + "man")
    if last.endswith("ies") and len(last) > 4:
        forms.append(prefix + last[:-3] + "y")
    if last.endswith("ves") and len(last) > 4:
        forms += [prefix + last[:-3] + "f", prefix + last[:-3] + "fe"]
    if last.endswith("es") and len(last) > 3:
        forms.append(prefix + last[:-2])
    if last.endswith("s") and not last.endswith("ss") and len(last) > 2:
        forms.append(prefix + last[:-1])
    return forms


@dataclass(frozen=True)
class BuiltinTables:
    synonyms: Mapping[str, str]       # normalized label -> CIFAR-10 class name
    not_a_class: frozenset[str]


def _add(table: dict[str, str], key: str, cls: str, source: str) -> None:
    key = normalize_label(key)
    if table.get(key, cls) != cls:
        raise ValueError(f"{source}: label {key!r} is listed for both {table[key]!r} and {cls!r}")
    table[key] = cls


@lru_cache(maxsize=1)
def builtin_tables() -> BuiltinTables:
    """Load the packaged synonym and ImageNet tables (validated: no label in two classes)."""
    data = resources.files("evalkit.scoring") / "data"
    syn = tomllib.loads((data / "cifar10_synonyms.toml").read_text("utf-8"))
    imn = tomllib.loads((data / "imagenet_to_cifar10.toml").read_text("utf-8"))
    table: dict[str, str] = {}
    for cls, names in syn["classes"].items():
        _add(table, cls, cls, "cifar10_synonyms.toml")
        for name in names:
            _add(table, name, cls, "cifar10_synonyms.toml")
    ambiguous = {normalize_label(a) for a in imn["ambiguous"]["labels"]}
    for cls, entries in imn["imagenet"].items():
        for entry in entries:
            if normalize_label(entry) not in ambiguous:  # the full ImageNet label string
                _add(table, entry, cls, "imagenet_to_cifar10.toml")
            for part in entry.split(","):
                if normalize_label(part) not in ambiguous:
                    _add(table, part, cls, "imagenet_to_cifar10.toml")
    not_a_class = frozenset(normalize_label(x) for x in syn["not_a_class"]["labels"])
    return BuiltinTables(table, not_a_class)


class LabelMapper:
    """Maps API labels to indices of ``class_names`` (None = abstain)."""

    def __init__(self, class_names: Sequence[str], overrides: Mapping[str, str] | None = None, *,
                 use_builtin: bool = True):
        self.class_names = tuple(class_names)
        index = {normalize_label(c): i for i, c in enumerate(self.class_names)}
        self._table: dict[str, int | None] = dict(index)
        self._not_a_class: frozenset[str] = frozenset()
        if use_builtin:
            tables = builtin_tables()
            self._not_a_class = tables.not_a_class
            for label, cls in tables.synonyms.items():
                if cls in index:
                    self._table.setdefault(label, index[cls])
        self._overrides: dict[str, int | None] = {}
        for label, cls in (overrides or {}).items():
            if cls == "":
                self._overrides[normalize_label(label)] = None
            elif normalize_label(cls) in index:
                self._overrides[normalize_label(label)] = index[normalize_label(cls)]
            else:
                raise ConfigError(f"[labels] '{label}' maps to unknown class {cls!r}"
                                  f"{did_you_mean(cls, self.class_names)}; expected one of: "
                                  f"{', '.join(self.class_names)} (or \"\" to abstain)")

    def map(self, label: str) -> int | None:
        """The class index for one API label, or None when it names no class."""
        norm = normalize_label(label)
        candidates = [norm] + ([p.strip() for p in norm.split(",") if p.strip()] if "," in norm else [])
        forms = [f for c in candidates for f in singular_forms(c)]
        for form in forms:
            if form in self._overrides:
                return self._overrides[form]
        if any(form in self._not_a_class for form in forms):
            return None
        for form in forms:
            if form in self._table:
                return self._table[form]
        last = candidates[-1 if len(candidates) == 1 else 1].rpartition(" ")[2]
        if " " in candidates[-1 if len(candidates) == 1 else 1]:
            for form in singular_forms(last):
                if form in self._table:
                    return self._table[form]
        return None

    def decide(self, labels: Iterable[tuple[str, float]]) -> tuple[int | None, str | None, float | None]:
        """(class, raw label, score) of the best-scored label that maps to a class; when none
        does, (None, top label, top score): an abstention."""
        labels = list(labels)
        for name, score in labels:
            cls = self.map(name)
            if cls is not None:
                return cls, name, float(score)
        if labels:
            return None, labels[0][0], float(labels[0][1])
        return None, None, None


def most_frequent_unmapped(raw_labels: Iterable[str | None], n: int = 20) -> dict[str, int]:
    """Counts of the top labels of abstained images, most frequent first."""
    counts = Counter("(no label)" if r is None else r for r in raw_labels)
    return dict(counts.most_common(n))
