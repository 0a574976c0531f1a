#!/usr/bin/env bash
# Build the field app's vendor bundle (server/field_app/static/vendor/vendor.js) from
# the pinned npm packages (package-lock.json): pouchdb-browser, @hpke/*, @noble/hashes,
# bundled by esbuild. Run after `npm ci`; scripts/dev.sh and scripts/test.sh do.
set -euo pipefail
cd "$(dirname "$0")/.."
out=server/field_app/static/vendor
mkdir -p "$out"
node_modules/.bin/esbuild server/field_app/static/js/vendor-entry.mjs \
  --bundle --format=esm --minify --platform=browser --define:global=globalThis \
  --legal-comments=eof --log-level=warning --outfile="$out/vendor.js"
