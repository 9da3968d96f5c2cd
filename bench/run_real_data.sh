#!/usr/bin/env bash
# The real-CIFAR-10 benchmark sequence, one job after another (2 cores: never run them in parallel).
# Each step is resumable or cheap to repeat; logs go to $LOGS (default bench/logs, git-ignored).
#   bash bench/run_real_data.sh [BANK_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
BANK="${1:-/work/bankws}"
LOGS="${LOGS:-bench/logs}"
PY=.venv/bin/python
mkdir -p "$LOGS"
step() { local name=$1; shift; echo "=== $name $(date +%T)"; "$@" > "$LOGS/$name.log" 2>&1; echo "    rc=$? $(date +%T)"; }
step bank            $PY bench/bench_training.py bank --workspace "$BANK" --seeds 0-1
step discover        .venv/bin/evalkit discover --workspace "$BANK" --pool cifar10/test --size 100
step bench_discovery $PY bench/bench_discovery.py --workspace "$BANK" --pool cifar10/test
step faithfulness    $PY bench/bench_faithfulness.py --workspace "$BANK" --n 250
step bias_check      $PY bench/bench_training.py check --workspace "$BANK" --seeds 0-1
step bench_explain   $PY bench/bench_explain.py --bank "$BANK"
step speed           $PY bench/bench_training.py speed
step panel           $PY bench/bench_fingerprint_panel.py --bank "$BANK" --panel-dir "$(dirname "$BANK")/panel"
