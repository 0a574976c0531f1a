#!/usr/bin/env bash
# Quick start: install Sopu into .venv and the web's CSS (hds-core, npm), seed the demo
# organisation on the embedded store (./var), and serve it on http://127.0.0.1:8000
# (logins are printed; the supervisor web is at /).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "Sopu needs Python 3.11 or newer ($PYTHON is older)" >&2; exit 1; }
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error  # hds-core, the field app's packages
bash scripts/build_app.sh  # the field app's vendor bundle (esbuild)
.venv/bin/sopu seed-demo
exec .venv/bin/sopu serve "$@"
