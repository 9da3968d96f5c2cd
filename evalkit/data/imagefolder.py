"""Image-folder layout ``<split>/<class>/<image>.png|jpg`` in a folder or a zip read in place.

Listing only (which image is which split and class); decoding lives in :mod:`.decode`.
A single top-level folder wrapping the splits (``cifar10/train/...``) is accepted.
"""
from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError, did_you_mean

SPLITS = ("train", "test")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class Listing:
    """Files of an image-folder source: posix names relative to the source, plus folder names."""

    kind: str                   # "zip" or "folder"
    root: Path
    files: tuple[str, ...]      # zip member names / paths relative to root (sorted)
    dirs: frozenset[str]        # folder names (explicit zip entries and implied parents)
    fingerprint: str            # folder: "name size mtime_ns" lines (cache key); zip: ""


@dataclass(frozen=True)
class Plan:
    """Which file is which image: per split, (locator, id, label) in a fixed order."""

    class_names: tuple[str, ...]
    splits: dict[str, list[tuple[str, str, int]]]


def check_member_name(name: str, *, archive: Path | str) -> None:
    """Refuse archive members that would escape the root (zip-slip): absolute paths or '..'."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or _DRIVE.match(norm) or ".." in norm.split("/"):
        raise DataError(f"member {name!r} escapes the archive root (absolute path or '..'); "
                        "refusing to read this archive", path=archive)


def list_zip(path: Path) -> Listing:
    """List a zip without extracting; zip-slip members and truncated archives raise DataError."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except zipfile.BadZipFile as exc:
        raise DataError(f"truncated or corrupt zip archive ({exc}); expected a complete .zip", path=path) from None
    files, dirs = [], set()
    for name in names:
        check_member_name(name, archive=path)
        if name.endswith("/"):
            dirs.add(name.rstrip("/"))
        else:
            files.append(name)
            dirs.update(_parents(name))
    return Listing("zip", path, tuple(sorted(files)), frozenset(dirs), "")


def list_folder(path: Path) -> Listing:
    """List an image folder; symlinks pointing outside it are refused."""
    root = path.resolve()
    files, dirs, lines = [], set(), []
    stack = [(root, "")]
    while stack:
        folder, rel = stack.pop()
        with os.scandir(folder) as it:
            for entry in it:
                name = f"{rel}{entry.name}"
                if entry.is_symlink() and not Path(entry.path).resolve().is_relative_to(root):
                    raise DataError("symlink points outside the dataset folder; refusing it",
                                    path=entry.path)
                if entry.is_dir():
                    dirs.add(name)
                    stack.append((Path(entry.path), name + "/"))
                elif entry.is_file():
                    st = entry.stat()
                    files.append(name)
                    lines.append(f"{name}\t{st.st_size}\t{st.st_mtime_ns}")
    return Listing("folder", path, tuple(sorted(files)), frozenset(dirs), "\n".join(sorted(lines)))


def plan_images(listing: Listing, class_names: tuple[str, ...] | None) -> Plan:
    """Assign each image to (split, class). ``class_names=None``: take the class folders found."""
    where = listing.root
    prefix = _wrapper_prefix(listing)
    found: dict[str, dict[str, list[str]]] = {s: {} for s in SPLITS}
    for d in listing.dirs:
        parts = _strip(d, prefix)
        if parts and len(parts) == 2 and parts[0] in SPLITS and not _hidden(parts):
            found[parts[0]].setdefault(parts[1], [])
    for name in listing.files:
        parts = _strip(name, prefix)
        if not parts or _hidden(parts) or parts[0] not in SPLITS or not parts[-1].lower().endswith(IMAGE_SUFFIXES):
            continue  # READMEs, licence files, other folders: not images of a split
        if len(parts) != 3:
            raise DataError(f"image {name!r} is not in a class folder; expected "
                            "<split>/<class>/<image>", path=where)
        found[parts[0]].setdefault(parts[1], []).append(name)
    for split in SPLITS:
        if not found[split]:
            raise DataError(f"no '{prefix}{split}/' folder with class folders of images; expected "
                            "<split>/<class>/<image> for splits train and test", path=where)
    if class_names is None:
        class_names = tuple(sorted(set(found["train"]) | set(found["test"])))
    splits = {}
    for split in SPLITS:
        for cls in found[split]:
            if cls not in class_names:
                raise DataError(f"unknown class folder '{prefix}{split}/{cls}'"
                                f"{did_you_mean(cls, class_names)}; expected one of: "
                                f"{', '.join(class_names)}", path=where)
        entries = []
        for label, cls in enumerate(class_names):
            names = found[split].get(cls)
            if names is None:
                raise DataError(f"missing class folder '{prefix}{split}/{cls}'", path=where)
            if not names:
                raise DataError(f"empty class folder '{prefix}{split}/{cls}': no .png/.jpg images",
                                path=where)
            entries.extend((n, n[len(prefix):], label) for n in sorted(names))
        splits[split] = entries
    return Plan(tuple(class_names), splits)


def _wrapper_prefix(listing: Listing) -> str:
    tops = {n.split("/", 1)[0] for n in listing.files if not _hidden(n.split("/"))}
    if tops & set(SPLITS):
        return ""
    wrappers = {t for t in tops if f"{t}/train" in listing.dirs or f"{t}/test" in listing.dirs}
    return f"{wrappers.pop()}/" if len(wrappers) == 1 else ""


def _strip(name: str, prefix: str) -> list[str] | None:
    if prefix and not name.startswith(prefix):
        return None
    return name[len(prefix):].split("/")


def _hidden(parts) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _parents(name: str):
    parts = name.split("/")[:-1]
    return ("/".join(parts[:i]) for i in range(1, len(parts) + 1))
