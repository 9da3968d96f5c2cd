"""Each data source on tiny generated data: official batches (folder and tarball), image folder,
zip (plain and wrapped), synthetic, custom data sets, and the array cache."""
from __future__ import annotations

import numpy as np
import pytest

from evalkit.data import load_dataset
from evalkit.data.synthetic import SYNTHETIC_CLASSES
from data_helpers import (CIFAR_CLASSES, _private_cache, png_bytes, tar_folder, tiny_images,  # noqa: F401
                               write_cifar_batches, write_image_folder, zip_folder)


def test_official_batches_folder(tmp_path):
    expected = write_cifar_batches(tmp_path / "cifar-10-batches-py")
    for data in (tmp_path / "cifar-10-batches-py", tmp_path):  # the folder itself or its parent
        ds = load_dataset("cifar10", data, progress=False)
        assert ds.class_names == CIFAR_CLASSES
        train = ds.split("train")
        assert train.images.shape == (40, 32, 32, 3) and train.images.dtype == np.uint8
        np.testing.assert_array_equal(train.images, expected["train"][0])
        np.testing.assert_array_equal(train.labels, expected["train"][1])
        assert train.ids[0] == "data_batch_1:0" and train.ids[20] == "data_batch_2:0"
        np.testing.assert_array_equal(ds.split("test").images, expected["test"][0])
        assert len(ds.source_sha256) == 64


def test_official_tarball_read_in_place(tmp_path):
    expected = write_cifar_batches(tmp_path / "src")
    tar = tar_folder(tmp_path / "src", tmp_path / "tiny-cifar.tar.gz")
    ds = load_dataset("cifar10", tar, progress=False)
    np.testing.assert_array_equal(ds.split("train").images, expected["train"][0])
    np.testing.assert_array_equal(ds.split("test").labels, expected["test"][1])
    assert not (tmp_path / "cifar-10-batches-py").exists()  # nothing extracted
    from evalkit.data.cache import file_sha256
    assert ds.source_sha256 == file_sha256(tar, memo=False)


def test_batches_meta_with_other_class_names_is_refused(tmp_path):
    import pickle

    write_cifar_batches(tmp_path / "b")
    (tmp_path / "b" / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"x"] * 10}))
    with pytest.raises(Exception, match="batches.meta.*label_names"):
        load_dataset("cifar10", tmp_path / "b", progress=False)


def test_image_folder_order_labels_and_ids(tmp_path):
    expected = write_image_folder(tmp_path / "imgs", n_train=2, n_test=1)
    (tmp_path / "imgs" / "README.txt").write_text("not an image")
    ds = load_dataset("cifar10", tmp_path / "imgs", progress=False)
    train = ds.split("train")
    np.testing.assert_array_equal(train.images, expected["train"])
    assert train.labels.tolist() == [c for c in range(10) for _ in range(2)]
    assert train.ids[:3].tolist() == ["train/airplane/0000.png", "train/airplane/0001.png",
                                      "train/automobile/0000.png"]
    assert len(ds.split("test")) == 10


@pytest.mark.parametrize("wrapper", ["", "cifar10/"])
def test_zip_of_image_folder(tmp_path, wrapper):
    expected = write_image_folder(tmp_path / "imgs")
    z = zip_folder(tmp_path / "imgs", tmp_path / "data.zip", wrapper=wrapper)
    ds = load_dataset("cifar10", z, progress=False)
    np.testing.assert_array_equal(ds.split("train").images, expected["train"])
    assert ds.split("test").ids[0] == "test/airplane/0000.png"
    assert not (tmp_path / "train").exists() and not (tmp_path / "cifar10").exists()


def test_zip_decoded_with_worker_pool_matches_serial(tmp_path, monkeypatch):
    import evalkit.data.decode as decode

    expected = write_image_folder(tmp_path / "imgs", n_train=3, n_test=1)
    z = zip_folder(tmp_path / "imgs", tmp_path / "data.zip")
    monkeypatch.setattr(decode, "POOL_MIN_IMAGES", 1)
    monkeypatch.setattr(decode, "CHUNK", 7)
    monkeypatch.setenv("EVALKIT_DECODE_WORKERS", "2")
    ds = load_dataset("cifar10", z, progress=False)
    np.testing.assert_array_equal(ds.split("train").images, expected["train"])


def test_custom_dataset_without_toml_takes_class_folders(tmp_path):
    write_image_folder(tmp_path / "pets", n_train=2, n_test=1, classes=("cat", "dog"), shape=(16, 16, 3))
    ds = load_dataset("pets", tmp_path / "pets", progress=False)
    assert ds.class_names == ("cat", "dog")
    assert ds.split("train").images.shape == (4, 16, 16, 3)


def test_mnist_spec_grayscale_folder(tmp_path):
    write_image_folder(tmp_path / "m", classes=tuple(str(d) for d in range(10)), shape=(28, 28, 1))
    ds = load_dataset("mnist", tmp_path / "m", progress=False)
    assert ds.split("train").images.shape == (20, 28, 28, 1)


def test_synthetic_sources():
    ds = load_dataset("cifar10", "synthetic:3/2")
    assert ds.class_names == SYNTHETIC_CLASSES
    assert len(ds.split("train")) == 30 and len(ds.split("test")) == 20


def test_environment_variable_points_at_data(tmp_path, monkeypatch):
    write_image_folder(tmp_path / "imgs")
    monkeypatch.setenv("EVALKIT_DATA", str(tmp_path / "imgs"))
    assert len(load_dataset("cifar10", progress=False).split("train")) == 20


def test_second_load_comes_from_cache(tmp_path, monkeypatch):
    import evalkit.data.loader as loader

    write_image_folder(tmp_path / "imgs")
    z = zip_folder(tmp_path / "imgs", tmp_path / "data.zip")
    first = load_dataset("cifar10", z, progress=False)

    def _no_decoding(*a, **k):
        raise AssertionError("decoded again instead of using the cache")

    monkeypatch.setattr(loader, "decode_files", _no_decoding)
    second = load_dataset("cifar10", z, progress=False)
    np.testing.assert_array_equal(second.split("train").images, first.split("train").images)
    assert second.split("train").ids.tolist() == first.split("train").ids.tolist()
    assert second.source_sha256 == first.source_sha256
    assert list((tmp_path / "cache" / "arrays").iterdir())[0].joinpath("train_images.npy").is_file()


def test_changed_folder_is_not_served_from_stale_cache(tmp_path):
    write_image_folder(tmp_path / "imgs")
    first = load_dataset("cifar10", tmp_path / "imgs", progress=False)
    new = tiny_images(1, seed=42)
    (tmp_path / "imgs" / "train" / "cat" / "0000.png").write_bytes(png_bytes(new[0]))
    second = load_dataset("cifar10", tmp_path / "imgs", progress=False)
    assert second.source_sha256 != first.source_sha256
    np.testing.assert_array_equal(second.split("train").images[6], new[0])


def test_cli_data_info_counts(tmp_path, run_cli):
    write_image_folder(tmp_path / "imgs", n_train=3, n_test=1)
    code, out, err = run_cli("data", "info", "cifar10", "--data", str(tmp_path / "imgs"))
    assert code == 0, err
    assert "10 classes, 40 images (32x32x3)" in out
    assert "30 train  10 test" in out
    assert any(line.split() == ["cat", "3", "1"] for line in out.splitlines())


def test_loaded_images_are_read_only_on_first_and_cached_load(tmp_path):
    write_image_folder(tmp_path / "imgs")
    for _ in range(2):
        images = load_dataset("cifar10", tmp_path / "imgs", progress=False).split("train").images
        assert type(images) is np.ndarray and not images.flags.writeable


def test_mnist_npz(tmp_path):
    rng = np.random.default_rng(0)
    x_train, x_test = (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) for n in (12, 4))
    y_train, y_test = np.arange(12) % 10, np.arange(4)
    np.savez(tmp_path / "tiny-mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    ds = load_dataset("mnist", tmp_path / "tiny-mnist.npz", progress=False)
    assert ds.split("train").images.shape == (12, 28, 28, 1)
    np.testing.assert_array_equal(ds.split("test").images[..., 0], x_test)
    assert ds.split("train").labels.tolist() == y_train.tolist() and ds.split("test").ids[1] == "test:1"


def test_shared_copy_is_looked_up_from_cwd_and_project_root(tmp_path, monkeypatch):
    from evalkit.data.loader import shared_candidates
    from evalkit.data.spec import PROJECT_ROOT, get_spec

    monkeypatch.chdir(tmp_path)
    assert shared_candidates(get_spec("cifar10")) == [
        tmp_path.parent / "shared" / "datasets" / "cifar10-jpeg.zip",
        PROJECT_ROOT.parent / "shared" / "datasets" / "cifar10-jpeg.zip"]
    assert shared_candidates(get_spec("mnist")) == []


def test_download_when_no_local_copy(tmp_path, monkeypatch):
    """A dataset TOML whose [download] points at a local HTTP server: fetched, verified, loaded."""
    import hashlib
    import http.server
    import threading

    expected = write_cifar_batches(tmp_path / "src")
    www = tmp_path / "www"
    www.mkdir()
    tar = tar_folder(tmp_path / "src", www / "tiny.tar.gz")
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(www), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        specs = tmp_path / "specs"
        specs.mkdir()
        (specs / "tinycifar.toml").write_text(
            'name = "tinycifar"\nclass_names = [%s]\nimage_shape = [32, 32, 3]\n[download]\n'
            'url = "http://127.0.0.1:%d/tiny.tar.gz"\nfilename = "tiny.tar.gz"\nsha256 = "%s"\n'
            'format = "cifar-python"\n' % (", ".join(f'"{c}"' for c in CIFAR_CLASSES), server.server_address[1],
                                           hashlib.sha256(tar.read_bytes()).hexdigest()))
        monkeypatch.setenv("EVALKIT_DATASETS", str(specs))
        ds = load_dataset("tinycifar", progress=False)
    finally:
        server.shutdown()
        server.server_close()
    assert ds.source == str(tmp_path / "cache" / "downloads" / "tiny.tar.gz")
    np.testing.assert_array_equal(ds.split("train").images, expected["train"][0])
