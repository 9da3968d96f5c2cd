"""CLI commands of the 'score' stage: `evalkit score --api apis/NAME.toml --set ID | --all-sets`."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .common import DataOption, WorkspaceOption, parse_name_list


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the app."""
    app.command("score")(score)


def score(
    api: Path = typer.Option(..., "--api", help="API file (TOML), e.g. apis/google-vision.toml, or a built-in example's name, e.g. local-probe."),
    set_ids: Optional[List[str]] = typer.Option(None, "--set", help="Evaluation set id (repeatable, or comma-separated)."),
    all_sets: bool = typer.Option(False, "--all-sets", help="Score every kept evaluation set of the workspace."),
    budget: Optional[float] = typer.Option(None, "--budget", help="Spend at most this much (same unit as price_per_1000); "
                                           "images beyond it fail with reason 'budget'."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the number of queries and the cost; send nothing."),
    no_ablations: bool = typer.Option(False, "--no-ablations", help="Do not score ablated copies of the images."),
    ablations: Optional[str] = typer.Option(None, "--ablations", help="Comma-separated transforms to score as ablations "
                                            "(default: the API file's 'ablations')."),
    max_queries: Optional[str] = typer.Option(
        None, "--max-queries", help="Query budget for the planner, a number or 'all' (default: the API file's "
        "max_queries, else 1000 when ablations are scored for a fingerprint, else all)."),
    wait: bool = typer.Option(False, "--wait", help="If another run is scoring this API in the workspace, wait "
                              "for it to finish instead of stopping."),
    new_run: bool = typer.Option(False, "--new-run", help="Query afresh as a new run (cached answers of earlier "
                                 "runs are not used; a planned API re-sends its stored plan), to compare runs."),
    data: Optional[str] = DataOption,
    workspace: Optional[Path] = WorkspaceOption,
) -> None:
    """Score a classifier API on evaluation sets (cached, resumable, budget-capped, one run per API at a
    time). Stops with an error after any 401/403 or repeated transport errors, keeping what was answered."""
    from ..errors import UserError
    from ..artifacts import load_evalsets, open_pool_dataset, read_scores
    from ..scoring import load_api_config, score_api
    from ..scoring.stage import ScoringPlan
    from ..textsafe import printable
    from ..workspace import Workspace

    def say(text: str) -> None:  # server text (labels, messages) never reaches the terminal raw
        typer.echo(printable(text))

    ids = [i for s in (set_ids or []) for i in (parse_name_list(s) or [])] or None
    if bool(ids) == all_sets:
        raise UserError("give exactly one of --set ID or --all-sets")
    config = load_api_config(api)
    ws = Workspace.from_option(workspace)
    sets = load_evalsets(ws, ids)
    dataset = open_pool_dataset(None, sets[0]["pool"], data)  # score_api checks it is the pool's data
    chosen = [] if no_ablations else parse_name_list(ablations)
    from ..scoring.api_config import parse_max_queries
    from ..scoring.planned import default_max_queries

    limit = default_max_queries(parse_max_queries(max_queries, where="--max-queries"), config,
                                chosen if chosen is not None else config.ablations)
    if new_run and max_queries is None:  # pair with the latest run: same plan, or every image
        from ..scoring.runs import new_run_limit

        limit = new_run_limit(ws, config.name, limit)
    result = score_api(ws, config, dataset, [s["id"] for s in sets], ablations=chosen, budget=budget,
                       dry_run=dry_run, echo=say, max_queries=limit, wait=wait,
                       new_run=new_run)
    if isinstance(result, ScoringPlan):
        say("dry run: nothing sent")
        return
    doc = read_scores(ws.abspath(result))
    recs = doc["images"] + [r for rs in doc["ablations"].values() for r in rs]
    scored = sum(r["status"] == "scored" for r in recs)
    say(f"{doc['api']}: {scored} scored ({doc['abstentions']} abstained), {doc['failures']} failed; "
               f"{doc['queries_sent']} queries sent, {doc['cache_hits']} from cache, spent {doc['run_cost']:.4f} "
        f"({doc['spent_cost']:.4f} in all runs)")
    if doc["unmapped_labels"]:
        top = ", ".join(f"{k} ({v})" for k, v in list(doc["unmapped_labels"].items())[:5])
        say(f"most frequent unmapped labels: {top}")
    run = doc.get("run") or {}
    say(f"run {run.get('id')}" + (f" (model version {', '.join(run['model_versions'])})"
                                  if run.get("model_versions") else ""))
    say(f"scores: {ws.abspath(result)}")

