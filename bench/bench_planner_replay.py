"""Replay query-planner variants offline on the members a bench_budget.py run has scored.

  .venv/bin/python bench/bench_planner_replay.py --out /work/dbudget_u --panel-dir /work/none \
      --unseen /work/dunseen --members control,grayscale,blur,patch_shuffle --data ../shared/datasets/cifar10-jpeg.zip

bench_budget.py sends every eval-set image and its ablated copies to each member once (the
all-queries run); those answers, and the member's local predictions for clean pool images, make
an oracle, so planner rules can be compared without serving anything again. Each variant runs
with the same planner seeds in the same process; the grading is bench_budget.py's. Variants:

- ``current``: the planner as it is (tops up repeated draws, stops early only on decided cues,
  takes no stop decision on a cue that still lacks a component);
- ``no completeness rule (c63a7c0)``: decides on a cue's score even while a component of it has
  fewer than ``min_n`` answers;
- ``stop-undecidable, no top-up (691d3cc)``: also a round sends only its first draws, and the
  plan ends once every cue is decided or judged undecidable.

Prints one table (mean queries, cue-verdict agreement with all queries, right / inconclusive /
wrong, regressions) and writes OUT/replay-TAG.json; ``--summarize A.json B.json`` prints the
table of several such files.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_budget import (ABLATIONS, RELATIVE, grade, local_answers, make_oracle, members,  # noqa: E402
                          planner_run, served_ablations, verdicts_of)

VARIANTS = {"current": {"stop_undecidable": False, "top_ups": None, "completeness": True},
            "no completeness rule (c63a7c0)": {"stop_undecidable": False, "top_ups": None, "completeness": False},
            "stop-undecidable, no top-up (691d3cc)": {"stop_undecidable": True, "top_ups": 0, "completeness": False}}


def replay(data, oracle, budget: int, seed: int, variant: dict) -> tuple[int, dict]:
    """bench_budget.planner_run under a variant's rules (module settings restored afterwards)."""
    import evalkit.planning.cue_state as state_mod
    import evalkit.planning.planner as planner_mod

    top_ups, missing = planner_mod.TOP_UPS, state_mod.missing_components
    planner_mod.TOP_UPS = top_ups if variant["top_ups"] is None else variant["top_ups"]
    if not variant["completeness"]:
        state_mod.missing_components = lambda *a, **k: []
    try:
        queries, fp, _ = planner_run(data, oracle, budget, seed, stop_undecidable=variant["stop_undecidable"])
    finally:
        planner_mod.TOP_UPS, state_mod.missing_components = top_ups, missing
    return queries, verdicts_of(fp)


def table(rows: list[dict]) -> list[str]:
    lines = ["| budget | planner | mean queries | cue verdicts agreeing with all-queries | all three agree | right "
             "| inconclusive | wrong | regressions |", "|---|---|---|---|---|---|---|---|---|"]
    keys = sorted({(x["budget"], x["variant"]) for r in rows for x in r["runs"]})
    for b, v in keys:
        runs = [(r, x) for r in rows for x in r["runs"] if (x["budget"], x["variant"]) == (b, v)]
        n = len(runs)
        agree = [x["verdicts"][c] == r["all"][c] for r, x in runs for c in RELATIVE]
        grades = [x["grade"] for _, x in runs]
        lines.append(
            f"| {b} | {v} | {sum(x['queries'] for _, x in runs) / n:.0f} | {100 * sum(agree) / len(agree):.1f}% "
            f"| {100 * sum(all(x['verdicts'][c] == r['all'][c] for c in RELATIVE) for r, x in runs) / n:.1f}% "
            f"| {grades.count('right')}/{n} | {grades.count('inconclusive')} | {grades.count('wrong')} "
            f"| {sum(r['all_grade'] == 'right' and x['grade'] != 'right' for r, x in runs)} |")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="a bench_budget.py --out directory")
    ap.add_argument("--panel-dir", type=Path, default=Path("/work/panel"))
    ap.add_argument("--unseen", type=Path, default=None)
    ap.add_argument("--members", default="")
    ap.add_argument("--budgets", default="1000,2000")
    ap.add_argument("--planner-seeds", type=int, default=3)
    ap.add_argument("--data", default=None)
    ap.add_argument("--tag", default="all")
    ap.add_argument("--summarize", nargs="+", type=Path, default=None, metavar="REPLAY_JSON",
                    help="only print the table of these replay-*.json files")
    args = ap.parse_args(argv)
    if args.summarize:
        print("\n".join(table([r for f in args.summarize for r in json.loads(f.read_text())])))
        return 0

    from evalkit.data import load_dataset
    from evalkit.fingerprint.fingerprint import fingerprint_api
    from evalkit.planning import load_planning_data
    from evalkit.workspace import Workspace

    test = load_dataset("cifar10", args.data).split("test")
    ws = Workspace(args.out / "ws")
    data = load_planning_data(ws, ABLATIONS, test.images, pool="cifar10/test")
    rows = []
    for m in members(args.panel_dir, args.unseen, {x for x in args.members.split(",") if x}):
        path = ws.root / "scores" / m["name"] / "scores.json"
        if not path.exists():
            print(f"== {m['name']}: not scored in {args.out} (run bench_budget.py first); skipped", flush=True)
            continue
        oracle = make_oracle(local_answers(m["file"], test.images), served_ablations(json.loads(path.read_text())))

        v_all = verdicts_of(fingerprint_api(ws, m["name"], data=args.data))
        row = {"name": m["name"], "all": v_all, "all_grade": grade(v_all, m), "runs": []}
        print(f"== {m['name']}: all queries {v_all} ({row['all_grade']})", flush=True)
        for b in (int(x) for x in args.budgets.split(",")):
            for name, variant in VARIANTS.items():
                for s in range(args.planner_seeds):
                    q, v = replay(data, oracle, b, s, variant)
                    row["runs"].append({"budget": b, "variant": name, "seed": s, "queries": q, "verdicts": v,
                                        "grade": grade(v, m)})
                    print(f"  {b} {name} seed {s}: {q} queries, {v} ({grade(v, m)})", flush=True)
        rows.append(row)
        (args.out / f"replay-{args.tag}.json").write_text(json.dumps(rows, indent=1))
    print("\n".join(table(rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
