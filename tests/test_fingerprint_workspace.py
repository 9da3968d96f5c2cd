"""Fingerprint stage on a small workspace: API scores, a local .keras model, and the CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest

from evalkit.fingerprint.fingerprint import fingerprint_api, fingerprint_keras_model
from model_helpers import tiny_model

PROBES = ("control", "grayscale")
SEEDS = (0, 1)


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    """A workspace with tiny (untrained) probes, their predictions and three eval sets."""
    from evalkit.data.synthetic import make_synthetic_dataset
    from evalkit.probes.predict import predict_pool
    from evalkit.workspace import Workspace, atomic_write_text

    ws = Workspace(tmp_path_factory.mktemp("fp") / "ws")
    ds = make_synthetic_dataset(2, 10, seed=0)
    for p in PROBES:
        for s in SEEDS:
            folder = ws.dir("models") / p / f"seed{s}"
            folder.mkdir(parents=True, exist_ok=True)
            tiny_model(100 * PROBES.index(p) + s).save(folder / "model.keras")
            (folder / "meta.json").write_text(json.dumps({"probe": p, "seed": s}))
            ws.catalog.record("model", f"{p}/seed{s}", ws.relpath(folder))
            predict_pool(ws, ds, p, s, "test")
    labels = ds.split("test").labels
    specs = [("control>grayscale", "pair", "control", "grayscale", range(0, 30)),
             ("grayscale>control", "pair", "grayscale", "control", range(30, 60)),
             ("control>rest", "rest", "control", "rest", range(60, 80))]
    for sid, kind, a, b, idx in specs:
        idx = list(idx)
        doc = {"id": sid, "kind": kind, "probe_a": a, "probe_b": b, "pool": "synthetic/test",
               "indices": idx, "labels": [int(labels[i]) for i in idx], "kept": True}
        atomic_write_text(ws.root / f"sets/{sid}.json", json.dumps(doc))
        ws.catalog.record("evalset", sid, f"sets/{sid}.json", inputs={"pool": "synthetic/test"})
    split = {"validation": {p: [1] for p in PROBES}, "selection": {p: [0] for p in PROBES}}
    atomic_write_text(ws.root / "sets/discovery.json", json.dumps({"seed_split": split}))
    ws.catalog.record("discovery", "synthetic/test", "sets/discovery.json")
    return ws, ds


def _write_scores(ws, api: str, labels: np.ndarray) -> None:
    from evalkit.workspace import atomic_write_text

    def rec(i, status="scored", label="truth"):
        lab = int(labels[i]) if label == "truth" else label
        return {"index": i, "hash": "h", "status": status, "label": lab if status == "scored" else None}

    images = [rec(i) for i in range(0, 80) if i not in (5, 6, 40)]
    images += [rec(5, label=None), rec(6, status="failed"), rec(40, label=(int(labels[40]) + 1) % 10)]
    abl = {"grayscale": [rec(i, label=(int(labels[i]) + (i % 2)) % 10) for i in range(80)],
           "mirror": [rec(i) for i in range(80)]}
    doc = {"api": api, "adapter": "kserve-v2", "pool": "synthetic/test", "images": images,
           "ablations": abl, "unmapped_labels": {"tabby": 1}, "failures": 1}
    rel = f"scores/{api}/scores.json"
    atomic_write_text(ws.root / rel, json.dumps(doc))
    ws.catalog.record("scores", api, rel)


def test_fingerprint_api_reads_scores_and_writes_the_artifact(bank):
    ws, ds = bank
    labels = ds.split("test").labels
    _write_scores(ws, "perfect", labels)
    fp = fingerprint_api(ws, "perfect", data="synthetic:2/10", n_boot=100)
    acc = fp["accuracy_per_set"]
    # abstention (5) counts as wrong, the failure (6) is left out, 40 is answered wrong
    assert acc["control>grayscale"]["n"] == 29 and acc["control>grayscale"]["acc"] == pytest.approx(28 / 29)
    assert acc["grayscale>control"]["acc"] == pytest.approx(29 / 30)
    assert acc["control>rest"]["acc"] == 1.0
    assert fp["preferences"][0]["a"] == "control" and fp["preferences"][0]["b"] == "grayscale"
    assert fp["ablation"]["grayscale"]["kept"] == pytest.approx(39 / 77)  # same 79 images both ways
    assert fp["ablation"]["mirror"]["kept"] == pytest.approx(79 / 77)
    assert set(fp["ablation"]["grayscale"]["reference"]) == {"control", "grayscale"}  # standard + blind
    assert fp["reference_ablations"] is True and fp["probe_seeds"] == {"control": [1], "grayscale": [1]}
    assert set(fp["error_consistency"]) == set(PROBES)
    assert fp["abstentions"] == 1 and fp["unmapped_labels"] == {"tabby": 1}
    art = ws.catalog.get("fingerprint", "perfect")
    assert art is not None and json.loads(ws.abspath(art).read_text())["verdict"] == fp["verdict"]
    again = fingerprint_api(ws, "perfect", data="synthetic:2/10", n_boot=100)
    assert ws.catalog.get("fingerprint", "perfect").created == art.created  # skipped: same inputs
    assert again["verdict"] == fp["verdict"]
    assert len(ws.catalog.list("fingerprint-reference")) == 1
    sets_row = ws.catalog.get("evalset", "control>rest")  # discovery re-ran: the bank changed
    ws.catalog.record("evalset", sets_row.key, sets_row.path, inputs=sets_row.inputs)
    fingerprint_api(ws, "perfect", data="synthetic:2/10", n_boot=100)
    assert ws.catalog.get("fingerprint", "perfect").created > art.created


def test_fingerprint_keras_model_predicts_locally(bank, tmp_path):
    ws, _ = bank
    path = tmp_path / "mine.keras"
    tiny_model(7).save(path)
    fp = fingerprint_keras_model(ws, path, "synthetic:2/10", n_boot=50)
    assert fp["api"] == "mine" and (ws.root / "fingerprints/mine.json").is_file()
    assert set(fp["ablation"]) == {"grayscale", "channel_permute", "lowpass", "patch_shuffle", "mirror"}
    assert fp["ablation"]["mirror"]["n"] == 80
    assert fp["status"] in {"biased", "no_bias", "inconclusive"}


def test_cli_fingerprint_and_user_errors(bank, run_cli):
    ws, ds = bank
    _write_scores(ws, "cli-api", ds.split("test").labels)
    code, out, err = run_cli("fingerprint", "--api", "cli-api", "--workspace", str(ws.root),
                             "--data", "synthetic:2/10", "--n-boot", "50")
    assert code == 0, err
    assert "verdict:" in out and "nearest probe:" in out and "cli-api.json" in out
    code, _, err = run_cli("fingerprint", "--api", "cli-apj", "--workspace", str(ws.root))
    assert code == 2 and err.startswith("error: ") and "did you mean 'cli-api'" in err
    code, _, err = run_cli("fingerprint", "--workspace", str(ws.root))
    assert code == 2 and "exactly one of --api" in err
    code, _, err = run_cli("fingerprint", "--model", str(ws.root / "nope.keras"), "--workspace", str(ws.root))
    assert code == 2 and "expected an existing .keras" in err
