"""Hand-written inline SVG plots: readable without JavaScript, every text node escaped.

Each function returns :class:`markupsafe.Markup` holding one ``<svg>`` element with a ``<title>``
(for screen readers and tooltips) and a CSS class naming the kind of figure.
"""
from __future__ import annotations

import math
from typing import Sequence

from markupsafe import Markup, escape

PALETTE = ("#2563eb", "#ea580c", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04", "#db2777")
_FONT = 'font-family="system-ui, sans-serif"'


def _attrs(attrs: dict) -> str:
    return "".join(f' {k.rstrip("_").replace("_", "-")}="{escape(v)}"' for k, v in attrs.items() if v is not None)


def _el(tag: str, text: object = None, **attrs) -> str:
    if text is None:
        return f"<{tag}{_attrs(attrs)}/>"
    return f"<{tag}{_attrs(attrs)}>{escape(text)}</{tag}>"


def _finite(x) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def _svg(width: int, height: int, title: str, css_class: str, body: list[str]) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="plot {escape(css_class)}" role="img" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" {_FONT} font-size="12">')
    return Markup(head + _el("title", title) + "".join(body) + "</svg>")


def _fmt(v: float, kind: str) -> str:
    if not _finite(v):
        return "n/a"
    if kind == "pct":
        return f"{100 * v:.1f}%"
    if kind == "signed_pct":
        return f"{100 * v:+.1f} pp"
    return f"{v:.2f}" if kind == "float" else f"{v:+.2f}"


def line_chart(series: Sequence[dict], *, title: str, y_label: str, x_label: str = "epoch",
               css_class: str = "line-chart", width: int = 420, height: int = 240) -> Markup:
    """Lines over epochs. ``series``: [{"name", "values", "color"?, "dashed"?}]; epoch 1 is the first."""
    left, right, top, bottom = 48, 12, 26, 64
    pw, ph = width - left - right, height - top - bottom
    vals = [v for s in series for v in s["values"] if _finite(v)]
    n_max = max((len(s["values"]) for s in series), default=0)
    body = [_el("text", title, x=left, y=16, font_weight="600")]
    if not vals or n_max == 0:
        body.append(_el("text", "no data", x=width / 2, y=height / 2, text_anchor="middle", fill="#666"))
        return _svg(width, height, title, css_class, body)
    lo, hi = min(vals), max(vals)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    pad = 0.05 * (hi - lo)
    lo, hi = lo - pad, hi + pad

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (pw * i / (n_max - 1) if n_max > 1 else pw / 2)
        return x, top + ph * (1 - (v - lo) / (hi - lo))

    for t in range(5):  # horizontal grid + y ticks
        v = lo + (hi - lo) * t / 4
        _, y = xy(0, v)
        body.append(_el("line", x1=left, x2=left + pw, y1=f"{y:.1f}", y2=f"{y:.1f}", stroke="#e5e7eb"))
        body.append(_el("text", f"{v:.2f}", x=left - 4, y=f"{y + 4:.1f}", text_anchor="end", fill="#555"))
    step = max(1, math.ceil(n_max / 10))
    for i in range(0, n_max, step):  # x ticks
        x, _ = xy(i, lo)
        body.append(_el("text", str(i + 1), x=f"{x:.1f}", y=top + ph + 14, text_anchor="middle", fill="#555"))
    body.append(_el("text", x_label, x=left + pw / 2, y=top + ph + 28, text_anchor="middle", fill="#333"))
    body.append(_el("text", y_label, x=12, y=top + ph / 2, text_anchor="middle", fill="#333",
                    transform=f"rotate(-90 12 {top + ph / 2:.1f})"))
    for k, s in enumerate(series):
        color = s.get("color") or PALETTE[k % len(PALETTE)]
        dash = "5 3" if s.get("dashed") else None
        pts = [xy(i, v) for i, v in enumerate(s["values"]) if _finite(v)]
        if len(pts) > 1:
            body.append(_el("polyline", points=" ".join(f"{x:.1f},{y:.1f}" for x, y in pts), fill="none",
                            stroke=color, stroke_width=2, stroke_dasharray=dash))
        for x, y in pts:
            body.append(_el("circle", cx=f"{x:.1f}", cy=f"{y:.1f}", r=2.2, fill=color))
        ly = height - 18 + 12 * (k // 4) - (12 if len(series) > 4 else 0)
        lxx = left + (k % 4) * (pw / 4)
        body.append(_el("line", x1=f"{lxx:.1f}", x2=f"{lxx + 16:.1f}", y1=ly - 4, y2=ly - 4, stroke=color,
                        stroke_width=2, stroke_dasharray=dash))
        body.append(_el("text", s["name"], x=f"{lxx + 20:.1f}", y=ly, fill="#333"))
    return _svg(width, height, title, css_class, body)


def interval_plot(rows: Sequence[dict], *, title: str, lo: float = 0.0, hi: float = 1.0,
                  ref: float | None = None, kind: str = "pct", bars: bool = False,
                  css_class: str = "interval-plot", width: int = 520, label_width: int = 150,
                  value_width: int = 76) -> Markup:
    """One row per item: a point (or bar from ``lo``) with a confidence-interval whisker.

    ``rows``: [{"label", "value", "lo", "hi", "color"?, "note"?}]. Used for per-class accuracy,
    gaps against random sets (forest plot), accuracy per set and cue profiles.
    """
    row_h, top, value_w = 22, 28, value_width
    height = top + row_h * max(1, len(rows)) + 26
    x0, x1 = label_width, width - value_w
    span = (hi - lo) or 1.0

    def sx(v: float) -> float:
        return x0 + (x1 - x0) * (min(max(v, lo), hi) - lo) / span

    body = [_el("text", title, x=8, y=16, font_weight="600")]
    for t in range(5):
        v = lo + span * t / 4
        body.append(_el("line", x1=f"{sx(v):.1f}", x2=f"{sx(v):.1f}", y1=top - 4, y2=height - 22, stroke="#e5e7eb"))
        body.append(_el("text", _fmt(v, kind).replace(" pp", ""), x=f"{sx(v):.1f}", y=height - 8,
                        text_anchor="middle", fill="#555"))
    if ref is not None:
        body.append(_el("line", x1=f"{sx(ref):.1f}", x2=f"{sx(ref):.1f}", y1=top - 4, y2=height - 22,
                        stroke="#6b7280", stroke_dasharray="4 3"))
    if not rows:
        body.append(_el("text", "no data", x=(x0 + x1) / 2, y=top + 14, text_anchor="middle", fill="#666"))
    for i, r in enumerate(rows):
        y = top + row_h * i + row_h / 2
        color = r.get("color") or PALETTE[0]
        label = str(r["label"])
        fit = max(4, int((label_width - 12) / 6.6))
        body.append(_el("text", label if len(label) <= fit else label[:fit - 1] + "…", x=label_width - 8,
                        y=f"{y + 4:.1f}", text_anchor="end", fill="#222"))
        v, l, h = r.get("value"), r.get("lo"), r.get("hi")
        if bars and _finite(v):
            base = sx(ref if ref is not None else lo)
            body.append(_el("rect", x=f"{min(base, sx(v)):.1f}", y=f"{y - 7:.1f}", width=f"{abs(sx(v) - base):.1f}",
                            height=14, fill=color, fill_opacity="0.35"))
        if _finite(l) and _finite(h):
            body.append(_el("line", x1=f"{sx(l):.1f}", x2=f"{sx(h):.1f}", y1=f"{y:.1f}", y2=f"{y:.1f}",
                            stroke=color, stroke_width=2))
            for e in (l, h):
                body.append(_el("line", x1=f"{sx(e):.1f}", x2=f"{sx(e):.1f}", y1=f"{y - 5:.1f}", y2=f"{y + 5:.1f}",
                                stroke=color, stroke_width=2))
        if _finite(v):
            body.append(_el("circle", cx=f"{sx(v):.1f}", cy=f"{y:.1f}", r=4, fill=color))
        text = _fmt(v, kind) + (f" {r['note']}" if r.get("note") else "")
        body.append(_el("text", text, x=x1 + 6, y=f"{y + 4:.1f}", fill="#222"))
    return _svg(width, height, title, css_class, body)


def heatmap(matrix: Sequence[Sequence[int]], labels: Sequence[str], *, title: str,
            css_class: str = "confusion-matrix", cell: int = 30, label_width: int = 110) -> Markup:
    """Confusion matrix: rows are true classes, columns predicted; colour is the row-normalised rate."""
    n = len(labels)
    top = 28 + label_width
    width, height = label_width + cell * n + 12, top + cell * n + 24
    body = [_el("text", title, x=8, y=16, font_weight="600")]
    for j, name in enumerate(labels):
        x = label_width + cell * j + cell / 2
        short = str(name) if len(str(name)) <= 14 else str(name)[:13] + "…"
        body.append(_el("text", short, x=f"{x:.1f}", y=top - 6, fill="#333",
                        transform=f"rotate(-60 {x:.1f} {top - 6})"))
    for i, row in enumerate(matrix):
        total = sum(row) or 1
        y = top + cell * i
        short = str(labels[i]) if len(str(labels[i])) <= 14 else str(labels[i])[:13] + "…"
        body.append(_el("text", short, x=label_width - 6, y=f"{y + cell / 2 + 4:.1f}", text_anchor="end", fill="#333"))
        for j, count in enumerate(row):
            rate = count / total
            color = f"rgba(22,163,74,{0.1 + 0.9 * rate:.3f})" if i == j else f"rgba(220,38,38,{min(1.0, 2.5 * rate):.3f})"
            x = label_width + cell * j
            body.append(f'<g><title>{escape(f"true {labels[i]}, predicted {labels[j]}: {count}")}</title>'
                        + _el("rect", x=x, y=y, width=cell - 1, height=cell - 1,
                              fill=color if count else "#f9fafb") + "</g>")
            if count:
                body.append(_el("text", str(count), x=x + cell / 2, y=f"{y + cell / 2 + 4:.1f}", text_anchor="middle",
                                font_size=10, fill="#fff" if rate > 0.55 else "#111"))
    body.append(_el("text", "rows: true class · columns: predicted class", x=label_width, y=height - 6, fill="#555"))
    return _svg(width, height, title, css_class, body)
