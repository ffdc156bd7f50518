#!/bin/sh
# Builds {{ file }}.wasm (pip install componentize-py==0.25.1 once).
set -e
cd "$(dirname "$0")"
componentize-py --wit-path wit --world plugin componentize app -o {{ file }}.wasm
