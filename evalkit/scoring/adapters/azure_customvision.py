"""Azure Custom Vision prediction: the classify endpoint with raw image bytes."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from .base import ADAPTERS, Adapter, ApiAnswer, ImageItem, Outcome, PreparedRequest, ranked


@ADAPTERS.register("azure-customvision")
class AzureCustomVisionAdapter(Adapter):
    """``POST {endpoint}/customvision/v3.0/Prediction/{project_id}/classify/iterations/{published_name}/image``
    with header ``Prediction-Key`` (credential ``prediction_key``)."""

    name = "azure-customvision"
    max_batch = 1
    params_schema = {"project_id": str, "published_name": str, "api_version": str}

    def url(self) -> str:
        p = self.params
        missing = [k for k in ("project_id", "published_name") if k not in p]
        if missing:
            raise ValueError(f"azure-customvision needs [params] {', '.join(missing)}")
        return (f"{self.config.endpoint}/customvision/{p.get('api_version', 'v3.0')}/Prediction/"
                f"{p['project_id']}/classify/iterations/{p['published_name']}/image")

    def build_request(self, batch: Sequence[ImageItem], credentials) -> PreparedRequest:
        (item,) = batch
        headers = {"Content-Type": "application/octet-stream",
                   "Prediction-Key": str(credentials["prediction_key"])}
        return PreparedRequest("POST", self.url(), headers, body=self.encode(item))

    def parse_json(self, data: Any, headers: Mapping[str, str],
                   batch: Sequence[ImageItem]) -> list[Outcome]:
        if not isinstance(data, dict) or "predictions" not in data:
            raise ValueError("the answer has no 'predictions' field")
        return [ApiAnswer(self.labels_from_raw(data), data, data.get("iteration"))]

    def labels_from_raw(self, raw: Any) -> tuple[tuple[str, float], ...]:
        return ranked((p["tagName"], p["probability"]) for p in raw.get("predictions", []))
