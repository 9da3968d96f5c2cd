"""Quiet TensorFlow start-up for the CLI: no C++ start-up lines (CUDA probing, oneDNN, CPU features),
only errors from the tensorflow/absl Python loggers. ``evalkit --verbose`` skips all of it."""
from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile

QUIET_ENV = "EVALKIT_QUIET_TF"  # set by the CLI unless --verbose; inherited by worker processes
# Start-up lines TensorFlow's C++ side writes to stderr while it is imported (TF >= 2.17 writes
# some through absl before TF_CPP_MIN_LOG_LEVEL is honoured); other lines pass through.
_CHATTER = re.compile(r"absl::InitializeLog|oneDNN custom operations|cpu_feature_guard|rebuild TensorFlow with "
                      r"the appropriate compiler flags|cuda|cuInit|TF-TRT|Unable to register cu\w+ factory", re.I)


def quiet_tensorflow(verbose: bool) -> None:
    """Unless verbose: no TensorFlow start-up lines (CUDA probing, oneDNN, CPU features) and only
    errors from the tensorflow/absl Python loggers. Must run before TensorFlow is imported; the
    environment variables reach worker processes (which import this module) and model servers.
    An explicit $TF_CPP_MIN_LOG_LEVEL is respected."""
    if verbose:
        return
    os.environ[QUIET_ENV] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietImport())


class _QuietImport(importlib.abc.MetaPathFinder):
    """Imports tensorflow (once, whoever asks first) with its start-up chatter filtered out of fd 2."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            run = spec.loader.exec_module

            def exec_module(module):
                with _filtered_stderr():
                    run(module)

            spec.loader.exec_module = exec_module  # this module's loader instance only
        return spec


@contextlib.contextmanager
def _filtered_stderr():
    """Capture file descriptor 2 in a temporary file; afterwards re-emit every non-chatter line."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            kept = [ln for ln in tmp.read().decode(errors="replace").splitlines(keepends=True)
                    if not _CHATTER.search(ln)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
