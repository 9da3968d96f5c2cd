"""Decode image files (PIL) into one uint8 array, checking mode and size; optional process pool.

Workers open the source themselves (zip or folder) and get chunks of file names, so image bytes
never cross process boundaries. The pool uses the 'spawn' start method (safe when TensorFlow is
loaded in the parent). Worker count: $EVALKIT_DECODE_WORKERS, default min(2, CPUs).
"""
from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

_MODE_NAMES = {"L": "grayscale", "LA": "grayscale+alpha", "RGBA": "RGBA", "P": "palette",
               "CMYK": "CMYK", "1": "1-bit", "I;16": "16-bit", "RGB": "RGB"}
POOL_MIN_IMAGES = 4000
CHUNK = 1000

_reader = None  # per-process source reader (set in workers by the pool initializer)


class BadImage(Exception):
    """One image cannot be used (reason in the message)."""


def decode_image(data: bytes, shape: tuple[int, int, int], mode: str) -> np.ndarray:
    """Decode one PNG/JPEG to uint8 (H, W, C); raise BadImage for corrupt/truncated/size/mode."""
    from PIL import Image, UnidentifiedImageError

    h, w, c = shape
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.mode != mode:
                raise BadImage(f"{_MODE_NAMES.get(im.mode, im.mode)} image (mode {im.mode}), "
                               f"expected {_MODE_NAMES.get(mode, mode)} (mode {mode})")
            if im.size != (w, h):
                raise BadImage(f"image is {im.size[0]}x{im.size[1]}, expected {w}x{h}")
            im.load()
            arr = np.asarray(im, dtype=np.uint8)
    except UnidentifiedImageError:
        raise BadImage("not a readable image (corrupt or unknown format)") from None
    except (OSError, SyntaxError, ValueError) as exc:  # PIL: truncated data, broken chunks
        raise BadImage(f"corrupt or truncated image ({exc})") from None
    return arr.reshape(h, w, c)


class SourceReader:
    """Reads file bytes from a zip (kept open) or a folder."""

    def __init__(self, kind: str, root: str):
        self.kind, self.root = kind, root
        self._zip = zipfile.ZipFile(root) if kind == "zip" else None

    def read(self, name: str) -> bytes:
        try:
            if self._zip is not None:
                return self._zip.read(name)
            return (Path(self.root) / name).read_bytes()
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise BadImage(f"cannot read file ({exc})") from None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def _init_worker(kind: str, root: str) -> None:
    global _reader
    _reader = SourceReader(kind, root)


def _decode_chunk(args):
    names, shape, mode = args
    out = np.zeros((len(names), *shape), dtype=np.uint8)
    errors, digests = [], []
    for i, name in enumerate(names):
        try:
            data = _reader.read(name)
            digests.append(hashlib.sha256(data).hexdigest())
            out[i] = decode_image(data, shape, mode)
        except BadImage as exc:
            errors.append((i, str(exc)))
            if len(digests) <= i:
                digests.append("")
    return out, errors, digests


def default_workers() -> int:
    env = os.environ.get("EVALKIT_DECODE_WORKERS")
    return max(1, int(env)) if env else max(1, min(2, os.cpu_count() or 1))


def decode_files(kind: str, root: Path, names: list[str], shape, mode: str, *,
                 workers: int | None = None, progress: bool = False, desc: str = "decoding"):
    """Decode ``names`` from a zip/folder. Returns (images, errors [(index, reason)], sha256 per file)."""
    from tqdm import tqdm

    workers = default_workers() if workers is None else workers
    images = np.empty((len(names), *shape), dtype=np.uint8)
    errors: list[tuple[int, str]] = []
    digests: list[str] = []
    jobs = [(names[i:i + CHUNK], tuple(shape), mode) for i in range(0, len(names), CHUNK)]
    bar = tqdm(total=len(names), desc=desc, unit="img", disable=None if progress else True)
    pool = None
    try:
        if workers > 1 and len(names) >= POOL_MIN_IMAGES:
            ctx = multiprocessing.get_context("spawn")
            pool = ctx.Pool(workers, initializer=_init_worker, initargs=(kind, str(root)))
            results = pool.imap(_decode_chunk, jobs)
        else:
            _init_worker(kind, str(root))
            results = map(_decode_chunk, jobs)
        start = 0
        for chunk, chunk_errors, chunk_digests in results:
            images[start:start + len(chunk)] = chunk
            errors.extend((start + i, reason) for i, reason in chunk_errors)
            digests.extend(chunk_digests)
            start += len(chunk)
            bar.update(len(chunk))
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()  # all results are in (or we are failing): stop the workers now
            pool.join()
        elif _reader is not None:
            _reader.close()
    return images, errors, digests
