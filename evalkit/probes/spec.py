"""Probe definitions as data: one TOML file per probe, validated on load.

A probe file looks like::

    description = "The classic Keras CIFAR-10 CNN; sees everything."
    architecture = "classic_cnn"          # ARCHITECTURES registry
    input_transform = "identity"          # INPUT_TRANSFORMS registry (runs inside the model)
    augmentations = ["flip", "translate"] # AUGMENTATIONS registry (tf.data, training only)

    [architecture_params]                 # keyword arguments of the architecture factory
    kernel_sizes = [3, 3, 3, 3]
    [input_params]                        # keyword arguments of the input transform factory
    [augmentation_params.translate]       # keyword arguments of one augmentation
    fraction = 0.1
    [training]                            # optimiser, batch size, early stopping
    learning_rate = 0.001                 # schedule = "constant" | "cosine"; warmup_epochs = 0
    [bias]                                # the cue the probe is blind to (IMAGE_TRANSFORMS names)
    blind_to = ["grayscale", "channel_permute"]
    min_kept = 0.9

Files are found among the built-in probes shipped in the package (``evalkit/resources/probes``,
the top-level ``probes/`` folder of the source tree), then in every folder listed in
``$EVALKIT_PROBES_PATH`` (the older name) and ``$EVALKIT_PROBES`` (``os.pathsep``-separated;
``evalkit --probes-dir DIR`` appends to it); a file in a later folder overrides a same-named earlier one.
"""
from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config_schema import check_keys, load_toml
from ..errors import ConfigError, UserError, did_you_mean

PROBES_ENV = "EVALKIT_PROBES"
PROBES_PATH_ENV = "EVALKIT_PROBES_PATH"  # older name, still read (after EVALKIT_PROBES)

_TOP_SCHEMA = {
    "description": str, "architecture": str, "input_transform": str, "augmentations": list,
    "architecture_params": dict, "input_params": dict, "augmentation_params": dict,
    "training": dict, "bias": dict,
}
_TRAINING_SCHEMA = {
    "optimizer": str, "learning_rate": float, "batch_size": int, "validation_fraction": float,
    "patience": int, "monitor": str, "schedule": str, "warmup_epochs": int,
    "ema_momentum": float,
}
_TRAINING_DEFAULTS = {"optimizer": "adam", "learning_rate": 1e-3, "batch_size": 64,
                      "validation_fraction": 0.1, "patience": 6, "monitor": "val_accuracy",
                      "schedule": "constant", "warmup_epochs": 0,
                      "ema_momentum": 0.0}
_BIAS_SCHEMA = {"blind_to": list, "min_kept": float}


@dataclass(frozen=True)
class ProbeSpec:
    """A validated probe definition."""

    name: str
    path: Path
    sha256: str
    description: str
    architecture: str
    input_transform: str = "identity"
    augmentations: tuple[str, ...] = ()
    architecture_params: dict[str, Any] = field(default_factory=dict)
    input_params: dict[str, Any] = field(default_factory=dict)
    augmentation_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    blind_to: tuple[str, ...] = ()
    min_kept: float = 0.9

    @property
    def is_keras(self) -> bool:
        from .architectures import ARCHITECTURES

        return ARCHITECTURES.get(self.architecture).kind == "keras"


def probe_dirs() -> list[Path]:
    """Folders searched for probe files: the built-in probes, then $EVALKIT_PROBES_PATH and
    $EVALKIT_PROBES (a later folder overrides an earlier one)."""
    from ..resources import builtin_dir, env_dirs

    return [builtin_dir("probes"), *env_dirs(PROBES_PATH_ENV, PROBES_ENV)]


def _probe_files() -> dict[str, Path]:
    files: dict[str, Path] = {}
    for d in probe_dirs():
        if d.is_dir():
            for p in sorted(d.glob("*.toml")):
                files[p.stem] = p
    return files


def probe_files() -> dict[str, Path]:
    """{probe name: its file} for every probe file found (a later folder overrides an earlier one)."""
    return dict(_probe_files())


def list_probe_specs() -> list[str]:
    """Names of every probe file found (sorted)."""
    return sorted(_probe_files())


def load_probe_spec(name: str | Path) -> ProbeSpec:
    """Load and validate one probe by name (or by path to a TOML file)."""
    if isinstance(name, Path) or str(name).endswith(".toml"):
        return parse_probe_file(Path(name))
    files = _probe_files()
    if name not in files:
        raise UserError(f"unknown probe {name!r}{did_you_mean(name, files)}; "
                        f"expected one of: {', '.join(sorted(files)) or '(no probe files found)'}")
    return parse_probe_file(files[name])


def _check_params(factory, params: dict, *, where: str, skip: tuple[str, ...] = ()) -> None:
    """Unknown keyword arguments of a registry factory fail like unknown TOML keys."""
    sig = inspect.signature(factory)
    allowed = [p for p in sig.parameters if p not in skip and not p.startswith("_")]
    for key in params:
        if key not in allowed:
            raise ConfigError(f"unknown key '{key}'{did_you_mean(key, allowed)}; "
                              f"expected one of: {', '.join(allowed) or '(none)'}", path=where)


def parse_probe_file(path: Path) -> ProbeSpec:
    """Read one TOML probe file; unknown keys or registry names raise ConfigError."""
    from .architectures import ARCHITECTURES
    from .augment import AUGMENTATIONS
    from .input_transforms import INPUT_TRANSFORMS
    from .transforms import IMAGE_TRANSFORMS

    path = Path(path)
    raw = path.read_bytes() if path.is_file() else None
    table = load_toml(path)
    where = str(path)
    check_keys(table, _TOP_SCHEMA, where=where, required=("architecture",))

    def lookup(registry, name: str, key: str):
        try:
            return registry.get(name)
        except UserError as exc:
            raise ConfigError(f"key '{key}': {exc}", path=where) from None

    arch = lookup(ARCHITECTURES, table["architecture"], "architecture")
    arch_params = table.get("architecture_params", {})
    _check_params(arch.factory, arch_params, where=f"{where} [architecture_params]",
                  skip=("input_shape", "n_classes", "seed"))
    transform_name = table.get("input_transform", "identity")
    transform = lookup(INPUT_TRANSFORMS, transform_name, "input_transform")
    input_params = table.get("input_params", {})
    _check_params(transform, input_params, where=f"{where} [input_params]", skip=("train_images",))
    if arch.kind != "keras" and (transform_name != "identity" or table.get("augmentations")):
        raise ConfigError("scikit-learn architectures take raw pixels: remove "
                          "'input_transform' and 'augmentations'", path=where)
    augs = tuple(table.get("augmentations", []))
    aug_params = table.get("augmentation_params", {})
    for aug in augs:
        lookup(AUGMENTATIONS, aug, "augmentations")
    for aug, params in aug_params.items():
        if aug not in augs:
            raise ConfigError(f"[augmentation_params.{aug}] given but '{aug}' is not in "
                              f"augmentations{did_you_mean(aug, augs)}", path=where)
        _check_params(AUGMENTATIONS.get(aug), params, where=f"{where} [augmentation_params.{aug}]",
                      skip=("images", "seed"))
    training = dict(table.get("training", {}))
    check_keys(training, _TRAINING_SCHEMA, where=f"{where} [training]")
    if training.get("warmup_epochs", 0) < 0 or not 0.0 <= training.get("ema_momentum", 0.0) < 1.0:
        raise ConfigError("[training] expected warmup_epochs >= 0 and 0 <= ema_momentum < 1, got "
                          f"{training.get('warmup_epochs', 0)} and {training.get('ema_momentum', 0.0)}",
                          path=where)
    bias = table.get("bias", {})
    check_keys(bias, _BIAS_SCHEMA, where=f"{where} [bias]")
    for cue in bias.get("blind_to", []):
        lookup(IMAGE_TRANSFORMS, cue, "bias.blind_to")
    return ProbeSpec(
        name=path.stem, path=path, sha256=hashlib.sha256(raw).hexdigest(),
        description=table.get("description", ""), architecture=table["architecture"],
        input_transform=transform_name, augmentations=augs, architecture_params=arch_params,
        input_params=input_params, augmentation_params=aug_params,
        training={**_TRAINING_DEFAULTS, **training}, blind_to=tuple(bias.get("blind_to", [])),
        min_kept=float(bias.get("min_kept", 0.9)))
