"""Hostile servers (fault injection): every adapter protocol scored against the fake server of
tests/fake_api_server.py with 20% HTTP 429 (Retry-After), 10% 503, 5% hangs past the client
timeout, 5% garbage bodies, 2% wrong-count batch answers, plus hostile labels (HTML/JS, ESC/OSC,
NUL, lone surrogates, 3000 characters), request headers (with the key) echoed in every body,
objects as model versions and numbers as text. One synthetic workspace, one API per protocol,
then `evalkit report`; then a SIGKILL mid-run of one protocol and a resume.

    .venv/bin/python bench/bench_hostile.py [--images 264] [--seed 0] [--no-kill]

Per protocol: images, scored (all with their true label or abstained), failed with a reason,
lost (neither), misattributed (a class other than the truth), tracebacks (exceptions out of
score_api), key characters found in any workspace file (bytes, SQLite included, after the report)
or in terminal output and logs, and wall time (baseline: the same run against the server without
faults, in the same process).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fake_api_server import HOSTILE_MIX, PROTOCOLS, api_file_text, fake_api_server, fake_secrets  # noqa: E402
from scoring_servers import CLASSES, make_dataset, write_evalset  # noqa: E402


def key_chars_found(data: bytes, secret: str) -> int:
    """How many characters of ``secret`` are covered by its 8-character pieces found in ``data``."""
    covered = set()
    for i in range(len(secret) - 7):
        if secret[i:i + 8].encode() in data:
            covered.update(range(i, i + 8))
    return len(covered)


def tally(doc: dict | None, truth_labels, abstain: set[int] = frozenset()) -> dict:
    """Counts of one scores.json; ``abstain``: images answered with hostile labels only (no class)."""
    n = len(truth_labels)
    if doc is None:
        return {"images": n, "scored": 0, "abstained": 0, "failed": 0, "lost": n, "misattributed": 0}
    recs = {r["index"]: r for r in doc["images"]}
    c = Counter()
    for i in range(n):
        r = recs.get(i)
        if r is None or (r["status"] == "failed" and (not r["reason"] or r["reason"] in ("not queried", "budget"))):
            c["lost"] += 1
        elif r["status"] == "scored":
            c["scored"] += 1
            c["abstained"] += r["label"] is None
            want = None if i in abstain else int(truth_labels[i])
            c["misattributed"] += r["label"] != want
        else:
            c["failed"] += 1
    return {"images": n, **{k: c[k] for k in ("scored", "abstained", "failed", "lost", "misattributed")}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=264, help="images per protocol (8 x 264 = 2112)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=0.3, help="client timeout_s; hangs last 2x this")
    ap.add_argument("--no-kill", action="store_true", help="skip the SIGKILL + resume check")
    args = ap.parse_args()

    from evalkit.artifacts import image_hash
    from evalkit.cli.main import main as cli_main
    from evalkit.scoring import load_api_config, score_api
    from evalkit.workspace import Workspace

    faults = HOSTILE_MIX.__class__(**{**HOSTILE_MIX.__dict__, "seed": args.seed, "hang_s": 2 * args.timeout})
    dataset = make_dataset(args.images, seed=11)
    split = dataset.split("test")
    truth = {image_hash(im): CLASSES[int(y)] for im, y in zip(split.images, split.labels)}
    tmp = Path(tempfile.mkdtemp(prefix="bench_hostile_"))
    ws = Workspace(tmp / "ws")
    write_evalset(ws, "all", range(args.images))
    terminal, logs = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(logs)
    logging.getLogger("evalkit").addHandler(handler)
    logging.getLogger("evalkit").setLevel(logging.DEBUG)
    secrets = {p: fake_secrets(seed=100 + i) for i, p in enumerate(PROTOCOLS)}
    print(f"images per protocol: {args.images}, fault mix: 429 {faults.p429:.0%}, 503 {faults.p503:.0%}, "
          f"hangs {faults.phang:.0%} ({faults.hang_s:g} s vs timeout {args.timeout:g} s), garbage "
          f"{faults.pgarbage:.0%}, wrong-count batches {faults.pwrong_count:.0%}; hostile labels, echoed headers, "
          "odd types (version objects, numbers as text in half the answers)")
    rows, docs = [], {}
    for protocol in PROTOCOLS:
        api = tmp / f"{protocol}.toml"
        doc, tb = None, 0
        with fake_api_server(truth, CLASSES, faults) as srv:
            api.write_text(api_file_text(protocol, srv.url, CLASSES, timeout_s=args.timeout))
            t0 = time.perf_counter()
            try:
                art = score_api(ws, load_api_config(api), dataset, ["all"], environ=secrets[protocol],
                                echo=lambda s: print(s, file=terminal))
                doc = docs[protocol] = json.loads(ws.abspath(art).read_text())
            except Exception:  # a traceback out of score_api is what this bench counts
                tb = 1
                traceback.print_exc()
            wall = time.perf_counter() - t0
            sent = Counter(srv.faults_sent)
        clean_ws = Workspace(tmp / "ws_clean")
        if not clean_ws.catalog.get("evalset", "all"):
            write_evalset(clean_ws, "all", range(args.images))
        with fake_api_server(truth, CLASSES) as srv:  # baseline: the same run without faults
            api.write_text(api_file_text(protocol, srv.url, CLASSES, timeout_s=args.timeout))
            t0 = time.perf_counter()
            score_api(clean_ws, load_api_config(api), dataset, ["all"], environ=secrets[protocol])
            clean = time.perf_counter() - t0
        abstain = set() if protocol in ("tfserving", "kserve-v2") else {
            i for i, im in enumerate(split.images) if faults.hostile_top(image_hash(im))}
        rows.append({"protocol": protocol, **tally(doc, split.labels, abstain), "expected_abst": len(abstain),
                     "tracebacks": tb, "wall_s": wall, "clean_s": clean,
                     "requests": sum(sent.values()), "faults": sent})

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            cli_main(["report", "--workspace", str(ws.root)])
            report_code = 0
        except SystemExit as exc:
            report_code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    files = {p: p.read_bytes() for p in ws.root.rglob("*") if p.is_file()}
    shown = (terminal.getvalue() + logs.getvalue() + out.getvalue() + err.getvalue()).encode("utf-8", "replace")
    for row in rows:
        sec = list(secrets[row["protocol"]].values())
        row["key_chars_files"] = max(key_chars_found(b, s) for b in files.values() for s in sec)
        row["key_chars_shown"] = max(key_chars_found(shown, s) for s in sec)

    head = (f"{'protocol':<19}{'images':>7}{'scored':>7}{'abst.(exp.)':>12}{'failed':>7}{'lost':>5}{'misattr.':>9}"
            f"{'tracebk':>8}{'key chars files/shown':>22}{'wall s (no faults)':>19}{'requests':>9}  faults sent")
    print(head)
    for r in rows:
        f = r["faults"]
        faults_txt = " ".join(f"{k}={f[k]}" for k in ("429", "503", "hang", "garbage", "wrong_count") if f[k])
        print(f"{r['protocol']:<19}{r['images']:>7}{r['scored']:>7}{r['abstained']:>7}({r['expected_abst']:>3}){r['failed']:>7}{r['lost']:>5}"
              f"{r['misattributed']:>9}{r['tracebacks']:>8}{r['key_chars_files']:>13}/{r['key_chars_shown']:<8}"
              f"{r['wall_s']:>9.1f} ({r['clean_s']:>4.1f})   {r['requests']:>9}  {faults_txt}")
    raw_controls = sum(shown.count(c) for c in (b"\x1b", b"\x00", b"\x07", b"\xc2\x9b"))
    texts = [b for p, b in files.items() if p.suffix in (".json", ".html", ".csv", ".svg")]
    raw_in_files = sum(b.count(c) for b in texts for c in (b"\x1b", b"\x00", b"\x07", b"\xc2\x9b"))
    markup = sum(b.count(m) for p, b in files.items() if p.suffix == ".html"
                 for m in (b"<script>alert('owned')", b"<img src=x onerror"))
    in_report = sum(b.count(b"owned") for p, b in files.items() if p.suffix == ".html")
    total = {k: sum(r[k] for r in rows) for k in ("images", "scored", "failed", "lost", "misattributed", "tracebacks")}
    print(f"total: {total}, key characters in any file: {max(r['key_chars_files'] for r in rows)}, "
          f"shown: {max(r['key_chars_shown'] for r in rows)}; evalkit report exit {report_code}; "
          f"raw ESC/NUL/BEL/CSI in terminal output and logs: {raw_controls}; "
          f"files checked: {len(files)}")
    print(f"hostile labels: in the report HTML {in_report} time(s), unescaped markup {markup}; raw ESC/NUL/BEL/CSI "
          f"in JSON/HTML/CSV/SVG files: {raw_in_files}")
    if not args.no_kill:
        kill_and_resume(tmp, dataset, truth, faults, secrets["google-vision"], args, docs.get("google-vision"))


_CHILD = """
import sys
sys.path[:0] = [{root!r}, {tests!r}]
from scoring_servers import make_dataset
from evalkit.scoring import load_api_config, score_api
from evalkit.workspace import Workspace
score_api(Workspace({ws!r}), load_api_config({api!r}), make_dataset({n}, seed=11), ["all"])
"""


def kill_and_resume(tmp: Path, dataset, truth, faults, secrets: dict, args, uninterrupted: dict | None) -> None:
    """google-vision (batches of 8, 0.2 s per request): SIGKILL a run once a third of the images
    were answered, resume, and compare the labels with the uninterrupted run's."""
    import sqlite3

    from evalkit.scoring import load_api_config, score_api
    from evalkit.workspace import Workspace

    ws = Workspace(tmp / "ws_kill")
    write_evalset(ws, "all", range(args.images))
    split = dataset.split("test")
    slow = faults.__class__(**{**faults.__dict__, "latency_s": 0.2})
    with fake_api_server(truth, CLASSES, slow) as srv:
        api = tmp / "kill.toml"
        api.write_text(api_file_text("google-vision", srv.url, CLASSES, timeout_s=args.timeout))
        code = _CHILD.format(root=str(ROOT), tests=str(ROOT / "tests"), ws=str(ws.root), api=str(api), n=args.images)
        child = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, **secrets},
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        cache = ws.root / "scores" / "cache.sqlite"
        deadline, stored = time.monotonic() + 300, 0
        while child.poll() is None and time.monotonic() < deadline and stored < args.images // 3:
            time.sleep(0.02)
            if cache.is_file():
                with contextlib.suppress(sqlite3.Error):
                    con = sqlite3.connect(cache)
                    stored = con.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
                    con.close()
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        con = sqlite3.connect(cache)
        kept = {h for (h,) in con.execute("SELECT image_hash FROM responses")}
        con.close()
        at_kill = Counter(srv.requests_per_image)
        t0 = time.perf_counter()
        doc = json.loads(ws.abspath(score_api(ws, load_api_config(api), dataset, ["all"], environ=secrets)).read_text())
        resent = sum(1 for k in kept if srv.requests_per_image[k] != at_kill[k])
    from evalkit.artifacts import image_hash

    t = tally(doc, split.labels, {i for i, im in enumerate(split.images) if faults.hostile_top(image_hash(im))})
    leaked = max(key_chars_found(p.read_bytes(), s) for p in ws.root.rglob("*") if p.is_file()
                 for s in secrets.values())
    same = None
    if uninterrupted is not None:
        before = {r["index"]: r["label"] for r in uninterrupted["images"] if r["status"] == "scored"}
        both = [r for r in doc["images"] if r["status"] == "scored" and r["index"] in before]
        same = f"{sum(before[r['index']] == r['label'] for r in both)}/{len(both)}"
    print(f"SIGKILL + resume (google-vision): killed with exit {child.returncode} after {len(kept)} cached answers; "
          f"resume: {t}, cache hits {doc['cache_hits']}, cached images sent again {resent}, "
          f"labels equal to the uninterrupted run: {same}, key characters in its files {leaked}, "
          f"{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
