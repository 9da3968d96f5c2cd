"""Training augmentations, applied to whole batches inside the tf.data pipeline.

``fn(images, seed, **params) -> images``: ``images`` is a float32 batch (B, H, W, C) in
[0, 255] and ``seed`` an int32 tensor of shape (2,) for TensorFlow's stateless random ops, so
the augmentation of every batch is fixed by (probe seed, step) and runs in parallel safely.
"""
from __future__ import annotations

from ..registry import Registry

AUGMENTATIONS: Registry = Registry("augmentation")


@AUGMENTATIONS.register("flip")
def flip(images, seed):
    """Mirror a random half of the images left-right."""
    import tensorflow as tf

    coin = tf.random.stateless_uniform((tf.shape(images)[0], 1, 1, 1), seed) < 0.5
    return tf.where(coin, tf.reverse(images, axis=[2]), images)


@AUGMENTATIONS.register("translate")
def translate(images, seed, fraction: float = 0.1, fill_mode: str = "nearest"):
    """Shift each image by up to ``fraction`` of its size (whole pixels; edges filled)."""
    import tensorflow as tf

    b = tf.shape(images)[0]
    h, w = images.shape[1], images.shape[2]
    # uniform in [-1, 1) scaled per axis, rounded to whole pixels
    unit = tf.random.stateless_uniform((b, 2), seed, minval=-1.0, maxval=1.0)
    shifts = tf.round(unit * tf.constant([fraction * w, fraction * h], tf.float32))
    one, zero = tf.ones((b, 1)), tf.zeros((b, 1))
    # projective transform [a0 a1 a2 b0 b1 b2 c0 c1] maps output (x, y) to input (x + dx, y + dy)
    transforms = tf.concat([one, zero, shifts[:, :1], zero, one, shifts[:, 1:], zero, zero], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.constant([h, w], tf.int32),
        fill_value=0.0, interpolation="NEAREST", fill_mode=fill_mode.upper())


@AUGMENTATIONS.register("channel_shift")
def channel_shift(images, seed, intensity: float = 100.0):
    """Add an independent random offset in [-intensity, intensity] to each colour channel."""
    import tensorflow as tf

    shape = (tf.shape(images)[0], 1, 1, images.shape[-1])
    offsets = tf.random.stateless_uniform(shape, seed, minval=-intensity, maxval=intensity)
    return tf.clip_by_value(images + offsets, 0.0, 255.0)
