#!/bin/sh
# Builds {{ file }}.wasm (rustup target add wasm32-wasip2 once).
set -e
cd "$(dirname "$0")"
cargo build --target wasm32-wasip2 --release
cp "${CARGO_TARGET_DIR:-target}/wasm32-wasip2/release/{{ file }}.wasm" {{ file }}.wasm
