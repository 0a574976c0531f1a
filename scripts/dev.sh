#!/usr/bin/env bash
# Quick start: install Sopu into .venv and start it on the embedded store.
# (The server arrives with the sync gateway; until then this installs Sopu and shows
# what the `sopu` command can do.)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
exec .venv/bin/sopu --help
