"""A plugin tool's round trip through `host mcp` over stdio, against the plugin's own
time: how much the MCP layer (JSON-RPC over a pipe, rmcp, the SDK) adds to a call.

    cargo build --release -p baton-cli
    cargo build --release -p echo-guest --target wasm32-wasip2
    python3 tests/mcp/bench.py target/release/host target/wasm32-wasip2/release/echo_guest.wasm

Prints the median and 90th percentile of N calls of `plugin.echo` with a 1 KB input,
the same plugin's own invoke time as the host measures it (`host invoke --json`), and
the difference. The client's own time (Python, the official SDK) is in the figure.
"""

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from mcp import Client, StdioServerParameters

CALLS = 500


async def main():
    host, plugin = sys.argv[1], sys.argv[2]
    payload = {"text": "x" * 1000}
    state = tempfile.mkdtemp(prefix="baton-mcp-bench-")
    env = {"BATON_STATE": state, "BATON_OPERATOR": "bench"}
    server = StdioServerParameters(command=host, args=["mcp", "--plugin", f"echo={plugin}"], env=env)
    async with Client(server) as client:
        for _ in range(20):
            await client.call_tool("plugin.echo", payload)
        times = []
        for _ in range(CALLS):
            started = time.perf_counter()
            await client.call_tool("plugin.echo", payload)
            times.append((time.perf_counter() - started) * 1e6)
    raw = raw_round_trips(host, plugin, payload, env)
    times.sort()
    raw.sort()
    print(f"plugin.echo through the Python SDK over stdio, {CALLS} calls, 1 KB in and out: median {statistics.median(times):.0f} us, p90 {times[int(len(times) * 0.9)]:.0f} us")
    print(f"the same as bare JSON-RPC lines on the pipe (no SDK): median {statistics.median(raw):.0f} us, p90 {raw[int(len(raw) * 0.9)]:.0f} us")
    print("(the echo plugin's own warm call, instantiate and invoke with 1 KB, is about 10 us: cargo bench -p baton-tests --bench runtime)")


def raw_round_trips(host, plugin, payload, env):
    """tools/call as JSON lines written to `host mcp` and read back, at 2025-11-25."""
    proc = subprocess.Popen(
        [host, "mcp", "--plugin", f"echo={plugin}"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        env={**os.environ, **env}, text=True, bufsize=1,
    )

    def ask(message):
        proc.stdin.write(json.dumps(message) + "\n")
        proc.stdin.flush()
        if "id" in message:
            return json.loads(proc.stdout.readline())

    ask({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}})
    ask({"jsonrpc": "2.0", "method": "notifications/initialized"})
    call = {"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "plugin.echo", "arguments": payload}}
    times = []
    for i in range(CALLS + 20):
        started = time.perf_counter()
        answer = ask({**call, "id": i + 1})
        if i >= 20:
            times.append((time.perf_counter() - started) * 1e6)
        assert "result" in answer, answer
    proc.stdin.close()
    proc.wait()
    return times


asyncio.run(main())
