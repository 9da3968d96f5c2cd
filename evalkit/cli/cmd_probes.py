"""`evalkit probes ...`: list, show, train, predict and check the probe bank."""
from __future__ import annotations

from typing import Optional

import typer

from .common import DataOption, SkipBadOption, WorkspaceOption, parse_int_range, parse_name_list

probes_app = typer.Typer(no_args_is_help=True, help="Deliberately biased probe classifiers.")

DatasetOption = typer.Option("cifar10", "--dataset", help="Dataset name (datasets/<name>.toml).")
ProbesOption = typer.Option(None, "--probes", help="Comma-separated probe names (default: all).")
SeedsOption = typer.Option("0-1", "--seeds", help="Seeds, e.g. '0-3' or '0,2'.")


def _probe_names(text: Optional[str]) -> list[str]:
    from ..probes import list_probe_specs, load_probe_spec

    names = parse_name_list(text) or list_probe_specs()
    for n in names:
        load_probe_spec(n)  # unknown names fail with a suggestion before any work
    return names


def _load(dataset: str, data: Optional[str], skip_bad: bool):
    from ..data import load_dataset

    return load_dataset(dataset, data, skip_bad=skip_bad, progress=True)


@probes_app.command("list")
def list_cmd() -> None:
    """List the probe definitions found (built-in probes, then --probes-dir / $EVALKIT_PROBES)."""
    from ..probes import list_probe_specs, load_probe_spec

    for name in list_probe_specs():
        spec = load_probe_spec(name)
        blind = f"  [blind to: {', '.join(spec.blind_to)}]" if spec.blind_to else ""
        typer.echo(f"{name:15s} {spec.architecture:14s} {spec.description}{blind}")


@probes_app.command("show")
def show_cmd(name: str = typer.Argument(..., help="Probe name.")) -> None:
    """Print one probe's file and its resolved settings."""
    from ..probes import load_probe_spec

    spec = load_probe_spec(name)
    typer.echo(f"# {spec.path}  (sha256 {spec.sha256[:12]})")
    typer.echo(spec.path.read_text().rstrip())
    typer.echo(f"# resolved training settings: {spec.training}")


@probes_app.command("train")
def train_cmd(probes: Optional[str] = ProbesOption, seeds: str = SeedsOption,
              train_size: int = typer.Option(5000, "--train-size", min=10, help="Mini-set size per run."),
              epochs: int = typer.Option(20, "--epochs", min=1, help="Maximum epochs (early stopping)."),
              batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1,
                                                       help="Override the probes' batch size."),
              split: str = typer.Option("test", "--pool-split", help="Split predicted after training."),
              dataset: str = DatasetOption, data: Optional[str] = DataOption,
              workspace: Optional[str] = WorkspaceOption, skip_bad: bool = SkipBadOption) -> None:
    """Train probes x seeds (resumes: finished runs are skipped) and predict the pool."""
    from ..probes import train_bank
    from ..workspace import Workspace

    names = _probe_names(probes)
    seed_list = parse_int_range(seeds, name="--seeds")
    ds = _load(dataset, data, skip_bad)
    ws = Workspace.from_option(workspace)
    arts = train_bank(ws, ds, names, seed_list, train_size=train_size, epochs=epochs,
                      batch_size=batch_size, pool_split=split)
    for art in arts:
        typer.echo(f"{art.key:28s} test accuracy {art.meta['test_accuracy']:.4f}  "
                   f"({art.meta['seconds']:.0f} s, {art.meta['epochs_run']} epochs)")


@probes_app.command("predict")
def predict_cmd(probes: Optional[str] = ProbesOption, seeds: str = SeedsOption,
                split: str = typer.Option("test", "--split", help="Split to predict."),
                dataset: str = DatasetOption, data: Optional[str] = DataOption,
                workspace: Optional[str] = WorkspaceOption, skip_bad: bool = SkipBadOption) -> None:
    """Predict a split with trained probes (skips predictions already stored)."""
    from ..probes import predict_pool
    from ..workspace import Workspace

    names = _probe_names(probes)
    ds = _load(dataset, data, skip_bad)
    ws = Workspace.from_option(workspace)
    for name in names:
        for seed in parse_int_range(seeds, name="--seeds"):
            art = predict_pool(ws, ds, name, seed, split)
            typer.echo(f"{art.key:40s} accuracy {art.meta['accuracy']:.4f}")


@probes_app.command("check")
def check_cmd(probes: Optional[str] = ProbesOption, seeds: str = SeedsOption,
              n_images: int = typer.Option(2000, "--n-images", min=1, help="Test images to use."),
              dataset: str = DatasetOption, data: Optional[str] = DataOption,
              workspace: Optional[str] = WorkspaceOption, skip_bad: bool = SkipBadOption) -> None:
    """Accuracy each trained probe keeps when its blind cue is removed (exit 1 if one fails)."""
    from ..probes.bias import check_bias, format_bias_table
    from ..workspace import Workspace

    names = _probe_names(probes)
    ds = _load(dataset, data, skip_bad)
    report = check_bias(Workspace.from_option(workspace), ds, names,
                        parse_int_range(seeds, name="--seeds"), n_images=n_images)
    typer.echo(format_bias_table(report))
    if not report.passed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `evalkit probes ...` to the app."""
    app.add_typer(probes_app, name="probes")
