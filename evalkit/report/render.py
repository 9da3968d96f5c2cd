"""Render ReportData to a self-contained HTML page with jinja2 (autoescape on, user-overridable templates).

Template lookup is a chain, as in datasette: ``--templates DIR`` first, then the package's
``templates/``, so a user can replace one section (e.g. ``sections/summary.html``) or ``base.html``.
"""
from __future__ import annotations

import base64
import hashlib
import math
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from ..errors import UserError
from ..textsafe import printable
from . import charts, comparison

PACKAGE_TEMPLATES = Path(__file__).with_name("templates")


class FigureLedger:
    """Every number shown in the HTML goes through :meth:`fig`, so report.json can carry them all.

    A figure is rendered as ``<span class="fig" data-figure="ID" data-value="RAW">formatted</span>``.
    """

    def __init__(self):
        self.values: dict[str, float | int | None] = {}

    def fig(self, fid: str, value, kind: str = "pct") -> Markup:
        fid = printable(fid)  # ids may hold API labels
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        if fid in self.values and self.values[fid] != value:
            raise ValueError(f"figure {fid!r} shown twice with different values")
        self.values[fid] = value
        raw = "" if value is None else repr(value)
        return Markup(f'<span class="fig" data-figure="{escape(fid)}" data-value="{escape(raw)}">'
                      f"{escape(format_value(value, kind))}</span>")

    def acc_ci(self, fid: str, p: dict | None, kind: str = "pct") -> Markup:
        """Value with its 95% interval and n: ``81.2% [78.0%, 84.1%] n=500``."""
        if not p:
            return Markup('<span class="na">n/a</span>')
        out = self.fig(f"{fid}.acc", p.get("acc"), kind)
        if p.get("lo") is not None or p.get("hi") is not None:
            out += Markup(' <span class="ci">[') + self.fig(f"{fid}.lo", p.get("lo"), kind) + Markup(", ") \
                + self.fig(f"{fid}.hi", p.get("hi"), kind) + Markup("]</span>")
        if p.get("n") is not None:
            out += Markup(' <span class="n">n=') + self.fig(f"{fid}.n", p.get("n"), "int") + Markup("</span>")
        return out


def format_value(value, kind: str) -> str:
    """How a figure is printed: pct, pp (signed percentage points), float, f2 (2 decimals), int, s, cost, p."""
    if value is None:
        return "n/a"
    if kind == "pct":
        return f"{100 * value:.1f}%"
    if kind == "pp":
        return f"{100 * value:+.1f} pp"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "s":
        return f"{value:.3f} s" if value < 1 else f"{value:,.1f} s"
    if kind == "cost":
        return f"{value:,.4f}"
    if kind == "f2":
        return f"{value:.2f}"
    if kind == "p":
        return "< 0.001" if value < 0.001 else f"{value:.3f}"
    return f"{value:.3f}"


def _printable(value):
    """Every value shown: control characters of untrusted text (API labels) escaped as \\xNN."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return printable(value)
    return value


def make_environment(templates: str | Path | None = None) -> jinja2.Environment:
    """A jinja2 Environment with autoescape on and the template chain [user dir, package dir]."""
    search = []
    if templates is not None:
        tdir = Path(templates)
        if not tdir.is_dir():
            raise UserError("templates directory not found; expected a folder of .html templates", path=tdir)
        search.append(str(tdir))
    search.append(str(PACKAGE_TEMPLATES))
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(search), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             finalize=_printable)
    env.globals.update(charts=charts, compare=comparison, format_value=format_value)
    return env


def render_html(data: dict, *, templates: str | Path | None = None) -> tuple[str, FigureLedger]:
    """Render ``index.html`` text; returns it with the ledger of figures it shows."""
    env = make_environment(templates)
    script = env.get_template("sortable.js").render()
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    csp = (f"default-src 'none'; img-src data: file: 'self'; style-src 'unsafe-inline'; "
           f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'")
    ledger = FigureLedger()
    html = env.get_template("base.html").render(
        data=data, fig=ledger.fig, acc_ci=ledger.acc_ci, script=Markup(script), csp=csp)
    return html, ledger
