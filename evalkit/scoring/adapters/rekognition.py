"""Amazon Rekognition DetectLabels over its JSON protocol, SigV4-signed with botocore."""
from __future__ import annotations

import json
import re
from typing import Any, Mapping, Sequence

from .base import (ADAPTERS, Adapter, ApiAnswer, ImageFailure, ImageItem, Outcome, PreparedRequest,
                   RetrySignal, b64, ranked)

_RETRYABLE = {"ThrottlingException", "ProvisionedThroughputExceededException",
              "LimitExceededException", "InternalServerError", "ServiceUnavailableException"}
_AUTH = {"UnrecognizedClientException", "InvalidSignatureException", "AccessDeniedException",
         "ExpiredTokenException", "IncompleteSignature", "MissingAuthenticationToken"}


@ADAPTERS.register("rekognition")
class RekognitionAdapter(Adapter):
    """Credentials ``access_key_id``, ``secret_access_key`` and optional ``session_token``.

    Throttling comes back as HTTP 400 with ``__type`` ThrottlingException or
    ProvisionedThroughputExceededException: a retry signal, not a failure.
    """

    name = "rekognition"
    max_batch = 1
    params_schema = {"region": str, "max_labels": int, "min_confidence": float}

    def region(self) -> str:
        if "region" in self.params:
            return self.params["region"]
        m = re.search(r"rekognition[.-](?:fips\.)?([a-z0-9-]+)\.amazonaws", self.config.endpoint)
        if not m:
            raise ValueError("set [params] region: it cannot be read from the endpoint")
        return m.group(1)

    def payload(self, item: ImageItem) -> dict[str, Any]:
        p = self.params
        return {"Image": {"Bytes": b64(self.encode(item))}, "MaxLabels": p.get("max_labels", 10),
                "MinConfidence": float(p.get("min_confidence", 50.0))}

    def build_request(self, batch: Sequence[ImageItem], credentials) -> PreparedRequest:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials as AwsCredentials

        (item,) = batch
        body = json.dumps(self.payload(item), separators=(",", ":")).encode("utf-8")
        url = self.config.endpoint + "/"
        headers = {"Content-Type": "application/x-amz-json-1.1",
                   "X-Amz-Target": "RekognitionService.DetectLabels"}
        aws_req = AWSRequest(method="POST", url=url, data=body, headers=headers)
        creds = AwsCredentials(str(credentials["access_key_id"]), str(credentials["secret_access_key"]),
                               str(credentials["session_token"]) if credentials.get("session_token") else None)
        SigV4Auth(creds, "rekognition", self.region()).add_auth(aws_req)
        return PreparedRequest("POST", url, dict(aws_req.headers.items()), body=body)

    def body_signal(self, status: int, data: Any, headers: Mapping[str, str]) -> Outcome | None:
        if status < 400 or not isinstance(data, dict) or "__type" not in data:
            return None
        kind = str(data["__type"]).split("#")[-1]
        message = data.get("message") or data.get("Message") or ""
        if kind in _RETRYABLE:
            return RetrySignal(f"{kind}: {message}".strip())
        return ImageFailure(f"{kind}: {message}".strip(), cacheable=kind not in _AUTH)

    def parse_json(self, data: Any, headers: Mapping[str, str],
                   batch: Sequence[ImageItem]) -> list[Outcome]:
        if not isinstance(data, dict) or "Labels" not in data:
            raise ValueError("the answer has no 'Labels' field")
        return [ApiAnswer(self.labels_from_raw(data), data, data.get("LabelModelVersion"))]

    def labels_from_raw(self, raw: Any) -> tuple[tuple[str, float], ...]:
        """Each label, then its parents with the same confidence (the label itself ranks first)."""
        pairs: list[tuple[str, float]] = []
        for lab in raw.get("Labels", []):
            conf = float(lab.get("Confidence", 0.0)) / 100.0
            pairs.append((lab["Name"], conf))
        for lab in raw.get("Labels", []):
            conf = float(lab.get("Confidence", 0.0)) / 100.0
            pairs.extend((p["Name"], conf) for p in lab.get("Parents", []))
        seen: set[str] = set()
        unique = [(n, s) for n, s in pairs if not (n in seen or seen.add(n))]
        return ranked(unique)
