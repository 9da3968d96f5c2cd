"""The explain stage and CLI on a workspace with a tiny Keras probe, a non-Keras probe and an
evaluation set of synthetic images (probe loading is replaced by in-memory models)."""
from __future__ import annotations

import hashlib
import json
import types

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

from evalkit.explain import stage  # noqa: E402
from evalkit.workspace import atomic_write_text  # noqa: E402


def tiny_probe(size=32, seed=0):
    keras.utils.set_random_seed(seed)
    ci = keras.Input((size, size, 3))
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(ci)
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv2")(x)
    cnn = keras.Model(ci, layers.Dense(10, activation="softmax")(layers.GlobalAveragePooling2D()(x)), name="cnn")
    pre = keras.Sequential([keras.Input((size, size, 3)), layers.Rescaling(1 / 255.0)], name="pre")
    inp = keras.Input((size, size, 3))
    return keras.Model(inp, cnn(pre(inp)))


@pytest.fixture()
def setup(workspace, synthetic_dataset, monkeypatch):
    ws = workspace
    test = synthetic_dataset.split("test")
    idx = [0, 11, 25, 37, 48, 59]
    evalset = {"id": "control>rest", "kind": "rest", "pool": "synthetic/test", "indices": idx,
               "ids": [str(test.ids[i]) for i in idx],
               "hashes": [hashlib.sha256(test.images[i].tobytes()).hexdigest() for i in idx],
               "labels": [int(test.labels[i]) for i in idx], "class_names": list(test.class_names)}
    path = ws.dir("sets") / "control>rest.json"
    atomic_write_text(path, json.dumps(evalset))
    ws.catalog.record("evalset", "control>rest", ws.relpath(path))
    for key in ("control/seed0", "knn/seed0"):
        ws.catalog.record("model", key, f"models/{key}")
    models = {"control": tiny_probe(), "knn": None}
    calls = []

    def fake_load(ws_, probe, seed):
        calls.append((probe, seed))
        return types.SimpleNamespace(keras_model=models[probe])

    monkeypatch.setattr(stage, "_load_probe", fake_load)
    monkeypatch.setattr(stage, "_load_split", lambda dataset, pool: synthetic_dataset.split("test"))
    return ws, synthetic_dataset, calls


def test_explain_set_writes_maps_overlays_grids_and_skips_non_cnn(setup):
    ws, ds, calls = setup
    result = stage.explain_set(ws, ds, "control>rest", "gradcam", batch_size=4)
    assert [a.key for a in result.records] == ["control>rest/gradcam/control/seed0"]
    assert result.skipped == (("knn/seed0", "not a Keras model (no convolutions)"),)
    art = ws.catalog.get("explanation", "control>rest/gradcam/control/seed0")
    z = np.load(ws.abspath(art) / "maps.npz")
    for name in ("maps_predicted", "maps_true"):
        assert z[name].shape == (6, 32, 32) and z[name].dtype == np.float32
        assert 0.0 <= z[name].min() and z[name].max() <= 1.0
    assert z["probs"].shape == (6, 10) and z["deletion_predicted_random"].shape == (6,)
    np.testing.assert_array_equal(z["classes_true"], json.loads((ws.root / "sets/control>rest.json").read_text())["labels"])
    meta = art.meta
    assert meta["layer"] == "cnn/conv2" and meta["n_images"] == 6
    assert set(meta["faithfulness"]) == {"predicted", "true"}
    assert 0.0 <= meta["faithfulness"]["predicted"]["deletion"] <= 1.0
    assert meta["sanity"]["n_images"] == 6 and -1.0 <= meta["sanity"]["spearman_mean"] <= 1.0
    assert len(meta["grids"]) == 6 and all((ws.root / g).is_file() for g in meta["grids"])
    assert (ws.abspath(art) / "overlays" / "0000_predicted.png").is_file()
    from PIL import Image
    grid = Image.open(ws.root / meta["grids"][0])
    assert grid.size[0] > 2 * 128  # the image plus one column per probe

    # a re-run finds the finished work in the catalog and loads no model
    calls.clear()
    again = stage.explain_set(ws, ds, "control>rest", "gradcam")
    assert calls == [("knn", 0)] and [a.key for a in again.records] == [art.key]


def test_unknown_set_and_probe_are_user_errors(setup):
    from evalkit.errors import UserError

    ws, ds, _ = setup
    with pytest.raises(UserError, match="did you mean 'control>rest'"):
        stage.explain_set(ws, ds, "control>res", "gradcam")
    with pytest.raises(UserError, match="did you mean 'control'"):
        stage.explain_set(ws, ds, "control>rest", "gradcam", probes=["contrl"])


def test_cli_explain(setup, run_cli):
    ws, _, _ = setup
    code, out, err = run_cli("explain", "--set", "control>rest", "--method", "layercam",
                             "--workspace", str(ws.root))
    assert code == 0, err
    assert "control>rest/layercam/control/seed0: layer cnn/conv2; deletion" in out
    assert "note: skipped knn/seed0" in out
    code, out, err = run_cli("explain", "--set", "control>rest", "--method", "gradcamm",
                             "--workspace", str(ws.root))
    assert code == 2 and "did you mean 'gradcam'" in err and "Traceback" not in err
    code, out, err = run_cli("explain", "--set", "control>rest", "--layer", "conv3",
                             "--probes", "control", "--workspace", str(ws.root))
    assert code == 2 and "layer 'conv3'" in err and "did you mean" in err
