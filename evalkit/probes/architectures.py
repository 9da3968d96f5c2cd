"""Probe architectures. Keras factories build the core network (a nested ``keras.Model`` named
"cnn", so explainers find its last convolution); scikit-learn factories build an estimator on
raw pixels.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..registry import Registry


@dataclass(frozen=True)
class Architecture:
    kind: str          # "keras" or "sklearn"
    factory: Callable


ARCHITECTURES: Registry = Registry("architecture")


def _arch(name: str, kind: str):
    def deco(factory):
        ARCHITECTURES.register(name)(Architecture(kind, factory))
        return factory
    return deco


@_arch("classic_cnn", "keras")
def classic_cnn(input_shape, n_classes, seed=0, kernel_sizes=(3, 3, 3, 3),
                filters=(32, 32, 64, 64), dense_units: int = 512,
                dropout=(0.25, 0.25, 0.5)):
    """The classic Keras CIFAR-10 CNN: conv-conv-pool-dropout x2, dense-dropout, softmax.

    As in the Keras example, the first convolution of each block pads ("same"), the second
    does not ("valid").
    """
    import keras
    from keras import layers

    inputs = keras.Input(input_shape, name="cnn_input")
    x = inputs
    for block in range(2):
        for j in range(2):
            i = 2 * block + j
            x = layers.Conv2D(filters[i], kernel_sizes[i], padding="same" if j == 0 else "valid",
                              activation="relu", name=f"conv{i + 1}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{block + 1}")(x)
        x = layers.Dropout(dropout[block], seed=seed + block, name=f"dropout{block + 1}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense_units, activation="relu", name="dense")(x)
    x = layers.Dropout(dropout[2], seed=seed + 2, name="dropout3")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="cnn")


@_arch("knn", "sklearn")
def knn(seed=0, n_neighbors: int = 10, weights: str = "distance", pca_components: int = 0):
    """k-nearest neighbours on raw pixels scaled to [0, 1] (optionally after PCA)."""
    from sklearn.decomposition import PCA
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline

    steps = [PCA(pca_components, random_state=seed)] if pca_components else []
    return make_pipeline(*steps, KNeighborsClassifier(n_neighbors=n_neighbors, weights=weights))


@_arch("random_forest", "sklearn")
def random_forest(seed=0, n_estimators: int = 200, max_features: str = "sqrt",
                  min_samples_leaf: int = 1, n_jobs: int = -1):
    """A random forest on raw pixels scaled to [0, 1]."""
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=n_estimators, max_features=max_features,
                                  min_samples_leaf=min_samples_leaf, n_jobs=n_jobs,
                                  random_state=seed)
