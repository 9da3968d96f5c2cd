"""Each probe demonstrates its bias: the accuracy it keeps when a cue is removed.

``kept = accuracy(transformed test images) / accuracy(clean test images)``. A probe blind to a
cue (``[bias] blind_to`` in its TOML file) should keep at least ``min_kept`` of its accuracy on
images with that cue removed, and more than the ``control`` probe keeps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..artifacts import pool_of
from ..workspace import Workspace
from .predict import load_probe_model
from .spec import load_probe_spec
from .transforms import IMAGE_TRANSFORMS, apply_transform

CONTROL = "control"


@dataclass(frozen=True)
class BiasRow:
    probe: str
    transform: str
    clean_accuracy: float       # mean over seeds
    removed_accuracy: float     # mean over seeds, cue removed
    kept: float                 # removed / clean


@dataclass(frozen=True)
class BiasExpectation:
    probe: str
    transform: str
    kept: float
    min_kept: float
    control_kept: float | None  # None when the control probe was not checked
    passed: bool


@dataclass(frozen=True)
class BiasReport:
    pool: str
    n_images: int
    seeds: tuple[int, ...]
    rows: tuple[BiasRow, ...]
    expectations: tuple[BiasExpectation, ...]

    def kept(self, probe: str, transform: str) -> float:
        for r in self.rows:
            if r.probe == probe and r.transform == transform:
                return r.kept
        raise KeyError((probe, transform))

    @property
    def passed(self) -> bool:
        return all(e.passed for e in self.expectations)


def _subset(labels: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    if n is None or n >= len(labels):
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(len(labels), size=n, replace=False))


def check_bias(ws: Workspace, dataset, probes, seeds, *, split: str = "test",
               transforms=None, n_images: int | None = None, seed: int = 0) -> BiasReport:
    """Measure accuracy kept under each cue-removing transform for trained probes x seeds.

    ``transforms`` defaults to every transform named in a probe's ``blind_to``; when some probe is
    blind to a cue, the control probe is measured on it too (if it is among ``probes``).
    """
    specs = [load_probe_spec(p) if isinstance(p, str) else p for p in probes]
    if transforms is None:
        transforms = sorted({t for s in specs for t in s.blind_to})
    for t in transforms:
        IMAGE_TRANSFORMS.get(t)
    data = dataset.split(split)
    idx = _subset(data.labels, n_images, seed)
    images, labels = data.images[idx], data.labels[idx]
    variants = {t: apply_transform(t, images, seed) for t in transforms}
    seeds = tuple(seeds)
    rows = []
    for spec in specs:
        clean, removed = [], {t: [] for t in transforms}
        for s in seeds:
            model = load_probe_model(ws, spec.name, s)
            clean.append(np.mean(model.predict_proba(images).argmax(1) == labels))
            for t, imgs in variants.items():
                removed[t].append(np.mean(model.predict_proba(imgs).argmax(1) == labels))
        c = float(np.mean(clean))
        for t in transforms:
            r = float(np.mean(removed[t]))
            rows.append(BiasRow(spec.name, t, c, r, r / c if c > 0 else float("nan")))
    kept = {(r.probe, r.transform): r.kept for r in rows}
    expectations = []
    for spec in specs:
        for t in spec.blind_to:
            k = kept[(spec.name, t)]
            ck = kept.get((CONTROL, t)) if spec.name != CONTROL else None
            ok = k >= spec.min_kept and (ck is None or k > ck)
            expectations.append(BiasExpectation(spec.name, t, k, spec.min_kept, ck, bool(ok)))
    return BiasReport(str(pool_of(dataset, split)), len(idx), seeds, tuple(rows), tuple(expectations))


def format_bias_table(report: BiasReport) -> str:
    """Markdown tables: accuracy kept per probe x transform, then the expectations."""
    transforms = sorted({r.transform for r in report.rows})
    probes = list(dict.fromkeys(r.probe for r in report.rows))
    lines = [f"pool {report.pool}, {report.n_images} images, seeds {list(report.seeds)}", "",
             "| probe | clean acc | " + " | ".join(f"kept: {t}" for t in transforms) + " |",
             "|---|---|" + "---|" * len(transforms)]
    for p in probes:
        rs = {r.transform: r for r in report.rows if r.probe == p}
        clean = next(iter(rs.values())).clean_accuracy
        lines.append(f"| {p} | {clean:.3f} | " + " | ".join(
            f"{rs[t].kept:.3f} ({rs[t].removed_accuracy:.3f})" for t in transforms) + " |")
    if report.expectations:
        lines += ["", "| probe | blind to | kept | required | control kept | result |", "|---|---|---|---|---|---|"]
        for e in report.expectations:
            ck = "-" if e.control_kept is None else f"{e.control_kept:.3f}"
            lines.append(f"| {e.probe} | {e.transform} | {e.kept:.3f} | >= {e.min_kept:.2f} and > control "
                         f"| {ck} | {'pass' if e.passed else 'FAIL'} |")
    return "\n".join(lines)
