"""CLI of the 'fingerprint' stage: `evalkit fingerprint --api NAME | --model PATH.keras | --compare A,B`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import DataOption, WorkspaceOption


def _ci(lo, hi) -> str:
    return "n/a" if lo is None or hi is None else f"[{lo:.2f}, {hi:.2f}]"


def print_fingerprint(fp: dict) -> None:
    """The verdict, the cue profile and the nearest probe as a short text summary."""
    typer.echo(f"{'cue':<14} {'score':>6} {'95% CI':>14}  verdict")
    for cue, c in fp["cue_profile"].items():
        score = "n/a" if c["score"] is None else f"{c['score']:.2f}"
        scale = "" if c["scale"] == "relative" else f" ({c['scale']} scale)"
        typer.echo(f"{cue:<14} {score:>6} {_ci(c['lo'], c['hi']):>14}  {c['verdict']}{scale}")
    for t, a in fp["ablation"].items():
        typer.echo(f"ablation {t:<16} kept {a['kept']:.2f} {_ci(a['lo'], a['hi'])} (n={a['n']})")
    n = fp["nearest_probe"]
    if n.get("name"):
        typer.echo(f"nearest probe: {n['name']} (runner-up {n['runner_up']}, margin "
                   f"{n['margin']:.3f} {_ci(n['lo'], n['hi'])}: {n['verdict']})")
    b = fp["correlation_baseline"]
    if b.get("nearest"):
        typer.echo(f"baseline (accuracy-profile correlation): {b['nearest']} (r={b['r']:.2f})")
    typer.echo(f"verdict: {fp['verdict']}")


def fingerprint_cmd(
    api: Optional[str] = typer.Option(None, "--api", help="Name of a scored API (scores/NAME/scores.json)."),
    model: Optional[Path] = typer.Option(None, "--model", help="A local .keras classifier to fingerprint."),
    name: Optional[str] = typer.Option(None, "--name", help="Fingerprint name for --model (default: file stem)."),
    no_ablations: bool = typer.Option(False, "--no-ablations", help="Ignore cue-ablation answers."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap resamples."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    force: bool = typer.Option(False, "--force", help="Recompute even if an identical run is recorded."),
    compare: Optional[str] = typer.Option(
        None, "--compare", help="Print recorded APIs side by side instead: 'a,b,c' or 'all' (nothing is computed)."),
    workspace: Optional[Path] = WorkspaceOption,
    data: Optional[str] = DataOption,
) -> None:
    """Say which cue a scored classifier relies on, with confidence intervals."""
    from ..errors import UserError
    from ..fingerprint.fingerprint import fingerprint_api, fingerprint_keras_model
    from ..workspace import Workspace

    if sum(x is not None for x in (api, model, compare)) != 1:
        raise UserError("give exactly one of --api NAME, --model PATH.keras or --compare A,B,C")
    if compare is not None:
        from ..report.comparison import comparison_from_workspace
        from .common import parse_name_list
        from .compare_view import print_comparison

        names = None if compare.strip() == "all" else parse_name_list(compare)
        if compare.strip() != "all" and not names:
            raise UserError("--compare: expected API names 'a,b,c' or 'all'")
        print_comparison(comparison_from_workspace(Workspace.from_option(workspace), names))
        return
    if n_boot < 0:
        raise UserError(f"--n-boot must be >= 0, got {n_boot}")
    ws = Workspace.from_option(workspace)
    if api is not None:
        fp = fingerprint_api(ws, api, data=data, use_ablations=not no_ablations, n_boot=n_boot,
                             seed=seed, force=force)
    else:
        fp = fingerprint_keras_model(ws, model, data, name=name, use_ablations=not no_ablations,
                                     n_boot=n_boot, seed=seed, force=force)
    print_fingerprint(fp)
    typer.echo(f"fingerprint: {ws.root / 'fingerprints' / (fp['api'] + '.json')}")


def register(app: typer.Typer) -> None:
    """Add `evalkit fingerprint` to the app."""
    app.command("fingerprint")(fingerprint_cmd)
