"""Which class a map explains. Each target is a separate callable (like a tf-keras-vis
``Score``): given the probe's probabilities and the true labels of a batch, it returns the
class index to explain for each image. The chosen indices are then fixed for the method (as a
``CategoricalScore``), so Score-CAM's masked inputs are scored on the same class."""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from ..errors import UserError
from ..registry import Registry

TARGETS: Registry[type["Target"]] = Registry("target")


class Target(ABC):
    """Selects one class per image."""

    name = ""

    @abstractmethod
    def __call__(self, probs: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """Class indices (int64, shape (N,)) for probabilities ``probs`` (N, C)."""



@TARGETS.register("true")
class TrueClass(Target):
    """Explain the true label of each image."""

    name = "true"

    def __call__(self, probs, labels=None):
        if labels is None:
            raise UserError("target 'true' needs the images' labels; expected labels, got None")
        labels = np.asarray(labels, dtype=np.int64)
        if labels.shape != (len(probs),):
            raise ValueError(f"labels shape {labels.shape} does not match {len(probs)} images")
        if labels.size and (labels.min() < 0 or labels.max() >= probs.shape[1]):
            raise UserError(f"labels must be in 0..{probs.shape[1] - 1}, got {labels.min()}..{labels.max()}")
        return labels


@TARGETS.register("predicted")
class PredictedClass(Target):
    """Explain the class the probe predicts (argmax of its probabilities)."""

    name = "predicted"

    def __call__(self, probs, labels=None):
        return np.asarray(probs).argmax(axis=1).astype(np.int64)


def get_target(target: "str | Target") -> Target:
    """A Target instance from its registry name ('true', 'predicted') or an instance."""
    return target if isinstance(target, Target) else TARGETS.get(target)()


def class_score(classes: np.ndarray):
    """The tf-keras-vis score selecting class ``classes[i]`` for image i."""
    from tf_keras_vis.utils.scores import CategoricalScore

    return CategoricalScore([int(c) for c in classes])


class FixedClasses(Target):
    """Explain given class indices (e.g. the trained probe's classes, for sanity checks)."""

    name = "fixed"

    def __init__(self, classes):
        self.classes = np.asarray(classes, dtype=np.int64)
        self._next = 0

    def __call__(self, probs, labels=None):
        out = self.classes[self._next:self._next + len(probs)]
        if len(out) != len(probs):
            raise ValueError(f"FixedClasses has {len(self.classes)} classes, asked for more")
        self._next += len(probs)
        return out
