"""The tf.data input pipelines for training and prediction, model assembly and optimizers."""
from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigError, did_you_mean
from .spec import ProbeSpec

_OPTIMIZERS = ("adam", "adamw", "nadam", "rmsprop", "sgd")


def stratified_holdout(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split positions 0..N-1 into (train, held-out), taking ``fraction`` of every class."""
    rng = np.random.default_rng([seed, 7919])
    train, held = [], []
    for c in np.unique(labels):
        pos = np.flatnonzero(labels == c)
        pos = pos[rng.permutation(len(pos))]
        k = int(round(fraction * len(pos))) if fraction > 0 else 0
        k = min(max(k, 1 if fraction > 0 else 0), len(pos) - 1)
        held.append(pos[:k])
        train.append(pos[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(held))


def train_dataset(images: np.ndarray, labels: np.ndarray, *, batch_size: int, epochs: int,
                  seed: int, augmentations=()):
    """Seeded shuffle -> batch -> repeat(epochs) -> vectorised augmentation -> prefetch.

    Each batch's augmentation uses stateless random ops seeded with (seed, step), so the stream
    is identical for a fixed seed however many threads run the map.
    Returns (dataset, steps_per_epoch).
    """
    import tensorflow as tf

    n = len(images)
    steps = math.ceil(n / batch_size)
    ds = (tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32)))
          .cache()
          .shuffle(n, seed=seed, reshuffle_each_iteration=True)
          .batch(batch_size)
          .repeat(epochs))
    ds = tf.data.Dataset.zip((ds, tf.data.Dataset.counter()))

    def augment(batch, step):
        x, y = batch
        x = tf.cast(x, tf.float32)
        for k, fn in enumerate(augmentations):
            x = fn(x, tf.stack([tf.cast(seed * 1009 + k, tf.int64), step]))
        return x, y

    ds = ds.map(augment, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE), steps


def eval_dataset(images: np.ndarray, labels: np.ndarray | None = None, *, batch_size: int = 500):
    """Batches of float32 images (and labels), cast inside the pipeline."""
    import tensorflow as tf

    if labels is None:
        ds = tf.data.Dataset.from_tensor_slices(images).batch(batch_size)
        ds = ds.map(lambda x: tf.cast(x, tf.float32))
    else:
        ds = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32))).batch(batch_size)
        ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), y))
    return ds.cache().prefetch(tf.data.AUTOTUNE)


def build_model(spec: ProbeSpec, image_shape: tuple[int, int, int], n_classes: int, seed: int,
                train_images: np.ndarray | None = None):
    """The probe's Keras model: input [0, 255] -> nested 'preprocess' model -> nested 'cnn'."""
    import keras

    from .architectures import ARCHITECTURES
    from .input_transforms import INPUT_TRANSFORMS

    transform_layers = INPUT_TRANSFORMS.get(spec.input_transform)(train_images=train_images,
                                                                   **spec.input_params)
    pre_in = keras.Input(image_shape, name="image")
    x = pre_in
    for layer in transform_layers:
        x = layer(x)
    preprocess = keras.Model(pre_in, x, name="preprocess")
    cnn = ARCHITECTURES.get(spec.architecture).factory(
        tuple(preprocess.output.shape[1:]), n_classes, seed=seed, **spec.architecture_params)
    inputs = keras.Input(image_shape, name="image_0_255")
    return keras.Model(inputs, cnn(preprocess(inputs)), name=spec.name)


_SCHEDULES = ("constant", "cosine")


def make_optimizer(name: str, learning_rate: float, schedule: str = "constant", total_steps: int = 1,
                   warmup_steps: int = 0, ema_momentum: float = 0.0):
    """The named optimizer; ``schedule = "cosine"`` decays the rate to 0 over ``total_steps``.

    ``warmup_steps > 0`` first raises the rate linearly from 0 to ``learning_rate``; the
    constant or cosine schedule then runs over the remaining steps. ``ema_momentum > 0`` keeps
    an exponential moving average of the weights (Keras ``use_ema``).
    """
    import keras

    if schedule not in _SCHEDULES:
        raise ConfigError(f"[training] schedule {schedule!r}{did_you_mean(schedule, _SCHEDULES)}; "
                          f"expected one of: {', '.join(_SCHEDULES)}")
    if warmup_steps < 0:
        raise ConfigError(f"[training] warmup_epochs must be >= 0, got {warmup_steps} steps")
    if not 0.0 <= ema_momentum < 1.0:
        raise ConfigError(f"[training] ema_momentum must be in [0, 1), got {ema_momentum}")
    decay_steps = max(1, total_steps - warmup_steps)
    if warmup_steps:  # alpha = 1 keeps the rate constant after the warm-up
        learning_rate = keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=decay_steps, alpha=0.0 if schedule == "cosine" else 1.0,
            warmup_target=learning_rate, warmup_steps=warmup_steps)
    elif schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=decay_steps)

    if name not in _OPTIMIZERS:
        raise ConfigError(f"[training] optimizer {name!r}{did_you_mean(name, _OPTIMIZERS)}; "
                          f"expected one of: {', '.join(_OPTIMIZERS)}")
    classes = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW,
               "nadam": keras.optimizers.Nadam, "rmsprop": keras.optimizers.RMSprop,
               "sgd": keras.optimizers.SGD}
    ema = {"use_ema": True, "ema_momentum": ema_momentum} if ema_momentum else {}
    return classes[name](learning_rate=learning_rate, **ema)
