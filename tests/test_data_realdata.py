"""The shared CIFAR-10 zip (skipped when absent).

The layout test only lists the zip (about 1 s). The loading tests decode 60,000 JPEGs on their
first run (25 s on 2 idle cores, 90 s measured on a loaded machine), so they are marked slow; once
the default cache holds the arrays they take about 2 s. Run them with ``pytest -m slow``."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.realdata

CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def test_shared_cifar_zip_layout(shared_cifar_zip):
    from evalkit.data.imagefolder import list_zip, plan_images

    plan = plan_images(list_zip(shared_cifar_zip), CIFAR_CLASSES)
    assert len(plan.splits["train"]) == 50_000 and len(plan.splits["test"]) == 10_000
    train_labels = np.array([label for _, _, label in plan.splits["train"]])
    assert np.bincount(train_labels).tolist() == [5000] * 10


@pytest.mark.slow
def test_shared_cifar_zip_counts(shared_cifar_zip):
    from evalkit.data import load_dataset

    ds = load_dataset("cifar10", shared_cifar_zip, progress=False)
    assert ds.class_names == CIFAR_CLASSES
    train, test = ds.split("train"), ds.split("test")
    assert train.images.shape == (50_000, 32, 32, 3) and test.images.shape == (10_000, 32, 32, 3)
    assert np.bincount(train.labels).tolist() == [5000] * 10
    assert np.bincount(test.labels).tolist() == [1000] * 10
    sidecar = shared_cifar_zip.with_name(shared_cifar_zip.name + ".sha256")
    if sidecar.is_file():
        assert ds.source_sha256 == sidecar.read_text().split()[0]
    assert train.ids[0] == "train/airplane/0000.jpg" and ds.skipped == ()


@pytest.mark.slow
def test_cli_data_info_on_shared_zip(shared_cifar_zip):
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    out = subprocess.run([sys.executable, "-m", "evalkit", "data", "info", "cifar10", "--data",
                          str(shared_cifar_zip)], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "50,000 train  10,000 test" in out.stdout and "10 classes, 60,000 images (32x32x3)" in out.stdout
