"""`load_dataset`: find the source, detect its format, read it (or its cached arrays)."""
from __future__ import annotations

import hashlib
import os
import re
import tarfile
import zipfile
from pathlib import Path

import numpy as np

from ..errors import DataError, UserError, did_you_mean
from . import cache
from .decode import decode_files
from .imagefolder import SPLITS, Listing, list_folder, list_zip, plan_images
from .images import ImageSplit, LoadedDataset
from .official import is_cifar_batches_dir, read_cifar_folder, read_cifar_tar, read_mnist_npz
from .spec import PROJECT_ROOT, DatasetSpec, available_datasets, find_spec, get_spec

DATA_ENV = "EVALKIT_DATA"
_SYNTHETIC = re.compile(r"^synthetic(?::(\d+)/(\d+))?$")
_EXPECTED = ("expected the official .tar.gz, a cifar-10-batches-py/ folder, an image folder "
             "<split>/<class>/<image> or a .zip of one")


def load_dataset(name: str = "cifar10", data: str | os.PathLike | None = None, *,
                 skip_bad: bool = False, progress: bool = True) -> LoadedDataset:
    """Load ``name`` from ``data`` (path, ``"synthetic[:N_TRAIN/N_TEST]"``), else $EVALKIT_DATA,
    else ``../shared/datasets/<shared_copy>``, else the official download. Decoded arrays are
    cached (see :mod:`evalkit.data.cache`). Bad images raise DataError unless ``skip_bad``.
    A name without ``datasets/<name>.toml`` is a custom image-folder data set: classes are its
    folders (sorted), the image size and mode (RGB or L) those of its first training image."""
    if data is None and os.environ.get(DATA_ENV):
        data = os.environ[DATA_ENV]
    if isinstance(data, str) and data.startswith("synthetic"):
        return _synthetic(data)
    spec = find_spec(name)
    if data is not None:
        path = Path(data).expanduser()
        if not path.exists():
            raise DataError(f"data source not found; {_EXPECTED}", path=path)
    else:
        path = _default_source(get_spec(name), progress=progress)
    return load_source(path, spec, name=name, skip_bad=skip_bad, progress=progress)


def _synthetic(text: str) -> LoadedDataset:
    from .synthetic import make_synthetic_dataset

    m = _SYNTHETIC.match(text)
    if not m:
        raise UserError(f"data {text!r}: expected 'synthetic' or 'synthetic:N_TRAIN/N_TEST' "
                        "(images per class), e.g. 'synthetic:40/10'")
    if m.group(1) is None:
        return make_synthetic_dataset()
    n_train, n_test = int(m.group(1)), int(m.group(2))
    if n_train < 1 or n_test < 1:
        raise UserError(f"data {text!r}: image counts per class must be at least 1")
    return make_synthetic_dataset(n_train, n_test)


def shared_candidates(spec: DatasetSpec) -> list[Path]:
    """Where the shared copy is looked for: ../shared/datasets/ from the cwd and the project root."""
    if not spec.shared_copy:
        return []
    rel = Path("shared") / "datasets" / spec.shared_copy
    return [Path.cwd().parent / rel, PROJECT_ROOT.parent / rel]


def _default_source(spec: DatasetSpec, *, progress: bool) -> Path:
    for candidate in shared_candidates(spec):
        if candidate.is_file():
            return candidate.resolve()
    from .download import download_dataset

    return download_dataset(spec, progress=progress)


def detect_format(path: Path) -> str:
    """One of: cifar-folder, image-folder, zip, cifar-tar, mnist-npz (DataError otherwise)."""
    if path.is_dir():
        return "cifar-folder" if is_cifar_batches_dir(path) else "image-folder"
    name = path.name.lower()
    if name.endswith(".npz"):
        return "mnist-npz"
    if name.endswith(".zip"):
        return "zip"
    if name.endswith((".tar", ".tar.gz", ".tgz")):
        return "cifar-tar"
    if zipfile.is_zipfile(path):
        return "zip"
    if tarfile.is_tarfile(path):
        return "cifar-tar"
    raise DataError(f"unknown data format; {_EXPECTED}", path=path)


def verify_checksum(path: Path, digest: str, spec: DatasetSpec | None) -> None:
    """Check a file against ``<file>.sha256`` beside it, and the official archive against the spec."""
    sidecar = path.with_name(path.name + ".sha256")
    if sidecar.is_file():
        expected = (sidecar.read_text().split() or [""])[0].lower()
        if expected != digest:
            raise DataError(f"checksum mismatch: {sidecar.name} says sha256 {expected}, the file has "
                            f"{digest}; the copy is corrupt or was modified", path=path)
    if spec is not None and spec.download is not None and path.name == spec.download.filename \
            and digest != spec.download.sha256:
        raise DataError(f"checksum mismatch: the official {spec.download.filename} has sha256 "
                        f"{spec.download.sha256}, this file has {digest}", path=path)


def load_source(path: Path, spec: DatasetSpec | None, *, name: str, skip_bad: bool = False,
                progress: bool = True) -> LoadedDataset:
    """Read one source (any supported format), through the array cache."""
    path = Path(path).resolve()
    fmt = detect_format(path)
    if spec is None and (fmt not in ("image-folder", "zip") or did_you_mean(name, available_datasets())):
        get_spec(name)  # array formats need a spec; a near-miss name is a typo, not a custom set
    listing: Listing | None = None
    if fmt == "image-folder":
        listing = list_folder(path)
        fingerprint = "listing:" + hashlib.sha256(listing.fingerprint.encode()).hexdigest()
    elif fmt == "cifar-folder":
        root = is_cifar_batches_dir(path)
        lines = sorted(f"{p.name}\t{p.stat().st_size}\t{p.stat().st_mtime_ns}" for p in root.iterdir() if p.is_file())
        fingerprint = "listing:" + hashlib.sha256("\n".join(lines).encode()).hexdigest()
    else:
        fingerprint = cache.file_sha256(path)
        verify_checksum(path, fingerprint, spec)
    key = cache.cache_key(fingerprint, spec.fingerprint() if spec else f"custom|{name}")
    hit = cache.load_arrays(name, key)
    if hit is not None:
        meta, splits = hit
        bad = [tuple(b) for b in meta["bad"]]
        if bad and not skip_bad:
            _raise_bad(bad)
        return LoadedDataset(name, tuple(meta["class_names"]), splits, str(path), meta["source_sha256"],
                             tuple(f"{p}: {r}" for p, r in bad))
    bad: list[tuple[str, str]] = []
    if fmt == "cifar-tar":
        splits, digest = read_cifar_tar(path, spec), fingerprint
    elif fmt == "mnist-npz":
        splits, digest = read_mnist_npz(path, spec), fingerprint
    elif fmt == "cifar-folder":
        root = is_cifar_batches_dir(path)
        splits = read_cifar_folder(root, spec)
        digest = hashlib.sha256("".join(f"{p.name}\t{cache.file_sha256(p, memo=False)}\n"
                                        for p in sorted(root.iterdir()) if p.is_file()).encode()).hexdigest()
    else:
        listing = listing or list_zip(path)
        splits, digest, bad = _read_images(listing, spec, name, skip_bad=skip_bad, progress=progress)
    class_names = next(iter(splits.values())).class_names
    meta = {"name": name, "class_names": list(class_names), "source": str(path),
            "source_sha256": digest, "bad": [list(b) for b in bad]}
    cache.save_arrays(name, key, meta, splits)
    # Serve the fresh load from the cache too, so every load gives the same read-only arrays.
    _, splits = cache.load_arrays(name, key)
    return LoadedDataset(name, class_names, splits, str(path), digest, tuple(f"{p}: {r}" for p, r in bad))


def _read_images(listing: Listing, spec: DatasetSpec | None, name: str, *, skip_bad: bool, progress: bool):
    plan = plan_images(listing, spec.class_names if spec else None)
    if spec is None:
        spec = _infer_spec(listing, plan, name)
    splits, bad, digests = {}, [], []
    for split in SPLITS:
        entries = plan.splits[split]
        names = [e[0] for e in entries]
        images, errors, file_digests = decode_files(listing.kind, listing.root, names, spec.image_shape,
                                                    spec.color_mode, progress=progress, desc=f"decoding {split}")
        split_bad = [(f"{listing.root}/{names[i]}", reason) for i, reason in errors]
        if split_bad and not skip_bad:
            _raise_bad(split_bad)
        bad.extend(split_bad)
        keep = np.ones(len(entries), dtype=bool)
        keep[[i for i, _ in errors]] = False
        labels = np.array([e[2] for e in entries], dtype=np.int64)
        for label in set(range(len(plan.class_names))) - set(labels[keep].tolist()):
            raise DataError(f"every image of class folder '{split}/{plan.class_names[label]}' is bad",
                            path=listing.root)
        ids = np.array([e[1] for e in entries])
        splits[split] = ImageSplit(images[keep], labels[keep], ids[keep], plan.class_names)
        digests.extend(f"{e[1]}\t{d}\n" for e, d in zip(entries, file_digests))
    if listing.kind == "zip":
        digest = cache.file_sha256(listing.root)
    else:
        digest = hashlib.sha256("".join(sorted(digests)).encode()).hexdigest()
    return splits, digest, bad


def _infer_spec(listing: Listing, plan, name: str) -> DatasetSpec:
    """A custom data set without a TOML: shape and colour mode of its first training image."""
    from PIL import Image
    import io

    from .decode import BadImage, SourceReader

    first = plan.splits["train"][0][0]
    reader = SourceReader(listing.kind, str(listing.root))
    try:
        with Image.open(io.BytesIO(reader.read(first))) as im:
            mode, (w, h) = im.mode, im.size
    except (OSError, BadImage) as exc:
        raise DataError(f"cannot read the first image to learn the image size ({exc})",
                        path=f"{listing.root}/{first}") from None
    finally:
        reader.close()
    if mode not in ("RGB", "L"):
        raise DataError(f"first image has mode {mode}; a custom data set must be RGB or L (grayscale)",
                        path=f"{listing.root}/{first}")
    return DatasetSpec(name=name, class_names=plan.class_names, image_shape=(h, w, 3 if mode == "RGB" else 1),
                       color_mode=mode)


def _raise_bad(bad: list[tuple[str, str]]) -> None:
    path, reason = bad[0]
    more = f" (and {len(bad) - 1} more bad image(s))" if len(bad) > 1 else ""
    raise DataError(f"{reason}{more}; fix or remove it, or pass --skip-bad to skip bad images", path=path)
