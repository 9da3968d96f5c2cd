"""TensorFlow Serving REST predict API: ``POST /v1/models/{name}[/versions/{v}]:predict``."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .base import ADAPTERS, Adapter, ApiAnswer, ImageItem, Outcome, PreparedRequest, b64, ranked


def vector_labels(vector, output_labels, top_k: int) -> tuple[tuple[str, float], ...]:
    """Rank a probability vector into (label, score) pairs; labels default to the index.

    A vector whose top score is shared by two classes (an all-zero vector from a broken model)
    names no class and gives no labels: an abstention, not class 0. (A score that is not finite
    makes the answer malformed: the caller's check turns it into a retry.)"""
    vec = np.asarray(vector, dtype=np.float64).ravel()
    names = list(output_labels) if output_labels else [str(i) for i in range(vec.size)]
    if len(names) != vec.size:
        raise ValueError(f"model returned {vec.size} scores but {len(names)} output_labels are configured")
    if vec.size > 1 and np.all(np.isfinite(vec)) and np.sum(vec == vec.max()) > 1:
        return ()
    order = np.argsort(-vec, kind="stable")[:top_k]
    return ranked((names[i], float(vec[i])) for i in order)


@ADAPTERS.register("tfserving")
class TFServingAdapter(Adapter):
    """Instances are base64 images (``{"b64": ...}``) or numeric HxWxC tensors."""

    name = "tfserving"
    max_batch = 64
    params_schema = {"input_format": str, "input_name": str, "output_key": str,
                     "output_labels": list, "top_k": int, "scale": float}

    def url(self) -> str:
        c = self.config
        version = f"/versions/{c.version}" if c.version else ""
        return f"{c.endpoint}/v1/models/{c.model}{version}:predict"

    def instance(self, item: ImageItem) -> Any:
        fmt = self.params.get("input_format", "b64")
        if fmt == "b64":
            value: Any = {"b64": b64(self.encode(item))}
        elif fmt == "tensor":
            scale = self.params.get("scale")
            arr = item.image.astype(np.float64) * scale if scale else item.image.astype(np.int64)
            value = arr.tolist()
        else:
            raise ValueError(f"input_format must be 'b64' or 'tensor', got {fmt!r}")
        name = self.params.get("input_name")
        return {name: value} if name else value

    def build_request(self, batch: Sequence[ImageItem], credentials) -> PreparedRequest:
        headers = {"Content-Type": "application/json"}
        token = credentials.get("token") if credentials is not None else None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return PreparedRequest("POST", self.url(), headers,
                               json={"instances": [self.instance(it) for it in batch]})

    def parse_json(self, data: Any, headers: Mapping[str, str],
                   batch: Sequence[ImageItem]) -> list[Outcome]:
        preds = data["predictions"]
        return [ApiAnswer(self.labels_from_raw(p), p) for p in preds]

    def labels_from_raw(self, raw: Any) -> tuple[tuple[str, float], ...]:
        key = self.params.get("output_key")
        vector = raw[key] if key else raw
        return vector_labels(vector, self.params.get("output_labels"), self.params.get("top_k", 5))
