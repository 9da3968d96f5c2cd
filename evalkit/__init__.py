"""evalkit: find out what a black-box image classifier relies on.

Pipeline (one subpackage per stage)::

    data -> minisets -> probes -> discovery -> explain -> scoring -> fingerprint -> report
                                                                   (pipeline runs them all)

``evalkit.run(config)`` runs the whole pipeline (see :mod:`evalkit.pipeline`); the stage
functions live in ``evalkit.pipeline`` and in each stage's subpackage. Stage packages never import
from this module (the version lives in ``evalkit.version``); the contract between stages is
:mod:`evalkit.artifacts`.
"""
from .version import __version__

__all__ = ["__version__", "run"]

import os as _os

if _os.environ.get("EVALKIT_QUIET_TF") == "1":  # a worker process of a quiet `evalkit` command
    from .quiet import quiet_tensorflow as _quiet

    _quiet(verbose=False)


def run(config, **kwargs):
    """Run the whole pipeline from a config file path or PipelineConfig; returns a RunResult."""
    from .pipeline import run as _run

    return _run(config, **kwargs)
