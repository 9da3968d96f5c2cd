"""Figures of each report section, computed from artifacts already read by collect.py.

Everything returned is plain JSON-able data (lists, dicts, str, int, float, None).
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

from ..artifacts import MinisetKey, Pool
from .stats import proportion


def _f(x) -> float | None:
    """A finite float, or None (JSON has no NaN)."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _ci(pair) -> list:
    return [_f(pair[0]), _f(pair[1])] if isinstance(pair, (list, tuple)) and len(pair) == 2 else [None, None]


def _clean(p: dict) -> dict:
    return {k: (_f(v) if isinstance(v, float) else v) for k, v in p.items()}


def _name(class_names, i) -> str:
    return str(class_names[i]) if i is not None and 0 <= i < len(class_names) else f"class {i}"


def probe_section(name: str, seeds: dict[int, dict], class_names, images, max_gallery: int) -> dict:
    """Accuracy with CI per seed, pooled per-class accuracy, confusion matrix, misclassified gallery."""
    n_cls = len(class_names)
    confusion = np.zeros((n_cls, n_cls), dtype=np.int64)
    rows, preds = [], {}
    for seed, e in seeds.items():
        meta, row = e.get("meta", {}), {"seed": seed}
        row.update({k: meta.get(k) for k in ("epochs_run", "seconds", "train_size", "miniset")})
        row["seconds"] = _f(row["seconds"])
        row["history"] = {k: [_f(v) for v in e.get("history", {}).get(k, [])]
                          for k in ("loss", "val_loss", "accuracy", "val_accuracy")}
        if "probs" in e:
            pred = e["probs"].argmax(axis=1)
            labels = e["labels"]
            preds[seed] = (pred, labels, e["probs"].max(axis=1), e["ids"])
            row["accuracy"] = _clean(proportion(int((pred == labels).sum()), len(labels)))
            if n_cls:
                np.add.at(confusion, (labels, pred), 1)
        else:
            row["accuracy"] = None
        row["meta_test_accuracy"] = _f(meta.get("test_accuracy"))
        rows.append(row)
    per_class = []
    for c in range(n_cls):
        p = proportion(int(confusion[c, c]), int(confusion[c].sum()))
        per_class.append({"class": _name(class_names, c), **_clean(p)})
    gallery, n_wrong = [], 0
    if preds:
        first = min(preds)
        pred, labels, conf, ids = preds[first]
        wrong = np.flatnonzero(pred != labels)
        n_wrong = int(wrong.size)
        order = wrong[np.argsort(-conf[wrong], kind="stable")][:max_gallery]
        for i in order.tolist():
            wrong_seeds = sum(int(p[0][i] != p[1][i]) for p in preds.values())
            gallery.append({"index": i, "id": str(ids[i]), "true": _name(class_names, int(labels[i])),
                            "pred": _name(class_names, int(pred[i])), "confidence": _f(conf[i]),
                            "wrong_seeds": wrong_seeds, "n_seeds": len(preds), "thumb": images.thumb(i)})
    accs = [r["accuracy"]["acc"] for r in rows if r["accuracy"] and r["accuracy"]["acc"] is not None]
    return {"name": name, "seeds": rows, "mean_accuracy": _f(np.mean(accs)) if accs else None,
            "per_class": per_class, "confusion": confusion.tolist(), "gallery": gallery,
            "gallery_seed": min(preds) if preds else None, "n_misclassified": n_wrong,
            "images_reason": images.reason}


def evalset_section(s: dict, predictions: dict, explanations: dict, images, class_names,
                    max_images: int) -> dict:
    """Which probes the set separates, gap vs random with CIs, images with each probe's predictions."""
    idx = [int(i) for i in s.get("indices", [])]
    labels = [int(v) for v in s.get("labels", [])]
    probes = sorted({p for p, _ in predictions})
    on_set = {}
    for p in probes:
        k = n = 0
        for (q, seed), e in predictions.items():
            if q == p and idx:
                pred = e["probs"][idx].argmax(axis=1)
                k, n = k + int((pred == np.asarray(labels)).sum()), n + len(idx)
        on_set[p] = _clean(proportion(k, n))
    imgs = []
    for j, (i, y) in enumerate(zip(idx[:max_images], labels)):
        per_probe = []
        for p in probes:
            votes = [int(e["probs"][i].argmax()) for (q, _), e in sorted(predictions.items()) if q == p]
            top = Counter(votes).most_common(1)[0][0]
            per_probe.append({"probe": p, "pred": _name(class_names, top),
                              "correct": sum(v == y for v in votes), "n_seeds": len(votes)})
        ids = s.get("ids", [])
        imgs.append({"index": i, "id": str(ids[j]) if j < len(ids) else str(i), "true": _name(class_names, y),
                     "predictions": per_probe, "thumb": images.thumb(i)})
    return {"id": str(s.get("id")), "kind": s.get("kind"), "probe_a": s.get("probe_a"), "probe_b": s.get("probe_b"),
            "n": len(idx), "k": s.get("k"), "gap": _f(s.get("gap")), "gap_ci": _ci(s.get("gap_ci")),
            "random_gap": _f(s.get("random_gap")), "random_gap_ci": _ci(s.get("random_gap_ci")),
            "mcnemar_p": _f(s.get("mcnemar_p")), "mcnemar_p_adjusted": _f(s.get("mcnemar_p_adjusted")),
            "acc_a": _f(s.get("acc_a")), "acc_b": _f(s.get("acc_b")), "kept": bool(s.get("kept")),
            "flags": [str(f) for f in s.get("flags", [])],
            "selection_seeds": list(s.get("selection_seeds", [])), "validation_seeds": list(s.get("validation_seeds", [])),
            "probe_accuracy": [{"probe": p, **v} for p, v in on_set.items()], "images": imgs,
            "n_images_shown": len(imgs), "explanations": explanations["records"],
            "grid_files": explanations["grid_files"], "n_grids": explanations["n_grids"],
            "images_reason": images.reason}


def api_section(name: str, sc: dict | None, fp: dict | None, evalsets: list[dict], pool_labels: dict,
                class_names) -> dict:
    """Scoring counts, accuracy per set with CIs, unmapped labels, failures, cost, latency, fingerprint."""
    sc = sc or {}
    recs = sc.get("images", [])
    status = Counter(r.get("status") for r in recs)
    scored = {int(r["index"]): r for r in recs if r.get("status") == "scored"}
    abstained = sum(1 for r in scored.values() if r.get("label") is None)

    def acc_on(indices) -> dict:
        hits = [int(scored[i].get("label") == pool_labels.get(i)) for i in indices if i in scored and i in pool_labels]
        return _clean(proportion(sum(hits), len(hits)))

    per_set, unscored = [], []
    fp_sets = (fp or {}).get("accuracy_per_set") or {}
    for s in evalsets:
        sid = str(s.get("id"))
        if sid in fp_sets:
            v = fp_sets[sid]
            per_set.append({"set": sid, "acc": _f(v.get("acc")), "lo": _f(v.get("lo")), "hi": _f(v.get("hi")),
                            "n": v.get("n"), "source": "fingerprint"})
        elif recs:
            row = {"set": sid, **acc_on([int(i) for i in s.get("indices", [])]), "source": "scores"}
            if row["n"]:
                per_set.append(row)
            else:
                unscored.append(sid)
    for sid in sorted(set(fp_sets) - {str(s.get("id")) for s in evalsets}):
        v = fp_sets[sid]
        per_set.append({"set": str(sid), "acc": _f(v.get("acc")), "lo": _f(v.get("lo")), "hi": _f(v.get("hi")),
                        "n": v.get("n"), "source": "fingerprint"})
    unmapped = sorted(((str(k), int(v)) for k, v in (sc.get("unmapped_labels") or {}).items()), key=lambda t: (-t[1], t[0]))
    reasons = Counter(str(r.get("reason")) for r in recs if r.get("status") == "failed")
    ablations = []
    for t, tr in sorted((sc.get("ablations") or {}).items()):
        ok = {int(r["index"]): r for r in tr if r.get("status") == "scored"}
        hits = [int(r.get("label") == pool_labels.get(i)) for i, r in ok.items() if i in pool_labels]
        ablations.append({"transform": str(t), **_clean(proportion(sum(hits), len(hits)))})
    return {
        "api": name, "adapter": sc.get("adapter"), "model": sc.get("model"), "endpoint": sc.get("endpoint"),
        "version": sc.get("version"), "http_requests": sc.get("http_requests"),
        "scored_run": bool(sc), "n_images": len(recs), "n_scored": status.get("scored", 0),
        "n_failed": status.get("failed", 0), "n_abstained": abstained,
        "accuracy_overall": acc_on(sorted(scored)) if recs else None,
        "accuracy_per_set": per_set, "sets_not_scored": unscored, "ablation_accuracy": ablations,
        "unmapped_labels": [{"label": k, "count": v} for k, v in unmapped[:10]],
        "n_unmapped_distinct": len(unmapped),
        "failure_reasons": [{"reason": k, "count": v} for k, v in reasons.most_common(5)],
        **{k: sc.get(k) for k in ("queries_sent", "cache_hits", "failures")},
        **{k: _f(sc.get(k)) for k in ("estimated_cost", "spent_cost", "latency_p50_s", "latency_p95_s")},
        "fingerprint": fingerprint_section(fp) if fp else None,
        "pool_accuracy": _pool_accuracy(sc.get("pool_accuracy")),
        "query_plan": _query_plan(sc.get("plan")),
    }


def _pool_accuracy(pa: dict | None) -> dict | None:
    """The planner's estimate of the API's accuracy on the whole pool, with per-class rows."""
    if not pa:
        return None
    return {"acc": _f(pa.get("acc")), "lo": _f(pa.get("lo")), "hi": _f(pa.get("hi")),
            "n": pa.get("n_answered"), "n_pool": pa.get("n_pool"), "method": str(pa.get("method", "")),
            "per_class": [{"cls": str(k), "acc": _f(v.get("acc")), "lo": _f(v.get("lo")), "hi": _f(v.get("hi")),
                           "n": v.get("n")} for k, v in (pa.get("per_class") or {}).items()]}


def _query_plan(plan: dict | None) -> dict | None:
    if not plan:
        return None
    return {"max_queries": plan.get("max_queries"), "spent_queries": plan.get("spent_queries"),
            "stopped": str(plan.get("stopped", "")), "n_rounds": len(plan.get("rounds", [])),
            "rounds": [{"round": r.get("round"), "queries": r.get("queries"),
                        "decided": ", ".join(map(str, r.get("decided", [])))} for r in plan.get("rounds", [])]}


def fingerprint_section(fp: dict) -> dict:
    """The fingerprint json, normalised to lists of rows for tables and plots."""
    def rows(mapping, key, fields):
        return [{key: str(k), **{f: _f(v.get(f)) for f in fields}} for k, v in sorted((mapping or {}).items())]

    cue = rows(fp.get("cue_profile"), "cue", ("score", "lo", "hi"))
    for r in cue:
        src = (fp.get("cue_profile") or {}).get(r["cue"], {})
        r.update(verdict=str(src.get("verdict", "")), neutral=_f(src.get("neutral")),
                 scale=str(src.get("scale") or "relative"),
                 reason=str(src["reason"]) if src.get("reason") else None)
    nearest = fp.get("nearest_probe") or {}
    base = fp.get("correlation_baseline") or {}
    return {
        "verdict": str(fp.get("verdict", "")), "method": str(fp.get("method", "")), "cue_profile": cue,
        "status": fp.get("status"), "dominant_cue": fp.get("dominant_cue"),
        "nearest_probe": {"name": nearest.get("name"), "margin": _f(nearest.get("margin")),
                          "lo": _f(nearest.get("lo")), "hi": _f(nearest.get("hi")),
                          "verdict": nearest.get("verdict"), "runner_up": nearest.get("runner_up")},
        "error_consistency": rows(fp.get("error_consistency"), "probe", ("kappa", "lo", "hi", "kappa_max", "ratio")),
        "preferences": [{"a": str(p.get("a")), "b": str(p.get("b")), **{f: _f(p.get(f)) for f in ("value", "lo", "hi")}}
                        for p in fp.get("preferences", [])],
        "ablation": rows(fp.get("ablation"), "transform", ("kept", "lo", "hi")),
        "correlation_baseline": {"nearest": base.get("nearest"), "r": _f(base.get("r"))},
    }


def discovery_summary(d: dict) -> dict:
    """A few headline numbers of sets/discovery.json (its format is owned by the discovery stage)."""
    subsets = d.get("subsets") or []
    return {"n_subsets": len(subsets) if isinstance(subsets, (list, dict)) else None,
            "seed_split": d.get("seed_split"), "label_audit": d.get("label_audit")}


def summary(rows: dict, pools: dict, pool_key, models: dict, data: dict, versions: dict) -> dict:
    """Dataset, mini-sets, probes and seeds, per-stage timings and versions."""
    pool = pools.get(pool_key) or {}
    minisets = []
    for a in rows["miniset"]:
        mk = MinisetKey.parse(a.key)
        minisets.append({"key": a.key, "dataset": mk.dataset, "size": mk.size, "seed": mk.seed, "split": mk.split})
    timings = []
    for kind, label in [("model", "Probe training"), ("predictions", "Probe predictions"), ("evalset", "Evaluation sets"),
                        ("explanation", "Explanations"), ("scores", "API scoring"), ("fingerprint", "Fingerprints")]:
        arts = rows[kind]
        if not arts:
            continue
        secs = [m.meta.get("seconds") for m in arts if isinstance(m.meta.get("seconds"), (int, float))]
        if kind == "model":
            secs = [e["meta"].get("seconds") for e in models.values() if isinstance(e["meta"].get("seconds"), (int, float))]
        created = [a.created for a in arts]
        timings.append({"stage": label, "artifacts": len(arts), "seconds": _f(sum(secs)) if secs else None,
                        "span_s": _f(max(created) - min(created))})
    train_versions = next((e["meta"].get("versions") for e in models.values() if e["meta"].get("versions")), None)
    probes = {}
    for p, s in sorted(models) or []:
        probes.setdefault(p, []).append(s)
    for pr in data["probes"]:
        probes.setdefault(pr["name"], [r["seed"] for r in pr["seeds"]])
    return {
        "dataset": pool.get("dataset") or (Pool.parse(pool_key).dataset if pool_key else None),
        "pool": pool_key, "pool_n": pool.get("n"), "pool_sha256": (pool.get("source_sha256") or "")[:12] or None,
        "n_classes": len(data["class_names"]), "minisets": minisets,
        "probes": [{"name": p, "seeds": sorted(set(s))} for p, s in sorted(probes.items())],
        "n_evalsets": len(data["evalsets"]), "n_kept": sum(s["kept"] for s in data["evalsets"]),
        "apis": [a["api"] for a in data["apis"]], "timings": timings, "versions": versions,
        "training_versions": {str(k): str(v) for k, v in (train_versions or {}).items()} or None,
    }
