"""Write the MLServer configuration folder for one served model.

Layout written (MLServer 1.7 settings names)::

    FOLDER/settings.json                 server: host, ports, no metrics server, no workers
    FOLDER/{name}/model-settings.json    the model: evalkit runtime, .keras uri, class names
"""
from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError

RUNTIME_IMPORT_PATH = "evalkit.serving.runtime.EvalkitRuntime"
CIFAR10_CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                       "ship", "truck")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class ModelSpec:
    """What to serve: a ``.keras`` file, its class names and the name it is served under."""

    path: Path
    class_names: tuple[str, ...]
    name: str
    version: str = "1"
    description: str = ""

    def __post_init__(self):
        if not _NAME_RE.match(self.name):
            raise UserError(f"model name {self.name!r} must use only letters, digits, '.', '_' "
                            "and '-' (it becomes part of the URL)")
        if len(set(self.class_names)) != len(self.class_names) or not self.class_names:
            raise UserError(f"class names must be distinct and non-empty, got {list(self.class_names)}")


@dataclass(frozen=True)
class ServerPorts:
    host: str
    http_port: int
    grpc_port: int


def port_is_free(host: str, port: int) -> bool:
    """True if ``host:port`` can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    """A TCP port on ``host`` that is free right now (chosen by the OS)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def choose_ports(host: str, http_port: int = 0) -> ServerPorts:
    """HTTP port as asked (0 = any free one; a busy one is a UserError) and a free gRPC port.

    MLServer 1.7 cannot switch its gRPC server off, so it gets its own free port.
    """
    if http_port < 0 or http_port > 65535:
        raise UserError(f"port must be between 0 and 65535, got {http_port}")
    if http_port == 0:
        http_port = free_port(host)
    elif not port_is_free(host, http_port):
        raise UserError(f"port {http_port} on {host} is already in use; pick another with "
                        "--port, or --port 0 for any free port")
    grpc_port = free_port(host)
    while grpc_port == http_port:
        grpc_port = free_port(host)
    return ServerPorts(host, http_port, grpc_port)


def server_settings(ports: ServerPorts, folder: Path) -> dict:
    """MLServer ``settings.json``: one process, no metrics server, quiet access logs."""
    return {
        "debug": False,
        "host": ports.host,
        "http_port": ports.http_port,
        "grpc_port": ports.grpc_port,
        "metrics_endpoint": None,          # no metrics server (and no metrics port)
        "parallel_workers": 0,             # inference in the server process
        "load_models_at_startup": True,
        "environments_dir": str(folder / ".envs"),
        "metrics_dir": str(folder / ".metrics"),
        "server_name": "evalkit-mlserver",
    }


def model_settings(spec: ModelSpec) -> dict:
    """MLServer ``model-settings.json`` for the evalkit Keras runtime."""
    n = len(spec.class_names)
    return {
        "name": spec.name,
        "implementation": RUNTIME_IMPORT_PATH,
        "platform": "sklearn" if Path(spec.path).suffix == ".joblib" else "keras",
        "parameters": {
            "uri": str(Path(spec.path).resolve()),
            "version": spec.version,
            "extra": {"class_names": list(spec.class_names), "description": spec.description},
        },
        "inputs": [{"name": "images", "datatype": "UINT8", "shape": [-1, -1, -1, 3],
                    "parameters": {"content_type": "np"}}],
        "outputs": [
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, n]},
            {"name": "label", "datatype": "BYTES", "shape": [-1]},
            {"name": "class_index", "datatype": "INT64", "shape": [-1]},
        ],
    }


def write_server_folder(folder: Path, spec: ModelSpec, ports: ServerPorts) -> Path:
    """Write ``settings.json`` and ``{name}/model-settings.json`` into ``folder``; return it."""
    folder = Path(folder)
    (folder / spec.name).mkdir(parents=True, exist_ok=True)
    (folder / "settings.json").write_text(json.dumps(server_settings(ports, folder), indent=2))
    (folder / spec.name / "model-settings.json").write_text(
        json.dumps(model_settings(spec), indent=2))
    return folder
