"""A small but complete workspace with every artifact kind of ARCHITECTURE.md, for report tests.

Outside strings carry injection payloads (API labels, a class name, the verdict) and the API's
endpoint carries credentials, so tests can check escaping and that no secret reaches the report.
"""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from evalkit.data.synthetic import make_synthetic_dataset
from evalkit.workspace import Workspace, atomic_write_bytes

PROBES = {"control": 0.85, "grayscale": 0.6, "blur": 0.45}
SEEDS = (0, 1)
API = "toyapi"
IMG_PAYLOAD = "<img src=x onerror=alert(1)>"
XSS_PAYLOAD = '<img src=x onerror="window.__xss=1">'
CLASS_PAYLOAD = "cross<script>window.__xss=1</script>"
SECRET = "SECRET-TOKEN-9f8e7d"
ENDPOINT = f"https://user:{SECRET}@api.example.com/v1/classify?api_key={SECRET}"


def _write_json(ws: Workspace, rel: str, obj) -> str:
    atomic_write_bytes(ws.root / rel, json.dumps(obj, indent=1).encode("utf-8"))
    return rel


def _probs(labels: np.ndarray, acc: float, n_classes: int, rng) -> np.ndarray:
    n = len(labels)
    correct = rng.random(n) < acc
    pred = np.where(correct, labels, (labels + rng.integers(1, n_classes, size=n)) % n_classes)
    probs = rng.dirichlet(np.ones(n_classes), size=n) * 0.3
    probs[np.arange(n), pred] += 0.7
    return (probs / probs.sum(axis=1, keepdims=True)).astype(np.float16)


def build_report_workspace(root: Path, *, n_test_per_class: int = 4) -> dict:
    """Write the workspace at ``root``; return {ws, dataset, class_names, accuracy {(probe, seed): acc}, ...}."""
    ws = Workspace(root)
    ds = make_synthetic_dataset(4, n_test_per_class, seed=0)
    test = ds.split("test")
    class_names = list(ds.class_names)
    class_names[3] = CLASS_PAYLOAD
    n_cls, n = len(class_names), len(test)
    rng = np.random.default_rng(123)

    ws.catalog.record("miniset", "synthetic/n40/seed0", _write_json(
        ws, "minisets/synthetic/n40/seed0.json", {"dataset": "synthetic", "size": 40, "seed": 0,
                                                  "indices": list(range(40))}), meta={"size": 40})
    pool = {"dataset": "synthetic", "split": "test", "source_sha256": ds.source_sha256, "n": n,
            "class_names": class_names}
    ws.catalog.record("pool", "synthetic/test", _write_json(ws, "pools/synthetic/test.json", pool))

    accuracy, preds = {}, {}
    for probe, acc in PROBES.items():
        for seed in SEEDS:
            probs = _probs(test.labels, acc, n_cls, rng)
            preds[(probe, seed)] = probs.argmax(axis=1)
            accuracy[(probe, seed)] = float((preds[(probe, seed)] == test.labels).mean())
            buf = io.BytesIO()
            np.savez(buf, probs=probs, labels=test.labels, ids=test.ids)
            rel = f"predictions/{probe}/seed{seed}/synthetic/test.npz"
            atomic_write_bytes(ws.root / rel, buf.getvalue())
            ws.catalog.record("predictions", f"{probe}/seed{seed}/synthetic/test", rel)
            epochs = 6
            hist = {"loss": list(np.linspace(2.0, 0.4, epochs)), "accuracy": list(np.linspace(0.2, acc + 0.1, epochs)),
                    "val_loss": list(np.linspace(2.0, 0.9, epochs) + [0, 0, 0, 0, 0.1, 0.25]),
                    "val_accuracy": list(np.linspace(0.2, acc, epochs))}
            mdir = f"models/{probe}/seed{seed}"
            _write_json(ws, f"{mdir}/history.json", hist)
            _write_json(ws, f"{mdir}/meta.json", {
                "probe": probe, "seed": seed, "probe_file_sha256": "0" * 64, "miniset": "synthetic/n40/seed0",
                "train_size": 40, "epochs_run": epochs, "seconds": 1.5 + seed, "test_accuracy": accuracy[(probe, seed)],
                "versions": {"tensorflow": "2.21.0", "keras": "3.15.0"}})
            ws.catalog.record("model", f"{probe}/seed{seed}", mdir)

    def image_hash(i: int) -> str:
        return hashlib.sha256(np.ascontiguousarray(test.images[i]).tobytes()).hexdigest()

    sets = {}
    for sid, kind, b, kept, idx in (("control>blur", "pair", "blur", True, list(range(0, n, 5))[:8]),
                                    ("control>rest", "rest", "rest", False, list(range(2, n, 7))[:6])):
        sets[sid] = {"id": sid, "kind": kind, "probe_a": "control", "probe_b": b, "pool": "synthetic/test",
                     "indices": idx, "ids": [str(test.ids[i]) for i in idx], "hashes": [image_hash(i) for i in idx],
                     "labels": [int(test.labels[i]) for i in idx], "class_names": class_names,
                     "selection_seeds": [0], "validation_seeds": [1], "k": len(idx),
                     "gap": 0.55 if kept else 0.2, "gap_ci": [0.3, 0.8] if kept else [-0.05, 0.45],
                     "mcnemar_p": 0.0004 if kept else 0.2, "random_gap": 0.05, "random_gap_ci": [-0.1, 0.2],
                     "kept": kept, "flags": [] if kept else ["gap CI overlaps random"]}
        ws.catalog.record("evalset", sid, _write_json(ws, f"sets/{sid}.json", sets[sid]))
    ws.catalog.record("discovery", "synthetic/test", _write_json(ws, "sets/discovery.json", {
        "seed_split": {"selection": {p: [0] for p in PROBES}, "validation": {p: [1] for p in PROBES}}, "subsets": [{"id": s} for s in sets],
        "label_audit": {"suspect": 0}}))

    grid = np.zeros((64, 192, 3), dtype=np.uint8)
    grid[:, 64:128, 0] = 255
    grid[:, 128:, 1] = 200
    grid_rel = "explanations/control>blur/gradcam/grids/0000.png"
    (ws.root / grid_rel).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(ws.root / grid_rel)
    grid_rel2 = "explanations/control>blur/gradcam/grids/0001.png"
    Image.fromarray(grid[:, ::-1].copy()).save(ws.root / grid_rel)
    (ws.root / grid_rel2).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(ws.root / grid_rel2)
    for probe in ("control", "grayscale"):   # as explain_set records them: every record lists the set's grids
        ws.catalog.record("explanation", f"control>blur/gradcam/{probe}/seed0", f"explanations/control>blur/gradcam/{probe}/seed0",
                          meta={"grids": [grid_rel, grid_rel2], "n_images": 8, "layer": "conv2d_1",
                                "sanity": {"mode": "cascading", "spearman_mean": 0.12},
                                "faithfulness": {"predicted": {"deletion": 0.31, "random": 0.42, "blob": 0.35,
                                                               "beats_random": 0.8, "n_images": 8}}})

    api_pred = preds[("control", 0)]
    records = []
    scored_idx = sorted(set(sets["control>blur"]["indices"]) | set(sets["control>rest"]["indices"]))
    for j, i in enumerate(scored_idx):
        if j == 0:
            records.append({"index": i, "hash": image_hash(i), "status": "failed", "label": None, "raw_label": None,
                            "score": None, "reason": "HTTP 503", "latency_s": None})
        elif j in (1, 2):
            records.append({"index": i, "hash": image_hash(i), "status": "scored", "label": None,
                            "raw_label": IMG_PAYLOAD if j == 1 else XSS_PAYLOAD, "score": 0.4, "reason": None,
                            "latency_s": 0.2})
        else:
            records.append({"index": i, "hash": image_hash(i), "status": "scored", "label": int(api_pred[i]),
                            "raw_label": class_names[int(api_pred[i])], "score": 0.9, "reason": None,
                            "latency_s": 0.1 + 0.01 * j})
    scores = {"api": API, "adapter": "http_json", "endpoint": ENDPOINT, "model": "toy-v1", "pool": "synthetic/test",
              "class_names": class_names, "images": records,
              "ablations": {"grayscale": [dict(r, label=(r["label"] if k % 2 else None)) for k, r in enumerate(records)]},
              "unmapped_labels": {IMG_PAYLOAD: 3, XSS_PAYLOAD: 2, "=HYPERLINK(\"http://x\")": 1, "tabby cat": 2},
              "queries_sent": len(records), "cache_hits": 0, "failures": 1, "estimated_cost": 0.012,
              "spent_cost": 0.011, "latency_p50_s": 0.15, "latency_p95_s": 0.21}
    ws.catalog.record("scores", API, _write_json(ws, f"scores/{API}/scores.json", scores))
    fingerprint = {
        "api": API, "accuracy_per_set": {"control>blur": {"acc": 0.75, "lo": 0.41, "hi": 0.93, "n": 8}},
        "preferences": [{"a": "control", "b": "blur", "value": 0.6, "lo": 0.2, "hi": 0.9}],
        "error_consistency": {p: {"kappa": k, "lo": k - 0.2, "hi": k + 0.15, "kappa_max": 0.9, "ratio": k / 0.9}
                              for p, k in (("control", 0.62), ("grayscale", 0.3), ("blur", 0.05))},
        "ablation": {"grayscale": {"kept": 0.8, "lo": 0.6, "hi": 0.95}},
        "cue_profile": {"shape": {"score": 0.7, "lo": 0.45, "hi": 0.9, "verdict": "relies"},
                        "colour": {"score": 0.15, "lo": -0.1, "hi": 0.4, "verdict": "unclear"},
                        "texture": {"score": -0.05, "lo": -0.3, "hi": 0.2, "verdict": "does not rely"}},
        "nearest_probe": {"name": "control", "margin": 0.32, "runner_up": "grayscale"},
        "correlation_baseline": {"nearest": "control", "r": 0.71},
        "verdict": f"toyapi relies mostly on shape, like the control probe {XSS_PAYLOAD}",
        "method": "Error consistency (Cohen's kappa) with bootstrap CIs over images & seeds."}
    ws.catalog.record("fingerprint", API, _write_json(ws, f"fingerprints/{API}.json", fingerprint))
    return {"ws": ws, "dataset": ds, "class_names": class_names, "accuracy": accuracy, "preds": preds,
            "labels": test.labels, "sets": sets, "scores": scores, "fingerprint": fingerprint}
