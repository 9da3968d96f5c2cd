"""Class-balanced importance draws and the design weights they imply.

Every draw is recorded with its *expected* count: for each image, the number of times the
designs used so far were expected to draw it (sum over rounds and designs of draws x
probability). An answer's weight is (times drawn) / (expected count), the deterministic-mixture
("balance heuristic") importance weight: weighted sums estimate population sums without bias
from choosing informative images more often. Cue draws use a defensive mixture
(Hesterberg 1995): a share of every class's draws is uniform, so every image keeps a chance.
"""
from __future__ import annotations

import io

import numpy as np

DIFFICULTY_BINS = 4


class DrawLedger:
    """Draw counts and expected counts per pool image, for the clean image and each ablation."""

    def __init__(self, n_pool: int, transforms=()):
        self.n_pool = int(n_pool)
        self.count = {"": np.zeros(self.n_pool)}
        self.expected = {"": np.zeros(self.n_pool)}
        for t in transforms:
            self.add_transform(t)

    def add_transform(self, t: str) -> None:
        self.count.setdefault(t, np.zeros(self.n_pool))
        self.expected.setdefault(t, np.zeros(self.n_pool))

    # ---- drawing ------------------------------------------------------------------------
    def cue_draws(self, rng: np.random.Generator, population: np.ndarray, labels: np.ndarray,
                  info: np.ndarray, n_draws: int, transforms, defensive: float) -> np.ndarray:
        """Draw ``n_draws`` images of ``population`` (with replacement), the same number from each
        class, within a class with probability defensive/|class| + (1-defensive) info/sum(info).
        Records the clean image and ``transforms`` for each draw; returns the drawn pool indices."""
        classes = labels[population]
        uniq = np.unique(classes)
        per = np.full(uniq.size, n_draws // max(uniq.size, 1))
        per[rng.permutation(uniq.size)[: n_draws - per.sum()]] += 1
        drawn = []
        for k, n_k in zip(uniq, per):
            members = np.flatnonzero(classes == k)
            q = np.full(members.size, 1.0 / members.size)
            s = np.clip(info[members], 0, None)
            if s.sum() > 0:
                q = defensive * q + (1 - defensive) * s / s.sum()
            idx = population[members]
            for v in ("", *transforms):
                self.expected[v][idx] += n_k * q
            if n_k:
                pick = idx[rng.choice(members.size, size=int(n_k), replace=True, p=q)]
                drawn.append(pick)
        drawn = np.concatenate(drawn) if drawn else np.zeros(0, np.int64)
        for v in ("", *transforms):
            np.add.at(self.count[v], drawn, 1)
        return drawn

    def set_draws(self, rng: np.random.Generator, sets: list[np.ndarray], n_draws: int) -> np.ndarray:
        """Draw ``n_draws`` clean images spread evenly over ``sets`` (uniform, with replacement,
        within each set): the classifier's accuracy on each preference set, one query each."""
        per = np.full(len(sets), n_draws // max(len(sets), 1))
        per[rng.permutation(len(sets))[: n_draws - per.sum()]] += 1
        drawn = []
        for members, n_s in zip(sets, per):
            self.expected[""][members] += n_s / members.size
            if n_s:
                drawn.append(members[rng.integers(0, members.size, size=int(n_s))])
        drawn = np.concatenate(drawn) if drawn else np.zeros(0, np.int64)
        np.add.at(self.count[""], drawn, 1)
        return drawn

    def accuracy_draws(self, rng: np.random.Generator, strata: np.ndarray, allocation: np.ndarray) -> np.ndarray:
        """Draw ``allocation[h]`` pool images without replacement from each stratum h (clean only)."""
        drawn = []
        for h, n_h in enumerate(allocation):
            members = np.flatnonzero(strata == h)
            n_h = int(min(n_h, members.size))
            if not members.size:
                continue
            self.expected[""][members] += n_h / members.size
            if n_h:
                drawn.append(rng.choice(members, size=n_h, replace=False))
        drawn = np.concatenate(drawn) if drawn else np.zeros(0, np.int64)
        np.add.at(self.count[""], drawn, 1)
        return drawn

    # ---- weights ------------------------------------------------------------------------
    def weights(self, indices, transform: str = "") -> np.ndarray:
        """(times drawn) / (expected count) of each pool index (0 where never drawn)."""
        idx = np.asarray(indices, dtype=np.int64)
        k, e = self.count[transform][idx], self.expected[transform][idx]
        out = np.zeros(idx.size)
        np.divide(k, e, out=out, where=(k > 0) & (e > 0))
        return out

    def drawn(self, transform: str = "") -> np.ndarray:
        """Pool indices drawn at least once for ``transform`` ('' = the clean image)."""
        return np.flatnonzero(self.count[transform] > 0)

    # ---- persistence --------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        arrays = {f"count|{t}": a for t, a in self.count.items()}
        arrays.update({f"expected|{t}": a for t, a in self.expected.items()})
        np.savez_compressed(buf, n_pool=np.int64(self.n_pool), **arrays)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> "DrawLedger":
        with np.load(io.BytesIO(blob)) as npz:
            led = cls(int(npz["n_pool"]))
            for k in npz.files:
                if "|" in k:
                    what, t = k.split("|", 1)
                    getattr(led, what)[t] = npz[k].astype(np.float64)
        return led


def difficulty_strata(labels: np.ndarray, difficulty: np.ndarray, bins: int = DIFFICULTY_BINS) -> np.ndarray:
    """(N,) stratum of each pool image: class x difficulty quantile bin (ranked within class)."""
    strata = np.zeros(labels.shape[0], dtype=np.int64)
    for k in np.unique(labels):
        members = np.flatnonzero(labels == k)
        order = members[np.lexsort((members, difficulty[members]))]
        for b, chunk in enumerate(np.array_split(order, bins)):
            strata[chunk] = int(k) * bins + b
    return strata


def neyman_allocation(strata: np.ndarray, difficulty: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """Draws per stratum: an equal share per class, within a class proportional to
    size x sd, where sd = sqrt(p (1 - p)) of the probes' mean correctness (a proxy for the API's),
    floored so that no stratum is starved; at least 2 per stratum when n allows."""
    n_strata = int(strata.max()) + 1
    size = np.bincount(strata, minlength=n_strata).astype(float)
    p = np.bincount(strata, weights=difficulty, minlength=n_strata) / np.maximum(size, 1)
    sd = np.sqrt(p * (1 - p)) + 0.1
    cls = np.array([labels[np.flatnonzero(strata == h)[0]] if size[h] else -1 for h in range(n_strata)])
    classes = np.unique(labels)
    alloc = np.zeros(n_strata, dtype=np.int64)
    per_class = n // classes.size
    for k in classes:
        hs = np.flatnonzero(cls == k)
        base = min(2, per_class // max(hs.size, 1))
        want = size[hs] * sd[hs]
        extra = per_class - base * hs.size
        raw = extra * want / want.sum()
        take = np.floor(raw).astype(np.int64)
        take[np.argsort(-(raw - take))[: extra - take.sum()]] += 1
        alloc[hs] = np.minimum(base + take, size[hs].astype(np.int64))
    return alloc
