#!/usr/bin/env bash
# Times `host approve` as whole processes early and late in one long run: a gate that
# fans out over 1,000 items; the first five decisions are timed, the next 990 approved,
# the last five timed. Release build (or the binary given as $1); a fresh store and
# cache in a temp dir.
set -euo pipefail
cd "$(dirname "$0")/../.."
host="${1:-}"
if [ -z "$host" ]; then
  cargo build -q --release -p baton-cli
  host=./target/release/host
fi
cargo build -q -p echo-guest --target wasm32-wasip2 --release
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export BATON_STATE="$scratch/state" BATON_CACHE_DIR="$scratch/cache" BATON_OPERATOR=bench
sed "s#{echo}#$PWD/target/wasm32-wasip2/release/echo_guest.wasm#" tests/workflows/fan-out.toml > "$scratch/fan-out.toml"
python3 -c "import json; print(json.dumps({'items': [{'n': n, 'note': 'pay the invoice'} for n in range(1000)]}))" > "$scratch/items.json"
"$host" run "$scratch/fan-out.toml" --input "$scratch/items.json" --json > "$scratch/run.json" 2>/dev/null || [ $? -eq 3 ]
run=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["run"])' < "$scratch/run.json")
approve() { "$host" approve "$run/review/$1" > /dev/null 2>&1 || [ $? -eq 3 ]; }
timed() {
  for n in "$@"; do
    start=$(date +%s%N); approve "$n"; end=$(date +%s%N)
    printf ' %d' $(( (end - start) / 1000000 ))
  done
}
echo "host approve, first five (ms):$(timed 0 1 2 3 4)"
for n in $(seq 5 994); do approve "$n"; done
echo "host approve, last five (ms):$(timed 995 996 997 998 999)"
"$host" show "$run" --json | python3 -c 'import json, sys; s = json.load(sys.stdin)["status"]; assert s == "completed", s'
