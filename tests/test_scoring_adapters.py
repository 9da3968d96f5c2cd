"""Adapters: exact request payloads and parsing of recorded vendor answers (no network), and
Rekognition signed and sent to a moto server on 127.0.0.1."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from evalkit.scoring.adapters import (ADAPTERS, ApiAnswer, ImageFailure, ImageItem, RetrySignal,
                                      encode_image, image_key)
from evalkit.scoring.api_config import ApiConfig, Credentials, Secret

FIXTURES = Path(__file__).parent / "fixtures" / "apis"
KEY = "fake-key-0123456789"
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
CREDS = Credentials({n: Secret(f"{KEY}-{n}") for n in
                     ("api_key", "token", "prediction_key", "access_key_id", "secret_access_key")})


def _images(n):
    rng = np.random.default_rng(0)
    return [ImageItem(image_key(im), im) for im in rng.integers(0, 256, size=(n, 4, 4, 3), dtype=np.uint8)]


def _b64(item, fmt="png"):
    return base64.b64encode(encode_image(item.image, fmt)).decode()


def _fixture(name) -> bytes:
    return (FIXTURES / name).read_bytes()


def _adapter(adapter, endpoint, **kw):
    return ApiConfig(name="t", adapter=adapter, endpoint=endpoint, **kw).adapter_instance()


# Per adapter: a config, the number of images per request, and a recorded successful answer.
CASES = {
    "tfserving": (dict(endpoint="http://h:8501", model="m", params={"output_labels": CLASSES}), 2,
                  "tfserving_predict.json"),
    "kserve-v2": (dict(endpoint="http://h:8080", model="cifar-probe", params={"output_labels": CLASSES}), 2,
                  "kserve_v2_infer.json"),
    "google-vision": (dict(endpoint="https://vision.googleapis.com/v1/images:annotate"), 4,
                      "google_vision_annotate.json"),
    "rekognition": (dict(endpoint="https://rekognition.us-east-1.amazonaws.com"), 1,
                    "rekognition_detect_labels.json"),
    "azure-customvision": (dict(endpoint="https://r.cognitiveservices.azure.com",
                                params={"project_id": "p1", "published_name": "it1"}), 1,
                           "azure_customvision_classify.json"),
    "azure-vision": (dict(endpoint="https://r.cognitiveservices.azure.com"), 1, "azure_vision_tags.json"),
    "huggingface": (dict(endpoint="https://api-inference.huggingface.co/models",
                         model="google/vit-base-patch16-224"), 1, "huggingface_image_classification.json"),
    "http-json": (dict(endpoint="https://api.example.com", params={
        "path": "/v1/classify", "template": {"image": "{image_b64}", "model": "{model}"},
        "headers": {"X-Api-Key": "{secret:api_key}"}, "labels_path": "result.labels",
        "label_field": "name", "score_field": "confidence", "score_scale": 0.01,
        "version_path": "/result/model_version"}), 1, "http_json_classify.json"),
}


def test_every_registered_adapter_has_a_recorded_case():
    assert sorted(CASES) == ADAPTERS.names()


@pytest.mark.parametrize("name", ADAPTERS.names())
def test_adapter_round_trip_hides_secrets_and_answers_every_image(name):
    kw, n, fixture = CASES[name]
    adapter = _adapter(name, **kw)
    batch = _images(n)
    req = adapter.build_request(batch, CREDS)
    assert req.method == "POST" and KEY not in repr(req) and KEY not in req.url
    outcomes = adapter.parse_response(200, {}, _fixture(fixture), batch)
    assert len(outcomes) == n and isinstance(outcomes[0], ApiAnswer)
    assert adapter.labels_from_raw(outcomes[0].raw) == outcomes[0].labels  # cache re-parse
    for status in (429, 500, 503):
        assert all(isinstance(o, RetrySignal) for o in adapter.parse_response(status, {"Retry-After": "3"}, b"", batch))
    assert all(isinstance(o, RetrySignal) for o in adapter.parse_response(200, {}, b'{"trunc', batch))
    assert all(isinstance(o, ImageFailure) for o in adapter.parse_response(400, {}, b'{"error": "bad"}', batch))


def test_tfserving_b64_and_tensor_payloads():
    batch = _images(2)
    a = _adapter("tfserving", "http://h:8501", model="m", version="2")
    req = a.build_request(batch, None)
    assert req.url == "http://h:8501/v1/models/m/versions/2:predict"
    assert req.json == {"instances": [{"b64": _b64(batch[0])}, {"b64": _b64(batch[1])}]}
    assert dict(req.headers) == {"Content-Type": "application/json"}
    t = _adapter("tfserving", "http://h:8501", model="m", params={"input_format": "tensor", "input_name": "x"})
    req = t.build_request(batch[:1], None)
    assert req.url == "http://h:8501/v1/models/m:predict"
    assert req.json == {"instances": [{"x": batch[0].image.astype(int).tolist()}]}
    out = _adapter("tfserving", "http://h", model="m", params={"output_labels": CLASSES, "top_k": 2}) \
        .parse_response(200, {}, _fixture("tfserving_predict.json"), batch)
    assert out[0].labels == (("bird", 0.70), ("dog", 0.10)) and out[1].labels == (("airplane", 0.80), ("ship", 0.09))
    err = a.parse_response(400, {}, _fixture("tfserving_error.json"), batch)
    assert isinstance(err[0], ImageFailure) and err[0].reason.startswith("HTTP 400: {\"error\":\"Failed to process")


def test_kserve_v2_payload_follows_the_open_inference_protocol():
    batch = _images(2)
    a = _adapter("kserve-v2", "http://h:8080", model="cifar-probe", version="3",
                 params={"output_name": "probabilities", "output_labels": CLASSES})
    req = a.build_request(batch, None)
    assert req.url == "http://h:8080/v2/models/cifar-probe/versions/3/infer"
    stacked = np.stack([b.image for b in batch])
    assert req.json == {"inputs": [{"name": "images", "shape": [2, 4, 4, 3], "datatype": "UINT8",
                                    "data": stacked.ravel().tolist()}],
                        "outputs": [{"name": "probabilities"}]}
    out = a.parse_response(200, {}, _fixture("kserve_v2_infer.json"), batch)
    assert [o.labels[0] for o in out] == [("horse", pytest.approx(0.62)), ("airplane", 0.5)]
    assert out[0].api_version == "3"
    b = _adapter("kserve-v2", "http://h:8080", model="cifar-probe", params={"datatype": "BYTES", "output_name": "label"})
    req = b.build_request(batch, None)
    assert req.json["inputs"] == [{"name": "images", "shape": [2], "datatype": "BYTES",
                                   "parameters": {"content_type": "base64"},
                                   "data": [_b64(batch[0]), _b64(batch[1])]}]
    assert [o.labels for o in b.parse_response(200, {}, _fixture("kserve_v2_infer.json"), batch)] == \
        [(("horse", 1.0),), (("airplane", 1.0),)]
    err = b.parse_response(404, {}, _fixture("kserve_v2_error.json"), batch)
    assert "not found" in err[0].reason


def test_google_vision_batches_16_and_handles_per_image_errors_inside_http_200():
    batch = _images(4)
    a = _adapter("google-vision", "https://vision.googleapis.com/v1/images:annotate", model="builtin/stable",
                 params={"max_results": 5})
    req = a.build_request(batch, CREDS)
    assert req.url == "https://vision.googleapis.com/v1/images:annotate"
    assert req.headers["x-goog-api-key"] == f"{KEY}-api_key"
    feature = {"type": "LABEL_DETECTION", "maxResults": 5, "model": "builtin/stable"}
    assert req.json == {"requests": [{"image": {"content": _b64(b)}, "features": [feature]} for b in batch]}
    ok, bad, busy, empty = a.parse_response(200, {}, _fixture("google_vision_annotate.json"), batch)
    assert ok.labels[0] == ("Cat", pytest.approx(0.98934245)) and len(ok.labels) == 4
    assert isinstance(bad, ImageFailure) and bad.reason == "vision error 3: Bad image data."
    assert isinstance(busy, RetrySignal) and "14" in busy.reason
    assert isinstance(empty, ApiAnswer) and empty.labels == ()
    assert ADAPTERS.get("google-vision").max_batch == 16


def test_rekognition_payload_signature_and_typed_throttling():
    batch = _images(1)
    a = _adapter("rekognition", "https://rekognition.eu-west-1.amazonaws.com",
                 params={"max_labels": 7, "min_confidence": 60.0})
    req = a.build_request(batch, CREDS)
    assert req.url == "https://rekognition.eu-west-1.amazonaws.com/"
    assert json.loads(req.body) == {"Image": {"Bytes": _b64(batch[0])}, "MaxLabels": 7, "MinConfidence": 60.0}
    assert req.headers["X-Amz-Target"] == "RekognitionService.DetectLabels"
    assert req.headers["Content-Type"] == "application/x-amz-json-1.1"
    auth = req.headers["Authorization"]
    assert auth.startswith(f"AWS4-HMAC-SHA256 Credential={KEY}-access_key_id/")
    assert "/eu-west-1/rekognition/aws4_request" in auth and f"{KEY}-secret_access_key" not in auth
    (ans,) = a.parse_response(200, {}, _fixture("rekognition_detect_labels.json"), batch)
    assert ans.api_version == "3.0"
    assert ans.labels[:3] == (("Transportation", pytest.approx(0.999)), ("Sports Car", pytest.approx(0.987)),
                              ("Car", pytest.approx(0.987)))
    (thr,) = a.parse_response(400, {}, _fixture("rekognition_throttling.json"), batch)
    assert isinstance(thr, RetrySignal) and thr.reason == "ThrottlingException: Rate exceeded"
    (pte,) = a.parse_response(400, {}, b'{"__type":"com.amazonaws.rekognition#ProvisionedThroughputExceededException"}', batch)
    assert isinstance(pte, RetrySignal)
    (bad,) = a.parse_response(400, {}, _fixture("rekognition_invalid_image.json"), batch)
    assert isinstance(bad, ImageFailure) and bad.cacheable and bad.reason.startswith("InvalidImageFormatException")
    (auth_fail,) = a.parse_response(400, {}, b'{"__type":"UnrecognizedClientException","message":"bad token"}', batch)
    assert isinstance(auth_fail, ImageFailure) and not auth_fail.cacheable


def test_azure_payloads_are_raw_bytes_with_their_key_headers():
    batch = _images(1)
    cv = _adapter("azure-customvision", "https://r.cognitiveservices.azure.com",
                  params={"project_id": "p1", "published_name": "it1"})
    req = cv.build_request(batch, CREDS)
    assert req.url == "https://r.cognitiveservices.azure.com/customvision/v3.0/Prediction/p1/classify/iterations/it1/image"
    assert req.body == encode_image(batch[0].image) and req.json is None
    assert dict(req.headers) == {"Content-Type": "application/octet-stream", "Prediction-Key": f"{KEY}-prediction_key"}
    (ans,) = cv.parse_response(200, {}, _fixture("azure_customvision_classify.json"), batch)
    assert ans.labels[0] == ("dog", 0.93) and ans.api_version == "fe1e83c4-6f50-4899-9544-6bb08cf0e15a"

    iv = _adapter("azure-vision", "https://r.cognitiveservices.azure.com", params={"language": "en"})
    req = iv.build_request(batch, CREDS)
    assert req.url == ("https://r.cognitiveservices.azure.com/computervision/imageanalysis:analyze"
                       "?features=tags&api-version=2024-02-01&language=en")
    assert req.headers["Ocp-Apim-Subscription-Key"] == f"{KEY}-api_key" and req.body == encode_image(batch[0].image)
    (ans,) = iv.parse_response(200, {}, _fixture("azure_vision_tags.json"), batch)
    assert ans.labels[3] == ("horse", pytest.approx(0.9791355729103088)) and ans.api_version == "2023-10-01"


def test_huggingface_payload_and_model_loading_is_a_retry_after_estimated_time():
    batch = _images(1)
    a = _adapter("huggingface", "https://api-inference.huggingface.co/models", model="google/vit-base-patch16-224",
                 params={"wait_for_model": True})
    req = a.build_request(batch, CREDS)
    assert req.url == "https://api-inference.huggingface.co/models/google/vit-base-patch16-224"
    assert dict(req.headers) == {"Content-Type": "image/png", "Authorization": f"Bearer {KEY}-token",
                                 "x-wait-for-model": "true"}
    (ans,) = a.parse_response(200, {}, _fixture("huggingface_image_classification.json"), batch)
    assert ans.labels[:2] == (("Egyptian cat", 0.9387), ("tabby, tabby cat", 0.0411))
    (load,) = a.parse_response(503, {}, _fixture("huggingface_model_loading.json"), batch)
    assert isinstance(load, RetrySignal) and load.retry_after_s == 20.0 and "loading" in load.reason


def test_http_json_template_and_field_mapping():
    kw, _, fixture = CASES["http-json"]
    a = _adapter("http-json", model="frogs-v2", **kw)
    batch = _images(1)
    req = a.build_request(batch, CREDS)
    assert req.url == "https://api.example.com/v1/classify"
    assert req.json == {"image": _b64(batch[0]), "model": "frogs-v2"}
    assert dict(req.headers) == {"X-Api-Key": f"{KEY}-api_key", "Content-Type": "application/json"}
    (ans,) = a.parse_response(200, {}, _fixture(fixture), batch)
    assert ans.labels == (("Frog", pytest.approx(0.91)), ("Leaf", pytest.approx(0.40))) and ans.api_version == "v7"


# ------------------------------------------------------------------ rekognition vs moto
@pytest.fixture(scope="module")
def moto_url():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_rekognition_signed_request_against_moto_server(moto_url, tmp_path, monkeypatch):
    import requests

    from evalkit.scoring import load_api_config, score_api
    from evalkit.workspace import Workspace
    from scoring_servers import make_dataset, write_evalset

    a = _adapter("rekognition", moto_url, params={"region": "us-east-1"})
    batch = _images(1)
    req = a.build_request(batch, CREDS)
    resp = requests.request(req.method, req.url, headers=dict(req.headers), data=req.body_bytes(), timeout=30)
    (ans,) = a.parse_response(resp.status_code, resp.headers, resp.content, batch)
    # moto's fixed DetectLabels answer: "Mobile Phone" (parent "Phone"), model version 3.0
    assert isinstance(ans, ApiAnswer), ans
    assert ans.labels[0] == ("Mobile Phone", pytest.approx(0.999364013671875)) and ans.api_version == "3.0"
    assert ("Phone", pytest.approx(0.999364013671875)) in ans.labels

    # the whole stage: every image answered; "Mobile Phone" maps to no class -> counted abstentions
    ws = Workspace(tmp_path / "ws")
    write_evalset(ws, "s", range(5))
    (tmp_path / "rek.toml").write_text(
        f'adapter = "rekognition"\nendpoint = "{moto_url}"\nprice_per_1000 = 1.0\n'
        '[params]\nregion = "us-east-1"\n[image]\nresize = 80\n'
        '[credentials]\naccess_key_id = { env = "T_AWS_ID" }\nsecret_access_key = { env = "T_AWS_SECRET" }\n')
    monkeypatch.setenv("T_AWS_ID", "AKIAFAKEFAKEFAKE")
    monkeypatch.setenv("T_AWS_SECRET", "fake/secret/value/0123456789")
    doc = json.loads(ws.abspath(score_api(ws, load_api_config(tmp_path / "rek.toml"), make_dataset(5), ["s"])).read_text())
    assert [r["status"] for r in doc["images"]] == ["scored"] * 5
    assert all(r["label"] is None and r["raw_label"] == "Mobile Phone" for r in doc["images"])
    assert doc["unmapped_labels"] == {"Mobile Phone": 5} and doc["abstentions"] == 5
    assert doc["api_versions"] == ["3.0"] and doc["spent_cost"] == pytest.approx(0.005)


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[1] / "apis").glob("*.toml")), ids=lambda p: p.name)
def test_example_api_files_are_valid_and_hold_no_secret(path):
    from evalkit.scoring import load_api_config

    cfg = load_api_config(path)
    batch = _images(1)
    req = cfg.adapter_instance().build_request(batch, CREDS)
    assert req.url.startswith(cfg.endpoint) and cfg.name == path.stem
    for kind, ref in cfg.credentials.values():
        assert kind in ("env", "file")


def test_one_example_api_file_per_adapter():
    from evalkit.scoring import load_api_config

    files = (Path(__file__).parents[1] / "apis").glob("*.toml")
    assert {load_api_config(p).adapter for p in files} == set(ADAPTERS.names())
