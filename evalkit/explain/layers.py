"""Find the layer whose feature maps a CAM method explains, looking inside nested models.

Layers are named by their *path*: the names of the enclosing sub-models and the layer joined
with ``/`` (e.g. ``cnn/conv2d_3``). ``--layer`` accepts a full path or, when unambiguous, the
bare layer name.
"""
from __future__ import annotations

from typing import Iterator

import keras

from ..errors import UserError, did_you_mean

CONV_LAYER_TYPES = (keras.layers.Conv2D, keras.layers.SeparableConv2D,
                    keras.layers.DepthwiseConv2D, keras.layers.Conv2DTranspose)


def is_submodel(layer) -> bool:
    """True for a Functional or Sequential model used as a layer (its graph can be inlined)."""
    from keras.src.models.functional import Functional

    return isinstance(layer, (Functional, keras.Sequential))


def iter_layers(model, prefix: str = "") -> Iterator[tuple[str, object]]:
    """Yield ``(path, layer)`` for every leaf layer, depth first, in the models' layer order."""
    for layer in model.layers:
        path = f"{prefix}{layer.name}"
        if is_submodel(layer):
            yield from iter_layers(layer, prefix=f"{path}/")
        elif not isinstance(layer, keras.layers.InputLayer):
            yield path, layer


def is_conv_layer(layer) -> bool:
    """True for a 2-D convolution (its output is a (batch, h, w, channels) feature map)."""
    return isinstance(layer, CONV_LAYER_TYPES)


def find_last_conv_layer(model) -> str | None:
    """Path of the last 2-D convolution in ``model`` (nested models included), or None."""
    last = None
    for path, layer in iter_layers(model):
        if is_conv_layer(layer):
            last = path
    return last


def resolve_layer(model, name: str | None) -> str:
    """Return the path of the layer to explain: ``name`` (a path or a unique bare name) or,
    when ``name`` is None, the last convolution. Raise UserError if there is none."""
    layers = dict(iter_layers(model))
    if name is None:
        found = find_last_conv_layer(model)
        if found is None:
            raise UserError(f"model {model.name!r} has no convolutional layer; CAM methods need one "
                            "(name a layer with a (h, w, channels) output)")
        return found
    if name in layers:
        path = name
    else:
        matches = [p for p in layers if p.rsplit("/", 1)[-1] == name]
        if len(matches) > 1:
            raise UserError(f"layer {name!r} is ambiguous in model {model.name!r}; "
                            f"use a full path: {', '.join(matches)}")
        if not matches:
            choices = list(layers) + [p.rsplit("/", 1)[-1] for p in layers]
            conv = [p for p, l in layers.items() if is_conv_layer(l)]
            raise UserError(f"layer {name!r}: no such layer in model {model.name!r}"
                            f"{did_you_mean(name, choices)}; convolutional layers: "
                            f"{', '.join(conv) or 'none'}")
        path = matches[0]
    shape = layers[path].output.shape
    if len(shape) != 4:
        raise UserError(f"layer {name!r}: output shape {tuple(shape)} is not a feature map; "
                        "expected (batch, height, width, channels)")
    return path
