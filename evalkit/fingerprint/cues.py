"""Cue definitions as data: which ablations remove a cue, and which probes use it or are blind to it.

A cue is registered with its ablations (IMAGE_TRANSFORMS names); its probes come from the probe
files (``probes/*.toml`` and ``$EVALKIT_PROBES_PATH``), so a user's own probe takes part:

- ``blind``: probes whose ``[bias] blind_to`` names one of the cue's ablations;
- ``users``: the standard CNNs -- Keras probes with an empty ``blind_to`` -- for every cue that has
  a blind probe (a cue without one has no "blind" end of the scale and is scored on the absolute
  scale, so it has no users either).

Add a cue by registering a :class:`CueSpec`; the verdict is parametrized over this registry.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..registry import Registry


def _probe_files_signature() -> tuple:
    from ..probes.spec import probe_files

    out = []
    for name, path in sorted(probe_files().items()):
        st = os.stat(path)
        out.append((name, str(path), st.st_mtime_ns, st.st_size))
    return tuple(out)


_CACHE: dict[tuple, dict[str, tuple[tuple[str, ...], bool]]] = {}


def probe_biases() -> dict[str, tuple[tuple[str, ...], bool]]:
    """{probe: (its [bias] blind_to, whether it is a Keras CNN)} for every probe file found
    (re-read when a probe file is added, removed or changed)."""
    from ..probes.spec import parse_probe_file

    sig = _probe_files_signature()
    if sig not in _CACHE:
        _CACHE.clear()
        specs = [parse_probe_file(Path(path)) for _, path, _, _ in sig]
        _CACHE[sig] = {s.name: (tuple(s.blind_to), s.is_keras) for s in specs}
    return _CACHE[sig]


def standard_cnns() -> tuple[str, ...]:
    """Probes that are the reference "standard CNN": Keras probes blind to nothing."""
    return tuple(p for p, (blind, keras) in probe_biases().items() if keras and not blind)


@dataclass(frozen=True)
class CueSpec:
    """A cue: the ablations that remove it; ``users`` and ``blind`` come from the probe files."""

    name: str
    label: str                      # for sentences: "colour"
    ablations: tuple[str, ...]      # transforms in evalkit.probes.transforms.IMAGE_TRANSFORMS
    like: str                       # "a colour-blind model"

    @property
    def blind(self) -> tuple[str, ...]:
        """Probes trained to be blind to the cue (``[bias] blind_to`` names one of its ablations)."""
        return tuple(p for p, (blind, _) in probe_biases().items() if set(blind) & set(self.ablations))

    @property
    def users(self) -> tuple[str, ...]:
        """Probes that use the cue: the standard CNNs, when the cue has a blind probe."""
        return standard_cnns() if self.blind else ()


CUES: Registry[CueSpec] = Registry("cue")


def _add(spec: CueSpec) -> None:
    CUES.register(spec.name)(spec)


_add(CueSpec("colour", "colour", ("grayscale", "channel_permute"), "a colour-blind model"))
_add(CueSpec("fine_texture", "fine texture / high frequencies", ("lowpass",),
             "a model that sees only blurred images"))
_add(CueSpec("global_shape", "global shape / arrangement", ("patch_shuffle",),
             "a model that sees only shuffled patches (texture, no shape)"))
_add(CueSpec("orientation", "left-right orientation", ("mirror",),
             "a model that depends on left-right orientation"))


def reference_probes() -> tuple[str, ...]:
    """Probes whose ablated accuracy anchors the cue scores: the standard CNNs and every probe
    blind to a registered cue."""
    blind = [p for name in CUES.names() for p in CUES.get(name).blind]
    return tuple(dict.fromkeys([*standard_cnns(), *blind]))


def probe_cues() -> dict[str, str | None]:
    """{probe: the registered cue it is blind to, or None for a standard CNN} (other probes,
    e.g. scikit-learn ones blind to nothing, are left out)."""
    out: dict[str, str | None] = {p: None for p in standard_cnns()}
    for name in CUES.names():
        for p in CUES.get(name).blind:
            out.setdefault(p, name)
    return out
