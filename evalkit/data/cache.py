"""Cache of decoded arrays and downloads under ``$EVALKIT_CACHE`` (default ``~/.cache/evalkit``).

Decoded splits are stored as uncompressed ``.npy`` files (memory-mapped on load, so a cached
load reads only what is used) in ``arrays/<name>-<key>/``, where the key hashes the source's
checksum (sha256 of the file; for folders a hash of the sorted listing with sizes and mtimes),
the dataset spec and the cache format. ``meta.json`` is written last and the folder renamed into
place, so a killed process never leaves a half-written entry that looks complete.

File checksums are memoised in ``sha256/`` keyed by (path, size, mtime, inode), like git's index,
so an unchanged 60 MB zip is not re-hashed on every load.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .images import ImageSplit

CACHE_ENV = "EVALKIT_CACHE"
CACHE_FORMAT = "evalkit-arrays/1"


def cache_root() -> Path:
    root = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "evalkit").expanduser()
    return root


def file_sha256(path: Path, *, memo: bool = True) -> str:
    """sha256 hex of a file's bytes (memoised by path, size, mtime and inode)."""
    path = Path(path).resolve()
    st = path.stat()
    stamp = hashlib.sha256(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}".encode()).hexdigest()
    memo_file = cache_root() / "sha256" / stamp[:32]
    if memo and memo_file.is_file():
        text = memo_file.read_text().strip()
        if len(text) == 64:
            return text
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    if memo:
        _atomic_text(memo_file, digest)
    return digest


def cache_key(source_fingerprint: str, spec_fingerprint: str) -> str:
    return hashlib.sha256(f"{CACHE_FORMAT}\n{source_fingerprint}\n{spec_fingerprint}".encode()).hexdigest()


def entry_dir(name: str, key: str) -> Path:
    return cache_root() / "arrays" / f"{name}-{key[:24]}"


def load_arrays(name: str, key: str) -> tuple[dict, dict[str, ImageSplit]] | None:
    """The cached (meta, splits) for ``key``, or None. Arrays are read-only memory maps."""
    d = entry_dir(name, key)
    meta_file = d / "meta.json"
    if not meta_file.is_file():
        return None
    meta = json.loads(meta_file.read_text())
    if meta.get("format") != CACHE_FORMAT:
        return None
    classes = tuple(meta["class_names"])
    splits = {}
    for split in meta["splits"]:
        images = np.asarray(np.load(d / f"{split}_images.npy", mmap_mode="r"))
        labels = np.load(d / f"{split}_labels.npy")
        ids = np.load(d / f"{split}_ids.npy")
        splits[split] = ImageSplit(images, labels, ids, classes)
    return meta, splits


def save_arrays(name: str, key: str, meta: dict, splits: dict[str, ImageSplit]) -> Path:
    """Write the entry to a temporary folder and rename it into place."""
    final = entry_dir(name, key)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        for split, s in splits.items():
            np.save(tmp / f"{split}_images.npy", np.ascontiguousarray(s.images))
            np.save(tmp / f"{split}_labels.npy", s.labels.astype(np.int64))
            np.save(tmp / f"{split}_ids.npy", s.ids.astype(str))
        full = dict(meta, format=CACHE_FORMAT, splits=list(splits))
        (tmp / "meta.json").write_text(json.dumps(full, indent=1, sort_keys=True))
        if final.exists():  # another process finished first, or a stale entry: replace it
            shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if (final / "meta.json").is_file():  # lost a race to an identical entry: fine
            return final
        raise
    return final


def _atomic_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)
