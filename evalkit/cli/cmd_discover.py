"""CLI of the 'discover' stage: `evalkit discover` and `evalkit sets list|show|export`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .common import DataOption, WorkspaceOption, parse_name_list

sets_app = typer.Typer(no_args_is_help=True, help="Discovered evaluation sets: list, show, export.")


def _fmt_ci(ci) -> str:
    return f"[{ci[0]:+.3f}, {ci[1]:+.3f}]"


def discover_cmd(
    size: int = typer.Option(100, "--size", "-k", help="Images per subset (k)."),
    balanced: bool = typer.Option(False, "--balanced", help="Class-balanced subsets (classes take turns)."),
    min_margin: float = typer.Option(0.0, "--min-margin",
                                     help="Keep only images whose selection score exceeds this (score in [-1, 1])."),
    max_reuse: Optional[int] = typer.Option(None, "--max-reuse", help="No image in more than N subsets."),
    include_suspect: bool = typer.Option(False, "--include-suspect",
                                         help="Allow images the label audit flags as likely mislabelled."),
    audit_confidence: float = typer.Option(0.7, "--audit-confidence",
                                           help="Mean confidence above which an all-wrong image is suspect."),
    alpha: float = typer.Option(0.05, "--alpha", help="Family-wise level of the McNemar tests."),
    correction: str = typer.Option("holm", "--correction", help="holm, bonferroni or none."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap resamples per subset."),
    split_seed: int = typer.Option(0, "--split-seed", help="Seed of the selection/validation seed split."),
    seed: int = typer.Option(0, "--seed", help="Seed of random baseline subsets and the bootstrap."),
    store_flagged: bool = typer.Option(False, "--store-flagged",
                                       help="Also store flagged subsets as evaluation sets (kept=false)."),
    force: bool = typer.Option(False, "--force", help="Recompute even if an identical run is recorded."),
    pool: str = typer.Option("cifar10/test", "--pool", help="Evaluation pool DATASET/SPLIT."),
    probes: Optional[str] = typer.Option(None, "--probes",
                                         help="Comma-separated probes to use (default: every trained probe)."),
    workspace: Optional[Path] = WorkspaceOption,
    data: Optional[str] = DataOption,
) -> None:
    """Find image subsets where probes disagree, validated on held-out probe seeds."""
    from ..discovery.discover import DiscoverySettings
    from ..artifacts import open_pool_dataset
    from ..discovery.run import discover_workspace
    from ..workspace import Workspace

    settings = DiscoverySettings(size=size, balanced=balanced, min_margin=min_margin, max_reuse=max_reuse,
                                 include_suspect=include_suspect, audit_confidence=audit_confidence,
                                 n_boot=n_boot, alpha=alpha, correction=correction,
                                 split_seed=split_seed, random_state=seed)
    ws = Workspace.from_option(workspace)
    run = discover_workspace(ws, pool, settings, lambda: open_pool_dataset(ws, pool, data),
                             store_flagged=store_flagged, force=force,
                             probes=parse_name_list(probes))
    doc = run.document
    if run.skipped:
        typer.echo(f"up to date: discovery of {pool} already recorded with these settings (--force to redo)")
    typer.echo(f"pool {pool}: {doc['n_images']} images, probes {', '.join(doc['probes'])}")
    typer.echo(f"{'subset':<28} {'n':>4} {'gap':>7} {'95% CI':>18} {'p_adj':>8} {'random':>7}  status")
    for s in doc["subsets"]:
        status = "kept" if s["kept"] else "flagged: " + ",".join(s["flags"])
        typer.echo(f"{s['id']:<28} {s['n']:>4} {s['gap']:>+7.3f} {_fmt_ci(s['gap_ci']):>18} "
                   f"{s['mcnemar_p_adjusted']:>8.1e} {s['random_gap']:>+7.3f}  {status}")
    sm = doc["summary"]
    typer.echo(f"kept {sm['n_kept']}/{sm['n_subsets']} subsets; mean validated gap over kept pair subsets "
               f"{sm['mean_kept_pair_gap']:.3f} vs random subsets' mean |gap| {sm['mean_random_abs_gap']:.3f}")
    typer.echo(f"label audit: {sm['n_suspects']} likely mislabelled images (listed in {ws.root / 'sets/discovery.json'})")
    for a in doc["label_audit"][:10]:
        typer.echo(f"  {a['id']}: labelled {a['label_name']}, probes say {a['predicted_name']} "
                   f"(agreement {a['agreement']:.0%}, confidence {a['mean_confidence']:.2f})")


@sets_app.command("list")
def sets_list(workspace: Optional[Path] = WorkspaceOption) -> None:
    """List the stored evaluation sets."""
    from ..artifacts import EVALSET, load_evalsets
    from ..workspace import Workspace

    ws = Workspace.from_option(workspace)
    if not ws.catalog.list(EVALSET):
        typer.echo("no evaluation sets; run 'evalkit discover'")
        return
    docs = load_evalsets(ws, kept=False)
    typer.echo(f"{'id':<28} {'n':>4} {'gap':>7} {'95% CI':>18} {'random':>7}  kept")
    for d in docs:
        typer.echo(f"{d['id']:<28} {len(d['indices']):>4} {d['gap']:>+7.3f} {_fmt_ci(d['gap_ci']):>18} "
                   f"{d['random_gap']:>+7.3f}  {'yes' if d['kept'] else 'no (' + ','.join(d['flags']) + ')'}")


@sets_app.command("show")
def sets_show(set_id: str = typer.Argument(..., metavar="ID", help="Set id, e.g. 'control>blur'."),
              workspace: Optional[Path] = WorkspaceOption) -> None:
    """Show one evaluation set (statistics and its first images)."""
    from ..artifacts import load_evalset
    from ..workspace import Workspace

    d = load_evalset(Workspace.from_option(workspace), set_id)
    brief = {k: v for k, v in d.items() if k not in ("indices", "ids", "hashes", "labels")}
    brief["n"] = len(d["indices"])
    counts = {}
    for lab in d["labels"]:
        counts[d["class_names"][lab]] = counts.get(d["class_names"][lab], 0) + 1
    brief["class_counts"] = counts
    brief["first_images"] = [{"index": i, "id": n, "hash": h[:16]}
                             for i, n, h in list(zip(d["indices"], d["ids"], d["hashes"]))[:10]]
    typer.echo(json.dumps(brief, indent=1))


@sets_app.command("export")
def sets_export(set_id: str = typer.Argument(..., metavar="ID", help="Set id, e.g. 'control>blur'."),
                to: Path = typer.Option(..., "--to", help="New folder to write manifest.json and PNGs into."),
                workspace: Optional[Path] = WorkspaceOption,
                data: Optional[str] = DataOption) -> None:
    """Export a set as manifest.json + DIR/<class>/<id>.png (usable without evalkit)."""
    from ..artifacts import Pool, load_evalset, open_pool_dataset
    from ..discovery.export import export_set
    from ..workspace import Workspace

    ws = Workspace.from_option(workspace)
    pool = Pool.parse(load_evalset(ws, set_id)["pool"])
    images = open_pool_dataset(ws, pool, data).split(pool.split)
    path = export_set(ws, set_id, to, images)
    typer.echo(f"exported {set_id} to {path.parent} (manifest: {path})")


def register(app: typer.Typer) -> None:
    """Add `discover` and the `sets` sub-app to the root app."""
    app.command("discover")(discover_cmd)
    app.add_typer(sets_app, name="sets")
