#!/usr/bin/env bash
# Install everything the test suite needs from this repository's own files, then run it:
# the Python package with its [test] extra in .venv, the pinned npm test peers
# (pouchdb-server, pouchdb, hds-core, axe-core), Debian's chromium for the browser tests
# and Debian's postgresql (initdb/pg_ctl, for the throwaway PostgreSQL cluster that pytest
# starts itself: tests/support/postgres_server.py) when they are missing, then ruff, the
# import contracts and pytest.
# Extra arguments go to pytest, e.g. `scripts/test.sh -k revisions -x`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "Sopu needs Python 3.11 or newer ($PYTHON is older)" >&2; exit 1; }

echo "== installing Python packages into .venv"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

if [ -f package-lock.json ]; then
  echo "== installing pinned npm test peers"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  echo "== building the field app's vendor bundle"
  bash scripts/build_app.sh
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "== installing Debian's chromium (the browser tests drive it headless)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

have_postgres() {  # initdb and pg_ctl on PATH, or both in some /usr/lib/postgresql/*/bin
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then return 0; fi
  local bin
  for bin in /usr/lib/postgresql/*/bin; do
    if [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ]; then return 0; fi
  done
  return 1
}
if ! have_postgres; then
  echo "== installing Debian's postgresql (pytest runs a throwaway cluster with initdb/pg_ctl)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi

echo "== ruff"
.venv/bin/ruff check .
echo "== import contracts"
.venv/bin/lint-imports
echo "== pytest"
exec .venv/bin/pytest "$@"
