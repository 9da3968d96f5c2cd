"""`evalkit serve` pieces that need no running server: decoding, settings, sources, CLI errors."""
from __future__ import annotations

import base64
import io
import json
import socket

import numpy as np
import pytest
from PIL import Image

from evalkit.errors import UserError
from evalkit.serving import CIFAR10_CLASS_NAMES, ModelServer, model_file_spec, parse_probe_ref, probe_spec
from evalkit.serving.codec import (ImageDecodeError, encoded_to_images, item_to_bytes,
                                   tensor_to_images, v1_instances_to_images)
from evalkit.serving.settings import ModelSpec, choose_ports, model_settings, write_server_folder


def _png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture()
def images():
    return np.random.default_rng(1).integers(0, 256, (3, 6, 5, 3), dtype=np.uint8)


def test_tensor_flat_and_nested_give_same_images(images):
    flat = tensor_to_images(images.ravel().tolist(), list(images.shape), "UINT8")
    nested = tensor_to_images(images.tolist(), list(images.shape), "uint8")
    assert flat.dtype == np.float32 and flat.shape == images.shape
    np.testing.assert_array_equal(flat, images.astype(np.float32))
    np.testing.assert_array_equal(nested, flat)


@pytest.mark.parametrize("data,shape,dtype,match", [
    ([1, 2, 3], [1, 1, 1, 3], "BOOL", "datatype"),
    ([1, 2, 3, 4, 5, 6], [2, 3], "UINT8", r"\[N, H, W, 3\]"),
    ([1, 2, 3], [1, 1, 2, 3], "UINT8", "does not fit"),
    ([0.5, 300.0, 2.0], [1, 1, 1, 3], "FP32", r"\[0, 255\]"),
])
def test_tensor_errors_say_what_is_wrong(data, shape, dtype, match):
    with pytest.raises(ImageDecodeError, match=match):
        tensor_to_images(data, shape, dtype)


def test_encoded_images_base64_text_and_raw_bytes(images):
    pngs = [_png(im) for im in images]
    from_text = encoded_to_images([base64.b64encode(p).decode() for p in pngs], None)
    from_bytes = encoded_to_images(pngs, None)
    np.testing.assert_array_equal(from_text, images.astype(np.float32))
    np.testing.assert_array_equal(from_bytes, from_text)
    assert item_to_bytes({"b64": base64.b64encode(pngs[0]).decode()}) == pngs[0]


def test_encoded_images_resized_to_model_size_and_rgb(images):
    gray = Image.fromarray(images[0]).convert("L")
    buf = io.BytesIO()
    gray.save(buf, format="PNG")
    out = encoded_to_images([buf.getvalue()], (4, 4))
    expected = np.asarray(gray.convert("RGB").resize((4, 4), Image.BILINEAR), np.float32)
    assert out.shape == (1, 4, 4, 3)
    np.testing.assert_array_equal(out[0], expected)


def test_encoded_image_errors():
    with pytest.raises(ImageDecodeError, match="base64"):
        encoded_to_images(["not base64 !!"], None)
    with pytest.raises(ImageDecodeError, match="cannot decode"):
        encoded_to_images([base64.b64encode(b"plain text, no image").decode()], None)
    with pytest.raises(ImageDecodeError, match="different sizes"):
        encoded_to_images([_png(np.zeros((4, 4, 3), np.uint8)), _png(np.zeros((5, 4, 3), np.uint8))], None)


def test_v1_instances_numeric_b64_and_named(images):
    b64 = [{"b64": base64.b64encode(_png(im)).decode()} for im in images]
    np.testing.assert_array_equal(v1_instances_to_images(b64, None), images.astype(np.float32))
    np.testing.assert_array_equal(v1_instances_to_images(images.tolist(), None), images.astype(np.float32))
    named = [{"images": im.tolist()} for im in images]
    np.testing.assert_array_equal(v1_instances_to_images(named, None), images.astype(np.float32))
    with pytest.raises(ImageDecodeError, match="non-empty"):
        v1_instances_to_images([], None)


def test_settings_files_name_the_runtime_uri_classes_and_loopback_ports(tmp_path):
    model = tmp_path / "m.keras"
    model.write_bytes(b"x")
    spec = ModelSpec(model, ("a", "b"), "my-model")
    ports = choose_ports("127.0.0.1", 0)
    assert ports.http_port != ports.grpc_port and ports.http_port > 0
    write_server_folder(tmp_path / "srv", spec, ports)
    server = json.loads((tmp_path / "srv" / "settings.json").read_text())
    assert server["host"] == "127.0.0.1" and server["http_port"] == ports.http_port
    assert server["metrics_endpoint"] is None and server["parallel_workers"] == 0
    ms = json.loads((tmp_path / "srv" / "my-model" / "model-settings.json").read_text())
    assert ms == model_settings(spec)
    assert ms["implementation"] == "evalkit.serving.runtime.EvalkitRuntime"
    assert ms["parameters"]["uri"] == str(model.resolve())
    assert ms["parameters"]["extra"]["class_names"] == ["a", "b"]
    # MLServer itself accepts both files
    from mlserver.settings import ModelSettings, Settings

    assert Settings.parse_file(str(tmp_path / "srv" / "settings.json")).metrics_endpoint is None
    parsed = ModelSettings.parse_file(str(tmp_path / "srv" / "my-model" / "model-settings.json"))
    assert parsed.name == "my-model" and parsed.parameters.uri == str(model.resolve())


def test_busy_port_is_a_user_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        with pytest.raises(UserError, match=f"port {port} on 127.0.0.1 is already in use"):
            choose_ports("127.0.0.1", port)


@pytest.mark.parametrize("ref,expected", [("control/0", ("control", 0)),
                                          ("blur-3/seed12", ("blur-3", 12))])
def test_parse_probe_ref(ref, expected):
    assert parse_probe_ref(ref) == expected


@pytest.mark.parametrize("ref", ["control", "control/x", "a/b/1", ""])
def test_parse_probe_ref_rejects(ref):
    with pytest.raises(UserError, match="NAME/SEED"):
        parse_probe_ref(ref)


def test_model_file_spec_errors_and_defaults(tmp_path):
    with pytest.raises(UserError, match="model file not found"):
        model_file_spec(tmp_path / "missing.keras")
    with pytest.raises(UserError, match=r"\.keras"):
        model_file_spec(tmp_path / "model.h5")
    f = tmp_path / "held out.keras"
    f.write_bytes(b"x")
    spec = model_file_spec(f)
    assert spec.class_names == CIFAR10_CLASS_NAMES and spec.name == "held-out"
    with pytest.raises(UserError, match="distinct"):
        model_file_spec(f, ["a", "a"])


def _record_probe(ws, probe="control", seed=0, meta=None, files=("model.keras",)):
    folder = ws.dir("models") / probe / f"seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    for name in files:
        (folder / name).write_bytes(b"x")
    if meta is not None:
        (folder / "meta.json").write_text(json.dumps(meta))
    ws.catalog.record("model", f"{probe}/seed{seed}", ws.relpath(folder))
    return folder


def test_probe_spec_reads_catalog_and_meta_class_names(workspace):
    folder = _record_probe(workspace, meta={"class_names": ["x", "y", "z"]})
    spec = probe_spec(workspace, "control/0")
    assert spec.path == folder / "model.keras"
    assert spec.class_names == ("x", "y", "z") and spec.name == "control-seed0"
    _record_probe(workspace, "gray", 1, files=("model.joblib",))
    spec = probe_spec(workspace, "gray/seed1", name="g")
    assert spec.path.name == "model.joblib" and spec.class_names == CIFAR10_CLASS_NAMES
    assert spec.name == "g"


def test_probe_spec_errors(workspace):
    with pytest.raises(UserError, match="no probe is trained yet"):
        probe_spec(workspace, "control/0")
    _record_probe(workspace, "control", 0)
    with pytest.raises(UserError, match="did you mean 'control/seed0'"):
        probe_spec(workspace, "control/1")
    _record_probe(workspace, "blur", 0, files=())
    with pytest.raises(UserError, match="model file of probe 'blur/seed0' is missing"):
        probe_spec(workspace, "blur/0")


def test_server_start_with_missing_model_file_is_user_error(tmp_path):
    server = ModelServer(ModelSpec(tmp_path / "gone.keras", ("a",), "gone"))
    with pytest.raises(UserError, match="model file not found"):
        server.start()
    assert server.process_ is None  # nothing was started


@pytest.mark.parametrize("argv,match", [
    (["serve", "--model", "nowhere/missing.keras"], "missing.keras: model file not found"),
    (["serve"], "exactly one of --probe"),
    (["serve", "--probe", "control"], "NAME/SEED"),
])
def test_cli_errors_are_one_line(run_cli, argv, match, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(*argv)
    assert code == 2
    assert err.startswith("error: ") and match in err and err.count("\n") == 1
    assert "Traceback" not in err


def test_cli_unknown_probe_in_workspace(run_cli, tmp_path):
    code, _, err = run_cli("serve", "--probe", "control/0", "--workspace", str(tmp_path / "ws"))
    assert code == 2 and "no trained probe 'control/seed0'" in err and err.count("\n") == 1


def test_sklearn_probe_classifier_uses_flattened_pixels_over_255(tmp_path):
    import joblib
    from sklearn.linear_model import LogisticRegression

    from evalkit.serving.classifier import load_classifier

    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (30, 4, 4, 3), dtype=np.uint8)
    labels = np.arange(30) % 3
    est = LogisticRegression(max_iter=200).fit(imgs.reshape(30, -1) / 255.0, labels)
    joblib.dump(est, tmp_path / "model.joblib")
    clf = load_classifier(tmp_path / "model.joblib")
    assert clf.kind == "sklearn" and clf.input_size == (4, 4) and clf.n_classes == 3
    np.testing.assert_allclose(clf.predict(imgs[:5].astype(np.float32)),
                               est.predict_proba(imgs[:5].reshape(5, -1) / 255.0), rtol=1e-5)
    assert clf.predict(np.zeros((0, 4, 4, 3), np.float32)).shape == (0, 3)
