#!/usr/bin/env bash
# Installs evalkit, then runs the whole pipeline on the demo config and names the report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export TF_CPP_MIN_LOG_LEVEL=2
exec .venv/bin/evalkit run configs/demo.toml "$@"
