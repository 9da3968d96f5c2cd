"""A workspace with many scored and fingerprinted APIs, written directly (no training, no server).

Used by the comparison tests and by ``scripts/screenshot_comparison.py`` (the README screenshot).
Each API has a latent accuracy, a cue profile (verdict words from the real verdict rules) and
answers drawn so that it does worse on the sets that need the cues it relies on less.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from evalkit.fingerprint.text import verdict_sentence
from evalkit.fingerprint.verdict import VerdictSettings, overall, relative_verdict
from evalkit.workspace import Workspace, atomic_write_bytes

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
PROBES = ("control", "grayscale", "blur", "patch_shuffle")
# set id -> the cue whose use the set rewards (control beats the cue-blind probe on it)
SETS = {"control>grayscale": "colour", "grayscale>control": None, "control>blur": "fine_texture",
        "blur>control": None, "control>patch_shuffle": "global_shape", "patch_shuffle>control": None}
# name: (accuracy, colour, fine_texture, global_shape, orientation drop, CI half-width, cost/query, latency s)
APIS = {
    "google-vision": (0.91, 1.05, 0.95, 1.10, 0.02, 0.15, 0.0015, 0.21),
    "rekognition": (0.88, 0.62, 0.90, 1.00, 0.03, 0.14, 0.0010, 0.34),
    "azure-vision": (0.86, 0.95, 0.35, 0.95, 0.01, 0.16, 0.0010, 0.28),
    "azure-customvision": (0.79, 0.10, 0.85, 0.90, 0.04, 0.18, 0.0020, 0.41),
    "huggingface-vit": (0.93, 0.98, 0.55, 1.45, 0.02, 0.12, 0.0004, 0.52),
    "clip-zero-shot": (0.89, 1.30, 0.80, 1.20, 0.01, 0.15, 0.0006, 0.47),
    "self-hosted-resnet": (0.84, 1.00, 1.02, 0.98, 0.16, 0.11, 0.0, 0.05),
    "tfserving-effnet": (0.82, 0.90, 0.70, 0.30, 0.03, 0.20, 0.0, 0.08),
    "kserve-probe": (0.71, 0.85, 0.60, 0.70, 0.02, 0.45, 0.0, 0.03),
    "edge-mobilenet": (0.74, 0.45, 1.00, 0.85, 0.05, 0.17, 0.0, 0.02),
    "legacy-api": (0.66, 0.20, 0.15, 1.00, 0.08, 0.30, 0.0030, 0.95),
}
VERDICT_PAYLOAD = '<img src=x onerror="window.__xss=1">'


def _write(ws: Workspace, rel: str, obj) -> str:
    atomic_write_bytes(ws.root / rel, json.dumps(obj, indent=1).encode("utf-8"))
    return rel


def _profile(spec, st: VerdictSettings) -> dict:
    _, colour, texture, shape, orient, half = spec[:6]
    prof = {}
    for cue, score in (("colour", colour), ("fine_texture", texture), ("global_shape", shape)):
        lo, hi = score - half, score + half
        prof[cue] = {"score": score, "lo": lo, "hi": hi, "verdict": relative_verdict(lo, hi, st),
                     "scale": "relative", "neutral": st.neutral, "components": {}, "_reps": None, "_reps_sampling": None}
    lo, hi = max(0.0, orient - 0.04), orient + 0.05
    prof["orientation"] = {"score": orient, "lo": lo, "hi": hi, "scale": "absolute", "neutral": 0.1,
                           "verdict": "used" if lo > 0.1 else "not used" if hi < 0.1 else "inconclusive",
                           "components": {}, "_reps": None, "_reps_sampling": None}
    return prof


def build_compare_workspace(root: Path, *, n_apis: int = 10, n_per_class: int = 100, set_size: int = 60,
                            sample: int = 200, planner_every: int = 2, payload: bool = False,
                            seed: int = 0) -> dict:
    """Write the workspace; return {ws, names, labels, sets {id: indices}, scores {name: doc}, fingerprints}."""
    if not 1 <= n_apis <= len(APIS):
        raise ValueError(f"n_apis must be 1..{len(APIS)}")
    ws = Workspace(root)
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(CLASSES)), n_per_class)
    n = labels.size
    ids = np.array([f"test/{i:05d}" for i in range(n)])
    ws.catalog.record("pool", "synthetic/test", _write(ws, "pools/synthetic/test.json", {
        "dataset": "synthetic", "split": "test", "n": n, "class_names": CLASSES, "source_sha256": "0" * 64}))
    for probe in PROBES:
        probs = np.full((n, len(CLASSES)), 0.01, dtype=np.float32)
        pred = np.where(rng.random(n) < 0.7, labels, rng.integers(0, len(CLASSES), n))
        probs[np.arange(n), pred] = 0.91
        buf = io.BytesIO()
        np.savez(buf, probs=probs.astype(np.float16), labels=labels, ids=ids)
        rel = f"predictions/{probe}/seed0/synthetic/test.npz"
        atomic_write_bytes(ws.root / rel, buf.getvalue())
        ws.catalog.record("predictions", f"{probe}/seed0/synthetic/test", rel)
    order = rng.permutation(n)
    sets = {}
    for k, sid in enumerate(SETS):
        idx = sorted(int(i) for i in order[k * set_size:(k + 1) * set_size])
        a, b = sid.split(">")
        sets[sid] = idx
        ws.catalog.record("evalset", sid, _write(ws, f"sets/{sid}.json", {
            "id": sid, "kind": "pair", "probe_a": a, "probe_b": b, "pool": "synthetic/test", "indices": idx,
            "ids": [str(ids[i]) for i in idx], "labels": [int(labels[i]) for i in idx], "class_names": CLASSES,
            "k": len(idx), "gap": 0.4, "gap_ci": [0.25, 0.55], "mcnemar_p": 0.001, "mcnemar_p_adjusted": 0.004,
            "random_gap": 0.02, "random_gap_ci": [-0.1, 0.14], "kept": True, "flags": [],
            "selection_seeds": [0], "validation_seeds": [1]}))
    in_sets = sorted({i for idx in sets.values() for i in idx})
    rest = np.setdiff1d(np.arange(n), in_sets)
    st = VerdictSettings()
    names = list(APIS)[:n_apis]
    scores, fps = {}, {}
    for j, name in enumerate(names):
        spec = APIS[name]
        acc, cost, latency = spec[0], spec[6], spec[7]
        cue_of = {"colour": spec[1], "fine_texture": spec[2], "global_shape": spec[3]}
        extra = min(sample + 23 * j, rest.size)
        chosen = sorted(set(in_sets) | {int(i) for i in rng.choice(rest, size=extra, replace=False)})
        set_cue = {i: SETS[sid] for sid, idx in sets.items() for i in idx}
        records = []
        for i in chosen:
            cue = set_cue.get(i)
            p = acc if cue is None else float(np.clip(acc - 0.35 * (1.0 - cue_of[cue]), 0.05, 0.99))
            if rng.random() < 0.01:
                records.append({"index": i, "status": "failed", "label": None, "reason": "HTTP 503"})
                continue
            right = rng.random() < p
            label = int(labels[i]) if right else (None if rng.random() < 0.1 else
                                                  int((labels[i] + rng.integers(1, len(CLASSES))) % len(CLASSES)))
            records.append({"index": i, "status": "scored", "label": label, "score": 0.9,
                            "raw_label": CLASSES[label] if label is not None else "sky", "latency_s": latency})
        sent = len(records)
        doc = {"api": name, "adapter": "http-json", "model": f"{name}-2026", "pool": "synthetic/test",
               "class_names": CLASSES, "images": records, "unmapped_labels": {"sky": 3},
               "queries_sent": sent * (3 + j % 3), "cache_hits": 0, "failures": sum(r["status"] == "failed" for r in records),
               "estimated_cost": round(sent * (3 + j % 3) * cost * 1.2, 4),
               "spent_cost": round(sent * (3 + j % 3) * cost, 4),
               "latency_p50_s": latency, "latency_p95_s": round(latency * 1.8, 3)}
        if j % planner_every == 0:
            half = 0.025
            doc["pool_accuracy"] = {"acc": acc - 0.01, "lo": acc - 0.01 - half, "hi": acc - 0.01 + half,
                                    "n_answered": sent, "n_pool": n, "method": "post-stratified by class x difficulty",
                                    "per_class": {}}
            doc["plan"] = {"max_queries": 1000, "spent_queries": sent * (3 + j % 3), "stopped": "decided", "rounds": []}
        scores[name] = doc
        ws.catalog.record("scores", name, _write(ws, f"scores/{name}/scores.json", doc))
        prof = _profile(spec, st)
        status = overall(prof)
        near = {"name": "control", "runner_up": "grayscale", "margin": 0.1, "lo": 0.02, "hi": 0.2, "verdict": "clear"}
        verdict = verdict_sentence(name, prof, status, near)
        if payload and j == 1:
            verdict += " " + VERDICT_PAYLOAD
        fp = {"api": name, "cue_profile": {c: {k: v for k, v in d.items() if not k.startswith("_")} for c, d in prof.items()},
              "status": status["status"], "dominant_cue": status["dominant_cue"], "verdict_detail": status,
              "nearest_probe": near, "correlation_baseline": {"nearest": "control", "r": 0.8},
              "error_consistency": {}, "ablation": {}, "preferences": [], "verdict": verdict,
              "method": "synthetic fingerprint for tests"}
        fps[name] = fp
        ws.catalog.record("fingerprint", name, _write(ws, f"fingerprints/{name}.json", fp))
    return {"ws": ws, "names": names, "labels": labels, "sets": sets, "scores": scores, "fingerprints": fps}
