"""API adapters, registered by name in :data:`ADAPTERS` (import this package to fill it)."""
from . import (azure_customvision, azure_vision, google_vision, http_json, huggingface,  # noqa: F401
               kserve_v2, rekognition, tfserving)
from .base import (ADAPTERS, Adapter, ApiAnswer, ImageFailure, ImageItem, Outcome, PreparedRequest,
                   RetrySignal, encode_image, image_key, parse_retry_after)

__all__ = ["ADAPTERS", "Adapter", "ApiAnswer", "ImageFailure", "ImageItem", "Outcome",
           "PreparedRequest", "RetrySignal", "encode_image", "image_key", "parse_retry_after"]
