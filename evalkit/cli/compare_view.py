"""The APIs comparison in the terminal: a rich table on a TTY (when rich is installed), else plain text."""
from __future__ import annotations

import sys

import typer

from ..report.render import format_value

STYLES = {"more": "magenta", "asmuch": "green", "less": "dark_orange", "ignored": "red", "inconclusive": "dim",
          "other": "dim"}
NOTE = ("cue scores: 1 = relies on the cue as much as a standard CNN, 0 = as little as a probe blind to it "
        "(95% CIs); absolute-scale cues: fraction of accuracy lost. Full verdicts: evalkit fingerprint --api NAME "
        "or the report.")


def _interval(d: dict | None, sep: str) -> str:
    if not d or d.get("acc") is None:
        return "n/a"
    return f"{format_value(d['acc'], 'pct')}{sep}[{format_value(d['lo'], 'pct')}, {format_value(d['hi'], 'pct')}]"


def _cue(v: dict | None, sep: str) -> str:
    if not v or v.get("score") is None:
        return f"n/a {v['word']}" if v else "n/a"
    ci = f"{sep}[{v['lo']:.2f}, {v['hi']:.2f}]" if v.get("lo") is not None else ""
    return f"{v['score']:.2f} {v['word']}{ci}"


def comparison_cells(comp: dict, sep: str = " ") -> tuple[list[str], list[list[str]], list[list[str | None]]]:
    """(header, text rows, reading of each cell or None): what both terminal views print; ``sep``
    goes between a figure and its CI (a newline in the rich table)."""
    header = ["api", "accuracy (scored)"] + (["accuracy (full pool, est.)"] if comp["has_pool_accuracy"] else [])
    header += [c["label"] for c in comp["columns"]] + ["verdict", "queries", "cost", "median latency"]
    rows, readings = [], []
    for r in comp["rows"]:
        cues = [r["cues"].get(c["cue"]) for c in comp["columns"]]
        cells = [r["api"], _interval(r["accuracy"], sep)]
        cells += [_interval(r["pool_accuracy"], sep)] if comp["has_pool_accuracy"] else []
        cells += [_cue(v, sep) for v in cues]
        cells += [r["headline"], format_value(r["queries_sent"], "int"), format_value(r["cost"], "cost"),
                  format_value(r["latency_p50_s"], "s")]
        rows.append(cells)
        pad = len(cells) - len(cues) - 4
        readings.append([None] * pad + [v["reading"] if v else None for v in cues] + [None] * 4)
    return header, rows, readings


def plain_table(comp: dict) -> str:
    """Columns padded with spaces (numbers right-aligned), one line per API."""
    header, rows, _ = comparison_cells(comp)
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]
    left = {0, len(header) - 4} | set(range(len(header) - 4 - len(comp["columns"]), len(header) - 4))

    def line(cells):
        return "  ".join(c.ljust(w) if k in left else c.rjust(w) for k, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def print_comparison(comp: dict, *, use_rich: bool | None = None) -> None:
    """Print the comparison: rich when stdout is a terminal and rich is importable, else plain text."""
    if not comp["rows"]:
        typer.echo("no scored or fingerprinted API to compare")
        return
    if use_rich is None:
        use_rich = sys.stdout.isatty()
    if use_rich:
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:
            use_rich = False
    if not use_rich:
        typer.echo(plain_table(comp))
        typer.echo(NOTE)
        return
    header, rows, readings = comparison_cells(comp, "\n")
    table = Table(title="APIs side by side", show_lines=True)
    for k, h in enumerate(header):
        table.add_column(h, justify="left" if k == 0 or readings[0][k] or h == "verdict" else "right",
                         no_wrap=k == 0, overflow="fold")
    for cells, rd in zip(rows, readings):
        table.add_row(*[c if r is None else f"[{STYLES[r]}]{c}[/]" for c, r in zip(cells, rd)])
    console = Console()
    console.print(table)
    console.print(NOTE, style="dim")
