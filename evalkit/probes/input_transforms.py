"""Input transforms: what a probe is allowed to see. Each factory returns the Keras layers that
map float32 RGB in [0, 255] to the network's input; they are saved inside the model.

``factory(train_images=None, **params) -> list[keras.layers.Layer]``; ``train_images`` (uint8,
the training part of the mini-set) is given for transforms fitted on data (ZCA).
"""
from __future__ import annotations

from ..registry import Registry

INPUT_TRANSFORMS: Registry = Registry("input transform")


def _rescale():
    import keras

    return keras.layers.Rescaling(1.0 / 255.0, name="rescale")


@INPUT_TRANSFORMS.register("identity")
def identity(train_images=None):
    """Sees the image as is (scaled to [0, 1])."""
    return [_rescale()]


@INPUT_TRANSFORMS.register("grayscale")
def grayscale(train_images=None):
    """Sees one channel: the equal-weight mean of R, G and B."""
    from .layers import Grayscale

    return [Grayscale(name="grayscale"), _rescale()]


@INPUT_TRANSFORMS.register("blur")
def blur(train_images=None, sigma: float = 1.5):
    """Sees a Gaussian low-passed image (sigma in pixels): fine texture removed."""
    from .layers import GaussianBlur

    return [GaussianBlur(sigma, name="gaussian_blur"), _rescale()]


@INPUT_TRANSFORMS.register("patch_shuffle")
def patch_shuffle(train_images=None, patch: int = 8, seed: int = 0):
    """Sees the image cut into patch x patch tiles in a shuffled order (new order per image)."""
    from .layers import PatchShuffle

    return [PatchShuffle(patch, seed, name="patch_shuffle"), _rescale()]


@INPUT_TRANSFORMS.register("zca")
def zca(train_images=None, epsilon: float = 0.1):
    """ZCA whitening fitted on the training images (mean and matrix stored in the model)."""
    from .layers import ZCAWhitening

    if train_images is None:
        raise ValueError("the zca input transform needs train_images to fit on")
    return [ZCAWhitening(epsilon, name="zca").fit(train_images)]
