"""Writing explanations: compressed raw maps, PNG overlays and per-image comparison grids.

Overlays use matplotlib's 'jet' colormap when matplotlib is installed, else a small built-in
piecewise-linear 'jet' (matplotlib is not a dependency of evalkit).
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..workspace import atomic_write_bytes

# Anchors of the 'jet' colormap: value -> RGB in [0, 1].
_JET = np.array([[0.0, 0, 0, 0.5], [0.11, 0, 0, 1], [0.125, 0, 0, 1], [0.34, 0, 0.88, 1],
                 [0.35, 0, 0.9, 0.97], [0.64, 1, 1, 0], [0.65, 1, 0.97, 0], [0.89, 1, 0, 0],
                 [1.0, 0.5, 0, 0]])


def colormap(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] (any shape) to uint8 RGB (shape + (3,))."""
    v = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)), 0, 1)
    try:
        import matplotlib

        rgb = matplotlib.colormaps["jet"](v)[..., :3]
    except ImportError:
        rgb = np.stack([np.interp(v, _JET[:, 0], _JET[:, c]) for c in (1, 2, 3)], axis=-1)
    return np.round(rgb * 255).astype(np.uint8)


def save_maps_npz(path: Path, **arrays) -> None:
    """Write arrays to a compressed .npz atomically (maps are stored as float32)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(Path(path), buf.getvalue())


def _png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def upscale(image: np.ndarray, size: int) -> Image.Image:
    """The uint8 image (H, W, 3) or (H, W, 1) resized to ``size`` x ``size`` (bilinear)."""
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    return Image.fromarray(arr.astype(np.uint8)).resize((size, size), Image.BILINEAR)


def overlay(image: np.ndarray, heatmap: np.ndarray, *, size: int = 128, alpha: float = 0.5) -> Image.Image:
    """The heatmap (H, W) in [0, 1], coloured, blended over the image upscaled to ``size``."""
    base = upscale(image, size)
    hm = Image.fromarray((np.clip(heatmap, 0, 1) * 255).astype(np.uint8)).resize((size, size), Image.BILINEAR)
    coloured = Image.fromarray(colormap(np.asarray(hm, dtype=np.float32) / 255.0))
    return Image.blend(base.convert("RGB"), coloured, alpha)


def save_overlay(path: Path, image: np.ndarray, heatmap: np.ndarray, **kwargs) -> None:
    atomic_write_bytes(Path(path), _png_bytes(overlay(image, heatmap, **kwargs)))


def grid(image: np.ndarray, title: str, columns: list[tuple[str, str, np.ndarray]], *,
         size: int = 128) -> Image.Image:
    """Side-by-side grid: the image captioned ``title``, then one overlay per column, each
    captioned with two lines (e.g. probe name, its prediction). columns: (line1, line2, map)."""
    font = ImageFont.load_default()
    pad, text_h = 4, 28
    cells = [(title.split("\n")[0], "\n".join(title.split("\n")[1:]), upscale(image, size))]
    cells += [(a, b, overlay(image, m, size=size)) for a, b, m in columns]
    out = Image.new("RGB", (len(cells) * (size + pad) + pad, size + text_h + 2 * pad), "white")
    draw = ImageDraw.Draw(out)
    for i, (line1, line2, cell) in enumerate(cells):
        x = pad + i * (size + pad)
        out.paste(cell, (x, pad))
        draw.text((x, size + pad + 2), line1[:24], fill="black", font=font)
        draw.text((x, size + pad + 15), line2[:24], fill="black", font=font)
    return out


def save_grid(path: Path, image: np.ndarray, title: str, columns, **kwargs) -> None:
    atomic_write_bytes(Path(path), _png_bytes(grid(image, title, columns, **kwargs)))
