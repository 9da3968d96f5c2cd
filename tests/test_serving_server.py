"""A real MLServer on 127.0.0.1 serving a tiny Keras model with the evalkit runtime.

One server is started for the module (about 8-15 s); the probabilities it returns must equal
``model.predict`` on the same images, for every wire form (v2 tensor, v2 BYTES, v1), and the
scoring adapters (``kserve-v2``, ``tfserving``) must parse its answers.
"""
from __future__ import annotations

import base64
import io
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import requests
from PIL import Image

from evalkit.errors import UserError
from evalkit.serving import ModelSpec, serve_model

pytestmark = pytest.mark.server

CLASSES = ("cat", "dog", "ship")
SIZE = 8


def _tiny_model(path):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((SIZE, SIZE, 3)), keras.layers.Rescaling(1 / 255.0),
        keras.layers.Conv2D(4, 3, activation="relu"), keras.layers.Flatten(),
        keras.layers.Dense(len(CLASSES), activation="softmax")])
    model.save(path)
    return model


def _png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("served") / "tiny.keras"
    return path, _tiny_model(path)


@pytest.fixture(scope="module")
def served(tiny):
    with serve_model(tiny[0], class_names=CLASSES) as s:
        yield s


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(7).integers(0, 256, (6, SIZE, SIZE, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def expected(tiny, images):
    return tiny[1].predict(images.astype(np.float32), verbose=0)


def _outputs(resp) -> dict:
    assert resp.status_code == 200, resp.text
    return {o["name"]: o for o in resp.json()["outputs"]}


def _check_outputs(outs: dict, expected: np.ndarray) -> None:
    probs = np.asarray(outs["probabilities"]["data"], np.float32).reshape(outs["probabilities"]["shape"])
    np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-6)
    assert outs["probabilities"]["datatype"] == "FP32"
    assert outs["label"]["shape"] == [len(expected)] and outs["label"]["datatype"] == "BYTES"
    assert outs["label"]["data"] == [CLASSES[i] for i in expected.argmax(1)]
    assert outs["class_index"]["data"] == expected.argmax(1).tolist()


def test_server_is_on_loopback_and_reports_metadata(served):
    assert served.url.startswith("http://127.0.0.1:")
    meta = requests.get(f"{served.url}/v2/models/{served.model_name}", timeout=10).json()
    assert meta["name"] == "tiny" and meta["platform"] == "keras"
    assert [o["name"] for o in meta["outputs"]] == ["probabilities", "label", "class_index"]
    assert requests.get(f"{served.url}/v2/health/live", timeout=10).status_code == 200


@pytest.mark.parametrize("datatype", ["UINT8", "FP32"])
def test_v2_tensor_matches_model_predict(served, images, expected, datatype):
    body = {"inputs": [{"name": "images", "datatype": datatype, "shape": list(images.shape),
                        "data": images.astype(np.float32 if datatype == "FP32" else np.uint8).ravel().tolist()}]}
    _check_outputs(_outputs(requests.post(served.infer_url, json=body, timeout=30)), expected)


def test_v2_bytes_png_matches_model_predict(served, images, expected):
    body = {"inputs": [{"name": "images", "datatype": "BYTES", "shape": [len(images)],
                        "parameters": {"content_type": "base64"},
                        "data": [base64.b64encode(_png(im)).decode() for im in images]}]}
    _check_outputs(_outputs(requests.post(served.infer_url, json=body, timeout=30)), expected)


def test_v2_bytes_larger_jpeg_is_resized(served, tiny, images):
    big = np.kron(images[:2], np.ones((1, 3, 3, 1), np.uint8))  # 24x24
    jpegs = []
    for im in big:
        buf = io.BytesIO()
        Image.fromarray(im).save(buf, format="JPEG", quality=95)
        jpegs.append(buf.getvalue())
    decoded = np.stack([np.asarray(Image.open(io.BytesIO(j)).convert("RGB").resize((SIZE, SIZE), Image.BILINEAR),
                                   np.float32) for j in jpegs])
    body = {"inputs": [{"name": "images", "datatype": "BYTES", "shape": [2],
                        "data": [base64.b64encode(j).decode() for j in jpegs]}],
            "outputs": [{"name": "probabilities"}]}
    outs = _outputs(requests.post(served.infer_url, json=body, timeout=30))
    assert list(outs) == ["probabilities"]
    np.testing.assert_allclose(np.asarray(outs["probabilities"]["data"]).reshape(2, -1),
                               tiny[1].predict(decoded, verbose=0), rtol=1e-5, atol=1e-6)


def test_v1_predict_b64_tensor_and_version(served, images, expected):
    b64 = {"instances": [{"b64": base64.b64encode(_png(im)).decode()} for im in images]}
    r = requests.post(served.v1_predict_url, json=b64, timeout=30)
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(r.json()["predictions"], expected, rtol=1e-5, atol=1e-6)
    url = f"{served.url}/v1/models/{served.model_name}/versions/1:predict"
    r = requests.post(url, json={"instances": images.tolist()}, timeout=30)
    np.testing.assert_allclose(r.json()["predictions"], expected, rtol=1e-5, atol=1e-6)
    status = requests.get(f"{served.url}/v1/models/{served.model_name}", timeout=10).json()
    assert status["model_version_status"][0]["state"] == "AVAILABLE"


def test_concurrent_requests_are_not_mixed_up(served, images, expected):
    def one(i):
        body = {"inputs": [{"name": "x", "datatype": "UINT8", "shape": [1, SIZE, SIZE, 3],
                            "data": images[i].ravel().tolist()}]}
        return i, _outputs(requests.post(served.infer_url, json=body, timeout=30))

    with ThreadPoolExecutor(6) as pool:
        for i, outs in pool.map(one, list(range(len(images))) * 2):
            np.testing.assert_allclose(outs["probabilities"]["data"], expected[i], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("inputs,match", [
    ([{"name": "images", "datatype": "UINT8", "shape": [1, 4, 4, 3], "data": [0] * 48}], "expects 8x8"),
    ([{"name": "images", "datatype": "UINT8", "shape": [2, 3], "data": [0] * 6}], "[N, H, W, 3]"),
    ([{"name": "images", "datatype": "BYTES", "shape": [1], "data": ["bm90IGFuIGltYWdl"]}], "cannot decode"),
])
def test_v2_bad_input_is_http_400_with_reason(served, inputs, match):
    r = requests.post(served.infer_url, json={"inputs": inputs}, timeout=30)
    assert r.status_code == 400 and match in r.json()["error"]


# ---------------------------------------------------------------- scoring adapters
def _adapter(name, served, **kw):
    from evalkit.scoring.api_config import ApiConfig

    return ApiConfig(name="local", adapter=name, endpoint=served.url, **kw).adapter_instance()


def _send(adapter, images):
    from evalkit.scoring.adapters import ImageItem, image_key

    batch = [ImageItem(image_key(im), im) for im in images]
    req = adapter.build_request(batch, None)
    resp = requests.request(req.method, req.url, headers=dict(req.headers), data=req.body_bytes(), timeout=30)
    return adapter.parse_response(resp.status_code, dict(resp.headers), resp.content, batch)


@pytest.mark.parametrize("datatype", ["UINT8", "FP32", "BYTES"])
def test_kserve_v2_adapter_against_real_server(served, images, expected, datatype):
    from evalkit.scoring.adapters import ApiAnswer

    adapter = _adapter("kserve-v2", served, model=served.model_name, params={
        "datatype": datatype, "output_name": "probabilities", "output_labels": list(CLASSES), "top_k": 3})
    outcomes = _send(adapter, images)
    assert all(isinstance(o, ApiAnswer) for o in outcomes), outcomes
    for o, p in zip(outcomes, expected):
        assert o.labels[0][0] == CLASSES[int(p.argmax())]
        np.testing.assert_allclose([s for _, s in o.labels], np.sort(p)[::-1], rtol=1e-5, atol=1e-6)
        assert o.api_version == "1"


def test_kserve_v2_adapter_label_output_and_unknown_model(served, images, expected):
    from evalkit.scoring.adapters import ImageFailure

    adapter = _adapter("kserve-v2", served, model=served.model_name, params={"output_name": "label"})
    assert [o.labels[0][0] for o in _send(adapter, images)] == [CLASSES[i] for i in expected.argmax(1)]
    missing = _adapter("kserve-v2", served, model="no-such-model")
    outcomes = _send(missing, images[:2])
    assert all(isinstance(o, ImageFailure) and "HTTP 404" in o.reason for o in outcomes)


@pytest.mark.parametrize("input_format", ["b64", "tensor"])
def test_tfserving_adapter_against_v1_endpoint(served, images, expected, input_format):
    adapter = _adapter("tfserving", served, model=served.model_name, version="1", params={
        "input_format": input_format, "output_labels": list(CLASSES), "top_k": 1})
    outcomes = _send(adapter, images)
    assert [o.labels[0][0] for o in outcomes] == [CLASSES[i] for i in expected.argmax(1)]
    np.testing.assert_allclose([o.labels[0][1] for o in outcomes], expected.max(1), rtol=1e-5)


# ---------------------------------------------------------------- failures and the CLI
def test_model_that_fails_to_load_is_one_line_user_error(tmp_path):
    bad = tmp_path / "corrupt.keras"
    bad.write_bytes(os.urandom(256))
    with pytest.raises(UserError) as info:
        with serve_model(ModelSpec(bad, CLASSES, "corrupt"), startup_timeout=120):
            pass
    msg = str(info.value)
    assert "'corrupt' failed to load" in msg and "\n" not in msg and "corrupt.keras" in msg


def test_cli_serve_probe_foreground_and_sigterm(tmp_path, tiny, images, expected):
    from evalkit.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    folder = ws.dir("models") / "tiny" / "seed0"
    folder.mkdir(parents=True)
    (folder / "model.keras").write_bytes(tiny[0].read_bytes())
    (folder / "meta.json").write_text(json.dumps({"probe": "tiny", "seed": 0, "class_names": list(CLASSES)}))
    ws.catalog.record("model", "tiny/seed0", ws.relpath(folder))
    out_path = tmp_path / "out.txt"
    with open(out_path, "w") as out, open(tmp_path / "err.txt", "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "evalkit", "serve", "--probe", "tiny/0",
                                 "--workspace", str(ws.root), "--port", "0"], stdout=out, stderr=err)
    try:
        deadline = time.monotonic() + 150
        while "ready in" not in out_path.read_text():
            assert proc.poll() is None, (tmp_path / "err.txt").read_text()[-2000:]
            assert time.monotonic() < deadline, "server not ready"
            time.sleep(0.3)
        text = out_path.read_text()
        url = text.split("POST ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v2/models/tiny-seed0/infer")
        server_pid = int(text.split("server pid ")[1].split(",")[0])
        body = {"inputs": [{"name": "images", "datatype": "UINT8", "shape": list(images.shape),
                            "data": images.ravel().tolist()}]}
        _check_outputs(_outputs(requests.post(url, json=body, timeout=30)), expected)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    assert code == 0
    assert "stopped" in (tmp_path / "err.txt").read_text()
    with pytest.raises(ProcessLookupError):
        os.kill(server_pid, 0)
