"""Stage 3: the probe bank -- deliberately biased classifiers defined as TOML files.

Public API (TensorFlow is imported only when a function needing it is called)::

    list_probe_specs() / load_probe_spec(name)           probe definitions (probes/*.toml)
    train_probe(ws, dataset, spec, seed, ...)             one run, recorded as kind "model"
    train_bank(ws, dataset, probes, seeds, ...)           every probe x seed, resumable
    predict_pool(ws, dataset, probe, seed, split)         kind "predictions" on an evaluation pool
    load_probe_model(ws, probe, seed)                     -> .predict_proba(images), .keras_model
    load_pool_predictions(ws, pool)                       -> {(probe, seed): probs}
    check_bias(ws, dataset, probes, seeds)                accuracy kept when a cue is removed
"""
from __future__ import annotations

import importlib

from .spec import ProbeSpec, list_probe_specs, load_probe_spec, probe_dirs

_LAZY = {
    "train_probe": "training", "train_bank": "training",
    "predict_pool": "predict", "load_probe_model": "predict", "load_pool_predictions": "predict",
    "load_pool_labels": "predict", "ProbeModel": "predict",
    "check_bias": "bias", "BiasReport": "bias",
    "IMAGE_TRANSFORMS": "transforms", "ARCHITECTURES": "architectures",
    "INPUT_TRANSFORMS": "input_transforms", "AUGMENTATIONS": "augment",
}

__all__ = ["ProbeSpec", "list_probe_specs", "load_probe_spec", "probe_dirs", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
