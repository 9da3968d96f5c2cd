"""Scoring through each of the 8 adapter protocols against the fake server with faults on (429 +
Retry-After, 503, hangs, garbage, wrong counts, hostile labels, echoed keys, odd types): every image
ends scored with its true label or failed with a reason, and no piece of a key lands in any file."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from fake_api_server import HOSTILE_LABELS, PROTOCOLS, Faults, api_file_text, fake_api_server, fake_secrets
from scoring_servers import CLASSES, make_dataset, write_evalset

N = 24
HOSTILE_SAFE = {h.replace("\ud800", "\ufffd") for h in HOSTILE_LABELS}  # as stored (valid UTF-8)
FAULTS = Faults(p429=0.20, p503=0.10, phang=0.05, pgarbage=0.10, pwrong_count=0.10, hostile_labels=True,
                echo_headers=True, odd_types=True, hang_s=0.6, seed=3, p_hostile_top=0.15)


def key_pieces(secrets) -> set[str]:
    return {s[i:i + 8] for s in secrets for i in range(len(s) - 7)}


def leaked_pieces(root, secrets) -> dict[str, int]:
    """Per file under ``root`` (every file, SQLite included): how many 8-character key pieces it holds."""
    pieces = [p.encode() for p in key_pieces(secrets)]
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        hits = sum(1 for p in pieces if p in data)
        if hits:
            out[str(path.relative_to(root))] = hits
    return out


@pytest.fixture(scope="module")
def dataset():
    return make_dataset(N, seed=5)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_protocol_scores_true_labels_or_fails_with_reason_and_leaks_nothing(tmp_path, dataset, protocol):
    from evalkit.artifacts import image_hash
    from evalkit.scoring import load_api_config, score_api
    from evalkit.workspace import Workspace

    split = dataset.split("test")
    truth = {image_hash(im): CLASSES[int(y)] for im, y in zip(split.images, split.labels)}
    assert len(truth) == N
    ws = Workspace(tmp_path / "ws")
    write_evalset(ws, "a", range(N))
    secrets = fake_secrets(seed=7)
    with fake_api_server(truth, CLASSES, FAULTS) as srv:
        (tmp_path / "api.toml").write_text(api_file_text(protocol, srv.url, CLASSES, timeout_s=0.3))
        art = score_api(ws, load_api_config(tmp_path / "api.toml"), dataset, ["a"], environ=secrets)
        sent = Counter(srv.faults_sent)
    doc = json.loads(ws.abspath(art).read_text())
    images = doc["images"]
    assert sorted(r["index"] for r in images) == list(range(N))
    vector = protocol in ("tfserving", "kserve-v2")  # scores over output_labels: no free-text labels
    abstain = {i for i, im in enumerate(split.images) if not vector and FAULTS.hostile_top(image_hash(im))}
    assert vector or 0 < len(abstain) < N // 2
    for r in images:
        assert r["status"] in ("scored", "failed")
        if r["status"] == "scored":   # the true class, or no class when only hostile labels came
            want = None if r["index"] in abstain else int(split.labels[r["index"]])
            assert r["label"] == want and (want is not None or r["raw_label"] in HOSTILE_SAFE), r
        else:
            assert r["reason"] and r["reason"] not in ("not queried", "budget"), r
    assert Counter(r["status"] for r in images)["scored"] >= N * 3 // 4
    assert sent["429"] + sent["503"] + sent["garbage"] > 0 and sent["none"] >= N // 8
    assert leaked_pieces(ws.root, list(secrets.values())) == {}
    if protocol in ("kserve-v2", "rekognition", "azure-customvision", "azure-vision", "http-json"):
        assert doc["api_versions"] and all(v.startswith('{"echo":') for v in doc["api_versions"])
