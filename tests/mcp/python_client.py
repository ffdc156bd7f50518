"""Drives `host mcp` over stdio with the official MCP Python SDK (PyPI `mcp`), as an
agent's client would, and prints what it saw as one JSON object.

    python3 tests/mcp/python_client.py HOST MODE SPEC_JSON

SPEC_JSON has `args` (for `host mcp` on stdio) or `url` and `token` (host serve's /mcp).

MODE is `auto` (the newest protocol, 2026-07-28: decisions come back as
input_required results) or `legacy` (2025-11-25: elicitation requests during the
call). WORKFLOWS_JSON names the tools and inputs: {"plugin_input": ..., "complete":
[tool, input], "gated": [tool, input], "bad": [tool, input]}.
"""

import asyncio
import json
import os
import subprocess
import sys

from mcp import Client, StdioServerParameters, types
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def structured(result):
    return {
        "is_error": bool(result.is_error),
        "text": " ".join(c.text for c in result.content if getattr(c, "text", None)),
        "structured": result.structured_content,
    }


async def main():
    host, mode, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    # The SDK starts the server with a short list of variables; Baton's go along.
    env = {k: v for k, v in os.environ.items() if k.startswith("BATON_") or k == "XDG_CONFIG_HOME"}

    def server():
        # Over HTTP (host serve's /mcp) with an operator's token, or host mcp on stdio.
        if "url" in spec:
            headers = {"Authorization": f"Bearer {spec['token']}"}
            return streamable_http_client(spec["url"], http_client=create_mcp_http_client(headers=headers))
        return StdioServerParameters(command=host, args=spec["args"], env=env)

    asked = []

    async def answer_second_alternative(context, params):
        asked.append({"message": params.message, "schema": params.requested_schema})
        return types.ElicitResult(action="accept", content={"decision": "2"})

    out = {}
    async with Client(server(), mode=mode, elicitation_callback=answer_second_alternative) as client:
        out["protocol"] = client.protocol_version
        tools = await client.list_tools()
        out["tools"] = [
            {
                "name": t.name,
                "input_schema": t.input_schema,
                "output_schema": t.output_schema,
                "annotations": t.annotations.model_dump(exclude_none=True, by_alias=True) if t.annotations else None,
            }
            for t in tools.tools
        ]
        out["plugin"] = structured(await client.call_tool(spec["plugin"][0], spec["plugin"][1]))
        out["complete"] = structured(await client.call_tool(spec["complete"][0], spec["complete"][1]))
        out["gated"] = structured(await client.call_tool(spec["gated"][0], spec["gated"][1]))
        out["asked"] = asked
        out["bad"] = structured(await client.call_tool(spec["bad"][0], spec["bad"][1]))

    # A client without elicitation: the run waits in the inbox; the operator decides
    # there; the agent's follow-up gets the result.
    async with Client(server(), mode=mode) as plain:
        waiting = structured(await plain.call_tool(spec["gated"][0], spec["gated"][1]))
        out["waiting"] = waiting
        run = waiting["structured"]["run"]
        if not waiting["structured"]["waiting_for"]:
            print(json.dumps(out))
            return
        decision = waiting["structured"]["waiting_for"][0]["id"]
        approve = subprocess.run([host, "approve", decision, "--choice", "1"], capture_output=True, text=True)
        out["approve_code"] = approve.returncode
        out["followed_up"] = structured(
            await plain.call_tool("baton.run_status", {"run": run, "wait_seconds": 5})
        )
    print(json.dumps(out))


asyncio.run(main())
