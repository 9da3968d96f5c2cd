"""Bad input: each case is a DataError naming the file; --skip-bad skips and counts single images."""
from __future__ import annotations

import hashlib
import http.server
import threading

import numpy as np
import pytest

from evalkit.data import load_dataset
from evalkit.errors import DataError
from data_helpers import (_private_cache, png_bytes, tar_folder, tiny_images,  # noqa: F401
                               write_cifar_batches, write_image_folder, zip_folder)

CAT = "train/cat/0000.png"


def _corrupt(path):
    path.write_bytes(b"garbage, not an image" * 10)


def _truncated(path):
    path.write_bytes(path.read_bytes()[:60])


def _wrong_size(path):
    path.write_bytes(png_bytes(tiny_images(1, 5, shape=(31, 32, 3))[0]))


def _grayscale(path):
    path.write_bytes(png_bytes(tiny_images(1, 5)[0], mode="L"))


def _rgba(path):
    path.write_bytes(png_bytes(tiny_images(1, 5)[0], mode="RGBA"))


BAD_IMAGES = {"corrupt": (_corrupt, "not a readable image"),
              "truncated": (_truncated, "corrupt or truncated image"),
              "wrong size": (_wrong_size, "image is 32x31, expected 32x32"),
              "grayscale": (_grayscale, r"grayscale image \(mode L\), expected RGB"),
              "rgba": (_rgba, r"RGBA image \(mode RGBA\), expected RGB")}


@pytest.mark.parametrize("case", sorted(BAD_IMAGES))
@pytest.mark.parametrize("as_zip", [False, True])
def test_bad_image_names_the_file(tmp_path, case, as_zip):
    spoil, reason = BAD_IMAGES[case]
    write_image_folder(tmp_path / "imgs")
    spoil(tmp_path / "imgs" / CAT)
    data = zip_folder(tmp_path / "imgs", tmp_path / "d.zip") if as_zip else tmp_path / "imgs"
    with pytest.raises(DataError, match=reason) as exc:
        load_dataset("cifar10", data, progress=False)
    assert CAT in str(exc.value) and "--skip-bad" in str(exc.value)
    assert "\n" not in str(exc.value)


def test_skip_bad_skips_and_lists_single_images(tmp_path):
    write_image_folder(tmp_path / "imgs", n_train=3)
    _grayscale(tmp_path / "imgs" / CAT)
    _corrupt(tmp_path / "imgs" / "train" / "dog" / "0002.png")
    ds = load_dataset("cifar10", tmp_path / "imgs", skip_bad=True, progress=False)
    train = ds.split("train")
    assert len(train) == 28
    assert CAT not in train.ids.tolist() and "train/cat/0001.png" in train.ids.tolist()
    assert np.bincount(train.labels).tolist() == [3, 3, 3, 2, 3, 2, 3, 3, 3, 3]
    assert len(ds.skipped) == 2 and any(CAT in s and "grayscale" in s for s in ds.skipped)
    # the cache remembers the bad images: without --skip-bad it still refuses
    with pytest.raises(DataError, match="and 1 more bad image"):
        load_dataset("cifar10", tmp_path / "imgs", progress=False)
    again = load_dataset("cifar10", tmp_path / "imgs", skip_bad=True, progress=False)
    assert again.skipped == ds.skipped and len(again.split("train")) == 28


def test_empty_and_missing_class_folders(tmp_path):
    write_image_folder(tmp_path / "imgs")
    for f in (tmp_path / "imgs" / "test" / "frog").iterdir():
        f.unlink()
    with pytest.raises(DataError, match=r"empty class folder 'test/frog'") as exc:
        load_dataset("cifar10", tmp_path / "imgs", progress=False)
    assert str(tmp_path / "imgs") in str(exc.value)
    # the same in a zip (the folder exists only as a directory entry)
    with pytest.raises(DataError, match=r"empty class folder 'test/frog'"):
        load_dataset("cifar10", zip_folder(tmp_path / "imgs", tmp_path / "d.zip"), progress=False)
    (tmp_path / "imgs" / "test" / "frog").rmdir()
    with pytest.raises(DataError, match=r"missing class folder 'test/frog'"):
        load_dataset("cifar10", tmp_path / "imgs", progress=False)


def test_unknown_class_folder_suggests(tmp_path):
    write_image_folder(tmp_path / "imgs")
    (tmp_path / "imgs" / "train" / "cat").rename(tmp_path / "imgs" / "train" / "cats")
    with pytest.raises(DataError, match=r"unknown class folder 'train/cats' \(did you mean 'cat'\?\)"):
        load_dataset("cifar10", tmp_path / "imgs", progress=False)


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_truncated_archive(tmp_path, kind):
    if kind == "zip":
        write_image_folder(tmp_path / "imgs")
        archive = zip_folder(tmp_path / "imgs", tmp_path / "d.zip")
    else:
        write_cifar_batches(tmp_path / "src")
        archive = tar_folder(tmp_path / "src", tmp_path / "t.tar.gz")
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(DataError, match=f"truncated or corrupt {kind}") as exc:
        load_dataset("cifar10", archive, progress=False)
    assert str(archive) in str(exc.value)


def test_checksum_mismatch_with_sidecar_file(tmp_path):
    write_image_folder(tmp_path / "imgs")
    z = zip_folder(tmp_path / "imgs", tmp_path / "d.zip")
    good = hashlib.sha256(z.read_bytes()).hexdigest()
    (tmp_path / "d.zip.sha256").write_text(f"{good}  d.zip\n")
    assert load_dataset("cifar10", z, progress=False).source_sha256 == good
    (tmp_path / "d.zip.sha256").write_text("0" * 64 + "  d.zip\n")
    with pytest.raises(DataError, match="checksum mismatch") as exc:
        load_dataset("cifar10", z, progress=False)
    assert str(z) in str(exc.value)


def test_checksum_mismatch_of_official_archive_name(tmp_path):
    write_cifar_batches(tmp_path / "src")
    tar = tar_folder(tmp_path / "src", tmp_path / "cifar-10-python.tar.gz")
    with pytest.raises(DataError, match="checksum mismatch: the official cifar-10-python.tar.gz has sha256 6d958b"):
        load_dataset("cifar10", tar, progress=False)


@pytest.fixture()
def local_server(tmp_path):
    """Serve tmp_path/www over http://127.0.0.1 (the download code path without internet)."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(root), **k)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_verifies_checksum(tmp_path, local_server):
    from evalkit.data.download import download_file

    root, url = local_server
    (root / "a.bin").write_bytes(b"x" * 5000)
    good = hashlib.sha256(b"x" * 5000).hexdigest()
    dest = download_file(f"{url}/a.bin", tmp_path / "dl" / "a.bin", good, progress=False)
    assert dest.read_bytes() == b"x" * 5000
    with pytest.raises(DataError, match=f"checksum mismatch: expected sha256 {'1' * 64}") as exc:
        download_file(f"{url}/a.bin", tmp_path / "dl" / "b.bin", "1" * 64, progress=False)
    assert f"{url}/a.bin" in str(exc.value)
    assert not list((tmp_path / "dl").glob("b.bin*"))  # no half-verified file left behind


def test_missing_source_and_unknown_format(tmp_path):
    with pytest.raises(DataError, match="data source not found"):
        load_dataset("cifar10", tmp_path / "nope.zip", progress=False)
    (tmp_path / "x.dat").write_bytes(b"hello")
    with pytest.raises(DataError, match="unknown data format"):
        load_dataset("cifar10", tmp_path / "x.dat", progress=False)


def test_cli_errors_are_one_line_exit_2(tmp_path, run_cli):
    write_image_folder(tmp_path / "imgs")
    _rgba(tmp_path / "imgs" / CAT)
    code, out, err = run_cli("data", "info", "cifar10", "--data", str(tmp_path / "imgs"))
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert CAT in err and "Traceback" not in err
    code, out, err = run_cli("data", "info", "cifar10", "--data", str(tmp_path / "imgs"), "--skip-bad")
    assert code == 0 and "skipped 1 bad image(s)" in out
    code, _, err = run_cli("data", "info", "cifra10", "--data", str(tmp_path / "imgs"))
    assert code == 2 and "did you mean 'cifar10'" in err
