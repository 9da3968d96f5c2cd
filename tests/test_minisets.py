"""Mini-sets: stratified, byte-identical per seed, refused against other data, recorded once."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from evalkit.errors import UserError
from evalkit.minisets import draw_miniset, image_hash, load_manifest, sample_to_workspace


def test_image_hash_is_sha256_of_raw_bytes():
    import hashlib

    img = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    assert image_hash(img) == hashlib.sha256(bytes(range(12))).hexdigest()
    assert image_hash(np.asfortranarray(img)) == image_hash(img)  # C order, whatever the layout


def test_stratified_and_sorted(synthetic_dataset):
    ms = draw_miniset(synthetic_dataset, 100, seed=0)
    assert len(ms.indices) == 100 and list(ms.indices) == sorted(set(ms.indices))
    assert set(ms.per_class().values()) == {10}
    train = synthetic_dataset.split("train")
    assert list(ms.labels) == train.labels[list(ms.indices)].tolist()
    assert ms.hashes[3] == image_hash(train.images[ms.indices[3]])
    assert ms.ids[0] == train.ids[ms.indices[0]]


def test_remainder_is_spread_deterministically(synthetic_dataset):
    a = draw_miniset(synthetic_dataset, 23, seed=5)
    counts = sorted(a.per_class().values())
    assert counts == [2] * 7 + [3] * 3
    assert draw_miniset(synthetic_dataset, 23, seed=5).per_class() == a.per_class()


def test_same_seed_same_bytes_other_seed_differs(synthetic_dataset):
    from evalkit.data.synthetic import make_synthetic_dataset

    text = draw_miniset(synthetic_dataset, 50, seed=7).to_json()
    rebuilt = make_synthetic_dataset(40, 10, seed=0)  # the same data, built again from scratch
    assert draw_miniset(rebuilt, 50, seed=7).to_json().encode() == text.encode()
    assert draw_miniset(synthetic_dataset, 50, seed=8).to_json() != text
    raw = json.loads(text)
    assert raw["seed"] == 7 and raw["size"] == 50 and raw["dataset"] == "synthetic"
    assert raw["source_sha256"] == synthetic_dataset.source_sha256
    assert text == json.dumps(raw, sort_keys=True, separators=(",", ":")) + "\n"  # canonical


def test_too_large_sizes_are_user_errors(synthetic_dataset):
    with pytest.raises(UserError, match="larger than the train split"):
        draw_miniset(synthetic_dataset, 401, seed=0)
    train = synthetic_dataset.split("train")
    unbalanced = dataclasses.replace(synthetic_dataset, splits={"train": train.subset(np.arange(38, 400))})
    with pytest.raises(UserError, match="class 'circle_warm' has only 2 images .* cannot draw 10"):
        draw_miniset(unbalanced, 100, seed=0)
    with pytest.raises(UserError, match="no split 'val'"):
        draw_miniset(synthetic_dataset, 10, seed=0, split="val")


def test_manifest_roundtrip_and_mismatch_refusal(tmp_path, synthetic_dataset):
    from evalkit.data.synthetic import make_synthetic_dataset

    ms = draw_miniset(synthetic_dataset, 40, seed=1)
    path = tmp_path / "m.json"
    path.write_text(ms.to_json())
    assert load_manifest(path, synthetic_dataset) == ms
    other = make_synthetic_dataset(40, 10, seed=1)  # same shape and labels, different pixels
    with pytest.raises(UserError, match=r"m\.json: 40 of 40 image hashes .* differ") as exc:
        load_manifest(path, other)
    assert "another copy of synthetic" in str(exc.value)
    # one tampered pixel is enough
    images = synthetic_dataset.split("train").images.copy()
    images[ms.indices[5], 0, 0, 0] ^= 1
    tampered = dataclasses.replace(synthetic_dataset, splits={
        "train": dataclasses.replace(synthetic_dataset.split("train"), images=images),
        "test": synthetic_dataset.split("test")})
    with pytest.raises(UserError, match=rf"1 of 40 image hashes .* \(first at index {ms.indices[5]}\)"):
        load_manifest(path, tampered)


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"format": "other"}', "not a mini-set manifest"),
    ('{"format": "evalkit-miniset/1", "dataset": "x"}', "lacks field"),
])
def test_bad_manifest_files(tmp_path, synthetic_dataset, content, message):
    path = tmp_path / "m.json"
    path.write_text(content)
    with pytest.raises(UserError, match=message) as exc:
        load_manifest(path, synthetic_dataset)
    assert str(path) in str(exc.value)
    with pytest.raises(UserError, match="manifest not found"):
        load_manifest(tmp_path / "missing.json", synthetic_dataset)


def test_sample_to_workspace_records_once(workspace, synthetic_dataset, monkeypatch):
    import evalkit.minisets.manifest as manifest

    art = sample_to_workspace(workspace, synthetic_dataset, 30, seed=2)
    assert art.kind == "miniset" and art.key == "synthetic/n30/seed2"
    assert art.path == "minisets/synthetic-n30-seed2.json"
    assert workspace.abspath(art).read_text() == draw_miniset(synthetic_dataset, 30, 2).to_json()
    assert art.settings == {"size": 30, "seed": 2, "split": "train"}
    assert art.inputs["source_sha256"] == synthetic_dataset.source_sha256

    monkeypatch.setattr(manifest, "draw_miniset", lambda *a, **k: pytest.fail("drew again"))
    again = sample_to_workspace(workspace, synthetic_dataset, 30, seed=2)
    assert again.created == art.created
    monkeypatch.undo()
    workspace.abspath(art).unlink()  # recorded but file gone: redo it
    assert sample_to_workspace(workspace, synthetic_dataset, 30, seed=2).created > art.created
    assert workspace.abspath(art).is_file()


def test_cli_sample_prints_manifest_path(tmp_path, run_cli):
    ws = tmp_path / "ws"
    argv = ("sample", "--dataset", "cifar10", "--size", "20", "--seed", "0", "--data", "synthetic:5/2",
            "--workspace", str(ws))
    code, out, err = run_cli(*argv)
    assert code == 0, err
    path = out.strip().splitlines()[-1]
    assert path == str(ws / "minisets" / "synthetic-n20-seed0.json")
    first = open(path, "rb").read()
    assert json.loads(first)["size"] == 20
    code, out2, _ = run_cli(*argv)
    assert code == 0 and out2.strip().splitlines()[-1] == path and open(path, "rb").read() == first
    code, _, err = run_cli("sample", "--size", "1000", "--data", "synthetic:5/2", "--workspace", str(ws))
    assert code == 2 and err.startswith("error: ") and "larger than the train split" in err
    assert len(err.strip().splitlines()) == 1
