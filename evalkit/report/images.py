"""Images for the report: small JPEG thumbnails inlined as data URIs, bigger files copied beside it.

The report must open from disk offline, so nothing is fetched: thumbnails are ``data:`` URIs,
explanation grids are copied into ``assets/`` next to ``index.html`` and linked relatively.
"""
from __future__ import annotations

import base64
import hashlib
import io
import shutil
from pathlib import Path

import numpy as np
from PIL import Image


def png_bytes(image: np.ndarray, *, max_side: int = 64) -> bytes:
    """Encode an uint8 (H, W, C) image as PNG, downscaled so its longer side is <= ``max_side``."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise ValueError(f"expected an uint8 image, got {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    img = Image.fromarray(arr)
    if max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def jpeg_bytes(image: np.ndarray, *, max_side: int = 64, quality: int = 90) -> bytes:
    """Encode an uint8 (H, W, C) image as JPEG (4:4:4), downscaled so its longer side is <= ``max_side``."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise ValueError(f"expected an uint8 image, got {arr.dtype}")
    img = Image.fromarray(arr[:, :, 0] if arr.ndim == 3 and arr.shape[2] == 1 else arr)
    if max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality, subsampling=0)
    return buf.getvalue()


def thumbnail_data_uri(image: np.ndarray, *, max_side: int = 64) -> str:
    """A ``data:image/jpeg;base64,...`` URI of the image (no file, works offline).

    JPEG rather than PNG: half the bytes on small natural images, and the report's load time is
    dominated by parsing its inlined thumbnails (see bench/bench_report.py).
    """
    return "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes(image, max_side=max_side)).decode("ascii")


def copy_asset(src: Path, out_dir: Path, *, subdir: str = "assets") -> str:
    """Copy ``src`` into ``out_dir/subdir`` under a content-derived name; return the relative URL."""
    src = Path(src)
    data = src.read_bytes()
    suffix = src.suffix.lower() if src.suffix.lower() in (".png", ".jpg", ".jpeg", ".svg") else ".bin"
    name = hashlib.sha256(data).hexdigest()[:16] + suffix
    dest = Path(out_dir) / subdir / name
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    return f"{subdir}/{name}"
