"""A restricted unpickler for the official CIFAR python batches.

Plain containers, numbers, strings and bytes need no globals at all. The official batches also
hold the pixels as a numpy uint8 array, which a pickle rebuilds by calling a handful of numpy
functions; exactly those are allowed (they only allocate an array from bytes) and every other
global -- ``os.system``, ``builtins.eval``, ``subprocess.Popen`` ... -- is refused before it is
looked up, so a crafted pickle cannot run code. Object arrays are refused too.
"""
from __future__ import annotations

import io
import pickle

import numpy as np

from ..errors import DataError

ALLOWED_GLOBALS = frozenset({
    ("numpy.core.multiarray", "_reconstruct"),   # numpy < 2 (and the official Python-2 pickles)
    ("numpy._core.multiarray", "_reconstruct"),  # numpy >= 2
    ("numpy.core.numeric", "_frombuffer"),       # pickle protocol 5
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
})


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle asked for a global that is not allowed."""


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler whose ``find_class`` allows only the numpy array-rebuilding globals."""

    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED_GLOBALS:
            raise RefusedGlobal(f"refused global '{module}.{name}'")
        return super().find_class(module, name)

    def persistent_load(self, pid):
        raise RefusedGlobal("refused persistent id")


def safe_loads(data: bytes, *, where: str) -> object:
    """Unpickle ``data`` (bytes-encoded, like Python-2 pickles) or raise DataError naming ``where``."""
    try:
        obj = RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except RefusedGlobal as exc:
        raise DataError(f"unsafe pickle ({exc}); only plain data and numpy arrays "
                        "are accepted", path=where) from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise DataError(f"corrupt or truncated pickle ({type(exc).__name__}: {exc})", path=where) from None
    _refuse_object_arrays(obj, where)
    return obj


def _refuse_object_arrays(obj: object, where: str) -> None:
    """DataError if any array in ``obj`` holds Python objects. Each container is visited once
    (by id), so cycles and shared references cannot make the walk endless or exponential."""
    stack, seen = [obj], set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, np.ndarray) and item.dtype.hasobject:
            raise DataError("pickle holds an object array; expected plain numbers", path=where)
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
