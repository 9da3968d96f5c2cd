"""Validation panel for the bias fingerprint, scored exactly as a user scores an external API.

  .venv/bin/python bench/bench_fingerprint_panel.py --bank /work/bankws --panel-dir /work/panel

1. trains (or reuses) the panel in --panel-dir (bench/fingerprint_panel_models.py): one member
   each with grayscale, channel-shift, low-pass and patch-shuffle bias, plus one without;
2. mirrors the bank workspace's catalog (probes, predictions, eval sets) into
   PANEL_DIR/ws without copying or touching the bank;
3. for each member: starts `evalkit serve --model FILE` (MLServer) as a subprocess, scores it
   with `score_api` through the kserve-v2 adapter (eval sets + the five cue ablations), stops
   the server, and runs `fingerprint_api`;
4. prints the verdicts, identification rates of the verdict, of the nearest probe and of the
   accuracy-profile correlation baseline, and writes them under "## Bias fingerprint" in
   bench/RESULTS.md.
`--train-only` stops after step 1 (the bank is not needed for it).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fingerprint_panel_models import (PANEL, STRONG_SETTINGS, PanelSettings,  # noqa: E402
                                      panel_bias_check, train_panel_member)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Bias fingerprint"
ABLATIONS = ("grayscale", "channel_permute", "lowpass", "patch_shuffle", "mirror")
MIRRORED_KINDS = ("pool", "predictions", "model", "discovery", "evalset", "miniset")


def mirror_bank(bank_root: Path, ws_root: Path):
    """A workspace whose catalog points (absolute paths) at the bank's probes and sets."""
    from evalkit.workspace import Workspace

    bank, ws = Workspace(bank_root), Workspace(ws_root)
    n = 0
    for kind in MIRRORED_KINDS:
        for old in ws.catalog.list(kind):
            ws.catalog.delete(kind, old.key)
        for art in bank.catalog.list(kind):
            ws.catalog.record(kind, art.key, str(bank.abspath(art)), inputs=art.inputs,
                              settings=art.settings, meta=art.meta)
            n += 1
    return ws, n


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServeProcess:
    """`evalkit serve --model FILE` as a subprocess, as a user would start it."""

    def __init__(self, model: Path, name: str, timeout: float = 300.0):
        self.port = _free_port()
        cmd = [sys.executable, "-m", "evalkit", "serve", "--model", str(model), "--name", name,
               "--port", str(self.port)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        deadline, lines = time.time() + timeout, []
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                break
            lines.append(line.rstrip())
            m = re.search(r"ready in [\d.]+ s at (\S+)", line)
            if m:
                self.url = m.group(1)
                return
        self.stop()
        raise RuntimeError("evalkit serve did not become ready:\n" + "\n".join(lines[-20:]))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def api_file(path: Path, name: str, url: str, class_names) -> Path:
    """The API file a user would write for the served model (kserve-v2, with ablations)."""
    labels = ", ".join(json.dumps(c) for c in class_names)
    path.write_text(
        f'name = "{name}"\nadapter = "kserve-v2"\nendpoint = "{url}"\nmodel = "{name}"\n'
        f'price_per_1000 = 0.0\nablations = [{", ".join(json.dumps(a) for a in ABLATIONS)}]\nseed = 0\n\n'
        f'[params]\ninput_name = "images"\ndatatype = "UINT8"\noutput_name = "probabilities"\n'
        f'output_labels = [{labels}]\ntop_k = 1\n\n'
        f'[engine]\nconcurrency = 4\nrps = 1000\ntimeout_s = 60\nbatch_size = 32\n')
    return path


def score_and_fingerprint(ws, dataset, model_path: Path, name: str, apis_dir: Path, n_boot: int) -> dict:
    from evalkit.fingerprint.fingerprint import fingerprint_api
    from evalkit.scoring import load_api_config, score_api

    server = ServeProcess(model_path, name)
    try:
        cfg = load_api_config(api_file(apis_dir / f"{name}.toml", name, server.url, dataset.class_names))
        t0 = time.time()
        score_api(ws, cfg, dataset, echo=lambda s: print("  " + s))
        print(f"  scored in {time.time() - t0:.0f} s")
    finally:
        server.stop()
    return fingerprint_api(ws, name, n_boot=n_boot)


def _cue_of_probe(probe):
    from evalkit.fingerprint.cues import probe_cues

    return probe_cues().get(probe, "other")


def outcome(fp: dict, expected) -> str:
    """'correct' | 'inconclusive' | 'wrong' for the verdict."""
    if fp["status"] == "inconclusive":
        return "inconclusive"
    got = fp["dominant_cue"] if fp["status"] == "biased" else None
    return "correct" if got == expected else "wrong"


def _f(x, spec: str = ".2f") -> str:
    return "n/a" if x is None else format(x, spec)


def _fmt(c: dict) -> str:
    return "n/a" if c["score"] is None else f"{c['score']:.2f} [{_f(c['lo'])}, {_f(c['hi'])}]"


def results_table(rows: list[dict]) -> list[str]:
    out = ["| member | test acc | expected | verdict | colour | fine texture | global shape | "
           "nearest probe (margin CI) | baseline nearest (r) |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        fp, cp = r["fp"], r["fp"]["cue_profile"]
        n, b = fp["nearest_probe"], fp["correlation_baseline"]
        verdict = fp["dominant_cue"] if fp["status"] == "biased" else fp["status"]
        out.append(f"| {r['kind']} | {r['test_accuracy']:.3f} | {r['expected'] or 'none'} | "
                   f"{verdict} ({r['outcome']}) | {_fmt(cp['colour'])} | {_fmt(cp['fine_texture'])} | "
                   f"{_fmt(cp['global_shape'])} | {n['name']} ({_f(n['lo'], '.3f')}, {_f(n['hi'], '.3f')}) | "
                   f"{b['nearest']} ({_f(b['r'])}) |")
    return out


def write_section(lines: list[str]) -> None:
    text = RESULTS.read_text() if RESULTS.is_file() else "# Benchmark results\n"
    body = SECTION + "\n\n" + "\n".join(lines).rstrip() + "\n"
    start = text.find(SECTION + "\n")
    if start < 0:
        text = text.rstrip() + "\n\n" + body
    else:
        nxt = text.find("\n## ", start + len(SECTION))
        text = text[:start] + body + ("" if nxt < 0 else "\n" + text[nxt + 1:])
    RESULTS.write_text(text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bank", type=Path, default=Path("/work/bankws"))
    ap.add_argument("--panel-dir", type=Path, default=Path("/work/panel"))
    ap.add_argument("--data", default=None, help="dataset source (default: the shared CIFAR-10 copy)")
    ap.add_argument("--members", default=",".join(PANEL))
    ap.add_argument("--seed", type=int, default=100, help="first member's seed (+1 per member)")
    ap.add_argument("--train-size", type=int, default=4000)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--train-only", action="store_true")
    ap.add_argument("--check-panel", action="store_true",
                    help="print the accuracy each member keeps under each ablation (local, no bank)")
    ap.add_argument("--no-results", action="store_true", help="do not edit bench/RESULTS.md")
    args = ap.parse_args(argv)

    from evalkit.data import load_dataset

    members = [m.strip() for m in args.members.split(",") if m.strip()]
    unknown = set(members) - set(PANEL)
    if unknown:
        ap.error(f"unknown members {sorted(unknown)}; expected {list(PANEL)}")
    dataset = load_dataset("cifar10", args.data)
    settings = PanelSettings(train_size=args.train_size, epochs=args.epochs)
    paths = {}
    t0 = time.time()
    for i, kind in enumerate(members):
        member = (PanelSettings(**{**settings.__dict__, **STRONG_SETTINGS}) if kind.startswith("strong_")
                  else settings)
        paths[kind] = train_panel_member(kind, dataset, args.seed + list(PANEL).index(kind), args.panel_dir,
                                         member)
    print(f"panel ready in {time.time() - t0:.0f} s: {args.panel_dir}")
    if args.check_panel:
        print(f"{'member':<14} {'acc':>6} " + " ".join(f"{t:>15}" for t in ABLATIONS) + "  (kept accuracy)")
        for kind, row in panel_bias_check(paths, dataset).items():
            print(f"{kind:<14} {row['accuracy']:>6.3f} " + " ".join(f"{row[t]:>15.3f}" for t in ABLATIONS))
    if args.train_only:
        return 0
    if not (args.bank / "catalog.sqlite").is_file():
        print(f"bank workspace {args.bank} not found: train the probes and run discovery first")
        return 1
    ws, n = mirror_bank(args.bank, args.panel_dir / "ws")
    print(f"mirrored {n} catalog rows of {args.bank} into {ws.root}")
    apis_dir = args.panel_dir / "apis"
    apis_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for kind in members:
        meta = json.loads(paths[kind].with_suffix(".json").read_text())
        name = paths[kind].stem
        print(f"{name}: serving, scoring and fingerprinting ...")
        fp = score_and_fingerprint(ws, dataset, paths[kind], name, apis_dir, args.n_boot)
        rows.append({"kind": kind, "expected": PANEL[kind], "fp": fp, "outcome": outcome(fp, PANEL[kind]),
                     "test_accuracy": meta["test_accuracy"]})
        print(f"  -> {fp['verdict']}")
    n_ok = sum(r["outcome"] == "correct" for r in rows)
    n_inc = sum(r["outcome"] == "inconclusive" for r in rows)
    n_wrong = sum(r["outcome"] == "wrong" for r in rows)
    near_ok = sum(_cue_of_probe(r["fp"]["nearest_probe"]["name"]) == r["expected"] for r in rows)
    base_ok = sum(_cue_of_probe(r["fp"]["correlation_baseline"]["nearest"]) == r["expected"] for r in rows)
    accept = n_wrong == 0 and n_inc <= 1
    summary = [f"verdict: {n_ok}/{len(rows)} correct, {n_inc} inconclusive, {n_wrong} wrong "
               f"(acceptance: none wrong, at most one inconclusive: {'PASS' if accept else 'FAIL'})",
               f"nearest probe (preference/consistency distance) names a probe blind to the right cue: "
               f"{near_ok}/{len(rows)}",
               f"baseline, nearest probe by Pearson r of per-set accuracies: {base_ok}/{len(rows)}"]
    table = results_table(rows)
    print("\n".join(table + [""] + summary))
    (args.panel_dir / "results.json").write_text(json.dumps(
        [{k: v for k, v in r.items()} for r in rows], indent=1))
    if not args.no_results:
        write_section([
            "Validation panel: classifiers with a known induced bias, from a different architecture "
            "family than the probes (BatchNorm/GELU CNN with global average pooling), trained on their "
            f"own {args.train_size:,}-image CIFAR-10 mini-sets (seeds {args.seed}+), each served with "
            "`evalkit serve --model` (MLServer) and scored through the kserve-v2 adapter with "
            "`score_api`, exactly as an external API; then `fingerprint_api`. Cue scores: 1 = relies "
            "on the cue like a standard CNN, 0 = like a probe blind to it; 95% bootstrap CIs.",
            "", "```", f".venv/bin/python bench/bench_fingerprint_panel.py --bank {args.bank} "
            f"--panel-dir {args.panel_dir} --epochs {args.epochs} --n-boot {args.n_boot}", "```", "",
            *table, "", *[f"- {s}" for s in summary], ""])
    return 0 if accept else 3


if __name__ == "__main__":
    sys.exit(main())
