"""Build a flat Keras model for tf-keras-vis from a probe with nested sub-models.

Why: tf-keras-vis reads ``layer.output`` of the penultimate (conv) layer and builds
``Model(model.inputs, model.outputs + [layer.output])``. In Keras 3 a layer inside a nested
model has its ``output`` in the *inner* model's graph, so that model is "not connected to
inputs" and tf-keras-vis fails on probes shaped ``input -> preprocessing sub-model -> CNN
sub-model``. The work-around: re-trace the probe with every nested Functional/Sequential model
inlined, so the conv layer is a direct layer of one flat graph.

All other layers are *shared* with the probe (same weights, no copy); only the output layer
(to drop its softmax) and the layers being re-randomised are cloned.

The explained layer's output passes through a :class:`CamTarget` identity layer, which is what
tf-keras-vis is given as the penultimate layer. Its gradient is cut: TensorFlow's eager tape
would otherwise back-propagate through every convolution below the explained layer (tf-keras-vis
watches the input images), work that CAM methods never use — cutting it makes Grad-CAM about
twice as fast and leaves the maps unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from .layers import is_submodel, iter_layers


@dataclass(frozen=True, eq=False)
class CamModel:
    """A flat model for tf-keras-vis: ``model`` maps images to class scores, ``layer`` is the
    explained layer as a direct layer of ``model``; ``scores_on`` is 'logits' when the final
    softmax could be removed, else 'probabilities'."""

    model: keras.Model
    layer: keras.layers.Layer
    layer_path: str
    scores_on: str


class CamTarget(keras.layers.Layer):
    """Identity whose gradient stops here (nothing below the explained layer needs one)."""

    def call(self, inputs):
        import tensorflow as tf

        @tf.custom_gradient
        def cut(x):
            return tf.identity(x), lambda dy: None

        return cut(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape


def _seeded_config(config, seed: int):
    """Give every initializer in a layer config a fixed seed (reproducible re-initialisation)."""
    if isinstance(config, dict):
        out = {k: _seeded_config(v, seed) for k, v in config.items()}
        if "class_name" in out and isinstance(out.get("config"), dict) and "seed" in out["config"]:
            out["config"] = {**out["config"], "seed": seed}
        return out
    if isinstance(config, list):
        return [_seeded_config(v, seed) for v in config]
    return config


def _is_softmax(fn) -> bool:
    return getattr(fn, "__name__", "") == "softmax"


class _Inliner:
    def __init__(self, model, layer_path: str, randomise: frozenset[str], seed: int):
        self.paths = {id(layer): path for path, layer in iter_layers(model)}
        self.layer_path = layer_path
        self.randomise = randomise
        self.seed = seed
        self.clones: dict[str, tuple[object, object, bool]] = {}  # path -> (orig, clone, copy)
        self.calls: dict[int, tuple[object, tuple, dict]] = {}    # id(output) -> call
        self.clone_paths: dict[int, str] = {}
        self.target = None

    def _clone(self, layer, path: str, *, linear: bool = False, copy: bool = True):
        config = layer.get_config()
        config["name"] = path.replace("/", "__")
        if linear:
            config["activation"] = "linear"
        if not copy:
            config = _seeded_config(config, self.seed + len(self.clones))
        clone = layer.__class__.from_config(config)
        self.clones[path] = (layer, clone, copy)
        self.clone_paths[id(clone)] = path
        return clone

    def path_of(self, layer) -> str:
        return self.paths.get(id(layer)) or self.clone_paths.get(id(layer)) or layer.name

    def call(self, layer, *args, **kwargs):
        if is_submodel(layer):
            return self.inline(layer, *args, **kwargs)
        path = self.paths.get(id(layer))
        if path is not None and path in self.randomise:
            layer = self._clone(layer, path, copy=False)
        out = layer(*args, **kwargs)
        if path == self.layer_path:
            self.target = CamTarget(name=path.replace("/", "__") + "__cam")
            out = self.target(out)
        if isinstance(out, keras.KerasTensor):
            self.calls[id(out)] = (layer, args, kwargs)
        return out

    def inline(self, model, *args, **kwargs):
        if isinstance(model, keras.Sequential):
            x = args[0]
            for layer in model.layers:
                x = self.call(layer, x)
            return x
        inputs = args[0] if len(args) == 1 else list(args)
        return model._run_through_graph(inputs, operation_fn=lambda op: op, call_fn=self.call)

    def copy_weights(self) -> None:
        for orig, clone, copy in self.clones.values():
            if copy:
                clone.set_weights(orig.get_weights())


def flatten_for_cam(model: keras.Model, layer_path: str, *, randomise=(), seed: int = 0) -> CamModel:
    """Re-trace ``model`` as one flat graph whose direct layer ``layer_path`` can be explained.

    randomise: leaf-layer paths to replace by freshly initialised copies (seeded by ``seed``),
    for the model-parameter randomisation test. The returned model outputs logits when the
    probe's last layer is a softmax (Dense(activation='softmax'), Softmax or Activation).
    """
    inliner = _Inliner(model, layer_path, frozenset(randomise), seed)
    shape = tuple(model.inputs[0].shape[1:])
    x = keras.Input(shape=shape, dtype=model.inputs[0].dtype, name="images")
    y = inliner.inline(model, x)
    scores_on = "probabilities"
    last = inliner.calls.get(id(y))
    if last is not None:
        layer, args, kwargs = last
        if isinstance(layer, keras.layers.Softmax) or (
                isinstance(layer, keras.layers.Activation) and _is_softmax(layer.activation)):
            y, scores_on = args[0], "logits"
        elif _is_softmax(getattr(layer, "activation", None)):
            path = f"{inliner.path_of(layer)}__logits"
            y = inliner._clone(layer, path, linear=True)(*args, **kwargs)
            scores_on = "logits"
    flat = keras.Model(x, y, name=f"{model.name}_flat")
    inliner.copy_weights()
    if inliner.target is None:
        raise ValueError(f"layer {layer_path!r} was not reached while re-tracing {model.name!r}")
    return CamModel(flat, inliner.target, layer_path, scores_on)


def check_same_predictions(model: keras.Model, cam: CamModel, images: np.ndarray, atol=1e-4) -> float:
    """Max abs difference between the probe's probabilities and softmax of the flat model."""
    probs = np.asarray(model(images, training=False))
    out = np.asarray(cam.model(images, training=False))
    if cam.scores_on == "logits":
        out = np.exp(out - out.max(axis=1, keepdims=True))
        out /= out.sum(axis=1, keepdims=True)
    return float(np.abs(probs - out).max())
