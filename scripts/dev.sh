#!/usr/bin/env bash
# Quick start: install Sopu into .venv, seed the demo organisation on the embedded
# store (./var), and serve it on http://127.0.0.1:8000 (logins are printed).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "Sopu needs Python 3.11 or newer ($PYTHON is older)" >&2; exit 1; }
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
.venv/bin/sopu seed-demo
exec .venv/bin/sopu serve "$@"
