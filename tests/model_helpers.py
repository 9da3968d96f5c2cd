"""Tiny untrained Keras classifiers for tests that need a model file, not a good model."""
from __future__ import annotations


def tiny_model(seed: int):
    """A 32x32x3 -> 10-class softmax model (average pooling + one dense layer), seeded."""
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input((32, 32, 3))
    x = keras.layers.Rescaling(1 / 255.0)(inp)
    x = keras.layers.AveragePooling2D(4)(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inp, keras.layers.Dense(10, activation="softmax")(x))
