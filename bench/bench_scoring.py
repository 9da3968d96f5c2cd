"""API scoring throughput: the engine at concurrency 16 vs a plain sequential `requests` loop,
against a local TF-Serving-like server that takes 50 ms per request. Same images, same answers.

    .venv/bin/python bench/bench_scoring.py [--images 300] [--latency 0.05] [--concurrency 16]
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import multiprocessing
import socket
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(self.server.latency)
        preds = []
        for inst in json.loads(body)["instances"]:
            digest = hashlib.sha256(base64.b64decode(inst["b64"])).digest()
            rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
            preds.append(np.round(rng.dirichlet(np.ones(10) * 0.3), 6).tolist())
        out = json.dumps({"predictions": preds}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def _serve(latency: float, port_queue) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.latency = latency
    port_queue.put(server.server_address[1])
    server.serve_forever()


def sequential_baseline(url: str, images) -> list[int]:
    """The plain loop a user would write: one request per image, one after another."""
    from evalkit.scoring.adapters import encode_image

    labels = []
    with requests.Session() as s:
        for im in images:
            payload = {"instances": [{"b64": base64.b64encode(encode_image(im)).decode()}]}
            r = s.post(f"{url}/v1/models/m:predict", json=payload, timeout=30)
            r.raise_for_status()
            labels.append(int(np.argmax(r.json()["predictions"][0])))
    return labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()

    from evalkit.data.images import ImageSplit, LoadedDataset
    from evalkit.data.synthetic import make_synthetic_split
    from evalkit.scoring import load_api_config, score_api
    from evalkit.workspace import Workspace, atomic_write_text

    split = make_synthetic_split(-(-args.images // 10), size=32, seed=3, prefix="test")
    split = split.subset(np.arange(args.images))
    split = ImageSplit(split.images, split.labels, split.ids, CLASSES)
    dataset = LoadedDataset("bench", CLASSES, {"test": split}, "bench", "0" * 64)

    # the "remote API" runs in its own process, as a real one would (no GIL shared with the client)
    ctx = multiprocessing.get_context("spawn")
    port_queue = ctx.Queue()
    server = ctx.Process(target=_serve, args=(args.latency, port_queue), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{port_queue.get(timeout=60)}"
    try:
        t0 = time.perf_counter()
        baseline = sequential_baseline(url, split.images)
        t_seq = time.perf_counter() - t0

        with tempfile.TemporaryDirectory() as tmp:
            ws = Workspace(Path(tmp) / "ws")
            doc = {"id": "all", "kind": "pair", "pool": "bench/test", "indices": list(range(args.images)),
                   "class_names": list(CLASSES), "kept": True}
            atomic_write_text(ws.dir("sets") / "all.json", json.dumps(doc))
            ws.catalog.record("evalset", "all", "sets/all.json")
            api = Path(tmp) / "bench.toml"
            api.write_text(f'adapter = "tfserving"\nendpoint = "{url}"\nmodel = "m"\n'
                           f'[engine]\nconcurrency = {args.concurrency}\nrps = 100000\ntimeout_s = 30\n'
                           '[params]\ninput_format = "b64"\n')
            t0 = time.perf_counter()
            art = score_api(ws, load_api_config(api), dataset, ["all"])
            t_conc = time.perf_counter() - t0
            scores = json.loads(ws.abspath(art).read_text())
        engine_labels = [r["label"] for r in scores["images"]]
    finally:
        server.terminate()
        server.join()

    same = engine_labels == baseline
    print(f"images: {args.images}, server latency {args.latency * 1000:.0f} ms per request")
    print(f"sequential requests loop: {t_seq:.2f} s ({args.images / t_seq:.1f} images/s)")
    print(f"evalkit engine, concurrency {args.concurrency} (whole score_api stage, cache writes included): "
          f"{t_conc:.2f} s ({args.images / t_conc:.1f} images/s)")
    print(f"speed-up: {t_seq / t_conc:.1f}x; identical results: {same}")
    if not same:
        raise SystemExit("results differ")


if __name__ == "__main__":
    main()
