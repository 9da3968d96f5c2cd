"""Hugging Face Inference API, image-classification task: raw bytes in, ``[{label, score}]`` out."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from .base import ADAPTERS, Adapter, ApiAnswer, ImageItem, Outcome, PreparedRequest, RetrySignal, ranked


@ADAPTERS.register("huggingface")
class HuggingFaceAdapter(Adapter):
    """``POST {endpoint}/{model}``, ``Authorization: Bearer`` (credential ``token``).

    HTTP 503 with ``estimated_time`` means the model is loading: retry after that many seconds.
    """

    name = "huggingface"
    max_batch = 1
    params_schema = {"wait_for_model": bool}

    def build_request(self, batch: Sequence[ImageItem], credentials) -> PreparedRequest:
        (item,) = batch
        mime = "image/jpeg" if self.config.image_format == "jpeg" else "image/png"
        headers = {"Content-Type": mime}
        if credentials is not None and credentials.get("token"):
            headers["Authorization"] = f"Bearer {credentials['token']}"
        if self.params.get("wait_for_model"):
            headers["x-wait-for-model"] = "true"
        url = f"{self.config.endpoint}/{self.config.model}" if self.config.model else self.config.endpoint
        return PreparedRequest("POST", url, headers, body=self.encode(item))

    def body_signal(self, status: int, data: Any, headers: Mapping[str, str]) -> Outcome | None:
        if status == 503 and isinstance(data, dict) and "estimated_time" in data:
            return RetrySignal(f"model loading: {data.get('error', '')}".strip(),
                               float(data["estimated_time"]))
        return None

    def parse_json(self, data: Any, headers: Mapping[str, str],
                   batch: Sequence[ImageItem]) -> list[Outcome]:
        if not isinstance(data, list):
            raise ValueError(f"expected a list of {{label, score}}, got {type(data).__name__}")
        return [ApiAnswer(self.labels_from_raw(data), data)]

    def labels_from_raw(self, raw: Any) -> tuple[tuple[str, float], ...]:
        return ranked((d["label"], d["score"]) for d in raw)
