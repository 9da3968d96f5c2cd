"""The APIs side by side: one row per API (accuracy, cue profile, headline, queries, cost, latency).

``build_comparison(apis)`` turns the report's API sections (``sections.api_section``) into the
table shown at the top of the report, written to report.json (``data["comparison"]``) and
``apis_comparison.csv``, and printed by ``evalkit fingerprint --compare``. The cue intervals of
every row share one scale per kind of cue scale, so their positions can be compared down a column.
"""
from __future__ import annotations

import json
import math

from markupsafe import Markup

from ..errors import DataError, UserError, did_you_mean
from .plots import _el, _finite, _svg

# verdict word of a cue -> (CSS class / colour group, short word shown in the cell)
READINGS = {"more": ("more", "more"), "used": ("more", "used"), "as_much": ("asmuch", "as much"),
            "less": ("less", "less"), "ignored": ("ignored", "ignored"), "not used": ("asmuch", "not used"),
            "inconclusive": ("inconclusive", "inconclusive")}
COLOURS = {"more": "#7c3aed", "asmuch": "#15803d", "less": "#c2410c", "ignored": "#b91c1c",
           "inconclusive": "#6b7280", "other": "#6b7280"}
LEGEND = (("more", "more than a standard CNN (absolute scale: used, unlike a standard CNN)"),
          ("asmuch", "about as much as a standard CNN (absolute scale: not used, like one)"),
          ("less", "less than a standard CNN"), ("ignored", "as little as a probe blind to it"),
          ("inconclusive", "inconclusive"))


def cue_label(name: str) -> str:
    """A short column label: the cue's registered label up to ' / ' ('fine texture'), else its name."""
    from ..fingerprint.cues import CUES

    label = CUES.get(name).label if name in CUES else name.replace("_", " ")
    return label.split(" / ")[0]


def reading(verdict: str | None) -> tuple[str, str]:
    """(colour group, short word) of a cue verdict; unknown words keep their text, grey."""
    return READINGS.get(str(verdict), ("other", str(verdict or "n/a").replace("_", " ")))


def headline(fp: dict | None) -> str:
    """The verdict in a few words: 'less colour', 'ignores shape (+1 cue)', 'like a standard CNN'."""
    if not fp:
        return "not fingerprinted"
    status, cue = fp.get("status"), fp.get("dominant_cue")
    profile = {r["cue"]: r for r in fp.get("cue_profile", [])}
    if status == "biased" and cue in profile:
        word = {"ignored": "ignores", "less": "less", "more": "more"}.get(profile[cue]["verdict"], "biased:")
        others = sum(1 for n, r in profile.items() if n != cue and r["verdict"] in ("ignored", "less", "more"))
        return f"{word} {cue_label(cue)}" + (f" (+{others} cue{'s' if others > 1 else ''})" if others else "")
    if status == "no_bias":
        return "like a standard CNN"
    return str(status or "no verdict").replace("_", " ")


def _interval(d: dict | None, keys=("acc", "lo", "hi")) -> dict | None:
    if not d:
        return None
    return {k: d.get(k) for k in (*keys, "n")}


def build_comparison(apis: list[dict]) -> dict:
    """{"columns": [{cue, label, scale}], "scales": {scale: [lo, hi]}, "rows": [...], "legend"}.

    Each row: api, section (1-based index of its API section), accuracy {acc, lo, hi, n} on the
    scored images, pool_accuracy {acc, lo, hi, n} (the planner's full-pool estimate) or None,
    cues {cue: {score, lo, hi, verdict, scale, reading, word}}, headline, status, verdict (the
    full sentence), queries_sent, cost (spent), latency_p50_s."""
    from ..fingerprint.cues import CUES

    rows, seen = [], {}
    for k, a in enumerate(apis, start=1):
        fp = a.get("fingerprint")
        cues = {}
        for c in (fp or {}).get("cue_profile", []):
            group, word = reading(c.get("verdict"))
            scale = c.get("scale") or "relative"
            cues[c["cue"]] = {"score": c.get("score"), "lo": c.get("lo"), "hi": c.get("hi"),
                              "verdict": c.get("verdict"), "scale": scale, "reading": group, "word": word}
            seen.setdefault(c["cue"], scale)
        rows.append({"api": a["api"], "section": k, "accuracy": _interval(a.get("accuracy_overall")),
                     "pool_accuracy": _interval(a.get("pool_accuracy")), "cues": cues,
                     "headline": headline(fp), "status": (fp or {}).get("status"),
                     "verdict": (fp or {}).get("verdict") or "", "queries_sent": a.get("queries_sent"),
                     "cost": a.get("spent_cost"), "latency_p50_s": a.get("latency_p50_s")})
    order = [n for n in CUES.names() if n in seen] + sorted(n for n in seen if n not in CUES)
    columns = [{"cue": n, "label": cue_label(n), "scale": seen[n]} for n in order]
    return {"columns": columns, "scales": _scales(rows), "rows": rows,
            "legend": [{"reading": g, "text": t} for g, t in LEGEND],
            "has_pool_accuracy": any(r["pool_accuracy"] for r in rows)}


def _scales(rows: list[dict]) -> dict[str, list[float]]:
    """One axis per kind of cue scale: relative spans at least [0, 1] (blind, standard CNN) and at
    most [-1, 2]; absolute (fraction of accuracy lost) at least [0, 0.25], at most [-0.5, 1]."""
    vals: dict[str, list[float]] = {}
    for r in rows:
        for c in r["cues"].values():
            vals.setdefault(c["scale"], []).extend(v for v in (c["lo"], c["hi"], c["score"]) if _finite(v))
    out = {}
    for scale, v in vals.items():
        if scale == "absolute":
            out[scale] = [max(-0.5, math.floor(min([0.0, *v]) * 20) / 20), min(1.0, max([0.25, *v]))]
        else:
            lo, hi = min([0.0, *v]), max([1.0, *v])
            out[scale] = [max(-1.0, math.floor(lo * 4) / 4), min(2.0, math.ceil(hi * 4) / 4)]
    return out


W, H, PAD = 84, 14, 4


def _x(v: float, lo: float, hi: float) -> float:
    return PAD + (W - 2 * PAD) * (min(max(v, lo), hi) - lo) / ((hi - lo) or 1.0)


def _marks(scale: str) -> tuple[float, ...]:
    return (0.1,) if scale == "absolute" else (0.0, 1.0)


def cue_interval(cell: dict | None, scale: list[float]) -> Markup:
    """A small interval (CI whisker and score dot) on the column's shared scale; grey lines mark
    0 (a blind probe) and 1 (a standard CNN), or the 0.1 'used' threshold on the absolute scale."""
    lo, hi = scale
    kind = (cell or {}).get("scale", "relative")
    body = [_el("line", x1=f"{_x(m, lo, hi):.1f}", x2=f"{_x(m, lo, hi):.1f}", y1=1, y2=H - 1, stroke="#cbd5e1")
            for m in _marks(kind)]
    if kind != "absolute":
        body.append(_el("line", x1=f"{_x(0.5, lo, hi):.1f}", x2=f"{_x(0.5, lo, hi):.1f}", y1=3, y2=H - 3,
                        stroke="#cbd5e1", stroke_dasharray="2 2"))
    colour = COLOURS[(cell or {}).get("reading", "other")]
    if cell and _finite(cell.get("lo")) and _finite(cell.get("hi")):
        body.append(_el("line", x1=f"{_x(cell['lo'], lo, hi):.1f}", x2=f"{_x(cell['hi'], lo, hi):.1f}",
                        y1=H / 2, y2=H / 2, stroke=colour, stroke_width=3, stroke_linecap="round"))
    if cell and _finite(cell.get("score")):
        body.append(_el("circle", cx=f"{_x(cell['score'], lo, hi):.1f}", cy=H / 2, r=3.5, fill=colour,
                        stroke="#fff", stroke_width=1))
    title = "no score" if not cell or not _finite(cell.get("score")) else \
        f"score {cell['score']:.2f}, 95% CI {cell['lo']:.2f} to {cell['hi']:.2f}"
    return _svg(W, H, title, "cue-interval", body)


def cue_axis(scale: list[float], kind: str) -> Markup:
    """The column's scale under its header: ticks at the marks and the ends."""
    lo, hi = scale
    body = [_el("line", x1=PAD, x2=W - PAD, y1=3, y2=3, stroke="#94a3b8")]
    labelled = {*_marks(kind), *([lo] if kind == "absolute" and lo == 0.0 else [])}
    for v in sorted({lo, hi, *_marks(kind), *([0.0] if lo <= 0.0 <= hi else [])}):
        x = _x(v, lo, hi)
        body.append(_el("line", x1=f"{x:.1f}", x2=f"{x:.1f}", y1=1, y2=6, stroke="#64748b"))
        if v in labelled:
            anchor = "start" if x < 8 else "end" if x > W - 8 else "middle"
            body.append(_el("text", f"{v:g}", x=f"{x:.1f}", y=15, text_anchor=anchor, fill="#475569", font_size=9))
    return _svg(W, 17, f"{kind} scale from {lo:g} to {hi:g}", "cue-axis", body)


def select_apis(names: list[str] | None, known, option: str = "--apis") -> list[str] | None:
    """Check requested API names against the workspace's; unknown -> one-line UserError."""
    if names is None:
        return None
    if not names:
        raise UserError(f"{option}: expected API names, e.g. {option} a,b,c")
    known = sorted(set(known))
    for n in names:
        if n not in known:
            raise UserError(f"{option}: no scored or fingerprinted API {n!r}{did_you_mean(n, known)}; "
                            f"known: {', '.join(known) or 'none (score an API first)'}")
    return list(dict.fromkeys(names))


def _read_json(path, what: str) -> dict:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"recorded {what} file is unreadable ({exc})", path=path) from None


def comparison_from_workspace(ws, names: list[str] | None = None) -> dict:
    """The comparison of ``names`` (default: every API) read straight from scores and fingerprints."""
    from ..artifacts import EVALSET, FINGERPRINT, SCORES, load_pool_labels, predictions_rows, read_evalset, read_scores
    from . import sections

    scores = {a.key: read_scores(ws.abspath(a)) for a in ws.catalog.list(SCORES)}
    fps = {a.key: _read_json(ws.abspath(a), "fingerprint") for a in ws.catalog.list(FINGERPRINT)}
    chosen = select_apis(names, set(scores) | set(fps), "--compare") or sorted(set(scores) | set(fps))
    evalsets = sorted((read_evalset(ws.abspath(a)) for a in ws.catalog.list(EVALSET)), key=lambda d: d["id"])
    labels: dict[int, int] = {}
    pools = {s.get("pool") for s in scores.values()} | {d.get("pool") for d in evalsets}
    for pool in sorted(p for p in pools if p):
        if predictions_rows(ws, pool):
            labels.update(enumerate(load_pool_labels(ws, pool)[0].tolist()))
    for d in evalsets:
        labels.update(zip(map(int, d.get("indices", [])), map(int, d.get("labels", []))))
    apis = [sections.api_section(n, scores.get(n), fps.get(n), evalsets, labels, []) for n in chosen]
    return build_comparison(apis)


def comparison_table(comp: dict) -> tuple[list[str], list[list]]:
    """``apis_comparison.csv``: one row per API, the figures of the table at the top of the report."""
    cues = [c["cue"] for c in comp["columns"]]
    header = ["api", "accuracy", "accuracy_lo", "accuracy_hi", "n_scored", "pool_accuracy", "pool_accuracy_lo",
              "pool_accuracy_hi", *[f"{c}_{k}" for c in cues for k in ("score", "lo", "hi", "verdict")],
              "headline", "status", "queries_sent", "cost", "latency_p50_s", "verdict"]
    rows = []
    for r in comp["rows"]:
        acc, pool = r["accuracy"] or {}, r["pool_accuracy"] or {}
        cells = [r["cues"].get(c) or {} for c in cues]
        rows.append([r["api"], acc.get("acc"), acc.get("lo"), acc.get("hi"), acc.get("n"), pool.get("acc"),
                     pool.get("lo"), pool.get("hi"),
                     *[c.get(k) for c in cells for k in ("score", "lo", "hi", "verdict")],
                     r["headline"], r["status"], r["queries_sent"], r["cost"], r["latency_p50_s"], r["verdict"]])
    return header, rows


def pairs_table(pairwise: dict) -> tuple[list[str], list[list]]:
    """``api_pairs.csv``: every pair and group (all shared images, then each kept set)."""
    header = ["api_a", "api_b", "group", "n", "acc_a", "acc_b", "diff", "only_a", "only_b", "mcnemar_p",
              "mcnemar_p_holm", "kappa", "kappa_lo", "kappa_hi"]
    rows = []
    for p in pairwise["pairs"]:
        for g in (p, *p["sets"]):
            kappa = [p["kappa"], p["kappa_lo"], p["kappa_hi"]] if g is p else [None] * 3
            rows.append([p["a"], p["b"], g["group"], g["n"], g["acc_a"], g["acc_b"], g["diff"], g["only_a"],
                         g["only_b"], g["p"], g["p_holm"], *kappa])
    return header, rows
