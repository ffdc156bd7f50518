#!/bin/sh
# Builds {{ file }}.wasm (installs componentize-js into node_modules the first time).
set -e
cd "$(dirname "$0")"
[ -d node_modules/@bytecodealliance/componentize-js ] || npm install --no-audit --no-fund
npx componentize-js --wit wit --world-name plugin -d http -d fetch-event -o {{ file }}.wasm app.js
