"""Compare two runs of one API: paired accuracy changes per evaluation set and overall (exact
McNemar, Holm-adjusted across sets, Newcombe CI), the flip rate (Wilson CI), the change of each
cue score (paired bootstrap) and a one-line verdict. Written to
``comparisons/{api}/{run_a}_vs_{run_b}.json`` and recorded (catalog kind ``comparison``, key =
API name: the latest comparison, which the report shows)."""
from __future__ import annotations

import json

import numpy as np

from ..artifacts import Pool, open_pool_dataset
from ..errors import UserError
from ..fingerprint.fingerprint import _answers, _pool_labels
from ..fingerprint.inputs import load_eval_sets
from ..scoring.runs import RunInfo, load_run, pick_runs, run_plan
from ..textsafe import safe_json
from ..workspace import Workspace, atomic_write_text
from .cues import paired_cue_changes
from .stats import flip_rate, holm, paired_change, sig
from .text import METHOD, verdict_sentence

COMPARISON = "comparison"
MIN_CUE_CHANGE = 0.5   # relative cue scale: half the span from a cue-blind probe (0) to a standard CNN (1)


def _run_meta(run: RunInfo) -> dict:
    return {"id": run.id, "time": run.time, "when": run.when, "new_run": run.new_run,
            "model_versions": list(run.model_versions), "planned": run.planned}


def _right(answers: dict, idx, labels) -> np.ndarray:
    return np.array([answers[i] is not None and int(answers[i]) == int(labels[i]) for i in idx], dtype=bool)


def compare_answers(docs: list[dict], labels: np.ndarray, ans_a: dict, ans_b: dict, alpha: float = 0.05) -> dict:
    """Overall and per-set paired changes and flip rates over the images both runs answered."""
    common = sorted(set(ans_a) & set(ans_b))
    cset = set(common)
    overall = paired_change(_right(ans_a, common, labels), _right(ans_b, common, labels)).to_dict()
    overall["flips"] = flip_rate([ans_a[i] for i in common], [ans_b[i] for i in common])
    sets = []
    for d in docs:
        idx = [int(i) for i in d["indices"] if int(i) in cset]
        row = {"id": d["id"], **paired_change(_right(ans_a, idx, labels), _right(ans_b, idx, labels)).to_dict(),
               "flips": flip_rate([ans_a[i] for i in idx], [ans_b[i] for i in idx]), "n_set": len(d["indices"])}
        sets.append(row)
    for row, p in zip(sets, holm([s["p"] for s in sets])):
        row["p_holm"] = sig(float(p))
        row["changed"] = bool(p < alpha)
    overall["changed"] = bool(overall["p"] is not None and overall["p"] < alpha)
    return {"common": common, "overall": overall, "sets": sets}


def compare_runs(ws: Workspace, api: str, run_a: str | None = None, run_b: str | None = None, *,
                 data=None, dataset=None, n_boot: int = 1000, seed: int = 0, alpha: float = 0.05,
                 max_flipped: int = 60, min_cue_change: float = MIN_CUE_CHANGE) -> dict:
    """Compare two runs of ``api`` (default: its last two) and write the comparison.

    A cue's reliance counts as changed when its Holm-adjusted p-value is below ``alpha`` and the
    change is at least ``min_cue_change`` on the cue's scale (relative scale: half the distance
    between a standard CNN and a cue-blind probe, where the fingerprint's verdict words switch)."""
    if not 0 < alpha < 1:
        raise UserError(f"--alpha must be between 0 and 1, got {alpha}")
    ra, rb = pick_runs(ws, api, run_a, run_b)
    da, db = load_run(ws, ra), load_run(ws, rb)
    if da["pool"] != db["pool"]:
        raise UserError(f"runs {ra.id} and {rb.id} of {api!r} were scored on different pools "
                        f"({da['pool']}, {db['pool']})")
    pool, docs = load_eval_sets(ws, da["pool"])
    labels = _pool_labels(ws, pool, docs)
    ans_a, ans_b = _answers(da.get("images", [])), _answers(db.get("images", []))
    res = compare_answers(docs, labels, ans_a, ans_b, alpha)
    common = res["common"]
    if not common:
        raise UserError(f"runs {ra.id} and {rb.id} of {api!r} have no answered image in common")
    ablations, abl_runs = {}, ({}, {})
    for t in sorted(set(da.get("ablations") or {}) & set(db.get("ablations") or {})):
        xa, xb = _answers(da["ablations"][t]), _answers(db["ablations"][t])
        both = sorted(set(xa) & set(xb) & set(common))
        if not both:
            continue
        abl_runs[0][t], abl_runs[1][t] = {i: xa[i] for i in both}, {i: xb[i] for i in both}
        ablations[t] = {**paired_change(_right(xa, both, labels), _right(xb, both, labels)).to_dict(),
                        "flips": flip_rate([xa[i] for i in both], [xb[i] for i in both])}
    images = None
    if abl_runs[0]:
        def images():
            ds = dataset if dataset is not None else open_pool_dataset(ws, pool, data)
            return ds.split(Pool.parse(pool).split).images
    design = run_plan(ws, rb) if ra.planned and rb.planned else None
    cues = paired_cue_changes(ws, pool, docs, labels,
                              (({i: ans_a[i] for i in common}, abl_runs[0]),
                               ({i: ans_b[i] for i in common}, abl_runs[1])),
                              images=images, design=design, n_boot=n_boot, seed=seed)
    tested = [c for c in cues.values() if c["p"] is not None]
    for c, p in zip(tested, holm([c["p"] for c in tested])):
        c["p_holm"] = sig(float(p))
        c["significant"] = bool(p < alpha)
        c["changed"] = bool(p < alpha and abs(c["diff"]) >= min_cue_change)
    class_names = list(da.get("class_names") or [])
    in_sets = {}
    for d in docs:
        for i in d["indices"]:
            in_sets.setdefault(int(i), []).append(d["id"])
    flipped = [i for i in common if ans_a[i] != ans_b[i]]
    name = (lambda k: None if k is None else (class_names[k] if k < len(class_names) else str(k)))  # noqa: E731
    doc = {
        "api": api, "pool": pool, "run_a": _run_meta(ra), "run_b": _run_meta(rb),
        "n_common": len(common), "n_only_a": len(set(ans_a) - set(ans_b)), "n_only_b": len(set(ans_b) - set(ans_a)),
        "overall": res["overall"], "sets": res["sets"], "ablations": ablations,
        "cues": list(cues.values()), "alpha": alpha, "min_cue_change": min_cue_change, "n_boot": n_boot, "seed": seed,
        "design_weighted_cues": design is not None,
        "n_flipped": len(flipped),
        "flipped": [{"index": i, "label": name(int(labels[i])), "a": name(ans_a[i]), "b": name(ans_b[i]),
                     "sets": in_sets.get(i, [])} for i in flipped[:max_flipped]],
        "method": METHOD,
    }
    doc["verdict"], doc["changed"] = verdict_sentence(doc)
    rel = f"comparisons/{api}/{ra.id}_vs_{rb.id}.json"
    atomic_write_text(ws.root / rel, json.dumps(safe_json(doc), indent=1))
    ws.catalog.record(COMPARISON, api, rel, inputs={"run_a": ra.id, "run_b": rb.id},
                      settings={"n_boot": n_boot, "seed": seed, "alpha": alpha, "min_cue_change": min_cue_change},
                      meta={"verdict": doc["verdict"], "changed": doc["changed"]})
    return doc
