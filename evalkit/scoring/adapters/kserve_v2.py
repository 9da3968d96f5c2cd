"""Open Inference Protocol (KServe v2): ``POST /v2/models/{name}[/versions/{v}]/infer``."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .base import ADAPTERS, Adapter, ApiAnswer, ImageItem, Outcome, PreparedRequest, b64, ranked
from .tfserving import vector_labels

_NUMERIC = {"UINT8": np.uint8, "FP32": np.float32}


@ADAPTERS.register("kserve-v2")
class KServeV2Adapter(Adapter):
    """One input tensor (N, H, W, C) as UINT8 or FP32, or N base64-encoded images as BYTES.

    The first output (or ``output_name``) is read: FP32 scores (N, K) ranked with
    ``output_labels``, or BYTES (N,) class names.
    """

    name = "kserve-v2"
    max_batch = 64
    params_schema = {"input_name": str, "datatype": str, "output_name": str,
                     "output_labels": list, "top_k": int}

    def url(self) -> str:
        c = self.config
        version = f"/versions/{c.version}" if c.version else ""
        return f"{c.endpoint}/v2/models/{c.model}{version}/infer"

    def build_request(self, batch: Sequence[ImageItem], credentials) -> PreparedRequest:
        p = self.params
        dtype = p.get("datatype", "UINT8")
        name = p.get("input_name", "images")
        if dtype in _NUMERIC:
            arr = np.stack([it.image for it in batch]).astype(_NUMERIC[dtype])
            tensor: dict[str, Any] = {"name": name, "shape": list(arr.shape), "datatype": dtype,
                                      "data": arr.ravel().tolist()}
        elif dtype == "BYTES":
            tensor = {"name": name, "shape": [len(batch)], "datatype": "BYTES",
                      "parameters": {"content_type": "base64"},
                      "data": [b64(self.encode(it)) for it in batch]}
        else:
            raise ValueError(f"datatype must be UINT8, FP32 or BYTES, got {dtype!r}")
        body: dict[str, Any] = {"inputs": [tensor]}
        if p.get("output_name"):
            body["outputs"] = [{"name": p["output_name"]}]
        headers = {"Content-Type": "application/json"}
        token = credentials.get("token") if credentials is not None else None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return PreparedRequest("POST", self.url(), headers, json=body)

    def parse_json(self, data: Any, headers: Mapping[str, str],
                   batch: Sequence[ImageItem]) -> list[Outcome]:
        outputs = data["outputs"]
        wanted = self.params.get("output_name")
        out = next((o for o in outputs if o["name"] == wanted), None) if wanted else outputs[0]
        if out is None:
            raise ValueError(f"the answer has no output named {wanted!r}")
        shape = [int(s) for s in out["shape"]]
        version = data.get("model_version") or None
        if out["datatype"] == "BYTES":
            rows = list(np.asarray(out["data"], dtype=object).reshape(shape[0], -1)[:, 0])
        else:
            rows = np.asarray(out["data"], dtype=np.float64).reshape(shape[0], -1).tolist()
        raws = [{"output": out["name"], "datatype": out["datatype"], "data": r} for r in rows]
        return [ApiAnswer(self.labels_from_raw(r), r, version) for r in raws]

    def labels_from_raw(self, raw: Any) -> tuple[tuple[str, float], ...]:
        if raw["datatype"] == "BYTES":
            return ranked([(raw["data"], 1.0)])
        return vector_labels(raw["data"], self.params.get("output_labels"), self.params.get("top_k", 5))
