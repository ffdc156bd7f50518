#!/bin/sh
# Builds {{ file }}.wasm (rustup target add wasm32-wasip2 once).
set -e
cd "$(dirname "$0")"
# A failed build leaves no .wasm behind, so an old one is never tried by mistake.
rm -f {{ file }}.wasm
cargo build --target wasm32-wasip2 --release
cp "${CARGO_TARGET_DIR:-target}/wasm32-wasip2/release/{{ file }}.wasm" {{ file }}.wasm
