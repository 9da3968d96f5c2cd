#!/usr/bin/env bash
# Installs evalkit with the `serve` extra only (the demo serves its stand-in API with
# `evalkit serve`, i.e. MLServer), then runs the whole pipeline on the demo config and names the report.
# CIFAR-10: ../shared/datasets/cifar10-jpeg.zip when present, else $EVALKIT_DATA, else the
# official download (checksum-verified, with a progress bar).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh serve
shared="../shared/datasets/cifar10-jpeg.zip"
if [ -f "$shared" ]; then
  exec .venv/bin/evalkit run configs/demo.toml --data "$shared" "$@"
fi
exec .venv/bin/evalkit run configs/demo.toml "$@"
