"""Keras layers for the probes' input transforms. They live inside the saved model, so a
served or explained probe needs no outside preprocessing. All take float32 images in [0, 255].

Registered with ``keras.saving.register_keras_serializable(package="evalkit")``: importing
this module is enough for ``keras.saving.load_model`` to rebuild them.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .transforms import gaussian_kernel1d

_PACKAGE = "evalkit"
_MASK32 = 0xFFFFFFFF


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Grayscale(keras.layers.Layer):
    """Equal-weight mean of the channels -> one channel (invariant to channel order)."""

    def call(self, inputs):
        return tf.reduce_mean(inputs, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 1)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class GaussianBlur(keras.layers.Layer):
    """Separable Gaussian low-pass filter with reflected borders (sigma in pixels)."""

    def __init__(self, sigma: float = 1.5, **kwargs):
        super().__init__(**kwargs)
        self.sigma = float(sigma)
        self._kernel = gaussian_kernel1d(self.sigma)

    def call(self, inputs):
        k = tf.constant(self._kernel)
        r = (len(self._kernel) - 1) // 2
        channels = inputs.shape[-1]
        x = tf.pad(inputs, [[0, 0], [r, r], [r, r], [0, 0]], mode="REFLECT")
        ky = tf.tile(tf.reshape(k, (-1, 1, 1, 1)), (1, 1, channels, 1))
        kx = tf.tile(tf.reshape(k, (1, -1, 1, 1)), (1, 1, channels, 1))
        x = tf.nn.depthwise_conv2d(x, ky, strides=[1, 1, 1, 1], padding="VALID")
        return tf.nn.depthwise_conv2d(x, kx, strides=[1, 1, 1, 1], padding="VALID")

    def get_config(self):
        return {**super().get_config(), "sigma": self.sigma}


def _mix32(h):
    """A 32-bit integer hash finaliser on int64 tensors (values stay below 2**32)."""
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 16))
    h = tf.bitwise.bitwise_and(h * 0x45D9F3B, _MASK32)
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 16))
    h = tf.bitwise.bitwise_and(h * 0x45D9F3B, _MASK32)
    return tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 16))


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PatchShuffle(keras.layers.Layer):
    """Cut the image into patch x patch tiles and shuffle them, a different order per image.

    The order is a hash of the image's pixels, so predicting the same image twice (in any batch)
    gives the same answer; in training a seeded counter is mixed in so every epoch sees a new
    order.
    """

    def __init__(self, patch: int = 8, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.patch = int(patch)
        self.seed = int(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def call(self, inputs, training=None):
        _, h, w, c = inputs.shape
        p = self.patch
        gh, gw = h // p, w // p
        weights = tf.constant((np.arange(h * w * c) % 251 + 1).reshape(h, w, c), tf.int64)
        content = tf.reduce_sum(tf.cast(tf.round(inputs), tf.int64) * weights, axis=[1, 2, 3])
        if training:
            content = content + tf.cast(
                keras.random.randint((), 0, 2 ** 30, seed=self.seed_generator), tf.int64)
        idx = tf.range(gh * gw, dtype=tf.int64)
        keys = _mix32(tf.bitwise.bitwise_and(content[:, None] * 2654435761 + idx[None, :] * 40503
                                             + 1013904223, _MASK32))
        order = tf.argsort(keys, axis=1, stable=True)
        x = tf.reshape(inputs, (-1, gh, p, gw, p, c))
        x = tf.reshape(tf.transpose(x, (0, 1, 3, 2, 4, 5)), (-1, gh * gw, p, p, c))
        x = tf.gather(x, order, batch_dims=1)
        x = tf.transpose(tf.reshape(x, (-1, gh, gw, p, p, c)), (0, 1, 3, 2, 4, 5))
        return tf.reshape(x, (-1, h, w, c))

    def get_config(self):
        return {**super().get_config(), "patch": self.patch, "seed": self.seed}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ZCAWhitening(keras.layers.Layer):
    """ZCA whitening of the flattened image scaled to [0, 1]: ``(x/255 - mean_) @ matrix_``.

    The fitted mean and matrix are (non-trainable) weights, so the .keras file is self-contained.
    Call :meth:`fit` on training images before training.
    """

    def __init__(self, epsilon: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        dim = int(np.prod(input_shape[1:]))
        self.mean_ = self.add_weight(shape=(dim,), initializer="zeros", trainable=False, name="mean")
        self.matrix_ = self.add_weight(shape=(dim, dim), initializer="identity", trainable=False,
                                       name="matrix")

    def fit(self, images: np.ndarray) -> "ZCAWhitening":
        """Fit mean and whitening matrix on uint8/float images (N, H, W, C) in [0, 255]."""
        x = images.reshape(len(images), -1).astype(np.float32) / 255.0
        if not self.built:
            self.build((None, *images.shape[1:]))
        mean = x.mean(axis=0)
        x -= mean
        cov = x.T @ x / len(x)
        eigval, eigvec = np.linalg.eigh(cov)
        eigval = np.clip(eigval, 0, None)
        matrix = (eigvec * (1.0 / np.sqrt(eigval + self.epsilon))) @ eigvec.T
        self.mean_.assign(mean.astype(np.float32))
        self.matrix_.assign(matrix.astype(np.float32))
        return self

    def call(self, inputs):
        shape = tf.shape(inputs)
        flat = tf.reshape(inputs, (shape[0], -1)) / 255.0 - self.mean_
        return tf.reshape(tf.matmul(flat, self.matrix_), shape)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}
