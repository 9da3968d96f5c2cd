#!/usr/bin/env bash
# Creates .venv and installs evalkit with its test extras; re-installs only when pyproject changes.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat .venv/.evalkit-installed 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet -e ".[test]"
  echo "$want" > .venv/.evalkit-installed
fi
