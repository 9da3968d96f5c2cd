"""A generic JSON API: a request template plus a response field mapping.

``[params]``::

    path = "/classify"                       # appended to endpoint
    content = "json"                         # or "raw": the encoded image is the body
    template = { image = "{image_b64}", model = "{model}" }   # JSON body (content = "json")
    headers = { "X-Api-Key" = "{secret:api_key}" }
    labels_path = "result.labels"            # dotted path or JSON pointer "/result/labels"
    label_field = "name"                     # in each entry; omit when entries are strings
    score_field = "confidence"               # omit for 1.0
    score_scale = 0.01                       # multiply scores (e.g. percentages)
    version_path = "model_version"
"""
from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from .base import ADAPTERS, Adapter, ApiAnswer, ImageItem, Outcome, PreparedRequest, b64, ranked

_SECRET = re.compile(r"\{secret:([A-Za-z0-9_]+)\}")


def get_path(data: Any, path: str) -> Any:
    """Follow a dotted path (``a.b.0.c``) or a JSON pointer (``/a/b/0/c``) into ``data``."""
    if path in ("", "/"):
        return data
    parts = path[1:].split("/") if path.startswith("/") else path.split(".")
    for part in parts:
        part = part.replace("~1", "/").replace("~0", "~")
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


@ADAPTERS.register("http-json")
class HttpJsonAdapter(Adapter):
    name = "http-json"
    max_batch = 1
    params_schema = {"method": str, "path": str, "content": str, "content_type": str, "template": dict,
                     "headers": dict, "labels_path": str, "label_field": str, "score_field": str,
                     "score_scale": float, "version_path": str}

    def _fill(self, obj: Any, values: Mapping[str, str]) -> Any:
        if isinstance(obj, dict):
            return {k: self._fill(v, values) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self._fill(v, values) for v in obj]
        if isinstance(obj, str):
            for k, v in values.items():
                obj = obj.replace("{" + k + "}", v)
        return obj

    def build_request(self, batch: Sequence[ImageItem], credentials) -> PreparedRequest:
        (item,) = batch
        p = self.params
        data = self.encode(item)
        headers = {}
        for k, v in p.get("headers", {}).items():
            headers[k] = _SECRET.sub(lambda m: str(credentials[m.group(1)]), str(v))
        url = self.config.endpoint + p.get("path", "")
        method = p.get("method", "POST")
        if p.get("content", "json") == "raw":
            mime = "image/jpeg" if self.config.image_format == "jpeg" else "image/png"
            headers.setdefault("Content-Type", p.get("content_type", mime))
            return PreparedRequest(method, url, headers, body=data)
        headers.setdefault("Content-Type", "application/json")
        values = {"image_b64": b64(data), "model": self.config.model, "version": self.config.version}
        body = self._fill(p.get("template", {"image": "{image_b64}"}), values)
        return PreparedRequest(method, url, headers, json=body)

    def parse_json(self, data: Any, headers: Mapping[str, str],
                   batch: Sequence[ImageItem]) -> list[Outcome]:
        labels = self.labels_from_raw(data)
        vpath = self.params.get("version_path")
        version = get_path(data, vpath) if vpath else None  # the engine makes it text (scalar_text)
        return [ApiAnswer(labels, data, version)]

    def labels_from_raw(self, raw: Any) -> tuple[tuple[str, float], ...]:
        p = self.params
        entries = get_path(raw, p.get("labels_path", ""))
        if isinstance(entries, (str, dict)):
            entries = [entries]
        scale = p.get("score_scale", 1.0)
        pairs = []
        for e in entries:
            name = e if isinstance(e, str) else get_path(e, p.get("label_field", "label"))
            score = 1.0
            if "score_field" in p and not isinstance(e, str):
                score = float(get_path(e, p["score_field"])) * scale  # numbers sent as text too
            pairs.append((name, score))
        return ranked(pairs)
