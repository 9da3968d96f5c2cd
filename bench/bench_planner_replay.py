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
- ``stop-undecidable and no top-up (691d3cc)``: also a round sends only its first draws, and the
  plan ends once every cue is decided or judged undecidable;
- ``accuracy share 0.4``: the current rules with 40% of the budget for the full-pool accuracy
  sample instead of 30%.

``--variants`` picks some of them (default: all).

Prints one table (mean queries, cue-verdict agreement with all queries, right / inconclusive /
wrong, regressions, full-pool accuracy error and CI coverage, and how often the cue CIs cover the
all-queries score) and writes OUT/replay-TAG.json (with each run's cue CIs and the cues the
planner had decided; ``--decided-only`` regrades runs as if undecided cues were reported
inconclusive); ``--summarize A.json B.json`` prints the
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
            "stop-undecidable and no top-up (691d3cc)": {"stop_undecidable": True, "top_ups": 0, "completeness": False},
            "accuracy share 0.4": {"stop_undecidable": False, "top_ups": None, "completeness": True,
                                   "accuracy_share": 0.4}}


def profile_of(fp: dict) -> dict:
    """cue -> [score, lo, hi] of the relative cues."""
    return {c: [fp["cue_profile"][c][k] for k in ("score", "lo", "hi")] for c in RELATIVE}


def replay(data, oracle, budget: int, seed: int, variant: dict) -> dict:
    """bench_budget.planner_run under a variant's rules (module settings restored afterwards):
    queries, verdicts, full-pool accuracy, cue CIs and the cues decided at the end."""
    import evalkit.planning.cue_state as state_mod
    import evalkit.planning.planner as planner_mod

    top_ups, missing = planner_mod.TOP_UPS, state_mod.missing_components
    planner_mod.TOP_UPS = top_ups if variant["top_ups"] is None else variant["top_ups"]
    if not variant["completeness"]:
        state_mod.missing_components = lambda *a, **k: []
    try:
        fp, res = planner_run(data, oracle, budget, seed, accuracy_share=variant.get("accuracy_share"),
                              stop_undecidable=variant["stop_undecidable"])
    finally:
        planner_mod.TOP_UPS, state_mod.missing_components = top_ups, missing
    acc = res.accuracy
    return {"queries": res.spent_queries, "verdicts": verdicts_of(fp),
            "acc": None if acc is None else (acc.acc, acc.lo, acc.hi), "profile": profile_of(fp),
            "decided": list(res.rounds[-1]["decided"]) if res.rounds else []}


def as_decided(x: dict) -> dict:
    """A run's verdicts with every cue the planner had not decided at its end as 'inconclusive'."""
    return {c: (x["verdicts"][c] if c in x["decided"] else "inconclusive") for c in RELATIVE}


def regraded(x: dict, member: dict) -> dict:
    """The run regraded with :func:`as_decided` verdicts (``member``: its cue and whether it is standard)."""
    v = as_decided(x)
    return {**x, "verdicts": v, "grade": grade(v, member)}


def table(rows: list[dict], decided_only: bool = False) -> list[str]:
    """One line per (budget, variant); ``decided_only`` regrades the runs by :func:`as_decided`."""
    if decided_only:
        rows = [{**r, "runs": [regraded(x, r["member"]) for x in r["runs"] if "decided" in x]} for r in rows]
    lines = ["| budget | planner | mean queries | cue verdicts agreeing with all-queries | all three agree | right "
             "| inconclusive | wrong | regressions | acc MAE (points) | acc CI coverage "
             "| cue CIs covering the all-queries score |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    keys = sorted({(x["budget"], x["variant"]) for r in rows for x in r["runs"]})
    for b, v in keys:
        runs = [(r, x) for r in rows for x in r["runs"] if (x["budget"], x["variant"]) == (b, v)]
        n = len(runs)
        agree = [x["verdicts"][c] == r["all"][c] for r, x in runs for c in RELATIVE]
        grades = [x["grade"] for _, x in runs]
        accs = [(x["acc"], r["truth_acc"]) for r, x in runs if x.get("acc") and "truth_acc" in r]
        mae = f"{100 * sum(abs(a[0] - t) for a, t in accs) / len(accs):.2f}" if accs else "-"
        cover = f"{100 * sum(a[1] <= t <= a[2] for a, t in accs) / len(accs):.1f}%" if accs else "-"
        cues = [(x["profile"][c], r["all_profile"][c][0]) for r, x in runs if x.get("profile") and r.get("all_profile")
                for c in RELATIVE if x["profile"][c][1] is not None and r["all_profile"][c][0] is not None]
        cue_cover = f"{100 * sum(p[1] <= a <= p[2] for p, a in cues) / len(cues):.1f}% of {len(cues)}" if cues else "-"
        lines.append(
            f"| {b} | {v} | {sum(x['queries'] for _, x in runs) / n:.0f} | {100 * sum(agree) / len(agree):.1f}% "
            f"| {100 * sum(all(x['verdicts'][c] == r['all'][c] for c in RELATIVE) for r, x in runs) / n:.1f}% "
            f"| {grades.count('right')}/{n} | {grades.count('inconclusive')} | {grades.count('wrong')} "
            f"| {sum(r['all_grade'] == 'right' and x['grade'] != 'right' for r, x in runs)} | {mae} | {cover} | {cue_cover} |")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="a bench_budget.py --out directory")
    ap.add_argument("--panel-dir", type=Path, default=Path("/work/panel"))
    ap.add_argument("--unseen", type=Path, default=None)
    ap.add_argument("--members", default="")
    ap.add_argument("--budgets", default="1000,2000")
    ap.add_argument("--planner-seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="planner seeds first-seed .. first-seed + planner-seeds - 1 (other seeds than "
                         "bench_budget.py's 0 .. n-1 give an independent sample)")
    ap.add_argument("--data", default=None)
    ap.add_argument("--tag", default="all")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated variant names")
    ap.add_argument("--summarize", nargs="+", type=Path, default=None, metavar="REPLAY_JSON",
                    help="only print the table of these replay-*.json files")
    ap.add_argument("--decided-only", action="store_true",
                    help="with --summarize: also the table with every cue the planner left undecided "
                         "reported as inconclusive (a stricter rule for budgeted verdicts)")
    args = ap.parse_args(argv)
    chosen = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in VARIANTS]
    if unknown:
        ap.error(f"--variants: unknown {unknown}; expected some of {list(VARIANTS)}")
    if args.summarize:
        rows = [r for f in args.summarize for r in json.loads(f.read_text())]
        print("\n".join(table(rows)))
        if args.decided_only:
            print("\nUndecided cues reported as inconclusive:\n" + "\n".join(table(rows, decided_only=True)))
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
        clean = local_answers(m["file"], test.images)
        oracle = make_oracle(clean, served_ablations(json.loads(path.read_text())))

        fp_all = fingerprint_api(ws, m["name"], data=args.data)
        v_all = verdicts_of(fp_all)
        row = {"name": m["name"], "all": v_all, "all_grade": grade(v_all, m), "runs": [],
               "truth_acc": float((clean == test.labels).mean()), "all_profile": profile_of(fp_all),
               "member": {"cue": m["cue"], "standard": m["standard"]}}   # what grade() reads
        print(f"== {m['name']}: all queries {v_all} ({row['all_grade']})", flush=True)
        for b in (int(x) for x in args.budgets.split(",")):
            for name in chosen:
                for s in range(args.first_seed, args.first_seed + args.planner_seeds):
                    x = replay(data, oracle, b, s, VARIANTS[name])
                    row["runs"].append({"budget": b, "variant": name, "seed": s, **x,
                                        "grade": grade(x["verdicts"], m)})
                    print(f"  {b} {name} seed {s}: {x['queries']} queries, {x['verdicts']} ({row['runs'][-1]['grade']})",
                          flush=True)
        rows.append(row)
        (args.out / f"replay-{args.tag}.json").write_text(json.dumps(rows, indent=1))
    print("\n".join(table(rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
