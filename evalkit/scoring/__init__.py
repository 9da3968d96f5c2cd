"""Stage 6: score black-box classifier APIs (adapters, label mapping, engine, response cache)."""
from .adapters import ADAPTERS, Adapter, ApiAnswer, ImageFailure, ImageItem, PreparedRequest, RetrySignal
from .api_config import ApiConfig, Credentials, load_api_config, resolve_credentials
from .cache import CacheScope, ResponseCache
from .engine import ScoringEngine, TokenBucket
from .labels import LabelMapper
from .stage import ScoringPlan, load_evalsets, score_api

__all__ = ["ADAPTERS", "Adapter", "ApiAnswer", "ApiConfig", "CacheScope", "Credentials", "ImageFailure",
           "ImageItem", "LabelMapper", "PreparedRequest", "ResponseCache", "RetrySignal", "ScoringEngine",
           "ScoringPlan", "TokenBucket", "load_api_config", "load_evalsets", "resolve_credentials",
           "score_api"]
