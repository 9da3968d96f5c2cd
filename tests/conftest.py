"""Shared fixtures. Tests make their own small synthetic data; real-data tests read the shared
CIFAR-10 copy and are skipped when it is absent."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_CIFAR_ZIP = PROJECT_ROOT.parent / "shared" / "datasets" / "cifar10-jpeg.zip"


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def shared_cifar_zip() -> Path:
    if not SHARED_CIFAR_ZIP.is_file():
        pytest.skip(f"real-data test: {SHARED_CIFAR_ZIP} not present")
    return SHARED_CIFAR_ZIP


@pytest.fixture(scope="session")
def synthetic_dataset():
    """10 classes, 40 train + 10 test images per class, 32x32 RGB."""
    from evalkit.data.synthetic import make_synthetic_dataset

    return make_synthetic_dataset(40, 10, seed=0)


@pytest.fixture()
def workspace(tmp_path):
    from evalkit.workspace import Workspace

    return Workspace(tmp_path / "ws")


@pytest.fixture()
def run_cli(capsys):
    """Run the evalkit CLI in-process: returns (exit_code, stdout, stderr)."""
    from evalkit.cli.main import main

    def _run(*argv: str):
        code = 0
        try:
            main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run
