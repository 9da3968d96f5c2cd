"""Pure decoding of image batches sent to a served model (no server, no Keras).

Two wire forms are accepted, as real image APIs do:

* a numeric tensor ``[N, H, W, 3]`` (UINT8, or FP32/FP64 already in [0, 255]);
* encoded images (PNG, JPEG, ...), one per item, as raw bytes or base64 text.

Every function raises :class:`ImageDecodeError` (a ``ValueError``) with a message fit to
send back to the client as an HTTP 400.
"""
from __future__ import annotations

import base64
import binascii
import io
from typing import Iterable, Sequence

import numpy as np

#: Numeric datatypes of the Open Inference protocol accepted for an image tensor.
NUMERIC_DATATYPES = {
    "UINT8": np.uint8, "UINT16": np.uint16, "INT8": np.int8, "INT16": np.int16,
    "INT32": np.int32, "INT64": np.int64, "FP16": np.float16, "FP32": np.float32,
    "FP64": np.float64,
}
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"RIFF", b"II*\x00", b"MM\x00*")


class ImageDecodeError(ValueError):
    """The request's images cannot be decoded; the message says why (sent as HTTP 400)."""


def tensor_to_images(data, shape: Sequence[int], datatype: str) -> np.ndarray:
    """Turn v2 tensor data (flat or nested list) of ``shape`` into float32 images (N, H, W, 3)."""
    dtype = NUMERIC_DATATYPES.get(datatype.upper())
    if dtype is None:
        raise ImageDecodeError(
            f"image tensor datatype {datatype!r} is not supported; expected one of "
            f"{', '.join(sorted(NUMERIC_DATATYPES))} or BYTES (encoded images)")
    shape = [int(s) for s in shape]
    if len(shape) != 4 or shape[-1] != 3:
        raise ImageDecodeError(f"image tensor shape must be [N, H, W, 3], got {shape}")
    try:
        arr = np.asarray(data, dtype=dtype).reshape(shape)
    except ValueError as exc:
        raise ImageDecodeError(f"image tensor data does not fit shape {shape}: {exc}") from None
    return check_pixel_range(arr.astype(np.float32))


def check_pixel_range(images: np.ndarray) -> np.ndarray:
    """Return ``images`` if every value is finite and in [0, 255], else raise."""
    if images.size and (not np.isfinite(images).all() or images.min() < 0 or images.max() > 255):
        raise ImageDecodeError("pixel values must be finite and in [0, 255] (RGB, not normalised)")
    return images


def item_to_bytes(item) -> bytes:
    """One BYTES item as raw image bytes: raw bytes pass through, text is base64-decoded."""
    if isinstance(item, (bytes, bytearray)):
        raw = bytes(item)
        if raw.startswith(_IMAGE_MAGIC):
            return raw
        item = raw.decode("ascii", errors="strict") if raw.isascii() else None
        if item is None:
            return raw  # binary but unknown format: let PIL decide
    if isinstance(item, dict) and set(item) == {"b64"}:  # TF-Serving style {"b64": ...}
        item = item["b64"]
    if not isinstance(item, str):
        raise ImageDecodeError(
            f"an encoded image must be base64 text or bytes, got {type(item).__name__}")
    try:
        return base64.b64decode(item, validate=True)
    except (binascii.Error, ValueError):
        raise ImageDecodeError("an encoded image is not valid base64") from None


def decode_image(raw: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode one PNG/JPEG/... to float32 RGB (H, W, 3); resize to ``size`` (H, W) if given."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(raw)) as img:
            img = img.convert("RGB")
            if size is not None and img.size != (size[1], size[0]):
                img = img.resize((size[1], size[0]), Image.BILINEAR)
            return np.asarray(img, dtype=np.float32)
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageDecodeError(f"cannot decode an image ({len(raw)} bytes): {exc}") from None


def encoded_to_images(items: Iterable, size: tuple[int, int] | None) -> np.ndarray:
    """Decode a batch of encoded images to float32 (N, H, W, 3).

    ``size`` is the model's input (H, W); images of another size are resized to it. Without a
    fixed size every image must already have the same size.
    """
    images = [decode_image(item_to_bytes(item), size) for item in items]
    if not images:
        raise ImageDecodeError("the request holds no image")
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise ImageDecodeError(f"images of different sizes in one batch: {sorted(shapes)}")
    return np.stack(images)


def v1_instances_to_images(instances, size: tuple[int, int] | None) -> np.ndarray:
    """TF-Serving REST ``instances``: each a nested [H][W][3] list or ``{"b64": ...}``,
    optionally wrapped in a one-key ``{input_name: ...}`` object."""
    if not isinstance(instances, list) or not instances:
        raise ImageDecodeError("'instances' must be a non-empty list")
    instances = [_unwrap_named(i) for i in instances]
    if all(isinstance(i, (dict, str)) for i in instances):
        return encoded_to_images(instances, size)
    try:
        arr = np.asarray(instances, dtype=np.float32)
    except (ValueError, TypeError):
        raise ImageDecodeError("'instances' must all be {\"b64\": ...} or all [H][W][3] arrays") from None
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise ImageDecodeError(f"'instances' must have shape [N, H, W, 3], got {list(arr.shape)}")
    return check_pixel_range(arr)


def _unwrap_named(instance):
    """``{"input_name": value}`` (TF-Serving named input) -> value; ``{"b64": ...}`` is kept."""
    if isinstance(instance, dict) and len(instance) == 1 and "b64" not in instance:
        return next(iter(instance.values()))
    return instance
