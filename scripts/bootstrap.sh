#!/usr/bin/env bash
# Creates .venv and installs evalkit (editable) with the extras named in $1 (comma-separated,
# e.g. "serve" for the demo, "test" for the test suite); re-installs only when pyproject.toml
# or the extras change.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
want="$(sha256sum pyproject.toml | cut -d' ' -f1) [${extras}]"
stamp=".venv/.evalkit-installed-${extras:-base}"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  # The filter hides only setuptools' informational "Editable installation." note (not a deprecation).
  PYTHONWARNINGS="ignore:Editable installation" .venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}"
  echo "$want" > "$stamp"
fi
