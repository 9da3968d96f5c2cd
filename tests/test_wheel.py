"""The wheel is complete: built offline, installed (no source tree on the path) into a fresh
virtual environment that borrows the already-installed dependencies, it lists the built-in
probes, finds its datasets and example API files, and runs a tiny pipeline from an empty folder."""
from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILT_IN = {kind: sorted(p.name for p in (ROOT / kind).glob("*.toml")) for kind in ("probes", "datasets", "apis")}

TINY_RUN = """
[run]
name = "wheel"
workspace = "ws"
[data]
dataset = "synthetic"
source = "synthetic:12/6"
[probes]
names = ["control", "grayscale"]
seeds = [0, 1]
train_size = 60
epochs = 1
batch_size = 16
[discovery]
size = 5
[explain]
enabled = false
[report]
name = "wheel"
dir = "report"
"""


def _run(cmd: list[str], cwd: Path, env: dict, timeout: float = 240) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv bin folder, environment without PYTHONPATH, wheel path)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # a clean copy: no stale build/ folder can leak removed files into the wheel
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("evalkit", "probes", "datasets", "apis"):
        shutil.copytree(ROOT / name, src / name, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "EVALKIT_PROBES",
                                                           "EVALKIT_PROBES_PATH", "EVALKIT_DATASETS")}
    env["PIP_NO_INDEX"] = "1"  # offline: nothing may be downloaded
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    build = _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation",
                  "-w", str(tmp / "dist")], src, env)
    assert "SetuptoolsDeprecationWarning" not in build.stdout + build.stderr
    wheel = next((tmp / "dist").glob("evalkit-*.whl"))

    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp, env)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    vpy = bindir / ("python.exe" if os.name == "nt" else "python")
    purelib = _run([str(vpy), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp, env).stdout.strip()
    # The dependencies come from the environment running the tests (appended, so the wheel's
    # evalkit in the new environment comes first; a path line does not run that folder's .pth
    # files, so an editable evalkit installed there stays invisible).
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (Path(purelib) / "_evalkit_test_deps.pth").write_text("\n".join(deps) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(vpy), "install", "--no-deps", str(wheel)], tmp, env)
    return bindir, env, wheel


def test_wheel_ships_builtin_files(installed):
    _, _, wheel = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for kind, files in BUILT_IN.items():
        assert files, kind
        assert {f"evalkit/resources/{kind}/{f}" for f in files} <= names
    # every non-Python file of the package (report templates, script, label maps) is in the wheel
    data = {str(p.relative_to(ROOT)) for p in (ROOT / "evalkit").rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "resources" not in p.parts}
    assert data and data <= names
    assert not any(n.startswith(("tests/", "probes/", "bench/")) for n in names)


def test_installed_cli_from_empty_folder(installed, tmp_path):
    bindir, env, _ = installed
    evalkit = str(bindir / "evalkit")
    empty = tmp_path / "empty"
    empty.mkdir()
    where = _run([str(bindir / "python"), "-c", "import evalkit, evalkit.probes.spec as s; "
                  "print(evalkit.__file__); print(s.probe_dirs()[0])"], empty, env).stdout.split()
    assert "site-packages" in where[0] and str(ROOT) not in where[0] + where[1]

    out = _run([evalkit, "probes", "list"], empty, env)
    for name in BUILT_IN["probes"]:
        assert name.removesuffix(".toml") in out.stdout
    assert out.stderr.strip() == ""  # no TensorFlow/absl chatter

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "edges.toml").write_text('description = "my probe"\narchitecture = "knn"\n')
    out = _run([evalkit, "--probes-dir", str(mine), "probes", "show", "edges"], empty, env)
    assert "my probe" in out.stdout
    out = _run([evalkit, "data", "list"], empty, env)
    assert "cifar10" in out.stdout and "mnist" in out.stdout
    out = _run([evalkit, "data", "info", "--help"], empty, env)
    assert "Usage" in out.stdout and "info" in out.stdout

    (empty / "run.toml").write_text(TINY_RUN)
    out = _run([evalkit, "run", "run.toml"], empty, env, timeout=400)
    lines = out.stdout.strip().splitlines()
    assert lines[-1].startswith("report: ") and (empty / "report" / "index.html").is_file()
    assert (empty / "report" / "report.json").is_file()
    chatter = [l for l in out.stderr.splitlines()
               if any(w in l for w in ("cuda", "cuInit", "oneDNN", "retracing", "cpu_feature_guard", "absl"))]
    assert chatter == [], out.stderr[-5000:]
