#!/bin/sh
# Builds {{ file }}.wasm (installs componentize-js into node_modules the first time).
set -e
cd "$(dirname "$0")"
# A failed build leaves no .wasm behind, so an old one is never tried by mistake.
rm -f {{ file }}.wasm
# From the lock file as it is when there is one (npm ci never rewrites it).
if [ ! -d node_modules/@bytecodealliance/componentize-js ]; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi
npx componentize-js --wit wit --world-name plugin -d http -d fetch-event -o {{ file }}.wasm app.js
