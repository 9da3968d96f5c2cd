"""Google Cloud Vision ``images:annotate`` with LABEL_DETECTION (up to 16 images a request)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from .base import (ADAPTERS, Adapter, ApiAnswer, ImageFailure, ImageItem, Outcome, PreparedRequest,
                   RetrySignal, b64, ranked)

# google.rpc.Code values worth retrying: DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED,
# INTERNAL, UNAVAILABLE.
_RETRYABLE_CODES = {4, 8, 10, 13, 14}


@ADAPTERS.register("google-vision")
class GoogleVisionAdapter(Adapter):
    """``endpoint`` is the full annotate URL; the key goes in the ``x-goog-api-key`` header
    (credential ``api_key``) or an OAuth token in ``Authorization`` (credential ``token``)."""

    name = "google-vision"
    max_batch = 16
    params_schema = {"max_results": int}

    def build_request(self, batch: Sequence[ImageItem], credentials) -> PreparedRequest:
        feature: dict[str, Any] = {"type": "LABEL_DETECTION",
                                   "maxResults": self.params.get("max_results", 10)}
        if self.config.model:
            feature["model"] = self.config.model
        requests = [{"image": {"content": b64(self.encode(it))}, "features": [feature]} for it in batch]
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if credentials is not None and credentials.get("api_key"):
            headers["x-goog-api-key"] = str(credentials["api_key"])
        elif credentials is not None and credentials.get("token"):
            headers["Authorization"] = f"Bearer {credentials['token']}"
        return PreparedRequest("POST", self.config.endpoint, headers, json={"requests": requests})

    def parse_json(self, data: Any, headers: Mapping[str, str],
                   batch: Sequence[ImageItem]) -> list[Outcome]:
        out: list[Outcome] = []
        for resp in data["responses"]:
            err = resp.get("error")
            if err:
                reason = f"vision error {err.get('code')}: {err.get('message', '')}"
                out.append(RetrySignal(reason) if err.get("code") in _RETRYABLE_CODES else ImageFailure(reason))
            else:
                out.append(ApiAnswer(self.labels_from_raw(resp), resp))
        return out

    def labels_from_raw(self, raw: Any) -> tuple[tuple[str, float], ...]:
        return ranked((a["description"], a.get("score", 0.0)) for a in raw.get("labelAnnotations", []))
