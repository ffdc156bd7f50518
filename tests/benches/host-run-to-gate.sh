#!/usr/bin/env bash
# Times `host run` of the lead follow-up to its gate as a whole process (start-up,
# workflow checks, plugin loads from a warm cache, three steps, sled), 30 times, and
# prints the median. Release build; a fresh state store and cache in a temp dir.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q --release -p baton-cli
cargo build -q -p lead-scorer -p copy-drafter -p email-outbox --target wasm32-wasip2 --release
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export BATON_STATE="$scratch/state" BATON_CACHE_DIR="$scratch/cache"
run() { ./target/release/host run examples/lead-followup/workflow.toml --input examples/leads.json > /dev/null || [ $? -eq 3 ]; }
run # warm the cache
for _ in $(seq 30); do
  start=$(date +%s%N); run; end=$(date +%s%N)
  echo $(( (end - start) / 1000 ))
done | sort -n | awk '{ t[NR] = $1 } END { printf "host run to its gate: median %.1f ms, min %.1f ms, max %.1f ms (n=%d)\n", t[int((NR+1)/2)]/1000, t[1]/1000, t[NR]/1000, NR }'
