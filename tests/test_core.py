import pytest

from evalkit.errors import UserError
from evalkit.registry import Registry
from evalkit.workspace import Workspace


def test_registry_suggests_close_name():
    reg = Registry("probe")
    reg.register("control")(object())
    with pytest.raises(UserError, match="did you mean 'control'"):
        reg.get("contrl")


def test_catalog_roundtrip_and_resume(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.catalog.record("model", "control/seed0", "models/a.keras", inputs={"m": 1}, settings={"e": 2})
    again = Workspace(tmp_path / "ws")  # a new process sees what the old one recorded
    art = again.catalog.get("model", "control/seed0")
    assert art.inputs == {"m": 1} and art.settings == {"e": 2}
    assert again.catalog.get("model", "missing") is None
    assert [a.key for a in again.catalog.list("model")] == ["control/seed0"]


def test_cli_version_and_bad_option(run_cli):
    code, out, _ = run_cli("--version")
    assert code == 0 and out.startswith("evalkit ")
    code, _, err = run_cli("--no-such-option")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "no-such-option" in err


def test_synthetic_dataset_shapes(synthetic_dataset):
    train = synthetic_dataset.split("train")
    assert train.images.shape == (400, 32, 32, 3) and train.images.dtype.name == "uint8"
    assert sorted(set(train.labels.tolist())) == list(range(10))
    with pytest.raises(UserError, match="no split"):
        synthetic_dataset.split("tset")
