#!/usr/bin/env bash
# Installs everything the tests need (venv, packages, Chromium), then runs the default test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test
bash scripts/install-browser.sh
export TF_CPP_MIN_LOG_LEVEL=2
exec .venv/bin/python -m pytest -m "not slow" "$@"
