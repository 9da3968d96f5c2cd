"""The fingerprint's reference ablations (every reference probe and seed on every cue-ablated
copy of the evaluation images) build no predict function per transform: no tf.function retracing."""
from __future__ import annotations

import json
import logging

import numpy as np
from model_helpers import tiny_model


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_reference_ablations_do_not_retrace(tmp_path):
    from evalkit.data.synthetic import make_synthetic_dataset
    from evalkit.fingerprint.inputs import ABLATION_SEED, reference_ablations
    from evalkit.probes import load_probe_model
    from evalkit.probes.transforms import apply_transform
    from evalkit.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    seeds = {"control": [0, 1, 2], "grayscale": [0, 1, 2]}
    for p, ss in seeds.items():
        for s in ss:
            folder = ws.dir("models") / p / f"seed{s}"
            folder.mkdir(parents=True, exist_ok=True)
            tiny_model(10 * len(p) + s).save(folder / "model.keras")
            (folder / "meta.json").write_text(json.dumps({"probe": p, "seed": s}))
            ws.catalog.record("model", f"{p}/seed{s}", ws.relpath(folder))
    test = make_synthetic_dataset(1, 4, seed=0).split("test")
    idx = np.arange(0, 40, 2)
    transforms = ["grayscale", "lowpass", "mirror"]
    logger = logging.getLogger("tensorflow")
    records, level = _Records(), logger.level
    logger.addHandler(records)
    logger.setLevel(logging.WARNING)
    try:
        out = reference_ablations(ws, "synthetic/test", idx, transforms, test.images, seeds, test.labels)
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)
    assert [m for m in records.messages if "retracing" in m] == []
    # same values as predicting each transform separately
    for t in transforms:
        x = apply_transform(t, test.images[idx], seed=ABLATION_SEED)
        for p, ss in seeds.items():
            want = np.stack([load_probe_model(ws, p, s).predict_proba(x).argmax(1) == test.labels[idx] for s in ss])
            np.testing.assert_array_equal(out[t][p], want.astype(float))
            assert out[t][p].shape == (3, len(idx))
