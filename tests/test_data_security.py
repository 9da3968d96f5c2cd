"""A crafted pickle must not run code; archive members escaping the root are refused."""
from __future__ import annotations

import io
import os
import pickle
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from evalkit.data import load_dataset
from evalkit.data.safe_pickle import _refuse_object_arrays, safe_loads
from evalkit.errors import DataError
from data_helpers import (_private_cache, png_bytes, tar_folder, tiny_images,  # noqa: F401
                               write_cifar_batches, write_image_folder, zip_folder)


class _Payload:
    """Unpickling this calls os.system, which would create ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _malicious_batch(marker) -> bytes:
    return pickle.dumps({b"data": _Payload(marker), b"labels": [0]})


def test_malicious_pickle_in_batches_folder_does_not_run(tmp_path):
    write_cifar_batches(tmp_path / "b")
    marker = tmp_path / "pwned"
    (tmp_path / "b" / "data_batch_2").write_bytes(_malicious_batch(marker))
    with pytest.raises(DataError, match=r"data_batch_2: unsafe pickle \(refused global '(posix|os)\.system'\)"):
        load_dataset("cifar10", tmp_path / "b", progress=False)
    assert not marker.exists()


def test_malicious_pickle_in_tarball_does_not_run(tmp_path):
    write_cifar_batches(tmp_path / "b")
    marker = tmp_path / "pwned"
    (tmp_path / "b" / "test_batch").write_bytes(_malicious_batch(marker))
    tar = tar_folder(tmp_path / "b", tmp_path / "t.tar.gz")
    with pytest.raises(DataError, match="test_batch: unsafe pickle"):
        load_dataset("cifar10", tar, progress=False)
    assert not marker.exists()


@pytest.mark.parametrize("payload", [
    pickle.dumps(eval),  # builtins.eval
    b"cbuiltins\nexec\n(S'open(\"x\",\"w\")'\ntR.",  # protocol 0 GLOBAL + REDUCE
    pickle.dumps(np.array([object()], dtype=object)[:0]),  # object array: refused
])
def test_restricted_unpickler_refuses_globals(payload):
    with pytest.raises(DataError, match="where.bin"):
        safe_loads(payload, where="where.bin")


def test_restricted_unpickler_accepts_plain_data_and_uint8_arrays():
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    for protocol in (4, 5):
        obj = safe_loads(pickle.dumps({b"a": [1, 2.5, "s", b"b", (None, True)], b"x": arr}, protocol=protocol),
                         where="w")
        assert obj[b"a"] == [1, 2.5, "s", b"b", (None, True)]
        np.testing.assert_array_equal(obj[b"x"], arr)


def test_truncated_pickle_is_a_clear_error(tmp_path):
    write_cifar_batches(tmp_path / "b")
    p = tmp_path / "b" / "data_batch_1"
    p.write_bytes(p.read_bytes()[:100])
    with pytest.raises(DataError, match="data_batch_1: corrupt or truncated pickle"):
        load_dataset("cifar10", tmp_path / "b", progress=False)


@pytest.mark.parametrize("evil", ["../escape.png", "train/cat/../../../escape.png", "/abs/train/cat/0.png",
                                  "C:/train/cat/0.png"])
def test_zip_slip_members_are_refused(tmp_path, evil):
    write_image_folder(tmp_path / "imgs")
    z = zip_folder(tmp_path / "imgs", tmp_path / "d.zip")
    with zipfile.ZipFile(z, "a") as zf:
        info = zipfile.ZipInfo("placeholder")
        info.filename = evil  # ZipInfo() would normalise the name; set it raw like a crafted zip
        zf.writestr(info, png_bytes(tiny_images(1, 0)[0]))
    with pytest.raises(DataError, match="escapes the archive root") as exc:
        load_dataset("cifar10", z, progress=False)
    assert repr(evil) in str(exc.value)
    assert not (tmp_path / "escape.png").exists()


def test_tar_slip_members_are_refused(tmp_path):
    write_cifar_batches(tmp_path / "b")
    tar = tar_folder(tmp_path / "b", tmp_path / "t.tar.gz")
    data = (tmp_path / "b" / "test_batch").read_bytes()
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as t:
        info = tarfile.TarInfo("../../test_batch")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    with pytest.raises(DataError, match=r"member '../../test_batch' escapes the archive root"):
        load_dataset("cifar10", evil, progress=False)
    assert tar.is_file()



_WALK = r"""
import pickle, sys, time
import numpy as np
from evalkit.data.safe_pickle import _refuse_object_arrays, safe_loads
from evalkit.errors import DataError
cyclic = []
cyclic.append(cyclic)
shared = []
for _ in range(60):
    shared = [shared, shared]          # 2**60 paths, 61 objects
d = {}
d["self"] = d
evil = [np.array([1, "x"], dtype=object)]
evil = [evil, evil, cyclic]            # an object array behind shared references and a cycle
for name, obj in (("cyclic", cyclic), ("shared", shared), ("dict", d), ("evil", evil)):
    data = pickle.dumps(obj, protocol=2) if name != "evil" else b""
    t0 = time.perf_counter()
    try:
        safe_loads(data, where=name) if data else _refuse_object_arrays(obj, name)
        verdict = "ok"
    except DataError as exc:
        verdict = "refused" if "object array" in str(exc) else "other"
    print(name, len(data), round(time.perf_counter() - t0, 3), verdict)
"""


def test_cyclic_and_shared_reference_pickles_are_walked_once():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", _WALK], capture_output=True, text=True, timeout=30,
                          cwd=Path(__file__).parent.parent)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines()]
    assert [(r[0], r[3]) for r in rows] == [("cyclic", "ok"), ("shared", "ok"), ("dict", "ok"), ("evil", "refused")]
    assert int(rows[0][1]) < 50 and int(rows[1][1]) < 500
    assert all(float(r[2]) < 1.0 for r in rows), rows
