#!/usr/bin/env bash
# Python side of the set-up: .venv with the locked dependencies and the project itself.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check uv
fi
.venv/bin/uv pip install --quiet -p .venv/bin/python -r requirements.lock
.venv/bin/uv pip install --quiet -p .venv/bin/python --no-deps -e .
touch .venv/.installed
