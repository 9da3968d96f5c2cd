"""Azure AI Vision Image Analysis 4.0, tags feature."""
from __future__ import annotations

from typing import Any, Mapping, Sequence
from urllib.parse import urlencode

from .base import ADAPTERS, Adapter, ApiAnswer, ImageItem, Outcome, PreparedRequest, ranked


@ADAPTERS.register("azure-vision")
class AzureVisionAdapter(Adapter):
    """``POST {endpoint}/computervision/imageanalysis:analyze?features=tags&api-version=...`` with
    raw bytes and header ``Ocp-Apim-Subscription-Key`` (credential ``api_key``)."""

    name = "azure-vision"
    max_batch = 1
    params_schema = {"api_version": str, "language": str, "model_version": str}

    def url(self) -> str:
        p = self.params
        query = {"features": "tags", "api-version": p.get("api_version", "2024-02-01")}
        if "language" in p:
            query["language"] = p["language"]
        if "model_version" in p:
            query["model-version"] = p["model_version"]
        return f"{self.config.endpoint}/computervision/imageanalysis:analyze?{urlencode(query)}"

    def build_request(self, batch: Sequence[ImageItem], credentials) -> PreparedRequest:
        (item,) = batch
        headers = {"Content-Type": "application/octet-stream",
                   "Ocp-Apim-Subscription-Key": str(credentials["api_key"])}
        return PreparedRequest("POST", self.url(), headers, body=self.encode(item))

    def parse_json(self, data: Any, headers: Mapping[str, str],
                   batch: Sequence[ImageItem]) -> list[Outcome]:
        if not isinstance(data, dict) or "values" not in (data.get("tagsResult") or {}):
            raise ValueError("the answer has no 'tagsResult.values' field")
        return [ApiAnswer(self.labels_from_raw(data), data, data.get("modelVersion"))]

    def labels_from_raw(self, raw: Any) -> tuple[tuple[str, float], ...]:
        values = (raw.get("tagsResult") or {}).get("values", [])
        return ranked((v["name"], v["confidence"]) for v in values)
