"""evalkit.artifacts: typed keys round-trip, and corrupt stage files are one-line DataErrors."""
from __future__ import annotations

import json

import numpy as np
import pytest

from evalkit.artifacts import (ExplanationKey, MinisetKey, ModelKey, Pool, PredictionsKey, image_hash,
                               load_evalsets, load_pool_predictions, load_scores, predictions_bytes,
                               read_predictions)
from evalkit.errors import DataError, UserError
from evalkit.workspace import atomic_write_bytes, atomic_write_text


@pytest.mark.parametrize("cls,text", [
    (Pool, "cifar10/test"), (ModelKey, "blur-3/seed12"), (PredictionsKey, "control/seed0/cifar10/test"),
    (ExplanationKey, "control>blur/gradcam++/zca_shift/seed3"), (MinisetKey, "cifar10/n2000/seed1"),
    (MinisetKey, "cifar10/n20/seed0/test")])
def test_keys_round_trip(cls, text):
    assert str(cls.parse(text)) == text


def test_key_fields_and_bad_keys():
    k = PredictionsKey.parse("control/seed0/cifar10/test")
    assert k.model == ModelKey("control", 0) and k.pool == Pool("cifar10", "test")
    assert k.path == "predictions/control/seed0/cifar10/test.npz"
    assert ModelKey.parse_ref("control/3") == ModelKey.parse_ref("control/seed3") == ModelKey("control", 3)
    for bad in ("control", "control/x", "a/b/1", ""):
        with pytest.raises(UserError, match="NAME/SEED"):
            ModelKey.parse_ref(bad)
    with pytest.raises(UserError, match="DATASET/SPLIT"):
        Pool.parse("cifar10")


def test_image_hash_is_sha256_of_c_order_bytes():
    import hashlib

    img = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    assert image_hash(np.asfortranarray(img)) == hashlib.sha256(bytes(range(12))).hexdigest()


def _record_predictions(ws, key: str, data: bytes):
    k = PredictionsKey.parse(key)
    atomic_write_bytes(ws.root / k.path, data)
    ws.catalog.record("predictions", key, k.path)
    return ws.root / k.path


def _small_workspace(ws):
    """One probe's predictions, a kept evaluation set and an API's scores on pool synthetic/test."""
    labels = np.arange(20) % 10
    probs = np.eye(10)[labels]
    for seed in (0, 1):
        _record_predictions(ws, f"control/seed{seed}/synthetic/test",
                            predictions_bytes(probs, labels, [f"t{i}" for i in range(20)]))
    doc = {"id": "control>rest", "kind": "rest", "probe_a": "control", "probe_b": "rest",
           "pool": "synthetic/test", "indices": list(range(10)), "labels": labels[:10].tolist(), "kept": True}
    atomic_write_text(ws.root / "sets/control>rest.json", json.dumps(doc))
    ws.catalog.record("evalset", "control>rest", "sets/control>rest.json", meta={"kept": True})
    scores = {"api": "x", "pool": "synthetic/test",
              "images": [{"index": i, "status": "scored", "label": int(labels[i])} for i in range(10)]}
    atomic_write_text(ws.root / "scores/x/scores.json", json.dumps(scores))
    ws.catalog.record("scores", "x", "scores/x/scores.json")


def test_readers_return_what_writers_wrote(workspace):
    _small_workspace(workspace)
    probs = load_pool_predictions(workspace, "synthetic/test")
    assert sorted(probs) == [("control", 0), ("control", 1)] and probs[("control", 0)].dtype == np.float16
    assert [d["id"] for d in load_evalsets(workspace)] == ["control>rest"]
    assert load_scores(workspace, "x")["images"][3]["label"] == 3


@pytest.mark.parametrize("which", ["predictions", "evalset", "scores"])
def test_corrupt_files_are_data_errors_naming_the_path(workspace, run_cli, which):
    _small_workspace(workspace)
    path = {"predictions": workspace.root / "predictions/control/seed0/synthetic/test.npz",
            "evalset": workspace.root / "sets/control>rest.json",
            "scores": workspace.root / "scores/x/scores.json"}[which]
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])  # truncated
    reader = {"predictions": lambda: read_predictions(path), "evalset": lambda: load_evalsets(workspace),
              "scores": lambda: load_scores(workspace, "x")}[which]
    with pytest.raises(DataError, match="not a readable") as err:
        reader()
    assert str(err.value).startswith(f"{path}: ")
    code, _, err_text = run_cli("fingerprint", "--api", "x", "--n-boot", "10", "-w", str(workspace.root))
    assert code == 2 and err_text.startswith(f"error: {path}: ") and err_text.count("\n") == 1
