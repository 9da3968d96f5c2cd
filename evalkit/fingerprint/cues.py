"""Cue definitions as data: which ablations remove a cue and which probes use or lack it.

Add a cue by registering a :class:`CueSpec`; the verdict is parametrized over this registry.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..registry import Registry

STANDARD_PROBES = ("control", "kernel5")  # plain CNNs: the reference "standard CNN"


@dataclass(frozen=True)
class CueSpec:
    """A cue: the ablations that remove it, probes that use it and probes blind to it."""

    name: str
    label: str                      # for sentences: "colour"
    ablations: tuple[str, ...]      # transforms in evalkit.probes.transforms.IMAGE_TRANSFORMS
    users: tuple[str, ...]          # probes that use the cue (standard CNNs)
    blind: tuple[str, ...]          # probes trained to be blind to it
    like: str                       # "a colour-blind model"


CUES: Registry[CueSpec] = Registry("cue")


def _add(spec: CueSpec) -> None:
    CUES.register(spec.name)(spec)


_add(CueSpec("colour", "colour", ("grayscale", "channel_permute"), STANDARD_PROBES,
             ("grayscale", "zca_shift"), "a colour-blind model"))
_add(CueSpec("fine_texture", "fine texture / high frequencies", ("lowpass",), STANDARD_PROBES,
             ("blur",), "a model that sees only blurred images"))
_add(CueSpec("global_shape", "global shape / arrangement", ("patch_shuffle",), STANDARD_PROBES,
             ("patch_shuffle",), "a model that sees only shuffled patches (texture, no shape)"))
_add(CueSpec("orientation", "left-right orientation", ("mirror",), (), (),
             "a model that depends on left-right orientation"))

def reference_probes() -> tuple[str, ...]:
    """Probes whose ablated accuracy anchors the cue scores: the standard CNNs and every probe
    a registered cue names as blind."""
    blind = [p for name in CUES.names() for p in CUES.get(name).blind]
    return tuple(dict.fromkeys([*STANDARD_PROBES, *blind]))


# The cue each probe is blind to (None: a standard model), used to score nearest-probe answers.
PROBE_BLIND_CUE = {"control": None, "kernel5": None, "grayscale": "colour", "zca_shift": "colour",
                   "blur": "fine_texture", "patch_shuffle": "global_shape"}
