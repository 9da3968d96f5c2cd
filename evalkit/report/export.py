"""Machine-readable outputs beside index.html: report.json (every figure shown) and CSV tables.

Both are plain data: report.json escapes ``<``, ``>`` and ``&`` as JSON unicode escapes (same
value once parsed, inert if ever pasted into HTML), and CSV text cells that a spreadsheet would
run as a formula (starting with = + - @ tab or CR) get a leading apostrophe; their control
characters and line breaks are escaped (``\\x1b``, ``\\n``).
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Iterable

from ..textsafe import one_line
from ..workspace import atomic_write_text
from .comparison import comparison_table, pairs_table

FORMAT = "evalkit-report/1"
_PRIVATE_KEYS = {"thumb", "grid_files", "unreadable"}


def public_data(obj: Any) -> Any:
    """A copy of ReportData without inlined images or local file paths."""
    if isinstance(obj, dict):
        return {k: public_data(v) for k, v in obj.items() if k not in _PRIVATE_KEYS}
    if isinstance(obj, (list, tuple)):
        return [public_data(v) for v in obj]
    return obj


def report_json_text(data: dict, figures: dict) -> str:
    doc = {"format": FORMAT, "figures": figures, "data": public_data(data)}
    text = json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False, sort_keys=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _cell(v: Any) -> Any:
    if isinstance(v, str):
        v = one_line(v)  # API labels: control characters and line breaks escaped
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    if isinstance(v, (list, tuple)):
        return _cell(";".join(map(str, v)))
    return "" if v is None else v


def csv_text(header: list[str], rows: Iterable[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([_cell(v) for v in r])
    return buf.getvalue()


def table_rows(data: dict) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """The main tables of the report: file name -> (header, rows)."""
    acc = lambda d: [d.get(k) for k in ("acc", "lo", "hi", "n")] if d else [None] * 4  # noqa: E731
    tables = {
        "probes.csv": (["probe", "seed", "accuracy", "lo", "hi", "n", "epochs_run", "train_size", "seconds"],
                       [[p["name"], r["seed"], *acc(r["accuracy"]), r["epochs_run"], r["train_size"], r["seconds"]]
                        for p in data["probes"] for r in p["seeds"]]),
        "per_class_accuracy.csv": (["probe", "class", "accuracy", "lo", "hi", "n"],
                                   [[p["name"], c["class"], *acc(c)] for p in data["probes"] for c in p["per_class"]]),
        "evalsets.csv": (["set", "kind", "probe_a", "probe_b", "n", "gap", "gap_lo", "gap_hi", "random_gap",
                          "random_gap_lo", "random_gap_hi", "mcnemar_p", "kept", "flags"],
                         [[s["id"], s["kind"], s["probe_a"], s["probe_b"], s["n"], s["gap"], *s["gap_ci"],
                           s["random_gap"], *s["random_gap_ci"], s["mcnemar_p"], s["kept"], s["flags"]]
                          for s in data["evalsets"]]),
        "apis.csv": (["api", "adapter", "model", "n_images", "n_scored", "n_failed", "n_abstained", "accuracy",
                      "lo", "hi", "queries_sent", "cache_hits", "failures", "estimated_cost", "spent_cost",
                      "latency_p50_s", "latency_p95_s", "nearest_probe", "verdict"],
                     [[a["api"], a["adapter"], a["model"], a["n_images"], a["n_scored"], a["n_failed"],
                       a["n_abstained"], *acc(a["accuracy_overall"])[:3], a["queries_sent"], a["cache_hits"],
                       a["failures"], a["estimated_cost"], a["spent_cost"], a["latency_p50_s"], a["latency_p95_s"],
                       (a["fingerprint"] or {}).get("nearest_probe", {}).get("name"),
                       (a["fingerprint"] or {}).get("verdict")] for a in data["apis"]]),
        "api_accuracy_per_set.csv": (["api", "set", "accuracy", "lo", "hi", "n", "source"],
                                     [[a["api"], r["set"], *acc(r), r["source"]]
                                      for a in data["apis"] for r in a["accuracy_per_set"]]),
        "cue_profile.csv": (["api", "cue", "score", "lo", "hi", "verdict"],
                            [[a["api"], r["cue"], r["score"], r["lo"], r["hi"], r["verdict"]]
                             for a in data["apis"] if a["fingerprint"] for r in a["fingerprint"]["cue_profile"]]),
        "error_consistency.csv": (["api", "probe", "kappa", "lo", "hi", "kappa_max", "ratio"],
                                  [[a["api"], r["probe"], r["kappa"], r["lo"], r["hi"], r["kappa_max"], r["ratio"]]
                                   for a in data["apis"] if a["fingerprint"]
                                   for r in a["fingerprint"]["error_consistency"]]),
        "unmapped_labels.csv": (["api", "label", "count"],
                                [[a["api"], u["label"], u["count"]] for a in data["apis"] for u in a["unmapped_labels"]]),
        "changes.csv": (["api", "run_a", "run_b", "set", "n", "acc_a", "acc_b", "diff", "lo", "hi", "p", "p_holm",
                         "flip_rate", "verdict"],
                        [[c["api"], c["run_a"]["id"], c["run_b"]["id"], s["id"], s["n"], s["acc_a"], s["acc_b"],
                          s["diff"], s["lo"], s["hi"], s["p"], s.get("p_holm"), s["flips"]["rate"], c["verdict"]]
                         for c in data.get("changes", [])
                         for s in [*c["sets"], {**c["overall"], "id": "all images"}]]),
    }
    if "comparison" in data:
        tables["apis_comparison.csv"] = comparison_table(data["comparison"])
    if "pairwise" in data:
        tables["api_pairs.csv"] = pairs_table(data["pairwise"])
    return tables


def write_exports(out_dir: Path, data: dict, figures: dict) -> list[Path]:
    """Write report.json and the CSV tables into ``out_dir``; return the paths written."""
    out_dir = Path(out_dir)
    paths = [out_dir / "report.json"]
    atomic_write_text(paths[0], report_json_text(data, figures))
    for name, (header, rows) in table_rows(data).items():
        paths.append(out_dir / name)
        atomic_write_text(paths[-1], csv_text(header, rows))
    return paths
