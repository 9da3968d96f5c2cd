"""Dataset definitions (``datasets/<name>.toml``): class names, image shape, download source."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config_schema import check_keys, load_toml
from ..errors import ConfigError, UserError, did_you_mean

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the source tree (where ../shared is looked for)
SPECS_ENV = "EVALKIT_DATASETS"  # extra folders of dataset TOML files (searched first)

COLOR_MODES = {"RGB": 3, "L": 1}  # PIL mode -> channels
DOWNLOAD_FORMATS = ("cifar-python", "mnist-npz")

_TOP_KEYS = {"name": str, "description": str, "class_names": list, "image_shape": list,
             "color_mode": str, "shared_copy": str, "download": dict}
_DOWNLOAD_KEYS = {"url": str, "filename": str, "sha256": str, "format": str}


@dataclass(frozen=True)
class DownloadSpec:
    url: str
    filename: str
    sha256: str
    format: str


@dataclass(frozen=True)
class DatasetSpec:
    """What a dataset looks like: label order, image shape and colour mode, where to get it."""

    name: str
    class_names: tuple[str, ...]
    image_shape: tuple[int, int, int]  # (height, width, channels)
    color_mode: str = "RGB"
    description: str = ""
    shared_copy: str | None = None
    download: DownloadSpec | None = None
    path: Path | None = None  # the TOML it came from

    def fingerprint(self) -> str:
        """Text that changes whenever decoded arrays would change (part of the cache key)."""
        return f"{self.name}|{','.join(self.class_names)}|{self.image_shape}|{self.color_mode}"


def spec_dirs() -> list[Path]:
    """Folders searched for ``<name>.toml``, first match wins: $EVALKIT_DATASETS (``os.pathsep``-
    separated), ./datasets, then the built-in datasets shipped in the package."""
    from ..resources import builtin_dir, env_dirs

    dirs = [*env_dirs(SPECS_ENV), Path.cwd() / "datasets", builtin_dir("datasets")]
    out: list[Path] = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in out:
            out.append(d.resolve())
    return out


def available_datasets() -> list[str]:
    return sorted({p.stem for d in spec_dirs() for p in d.glob("*.toml")})


def find_spec(name: str) -> DatasetSpec | None:
    """The spec for ``name``, or None when no ``<name>.toml`` exists."""
    for d in spec_dirs():
        path = d / f"{name}.toml"
        if path.is_file():
            return parse_spec(load_toml(path), where=path)
    return None


def get_spec(name: str) -> DatasetSpec:
    """Like :func:`find_spec` but an unknown name is a UserError with a suggestion."""
    spec = find_spec(name)
    if spec is None:
        known = available_datasets()
        raise UserError(f"unknown dataset {name!r}{did_you_mean(name, known)}; expected one of: "
                        f"{', '.join(known) or '(none found)'} (datasets/<name>.toml)")
    return spec


def parse_spec(table: dict, *, where: Path | str) -> DatasetSpec:
    """Validate a dataset TOML table and build a :class:`DatasetSpec`."""
    check_keys(table, _TOP_KEYS, where=str(where), required=("name", "class_names", "image_shape"))
    names = table["class_names"]
    if not names or not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise ConfigError("class_names must be a non-empty list of distinct strings", path=where)
    shape = table["image_shape"]
    if len(shape) != 3 or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape):
        raise ConfigError(f"image_shape must be [height, width, channels], got {shape!r}", path=where)
    mode = table.get("color_mode", "RGB")
    if mode not in COLOR_MODES:
        raise ConfigError(f"color_mode must be one of {', '.join(COLOR_MODES)}, got {mode!r}", path=where)
    if COLOR_MODES[mode] != shape[2]:
        raise ConfigError(f"color_mode {mode} has {COLOR_MODES[mode]} channel(s) but image_shape "
                          f"says {shape[2]}", path=where)
    download = None
    if "download" in table:
        dl = table["download"]
        check_keys(dl, _DOWNLOAD_KEYS, where=f"{where} [download]", required=tuple(_DOWNLOAD_KEYS))
        if dl["format"] not in DOWNLOAD_FORMATS:
            raise ConfigError(f"[download] format must be one of {', '.join(DOWNLOAD_FORMATS)}, "
                              f"got {dl['format']!r}{did_you_mean(dl['format'], DOWNLOAD_FORMATS)}",
                              path=where)
        if len(dl["sha256"]) != 64:
            raise ConfigError("[download] sha256 must be 64 hex digits", path=where)
        download = DownloadSpec(dl["url"], dl["filename"], dl["sha256"].lower(), dl["format"])
    return DatasetSpec(name=table["name"], class_names=tuple(names), image_shape=tuple(shape),
                       color_mode=mode, description=table.get("description", ""),
                       shared_copy=table.get("shared_copy"), download=download,
                       path=Path(where) if not isinstance(where, Path) else where)
