"""The correctness matrix (probe x seed x image) built from stored pool predictions, and the
recorded split of each probe's seeds into a selection half and a validation half.

Predictions are read through :mod:`evalkit.artifacts` (keys, npz reader, pool record).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ..artifacts import Pool, pool_info, predictions_rows, read_predictions
from ..errors import DataError, UserError
from ..workspace import Workspace


@dataclass(frozen=True, eq=False)
class CorrectnessMatrix:
    """Correctness of every (probe, seed) row on every pool image.

    rows:       ((probe, seed), ...), one per row, sorted by probe then seed
    correct:    bool (R, N), the row's arg-max prediction equals the label
    p_true:     float32 (R, N), probability the row gives the true label (tie-breaks)
    confidence: float32 (R, N), probability of the row's predicted class
    predicted:  int64 (R, N), the row's predicted class
    labels, ids: the pool's labels (N,) and image ids (N,)
    sources:    {prediction key: sha256 of its npz file} (what the matrix was built from)
    """

    pool: str
    rows: tuple[tuple[str, int], ...]
    correct: np.ndarray
    p_true: np.ndarray
    confidence: np.ndarray
    predicted: np.ndarray
    labels: np.ndarray
    ids: np.ndarray
    class_names: tuple[str, ...]
    sources: dict

    @property
    def n_images(self) -> int:
        return int(self.labels.shape[0])

    @property
    def probes(self) -> tuple[str, ...]:
        return tuple(sorted({p for p, _ in self.rows}))

    def seeds(self, probe: str) -> tuple[int, ...]:
        return tuple(s for p, s in self.rows if p == probe)

    def row_indices(self, probe: str, seeds) -> np.ndarray:
        """Row numbers of ``probe`` at the given seeds (in the given order)."""
        where = {r: i for i, r in enumerate(self.rows)}
        return np.array([where[(probe, int(s))] for s in seeds], dtype=np.int64)

    def cube(self, probe: str) -> np.ndarray:
        """bool (S, N): correctness of one probe, one row per seed."""
        return self.correct[self.row_indices(probe, self.seeds(probe))]


def matrix_from_probs(pool: str, probs: dict, labels, ids, class_names=None,
                      sources: dict | None = None) -> CorrectnessMatrix:
    """Build a :class:`CorrectnessMatrix` from ``{(probe, seed): probs (N, C)}`` and the labels."""
    if not probs:
        raise UserError(f"no probe predictions for pool {pool!r}; train probes and predict first")
    labels = np.asarray(labels, dtype=np.int64)
    rows = tuple(sorted((str(p), int(s)) for p, s in probs))
    n = labels.shape[0]
    stack = [np.asarray(probs[r], dtype=np.float32) for r in rows]
    n_classes = stack[0].shape[1]
    for r, p in zip(rows, stack):
        if p.shape != (n, n_classes):
            raise DataError(f"predictions of {r[0]} seed {r[1]} on {pool} have shape {p.shape}; "
                            f"expected ({n}, {n_classes})")
    if n and (labels.min() < 0 or labels.max() >= n_classes):
        raise DataError(f"labels of pool {pool} must lie in 0..{n_classes - 1}")
    P = np.stack(stack)                                    # (R, N, C)
    predicted = P.argmax(axis=2)
    cols = np.arange(n)
    return CorrectnessMatrix(
        pool=pool, rows=rows, correct=predicted == labels[None, :],
        p_true=P[:, cols, labels], confidence=P.max(axis=2), predicted=predicted.astype(np.int64),
        labels=labels, ids=np.asarray(ids).astype(str),
        class_names=tuple(class_names) if class_names else tuple(str(c) for c in range(n_classes)),
        sources=dict(sources or {}))


def load_correctness(ws: Workspace, pool: str = "cifar10/test", probes=None) -> CorrectnessMatrix:
    """Read the recorded `predictions` artifacts of ``pool`` (all probes, or only ``probes``)
    into a :class:`CorrectnessMatrix`."""
    pool = str(Pool.parse(pool))
    probs, sources = {}, {}
    labels = ids = None
    first = None
    recorded = predictions_rows(ws, pool)
    if probes is not None and recorded:
        _check_probe_names(list(probes), sorted({k.model.probe for k, _ in recorded}), pool)
        recorded = [(k, a) for k, a in recorded if k.model.probe in probes]
    for key, art in recorded:
        path = ws.abspath(art)
        if not path.is_file():
            raise DataError(f"recorded predictions file is missing (key {art.key})", path=path)
        raw = path.read_bytes()
        pred = read_predictions(path, raw)
        if labels is None:
            labels, ids, first = pred.labels, pred.ids, path
        elif not (np.array_equal(pred.labels, labels) and np.array_equal(pred.ids, ids)):
            raise DataError(f"labels/ids differ from those in {first}; all predictions of pool "
                            f"{pool} must cover the same images in the same order", path=path)
        probs[(key.model.probe, key.model.seed)] = pred.probs
        sources[art.key] = hashlib.sha256(raw).hexdigest()
    if not probs:
        known = sorted({str(k.pool) for k, _ in predictions_rows(ws)})
        raise UserError(f"workspace {ws.root} has no predictions for pool {pool!r}"
                        + (f"; it has: {', '.join(known)}" if known else "; run the probes stage first"))
    class_names = (pool_info(ws, pool) or {}).get("class_names")
    return matrix_from_probs(pool, probs, labels, ids, class_names, sources)


@dataclass(frozen=True)
class SeedSplit:
    """Which seeds of each probe select subsets and which validate them."""

    split_seed: int
    selection: dict      # {probe: (seed, ...)}
    validation: dict     # {probe: (seed, ...)}

    def to_dict(self) -> dict:
        return {"split_seed": self.split_seed,
                "selection": {p: list(s) for p, s in self.selection.items()},
                "validation": {p: list(s) for p, s in self.validation.items()}}


def split_seeds(matrix: CorrectnessMatrix, split_seed: int = 0) -> SeedSplit:
    """Shuffle each probe's seeds with ``split_seed`` and cut them in two: the first n // 2 select,
    the rest validate. Deterministic; a probe with fewer than 2 seeds is a UserError."""
    selection, validation = {}, {}
    few = [p for p in matrix.probes if len(matrix.seeds(p)) < 2]
    if few:
        raise UserError(f"probe(s) {', '.join(few)} have fewer than 2 seeds on pool {matrix.pool}; "
                        "discovery needs >= 2 seeds per probe (selection + validation halves)")
    for probe in matrix.probes:
        seeds = np.array(sorted(matrix.seeds(probe)))
        name_key = int.from_bytes(hashlib.sha256(probe.encode()).digest()[:4], "big")
        order = np.random.default_rng([split_seed, name_key]).permutation(seeds.size)
        half = seeds.size // 2
        selection[probe] = tuple(int(s) for s in sorted(seeds[order[:half]]))
        validation[probe] = tuple(int(s) for s in sorted(seeds[order[half:]]))
    return SeedSplit(split_seed, selection, validation)


def mean_correctness(matrix: CorrectnessMatrix, seeds: dict, *, probabilities: bool = False) -> np.ndarray:
    """float (P, N): each probe's correctness (or true-label probability) averaged over ``seeds[probe]``,
    probes in ``matrix.probes`` order. Only the rows of those seeds are read."""
    source = matrix.p_true if probabilities else matrix.correct
    return np.stack([source[matrix.row_indices(p, seeds[p])].mean(axis=0, dtype=np.float64)
                     for p in matrix.probes])


def _check_probe_names(wanted: list[str], have: list[str], pool: str) -> None:
    """An unknown probe name is a one-line error with a suggestion."""
    from ..errors import did_you_mean

    for name in wanted:
        if name not in have:
            raise UserError(f"no predictions of probe {name!r} on pool {pool}"
                            f"{did_you_mean(name, have)}; trained: {', '.join(have)}")
