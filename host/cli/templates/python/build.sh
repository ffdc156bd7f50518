#!/bin/sh
# Builds {{ file }}.wasm (pip install componentize-py==0.25.1 once).
set -e
cd "$(dirname "$0")"
# A failed build leaves no .wasm behind, so an old one is never tried by mistake.
rm -f {{ file }}.wasm
componentize-py --wit-path wit --world plugin componentize app -o {{ file }}.wasm
