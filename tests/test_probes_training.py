"""Training tiny versions of every registered probe on synthetic data: artifacts, determinism,
resume, predictions, bias check."""
from __future__ import annotations

import json

import numpy as np
import pytest

from evalkit.data.synthetic import make_synthetic_dataset
from evalkit.probes import (list_probe_specs, load_pool_predictions, load_probe_model, load_probe_spec,
                            train_bank, train_probe)
from evalkit.workspace import Workspace

TINY = dict(train_size=50, epochs=1, batch_size=16, progress=False)


@pytest.fixture(scope="module")
def tiny():
    """10 classes x 6 train / 2 test images of 16x16 pixels."""
    return make_synthetic_dataset(6, 2, size=16, seed=1)


@pytest.fixture(scope="module")
def bank_ws(tmp_path_factory):
    return Workspace(tmp_path_factory.mktemp("bank"))


@pytest.mark.parametrize("name", list_probe_specs())
def test_train_tiny_probe(name, tiny, bank_ws):
    spec = load_probe_spec(name)
    art = train_probe(bank_ws, tiny, name, 0, **TINY)
    folder = bank_ws.abspath(art)
    meta = json.loads((folder / "meta.json").read_text())
    history = json.loads((folder / "history.json").read_text())
    assert art.key == f"{name}/seed0" and art.path == f"models/{name}/seed0"
    assert meta["probe_file_sha256"] == spec.sha256 and meta["miniset"] == "synthetic/n50/seed0"
    assert meta["n_train"] + meta["n_val"] == 50 and meta["n_val"] == 10  # one held out per class
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 1 for v in history.values())
    assert meta["versions"]["numpy"] == np.__version__ and meta["seconds"] > 0
    assert (folder / ("model.keras" if spec.is_keras else "model.joblib")).is_file()

    probs = load_pool_predictions(bank_ws, "synthetic/test")[(name, 0)]
    assert probs.shape == (20, 10) and probs.dtype == np.float16
    np.testing.assert_allclose(probs.astype(float).sum(1), 1.0, atol=1e-2)
    assert meta["test_accuracy"] == pytest.approx(np.mean(probs.argmax(1) == tiny.split("test").labels))

    model = load_probe_model(bank_ws, name, 0)  # reloaded from disk: self-contained
    np.testing.assert_allclose(model.predict_proba(tiny.split("test").images), probs, atol=2e-3)
    if spec.is_keras:
        nested = {layer.name for layer in model.keras_model.layers}
        assert {"preprocess", "cnn"} <= nested
        convs = [l.name for l in model.keras_model.get_layer("cnn").layers if "conv" in l.name]
        assert convs == ["conv1", "conv2", "conv3", "conv4"]
    else:
        assert model.keras_model is None


def test_probes_see_only_their_cue(tiny, bank_ws):
    """In-model transforms: the grayscale probe cannot see channel order; zca_shift can."""
    from evalkit.probes.transforms import apply_transform

    images = tiny.split("test").images
    permuted = apply_transform("channel_permute", images, seed=0)
    for name in ("grayscale", "zca_shift"):
        train_probe(bank_ws, tiny, name, 0, **TINY)
    gray = load_probe_model(bank_ws, "grayscale", 0)
    np.testing.assert_allclose(gray.predict_proba(permuted), gray.predict_proba(images), atol=1e-5)
    zca = load_probe_model(bank_ws, "zca_shift", 0)
    assert np.abs(zca.predict_proba(permuted) - zca.predict_proba(images)).max() > 1e-4


def test_train_bank_resumes(tiny, bank_ws, monkeypatch):
    from evalkit.probes import training

    names = list_probe_specs()
    train_bank(bank_ws, tiny, names, [0], **TINY)
    before = {a.key: a.created for a in bank_ws.catalog.list("model")}
    assert set(before) == {f"{n}/seed0" for n in names}

    calls = []

    def counting(fit):
        def wrapper(*args, **kwargs):
            calls.append(args[0].name)
            return fit(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(training, "fit_keras", counting(training.fit_keras))
    monkeypatch.setattr(training, "_fit_sklearn", counting(training._fit_sklearn))
    train_bank(bank_ws, tiny, names, [0], **TINY)
    assert calls == [] and {a.key: a.created for a in bank_ws.catalog.list("model")} == before
    bank_ws.catalog.delete("model", "control/seed0")  # as if killed before recording
    train_bank(bank_ws, tiny, names, [0], **TINY)
    assert calls == ["control"]


def test_changed_probe_file_or_settings_retrain_instead_of_reusing(tiny, tmp_path, caplog):
    spec_file = tmp_path / "tinycnn.toml"
    text = ('description = "tiny"\narchitecture = "classic_cnn"\n'
            '[architecture_params]\nfilters = [8, 8, 8, 8]\ndense_units = 16\n')
    spec_file.write_text(text)
    ws = Workspace(tmp_path / "ws")
    run = dict(train_size=50, epochs=1, batch_size=8, progress=False)
    first = train_probe(ws, tiny, load_probe_spec(spec_file), 0, **run)
    assert train_probe(ws, tiny, load_probe_spec(spec_file), 0, **run).created == first.created
    params_before = load_probe_model(ws, "tinycnn", 0).keras_model.count_params()
    spec_file.write_text(text.replace("dense_units = 16", "dense_units = 12"))
    with caplog.at_level("WARNING", logger="evalkit.probes.training"):
        second = train_probe(ws, tiny, load_probe_spec(spec_file), 0, **run)
    assert second.created > first.created and "tinycnn.toml changed" in caplog.text
    assert load_probe_model(ws, "tinycnn", 0).keras_model.count_params() < params_before
    assert second.inputs["probe_file_sha256"] == load_probe_spec(spec_file).sha256
    third = train_probe(ws, tiny, load_probe_spec(spec_file), 0, **{**run, "epochs": 2})
    assert third.created > second.created and third.settings["epochs"] == 2
    assert [a.key for a in ws.catalog.list("predictions")] == ["tinycnn/seed0/synthetic/test"]


def test_training_is_deterministic(tiny, tmp_path):
    tiny_spec = tmp_path / "tinycnn.toml"
    tiny_spec.write_text(
        'description = "tiny"\narchitecture = "classic_cnn"\naugmentations = ["flip", "translate"]\n'
        '[architecture_params]\nfilters = [8, 8, 8, 8]\ndense_units = 16\n')
    spec = load_probe_spec(tiny_spec)
    runs = []
    for k in range(2):
        ws = Workspace(tmp_path / f"ws{k}")
        train_probe(ws, tiny, spec, 3, train_size=50, epochs=1, batch_size=8, progress=False)
        runs.append((load_probe_model(ws, "tinycnn", 3).keras_model.get_weights(),
                     load_pool_predictions(ws, "synthetic/test")[("tinycnn", 3)]))
    (w0, p0), (w1, p1) = runs
    assert all(np.array_equal(a, b) for a, b in zip(w0, w1))
    assert np.array_equal(p0, p1)
    other = Workspace(tmp_path / "ws_seed4")
    train_probe(other, tiny, spec, 4, train_size=50, epochs=1, batch_size=8, progress=False)
    w2 = load_probe_model(other, "tinycnn", 4).keras_model.get_weights()
    assert not all(np.array_equal(a, b) for a, b in zip(w0, w2))


def test_check_bias_reports_every_probe_and_transform(tiny, bank_ws):
    from evalkit.probes.bias import check_bias, format_bias_table

    names = ["control", "grayscale", "patch_shuffle"]
    for n in names:
        train_probe(bank_ws, tiny, n, 0, **TINY)
    report = check_bias(bank_ws, tiny, names, [0])
    assert {(r.probe, r.transform) for r in report.rows} == {
        (p, t) for p in names for t in ("channel_permute", "grayscale", "patch_shuffle")}
    gray = [r for r in report.rows if r.probe == "grayscale" and r.transform == "channel_permute"][0]
    assert gray.removed_accuracy == pytest.approx(gray.clean_accuracy)
    exp = {(e.probe, e.transform): e for e in report.expectations}
    assert set(exp) == {("grayscale", "grayscale"), ("grayscale", "channel_permute"),
                        ("patch_shuffle", "patch_shuffle")}
    assert exp[("patch_shuffle", "patch_shuffle")].control_kept == report.kept("control", "patch_shuffle")
    assert "| grayscale |" in format_bias_table(report)


def test_cli_train_resumes_and_predicts(run_cli, tmp_path):
    args = ("--data", "synthetic:6/2", "--workspace", str(tmp_path / "ws"))
    code, out, err = run_cli("probes", "train", "--probes", "knn", "--seeds", "0-1",
                             "--train-size", "50", "--epochs", "1", *args)
    assert code == 0, err
    assert "knn/seed0" in out and "knn/seed1" in out
    code, out2, _ = run_cli("probes", "train", "--probes", "knn", "--seeds", "0-1",
                            "--train-size", "50", "--epochs", "1", *args)
    assert code == 0 and out2 == out  # nothing retrained: same recorded results
    code, out, _ = run_cli("probes", "predict", "--probes", "knn", "--seeds", "0", "--split", "train", *args)
    assert code == 0 and "knn/seed0/synthetic/train" in out
    ws = Workspace(tmp_path / "ws")
    assert ws.catalog.get("pool", "synthetic/train").meta["n"] == 60
    code, _, err = run_cli("probes", "train", "--seeds", "3-1", *args)
    assert code == 2 and "--seeds" in err


@pytest.mark.parametrize("ema_momentum", [0.0, 0.9])
def test_kept_weights_are_the_best_validated_ones(tiny, tmp_path, ema_momentum):
    """Early stopping keeps the epoch with the best validation accuracy; with a weight average
    (ema_momentum > 0) that is the averaged model, and validation scores the average too."""
    from evalkit.probes.training import fit_keras

    spec_file = tmp_path / "tinyema.toml"
    spec_file.write_text('description = "tiny"\narchitecture = "classic_cnn"\n'
                         '[architecture_params]\nfilters = [8, 8, 8, 8]\ndense_units = 16\n'
                         f'[training]\nlearning_rate = 0.003\nema_momentum = {ema_momentum}\n')
    train = make_synthetic_dataset(20, 1, size=16, seed=2).split("train")
    x, y = train.images, train.labels
    model, history = fit_keras(load_probe_spec(spec_file), x[::2], y[::2], x[1::2], y[1::2],
                               n_classes=10, seed=0, epochs=6, batch_size=8)
    kept = float(np.mean(model.predict(x[1::2].astype(np.float32), verbose=0).argmax(1) == y[1::2]))
    assert len(history["val_accuracy"]) == 6 and len(set(history["val_accuracy"])) > 1
    assert kept == pytest.approx(max(history["val_accuracy"]))
    assert model.optimizer.use_ema == (ema_momentum > 0)
