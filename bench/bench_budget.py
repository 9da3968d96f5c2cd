"""A verdict for a few dollars: the query planner against sending everything and against a random
selection of the same size, on a validation panel and on probe seeds discovery never saw.

  .venv/bin/python bench/bench_budget.py --bank /work/bank --unseen /work/unseen --panel-dir /work/panel

For every member (a panel model from bench/fingerprint_panel_models.py, or an unseen probe seed):
1. serve it with `evalkit serve --model FILE` and score it through kserve-v2 with every query
   (`max_queries = "all"`: every eval-set image and its five ablated copies) -> the
   all-queries fingerprint; then once more through the server with the planner at 1,000
   queries (a fresh API name, so nothing comes from the cache) -> the end-to-end check;
2. predict the whole pool locally (the truth of the full-set accuracy, and the answers for pool
   images outside the eval sets), check they equal the served answers;
3. for each budget, run the planner with an oracle that answers from those recorded answers
   (same code path as the served run, several planner seeds), and a random selection of the same
   size (uniform eval-set images with all five ablations, plus a uniform pool sample for the
   accuracy; unweighted figures), repeated;
4. grade every verdict against the member's known bias and against the all-queries verdict.

Grading (fixed before any run): a member with an induced cue bias (full or partial) is *right*
when that cue is reported 'ignored' or 'less' and no other cue 'ignored'; *wrong* when that cue
is 'as_much'/'more' or another cue is 'ignored'; else *inconclusive*. A member without induced
bias is right when no cue is 'ignored' (and, for an unseen control probe, which is a standard
CNN by construction, also none 'less'/'more'), wrong otherwise unless a cue is inconclusive.
Orientation (absolute scale) is not graded.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_fingerprint_panel import ServeProcess, api_file, mirror_bank  # noqa: E402
from fingerprint_panel_models import PANEL, PARTIAL  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ABLATIONS = ("grayscale", "channel_permute", "lowpass", "patch_shuffle", "mirror")
RELATIVE = ("colour", "fine_texture", "global_shape")


def members(panel_dir: Path, unseen: Path | None, names) -> list[dict]:
    from evalkit.fingerprint.cues import probe_cues

    probe_cue = probe_cues()   # the cue each probe file says it is blind to (None: standard CNN)
    out = []
    for kind in PANEL:
        files = sorted(panel_dir.glob(f"panel-{kind.replace('_', '-')}-seed*.keras"))
        if files and (not names or kind in names):
            meta = json.loads(files[0].with_suffix(".json").read_text())
            out.append({"name": files[0].stem, "kind": f"panel:{kind}", "file": files[0], "cue": PANEL[kind],
                        "partial": kind in PARTIAL, "standard": False, "test_acc": meta["test_accuracy"]})
    if unseen is not None:
        for path in sorted(unseen.glob("models/*/seed*/model.keras")):
            probe, seed = path.parent.parent.name, path.parent.name
            if probe in probe_cue and (not names or probe in names):
                meta = json.loads((path.parent / "meta.json").read_text())
                out.append({"name": f"unseen-{probe}-{seed}", "kind": f"probe:{probe}", "file": path,
                            "cue": probe_cue[probe], "partial": False, "standard": probe_cue[probe] is None,
                            "test_acc": meta.get("test_accuracy")})
    return out


def grade(verdicts: dict, m: dict) -> str:
    v = {c: verdicts.get(c, "inconclusive") for c in RELATIVE}
    if m["cue"]:
        c = m["cue"]
        if v[c] in ("as_much", "more") or any(v[o] == "ignored" for o in RELATIVE if o != c):
            return "wrong"
        return "right" if v[c] in ("ignored", "less") else "inconclusive"
    bad = ("ignored", "less", "more") if m["standard"] else ("ignored",)
    if any(v[c] in bad for c in RELATIVE):
        return "wrong"
    return "inconclusive" if any(v[c] == "inconclusive" for c in RELATIVE) else "right"


def wording_true(fp: dict) -> bool:
    """Every relative cue's verdict follows from its CI, and the sentence uses 'about as much'
    for a cue only when that cue's CI includes 1."""
    from evalkit.fingerprint.verdict import VerdictSettings, relative_verdict

    st = VerdictSettings()
    for c in RELATIVE:
        cp = fp["cue_profile"][c]
        if cp["scale"] == "relative" and cp["lo"] is not None:
            if relative_verdict(cp["lo"], cp["hi"], st) != cp["verdict"]:
                return False
    if fp["status"] == "no_bias":
        return all(fp["cue_profile"][c]["verdict"] == "as_much" for c in RELATIVE
                   if fp["cue_profile"][c]["scale"] == "relative")
    return True


def local_answers(model_file: Path, images: np.ndarray) -> np.ndarray:
    from evalkit.serving.classifier import load_classifier

    return load_classifier(model_file).predict(images).argmax(1)


def served_ablations(scores: dict) -> dict[str, dict[int, int]]:
    """transform -> {pool index: label} of the answers a scores.json holds for ablated images."""
    return {t: {int(r["index"]): r["label"] for r in rs if r["status"] == "scored"}
            for t, rs in scores["ablations"].items()}


def make_oracle(clean: np.ndarray, abl: dict):
    """A planner ``ask``: clean images from local predictions, ablated ones from served answers
    (requests for ablated images never served get no answer); every request is paid."""
    def oracle(requests):
        got = {(i, t): (int(clean[i]) if t == "" else abl[t].get(i, -1)) for i, t in requests}
        return {q: v for q, v in got.items() if v != -1}, len(requests)
    return oracle


def planner_run(data, oracle, budget: int, seed: int, accuracy_share: float | None = None, **planner_kw):
    from evalkit.fingerprint import fingerprint_from_trials
    from evalkit.planning import QueryPlanner
    from evalkit.planning.planner import ACCURACY_SHARE, weighted_trials

    share = ACCURACY_SHARE if accuracy_share is None else accuracy_share
    res = QueryPlanner(data, max_queries=budget, seed=seed, accuracy_share=share, **planner_kw).run(oracle)
    # as fingerprint_api computes it after a planned scoring: 1,000 replicates, seed 0
    fp = fingerprint_from_trials(weighted_trials(data, res.ledger, res.answers, res.ablation_answers),
                                 "m", n_boot=1000, seed=0)
    return fp, res


def random_run(data, clean: np.ndarray, abl: dict, budget: int, seed: int, truth_labels: np.ndarray):
    """Uniform eval-set images with all five ablations (80% of the budget) and a uniform pool
    sample (20%, clean); unweighted figures."""
    from evalkit.fingerprint import fingerprint_from_trials
    from evalkit.fingerprint.inputs import build_trials
    from evalkit.stats import wilson_ci

    rng = np.random.default_rng(seed)
    n_img = min(int(0.8 * budget) // (1 + len(ABLATIONS)), data.population.size)
    pick = np.sort(rng.choice(data.population, size=n_img, replace=False))
    answers = {int(i): int(clean[i]) for i in pick}
    ablations = {t: {int(i): int(abl[t][int(i)]) for i in pick} for t in ABLATIONS}
    trials = build_trials(data.docs, data.labels, data.probes, answers, ablations, data.reference,
                          data.population)
    fp = fingerprint_from_trials(trials, "r", n_boot=1000, seed=seed)
    n_acc = int(0.2 * budget)
    acc_idx = rng.choice(truth_labels.size, size=n_acc, replace=False)
    k = int(np.sum(clean[acc_idx] == truth_labels[acc_idx]))
    lo, hi = wilson_ci(k, n_acc)
    return n_img * (1 + len(ABLATIONS)) + n_acc, fp, (k / n_acc, lo, hi)


def verdicts_of(fp: dict) -> dict:
    return {c: fp["cue_profile"][c]["verdict"] for c in RELATIVE}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bank", type=Path, default=Path("/work/bank"))
    ap.add_argument("--unseen", type=Path, default=Path("/work/unseen"))
    ap.add_argument("--panel-dir", type=Path, default=Path("/work/panel"))
    ap.add_argument("--out", type=Path, default=Path("/work/budget"))
    ap.add_argument("--budgets", default="250,500,1000,2000")
    ap.add_argument("--planner-seeds", type=int, default=3)
    ap.add_argument("--random-reps", type=int, default=10)
    ap.add_argument("--members", default="", help="comma-separated kinds/probes (default: all found)")
    ap.add_argument("--data", default=None)
    ap.add_argument("--tag", default="all", help="results go to OUT/results-TAG.json")
    ap.add_argument("--baseline-share", type=float, default=None,
                    help="also run the planner at 1,000 queries with this accuracy share (a baseline row)")
    ap.add_argument("--summarize", action="store_true",
                    help="only print the tables from every OUT/results-*.json (no scoring)")
    args = ap.parse_args(argv)
    budgets = [int(b) for b in args.budgets.split(",")]
    if args.summarize:
        rows = [r for f in sorted(args.out.glob("results-*.json")) for r in json.loads(f.read_text())]
        for r in rows:
            r["budgets"] = {int(k): v for k, v in r["budgets"].items()}
        print("\n".join(summary_lines(rows, budgets)))
        return 0

    from evalkit.data import load_dataset
    from evalkit.fingerprint.fingerprint import fingerprint_api
    from evalkit.planning import load_planning_data
    from evalkit.scoring import load_api_config, score_api

    dataset = load_dataset("cifar10", args.data)
    test = dataset.split("test")
    ws, n = mirror_bank(args.bank, args.out / "ws")
    apis = args.out / "apis"
    apis.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    data = load_planning_data(ws, ABLATIONS, test.images, pool="cifar10/test")
    print(f"mirrored {n} rows; population {data.population.size} eval-set images; reference ablations "
          f"ready in {time.time() - t0:.0f} s", flush=True)
    rows = []
    for m in members(args.panel_dir, args.unseen, {x for x in args.members.split(",") if x}):
        print(f"== {m['name']} ({m['kind']}, test acc {m['test_acc']:.3f})", flush=True)
        server = ServeProcess(m["file"], m["name"])
        try:
            cfg = load_api_config(api_file(apis / f"{m['name']}.toml", m["name"], server.url, test.class_names))
            t = time.time()
            score_api(ws, cfg, dataset, max_queries=None)
            t_all = time.time() - t
            fp_all = fingerprint_api(ws, m["name"], data=args.data)
            name_b = f"{m['name']}-b1000-{time.strftime('%H%M%S')}"  # a fresh API name: nothing cached
            path_b = apis / f"{name_b}.toml"
            path_b.write_text(Path(cfg.source).read_text().replace(f'name = "{m["name"]}"', f'name = "{name_b}"', 1))
            cfg_b = load_api_config(path_b)
            t = time.time()
            score_api(ws, cfg_b, dataset, max_queries=1000)
            t_b = time.time() - t
            fp_b = fingerprint_api(ws, name_b, data=args.data)
        finally:
            server.stop()
        scores = json.loads((ws.root / "scores" / m["name"] / "scores.json").read_text())
        served_b = json.loads((ws.root / "scores" / name_b / "scores.json").read_text())
        clean = local_answers(m["file"], test.images)
        truth = float(np.mean(clean == test.labels))
        served = {int(r["index"]): r["label"] for r in scores["images"] if r["status"] == "scored"}
        mismatch = sum(int(clean[i]) != v for i, v in served.items())
        abl = served_ablations(scores)
        oracle = make_oracle(clean, abl)

        row = {"member": m, "truth_acc": truth, "mismatch": mismatch, "all": {
            "queries": scores["queries_sent"] + scores["cache_hits"], "verdicts": verdicts_of(fp_all),
            "status": fp_all["status"], "dominant": fp_all["dominant_cue"], "grade": grade(verdicts_of(fp_all), m),
            "wording_true": wording_true(fp_all), "seconds": t_all,
            "profile": {c: [fp_all["cue_profile"][c][k] for k in ("score", "lo", "hi")] for c in RELATIVE}},
            "served_1000": {"queries": served_b["plan"]["spent_queries"], "verdicts": verdicts_of(fp_b),
                            "grade": grade(verdicts_of(fp_b), m), "wording_true": wording_true(fp_b),
                            "pool_accuracy": served_b.get("pool_accuracy"), "seconds": t_b,
                            "verdict": fp_b["verdict"]},
            "budgets": {}}
        for b in budgets:
            plans = []
            for s in range(args.planner_seeds):
                fp, res = planner_run(data, oracle, b, s)
                acc = res.accuracy
                plans.append({"queries": res.spent_queries, "verdicts": verdicts_of(fp), "grade": grade(verdicts_of(fp), m),
                              "wording_true": wording_true(fp),
                              "acc": None if acc is None else [acc.acc, acc.lo, acc.hi]})
            rands = []
            for s in range(args.random_reps):
                q, fp, acc = random_run(data, clean, abl, b, 1000 + s, test.labels)
                rands.append({"queries": q, "verdicts": verdicts_of(fp), "grade": grade(verdicts_of(fp), m),
                              "acc": list(acc)})
            row["budgets"][b] = {"planner": plans, "random": rands}
            if b == 1000 and args.baseline_share is not None:
                base = []
                for s in range(args.planner_seeds):
                    fp, res = planner_run(data, oracle, b, s, args.baseline_share)
                    acc = res.accuracy
                    base.append({"queries": res.spent_queries, "verdicts": verdicts_of(fp), "grade": grade(verdicts_of(fp), m),
                                 "wording_true": wording_true(fp),
                                 "acc": None if acc is None else [acc.acc, acc.lo, acc.hi]})
                row["budgets"][b][f"planner, accuracy share {args.baseline_share:g}"] = base
            g = [p["grade"] for p in plans]
            print(f"  budget {b}: planner grades {g}, random right {sum(r['grade'] == 'right' for r in rands)}"
                  f"/{len(rands)}", flush=True)
        print(f"  all: {row['all']['verdicts']} ({row['all']['grade']}); served@1000: "
              f"{row['served_1000']['verdicts']} ({row['served_1000']['grade']}); truth acc {truth:.3f}, "
              f"est {row['served_1000']['pool_accuracy']}", flush=True)
        rows.append(row)
        (args.out / f"results-{args.tag}.json").write_text(json.dumps(rows, indent=1, default=str))
    print("\n".join(summary_lines(rows, budgets)))
    return 0


def summary_lines(rows: list[dict], budgets) -> list[str]:
    """The tables for bench/RESULTS.md."""
    out = ["| member | test acc | expected | all-queries verdict (colour / fine texture / global shape) | grade | "
           "planner@1000 served | grade | full-set acc truth | estimate [95% CI] |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        m, a, s = r["member"], r["all"], r["served_1000"]
        pa = s["pool_accuracy"] or {}
        exp = (m["cue"] or "none") + (" (partial)" if m["partial"] else "")
        out.append(f"| {m['name']} | {m['test_acc']:.3f} | {exp} | {' / '.join(a['verdicts'][c] for c in RELATIVE)} | "
                   f"{a['grade']} | {' / '.join(s['verdicts'][c] for c in RELATIVE)} ({s['queries']} q) | {s['grade']} | "
                   f"{r['truth_acc']:.3f} | {pa.get('acc', float('nan')):.3f} [{pa.get('lo', float('nan')):.3f}, "
                   f"{pa.get('hi', float('nan')):.3f}] |")
    served = [r["served_1000"]["grade"] for r in rows]
    all_grades = [r["all"]["grade"] for r in rows]
    out += ["", f"All queries: {all_grades.count('right')} right, {all_grades.count('inconclusive')} inconclusive, "
            f"{all_grades.count('wrong')} wrong; words true to the CIs {sum(r['all']['wording_true'] for r in rows)}/{len(rows)}. "
            f"Served planner runs at 1,000: {served.count('right')} right, {served.count('inconclusive')} inconclusive, "
            f"{served.count('wrong')} wrong; regressions {sum(a == 'right' and g != 'right' for a, g in zip(all_grades, served))}; "
            f"words true to the CIs {sum(r['served_1000']['wording_true'] for r in rows)}/{len(rows)}."]
    out += ["", "| budget | method | mean queries | cue verdicts agreeing with all-queries | all three agree | right | "
            "inconclusive | wrong | regressions (right in all-queries, not right here) | acc MAE (points) | "
            "acc CI coverage | mean CI width |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for b in budgets:
        methods = dict.fromkeys(m for r in rows for m in r["budgets"][b])
        for method in methods:
            runs = [(r, x) for r in rows for x in r["budgets"][b].get(method, [])]
            if not runs:
                continue
            agree = [np.mean([x["verdicts"][c] == r["all"]["verdicts"][c] for c in RELATIVE]) for r, x in runs]
            full = [all(x["verdicts"][c] == r["all"]["verdicts"][c] for c in RELATIVE) for r, x in runs]
            grades = [x["grade"] for _, x in runs]
            regress = sum(r["all"]["grade"] == "right" and x["grade"] != "right" for r, x in runs)
            accs = [(r["truth_acc"], x["acc"]) for r, x in runs if x["acc"]]
            err = [abs(a[0] - t) for t, a in accs]
            cover = [a[1] <= t <= a[2] for t, a in accs]
            width = [a[2] - a[1] for _, a in accs]
            out.append(f"| {b} | {method} | {np.mean([x['queries'] for _, x in runs]):.0f} | {np.mean(agree):.1%} | "
                       f"{np.mean(full):.1%} | {grades.count('right')}/{len(runs)} | {grades.count('inconclusive')} | "
                       f"{grades.count('wrong')} | {regress} | {100 * np.mean(err):.2f} | {np.mean(cover):.1%} | "
                       f"{100 * np.mean(width):.1f} |")
    return out


if __name__ == "__main__":
    sys.exit(main())
