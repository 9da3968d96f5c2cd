"""Report figures: ReportData pieces -> inline SVG (thin layer over plots.py, used by templates)."""
from __future__ import annotations

from markupsafe import Markup

from . import plots

TRAIN, VAL = ("#2563eb", "#60a5fa", "#1e3a8a"), ("#ea580c", "#fb923c", "#9a3412")


def training_curves(probe: dict, metric: str) -> Markup:
    """Train (solid) vs validation (dashed) ``metric`` per epoch, one pair of lines per seed."""
    series = []
    for k, row in enumerate(probe["seeds"]):
        h = row.get("history") or {}
        if h.get(metric):
            series.append({"name": f"train s{row['seed']}", "values": h[metric], "color": TRAIN[k % 3]})
        if h.get(f"val_{metric}"):
            series.append({"name": f"val s{row['seed']}", "values": h[f"val_{metric}"], "color": VAL[k % 3],
                           "dashed": True})
    label = "loss" if metric == "loss" else "accuracy"
    return plots.line_chart(series, title=f"{probe['name']}: {label} per epoch", y_label=label,
                            css_class=f"training-curve curve-{metric}")


def per_class_accuracy(probe: dict) -> Markup:
    rows = [{"label": r["class"], "value": r["acc"], "lo": r["lo"], "hi": r["hi"]} for r in probe["per_class"]]
    return plots.interval_plot(rows, title=f"{probe['name']}: accuracy per class (pooled over seeds, 95% CI)",
                               bars=True, css_class="per-class-accuracy")


def confusion_matrix(probe: dict, class_names) -> Markup:
    return plots.heatmap(probe["confusion"], class_names,
                         title=f"{probe['name']}: confusion matrix (summed over seeds)")


def gap_forest(evalsets: list[dict]) -> Markup:
    """Validated gap of each set with its CI, next to the gap of a random set of the same size."""
    rows, vals = [], []
    for s in evalsets:
        rows.append({"label": s["id"], "value": s["gap"], "lo": s["gap_ci"][0], "hi": s["gap_ci"][1],
                     "color": "#16a34a" if s["kept"] else "#9ca3af"})
        rows.append({"label": "  random set", "value": s["random_gap"], "lo": s["random_gap_ci"][0],
                     "hi": s["random_gap_ci"][1], "color": "#6b7280"})
        vals += [v for v in (s["gap"], s["random_gap"], *s["gap_ci"], *s["random_gap_ci"]) if v is not None]
    lim = max([abs(v) for v in vals] + [0.1])
    lim = min(1.0, round(lim * 1.15 + 0.049, 1))
    return plots.interval_plot(rows, title="Validated accuracy gap (95% CI) vs a random set", lo=-lim, hi=lim,
                               ref=0.0, kind="signed_pct", css_class="gap-forest", label_width=170)


def api_accuracy(api: dict) -> Markup:
    rows = [{"label": r["set"], "value": r["acc"], "lo": r["lo"], "hi": r["hi"]} for r in api["accuracy_per_set"]]
    if api.get("accuracy_overall"):
        a = api["accuracy_overall"]
        rows.insert(0, {"label": "all scored images", "value": a["acc"], "lo": a["lo"], "hi": a["hi"],
                        "color": "#111827"})
    return plots.interval_plot(rows, title=f"{api['api']}: accuracy per set (95% CI)", bars=True,
                               css_class="api-accuracy", label_width=170)


def cue_profile(api: dict) -> Markup:
    """Score of each cue with its CI; the dashed line is the neutral value (no reliance either way)."""
    fp = api["fingerprint"]
    rows = [{"label": r["cue"], "value": r["score"], "lo": r["lo"], "hi": r["hi"], "note": r["verdict"],
             "color": "#9333ea"} for r in fp["cue_profile"]]
    vals = [v for r in rows for v in (r["value"], r["lo"], r["hi"]) if v is not None]
    neutral = {r.get("neutral") for r in fp["cue_profile"]}
    ref = neutral.pop() if len(neutral) == 1 else None
    lo = -1.0 if any(v < 0 for v in vals) else 0.0
    hi = max(vals + [1.0])
    if ref is None and lo < 0:
        ref = 0.0
    return plots.interval_plot(rows, title=f"{api['api']}: cue-reliance profile (95% CI)", lo=lo, hi=hi,
                               ref=ref, kind="float", css_class="cue-profile",
                               width=540, label_width=100, value_width=150)
