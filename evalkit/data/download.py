"""Download an official archive with a progress bar; verify its sha256 before using it."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..errors import DataError, UserError
from .cache import cache_root, file_sha256
from .spec import DatasetSpec


def download_dir() -> Path:
    return cache_root() / "downloads"


def download_file(url: str, dest: Path, sha256: str, *, progress: bool = True, timeout: float = 60) -> Path:
    """Fetch ``url`` to ``dest`` (via ``dest.part``), checking the sha256; reuse a verified copy."""
    import requests
    from tqdm import tqdm

    dest = Path(dest)
    if dest.is_file():
        if file_sha256(dest) == sha256:
            return dest
        dest.unlink()  # a stale or tampered copy: fetch it again
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + f".part{os.getpid()}")
    h = hashlib.sha256()
    try:
        with requests.get(url, stream=True, timeout=timeout) as resp:
            resp.raise_for_status()
            total = int(resp.headers.get("Content-Length") or 0) or None
            with part.open("wb") as fh, tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                                             desc=f"downloading {dest.name}",
                                             disable=None if progress else True) as bar:
                for block in resp.iter_content(1 << 20):
                    fh.write(block)
                    h.update(block)
                    bar.update(len(block))
    except requests.RequestException as exc:
        part.unlink(missing_ok=True)
        raise UserError(f"cannot download {url} ({type(exc).__name__}: {exc}); without internet, pass "
                        "--data PATH (or set EVALKIT_DATA) to a local copy") from None
    got = h.hexdigest()
    if got != sha256:
        part.unlink(missing_ok=True)
        raise DataError(f"checksum mismatch: expected sha256 {sha256}, got {got}; the download is "
                        "corrupt or not the official file", path=url)
    os.replace(part, dest)
    return dest


def download_dataset(spec: DatasetSpec, *, progress: bool = True) -> Path:
    """Download the spec's official archive into the cache (or reuse it) and return its path."""
    if spec.download is None:
        raise UserError(f"dataset {spec.name!r} has no [download] section in {spec.path}; "
                        "pass --data PATH to a local copy")
    dl = spec.download
    return download_file(dl.url, download_dir() / dl.filename, dl.sha256, progress=progress)
