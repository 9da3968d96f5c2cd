"""Where built-in and user probe, dataset and API files are found; CLI root flags."""
from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def test_builtin_dirs_are_the_top_level_folders():
    from evalkit.resources import builtin_dir

    for kind in ("probes", "datasets", "apis"):
        assert sorted(p.name for p in builtin_dir(kind).glob("*.toml")) == \
            sorted(p.name for p in (ROOT / kind).glob("*.toml"))


def test_user_probe_folder_adds_and_overrides(tmp_path, monkeypatch, run_cli):
    from evalkit.probes.spec import list_probe_specs, load_probe_spec

    (tmp_path / "control.toml").write_text('description = "my control"\narchitecture = "knn"\n')
    (tmp_path / "mine.toml").write_text('description = "mine"\narchitecture = "knn"\n')
    monkeypatch.setenv("EVALKIT_PROBES", "")  # restored after the test (--probes-dir appends to it)
    assert load_probe_spec("control").architecture == "classic_cnn"
    code, out, err = run_cli("--probes-dir", str(tmp_path), "probes", "show", "control")
    assert code == 0 and "my control" in out, err
    assert "mine" in list_probe_specs() and load_probe_spec("control").path == tmp_path / "control.toml"
    code, _, err = run_cli("--probes-dir", str(tmp_path / "nope"), "probes", "list")
    assert code == 2 and "--probes-dir" in err and len(err.strip().splitlines()) == 1


def test_api_files_by_name(tmp_path, monkeypatch):
    from evalkit.resources import resolve_api_file
    from evalkit.scoring import load_api_config

    monkeypatch.chdir(tmp_path)
    assert resolve_api_file("local-probe").name == "local-probe.toml"
    assert resolve_api_file("apis/tfserving.toml").name == "tfserving.toml"
    assert load_api_config("google-vision").adapter == "google-vision"
    with pytest.raises(UserError, match="did you mean 'google-vision'"):
        resolve_api_file("googel-vision")
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "local-probe.toml").write_text("x = 1\n")
    monkeypatch.setenv("EVALKIT_APIS", str(tmp_path / "extra"))
    assert resolve_api_file("local-probe") == tmp_path / "extra" / "local-probe.toml"


def test_datasets_found_outside_the_source_tree(tmp_path, monkeypatch):
    from evalkit.data.spec import available_datasets, get_spec

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EVALKIT_DATASETS", raising=False)
    assert {"cifar10", "mnist"} <= set(available_datasets())
    assert get_spec("cifar10").class_names[0] == "airplane"


@pytest.mark.parametrize("args, expected", [
    (["--verbose", "run", "x.toml"], True), (["-v", "probes", "list"], True),
    (["--probes-dir", "d", "--verbose", "run"], True), (["run", "x.toml", "--verbose"], False),
    (["probes", "list"], False), ([], False),
])
def test_root_verbose_flag(args, expected):
    from evalkit.cli.main import _root_flag

    assert _root_flag(args, "--verbose", "-v") is expected
