"""CLI of runs: `evalkit runs list --api NAME` and `evalkit compare --api NAME [RUN_A RUN_B]`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import DataOption, WorkspaceOption

runs_app = typer.Typer(help="Runs of a scored API (every `evalkit score` is a run).", no_args_is_help=True)


@runs_app.command("list")
def list_cmd(api: str = typer.Option(..., "--api", help="Name of a scored API."),
             workspace: Optional[Path] = WorkspaceOption) -> None:
    """List the runs of an API, oldest first (the last one is what fingerprint and report use)."""
    from ..scoring.runs import list_runs
    from ..workspace import Workspace

    runs = list_runs(Workspace.from_option(workspace), api)
    typer.echo(f"{'run':<20} {'time':<24} {'images':>6} {'sent':>6} {'cached':>6}  new  model version")
    for r in runs:
        typer.echo(f"{r.id:<20} {r.when:<24} {r.n_images:>6} {r.queries_sent:>6} {r.cache_hits:>6}  "
                   f"{'yes' if r.new_run else 'no ':<4} {', '.join(r.model_versions) or '-'}"
                   + ("  (planned)" if r.planned else ""))


def _ci(lo, hi, scale=100.0, fmt="{:+.1f}") -> str:
    return "n/a" if lo is None or hi is None else f"[{fmt.format(scale * lo)}, {fmt.format(scale * hi)}]"


def print_comparison(doc: dict) -> None:
    """The comparison as a short text table."""
    a, b = doc["run_a"], doc["run_b"]
    typer.echo(f"{doc['api']}: run {a['id']} ({a['when']}) vs {b['id']} ({b['when']}); "
               f"{doc['n_common']} images answered by both")
    typer.echo(f"{'set':<28} {'n':>5} {'acc A':>7} {'acc B':>7} {'change (pp)':>12} {'95% CI':>16} "
               f"{'p (Holm)':>9} {'flips':>6}")
    for s in [*doc["sets"], {**doc["overall"], "id": "all images", "p_holm": doc["overall"]["p"]}]:
        if not s["n"]:
            typer.echo(f"{s['id']:<28} {0:>5}  (no image answered by both runs)")
            continue
        typer.echo(f"{s['id']:<28} {s['n']:>5} {100 * s['acc_a']:>6.1f}% {100 * s['acc_b']:>6.1f}% "
                   f"{100 * s['diff']:>+12.1f} {_ci(s['lo'], s['hi']):>16} {s['p_holm']:>9.3g} "
                   f"{s['flips']['flips']:>6}")
    f = doc["overall"]["flips"]
    typer.echo(f"flip rate: {100 * f['rate']:.1f}% {_ci(f['lo'], f['hi'], fmt='{:.1f}')} "
               f"({f['flips']} of {f['n']} answers changed)")
    for t, a in doc["ablations"].items():
        typer.echo(f"ablation {t}: accuracy {100 * a['acc_a']:.1f}% -> {100 * a['acc_b']:.1f}% "
                   f"(p {a['p']:.3g}), {a['flips']['flips']} of {a['flips']['n']} answers changed")
    for c in doc["cues"]:
        if c["diff"] is None:
            typer.echo(f"cue {c['cue']:<14} n/a ({c.get('reason', 'no evidence')})")
            continue
        typer.echo(f"cue {c['cue']:<14} {c['score_a']:.2f} -> {c['score_b']:.2f}  change {c['diff']:+.2f} "
                   f"{_ci(c['lo'], c['hi'], 1.0, '{:+.2f}')}  p (Holm) {c['p_holm']:.3g}")
    typer.echo(f"verdict: {doc['verdict']}")


def compare_cmd(
    runs: Optional[list[str]] = typer.Argument(
        None, metavar="[RUN_A RUN_B]", help="Two run ids (default: the last two runs)."),
    api: str = typer.Option(..., "--api", help="Name of a scored API."),
    alpha: float = typer.Option(0.05, "--alpha", help="Family-wise error level of the verdict."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap resamples for the cue-score changes."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    workspace: Optional[Path] = WorkspaceOption,
    data: Optional[str] = DataOption,
) -> None:
    """Did the API change? Compare two runs with paired tests."""
    from ..drift import compare_runs
    from ..errors import UserError
    from ..workspace import Workspace

    runs = list(runs or [])
    if len(runs) not in (0, 2):
        raise UserError(f"give two run ids (RUN_A RUN_B) or none, got {len(runs)}")
    if n_boot < 1:
        raise UserError(f"--n-boot must be >= 1, got {n_boot}")
    ws = Workspace.from_option(workspace)
    doc = compare_runs(ws, api, *(runs or (None, None)), data=data, n_boot=n_boot, seed=seed, alpha=alpha)
    print_comparison(doc)
    typer.echo(f"comparison: {ws.root / 'comparisons' / api / (doc['run_a']['id'] + '_vs_' + doc['run_b']['id'] + '.json')}")


def register(app: typer.Typer) -> None:
    """Add `evalkit runs ...` and `evalkit compare` to the app."""
    app.add_typer(runs_app, name="runs")
    app.command("compare")(compare_cmd)
