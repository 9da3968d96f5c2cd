"""The evalkit MLServer runtime: serves an image classifier (a trained probe, .keras/.joblib).

MLServer loads it from ``model-settings.json`` (see :mod:`evalkit.serving.settings`):
``parameters.uri`` is the ``.keras`` file and ``parameters.extra.class_names`` the classes.

* v2 / Open Inference: ``POST /v2/models/{name}/infer`` with one input, either a numeric
  tensor ``[N, H, W, 3]`` (UINT8 or FP32 in [0, 255]) or a BYTES ``[N]`` of encoded images
  (PNG/JPEG, base64 text in JSON). Outputs: ``probabilities`` FP32 ``[N, C]``, ``label``
  BYTES ``[N]`` (class names) and ``class_index`` INT64 ``[N]``.
* v1 / TF-Serving REST, through MLServer's custom-handler mechanism:
  ``POST /v1/models/{name}:predict`` with ``{"instances": [...]}`` (nested arrays or
  ``{"b64": ...}``) answers ``{"predictions": [[p_0, ..., p_C-1], ...]}``.
"""
from __future__ import annotations

import asyncio
import os

import numpy as np
from fastapi import Request
from mlserver import MLModel
from mlserver.codecs import NumpyCodec, StringCodec
from mlserver.errors import InferenceError, MLServerError, ModelNotFound
from mlserver.handlers import custom_handler
from mlserver.types import InferenceRequest, InferenceResponse
from mlserver.utils import get_model_uri

from .classifier import load_classifier
from .codec import ImageDecodeError, encoded_to_images, tensor_to_images, v1_instances_to_images

OUTPUT_NAMES = ("probabilities", "label", "class_index")


class EvalkitRuntime(MLModel):
    """MLServer runtime for an image classifier (``.keras``, or a ``.joblib`` sklearn probe)
    mapping RGB images in [0, 255] to class probabilities."""

    async def load(self) -> bool:
        path = await get_model_uri(self._settings)
        if not os.path.isfile(path):
            raise MLServerError(f"model file not found: {path}")
        extra = (self._settings.parameters.extra or {}) if self._settings.parameters else {}
        self.class_names_ = [str(c) for c in extra.get("class_names") or []]
        try:
            self.classifier_ = load_classifier(path)
        except ValueError as exc:
            raise MLServerError(str(exc)) from exc
        self.input_size_ = self.classifier_.input_size
        n_out = self.classifier_.n_classes
        if not self.class_names_:
            self.class_names_ = [f"class_{i}" for i in range(n_out)]
        if len(self.class_names_) != n_out:
            raise MLServerError(f"{path}: model has {n_out} outputs but "
                                f"{len(self.class_names_)} class names were given")
        return True

    # ----------------------------------------------------------------- inference
    def predict_images(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities (N, C) float32 of float32 RGB images (N, H, W, 3)."""
        if self.input_size_ is not None and images.shape[1:3] != self.input_size_:
            raise InferenceError(f"images are {images.shape[1]}x{images.shape[2]} but the model "
                                 f"expects {self.input_size_[0]}x{self.input_size_[1]}")
        return self.classifier_.predict(images)

    async def _predict_async(self, images: np.ndarray) -> np.ndarray:
        return await asyncio.to_thread(self.predict_images, images)

    def _decode_v2(self, payload: InferenceRequest) -> np.ndarray:
        if len(payload.inputs) != 1:
            raise InferenceError(f"expected exactly one input (the images), got {len(payload.inputs)}")
        inp = payload.inputs[0]
        data = getattr(inp.data, "root", inp.data)
        try:
            if inp.datatype.upper() == "BYTES":
                items = data if isinstance(data, list) else [data]
                if len(items) == 1 and isinstance(items[0], list):  # nested [[...]]
                    items = items[0]
                return encoded_to_images(items, self.input_size_)
            return tensor_to_images(data, inp.shape, inp.datatype)
        except ImageDecodeError as exc:
            raise InferenceError(f"input {inp.name!r}: {exc}") from None

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        images = self._decode_v2(payload)
        probs = await self._predict_async(images)
        index = probs.argmax(axis=1).astype(np.int64)
        labels = [self.class_names_[i] for i in index]
        outputs = [NumpyCodec.encode_output("probabilities", probs),
                   StringCodec.encode_output("label", labels),
                   NumpyCodec.encode_output("class_index", index)]
        for out in outputs[1:]:  # MLServer's codecs give [N, 1]; the contract is [N]
            out.shape = [len(index)]
        if payload.outputs:
            wanted = {o.name for o in payload.outputs}
            unknown = wanted - set(OUTPUT_NAMES)
            if unknown:
                raise InferenceError(f"unknown output(s) {sorted(unknown)}; available: {list(OUTPUT_NAMES)}")
            outputs = [o for o in outputs if o.name in wanted]
        return InferenceResponse(model_name=self.name, model_version=self.version,
                                 id=payload.id, outputs=outputs)

    # ----------------------------------------------------- v1 (TF-Serving REST)
    def _check_name(self, model_name: str) -> None:
        if model_name != self.name:
            raise ModelNotFound(model_name)

    async def _v1_predict(self, model_name: str, version: str | None, request: Request) -> dict:
        self._check_name(model_name)
        if version is not None and version != (self.version or "1"):
            raise ModelNotFound(model_name, version)
        try:
            body = await request.json()
        except ValueError:
            raise InferenceError("request body is not valid JSON") from None
        if not isinstance(body, dict) or "instances" not in body:
            raise InferenceError("request body must be a JSON object with 'instances'")
        try:
            images = v1_instances_to_images(body["instances"], self.input_size_)
        except ImageDecodeError as exc:
            raise InferenceError(str(exc)) from None
        probs = await self._predict_async(images)
        return {"predictions": probs.tolist()}

    @custom_handler(rest_path="/v1/models/{model_name}:predict", rest_method="POST")
    async def v1_predict(self, model_name: str, request: Request) -> dict:
        """TF-Serving REST predict: ``{"instances": [...]}`` -> ``{"predictions": [...]}``."""
        return await self._v1_predict(model_name, None, request)

    @custom_handler(rest_path="/v1/models/{model_name}/versions/{version}:predict",
                    rest_method="POST")
    async def v1_predict_version(self, model_name: str, version: str, request: Request) -> dict:
        """TF-Serving REST predict of an explicit version (this server has one)."""
        return await self._v1_predict(model_name, version, request)

    @custom_handler(rest_path="/v1/models/{model_name}", rest_method="GET")
    async def v1_status(self, model_name: str) -> dict:
        """TF-Serving REST model status."""
        self._check_name(model_name)
        return {"model_version_status": [{"version": self.version or "1", "state": "AVAILABLE",
                                          "status": {"error_code": "OK", "error_message": ""}}]}
