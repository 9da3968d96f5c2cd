"""`evalkit serve`: serve a trained probe (or any .keras classifier) through MLServer.

The evalkit runtime (:mod:`.runtime`) speaks the v2 / Open Inference protocol and, through
MLServer's custom handlers, the v1 TF-Serving REST ``:predict`` call. Tests, the pipeline and
benchmarks use it as a real "external API" on 127.0.0.1.
"""
from .server import ModelServer, ServedModel, serve_model
from .settings import CIFAR10_CLASS_NAMES, ModelSpec
from .sources import model_file_spec, parse_probe_ref, probe_spec

__all__ = ["CIFAR10_CLASS_NAMES", "ModelServer", "ModelSpec", "ServedModel", "model_file_spec",
           "parse_probe_ref", "probe_spec", "serve_model"]
