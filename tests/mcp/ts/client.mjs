// Drives Baton's MCP server with the official TypeScript SDK (npm
// @modelcontextprotocol/sdk), as an agent's client would, and prints what it saw as
// one JSON object: the same scenarios as ../python_client.py.
//
//   node tests/mcp/ts/client.mjs HOST SPEC_JSON
//
// SPEC_JSON has `args` (host mcp on stdio) or `url` and `token` (host serve's /mcp).
import { spawnSync } from "node:child_process";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const [host, specText] = process.argv.slice(2);
const spec = JSON.parse(specText);
let negotiated = null;

function transport() {
  let t;
  if (spec.url) {
    t = new StreamableHTTPClientTransport(new URL(spec.url), {
      requestInit: { headers: { Authorization: `Bearer ${spec.token}` } },
    });
  } else {
    // The SDK starts the server with a short list of variables; Baton's go along.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => k.startsWith("BATON_") || ["XDG_CONFIG_HOME", "PATH", "HOME"].includes(k),
      ),
    );
    t = new StdioClientTransport({ command: host, args: spec.args, env, stderr: "inherit" });
  }
  const set = t.setProtocolVersion?.bind(t);
  t.setProtocolVersion = (version) => {
    negotiated = version;
    set?.(version);
  };
  return t;
}

function seen(result) {
  return {
    is_error: Boolean(result.isError),
    text: (result.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join(" "),
    structured: result.structuredContent ?? null,
  };
}

const out = {};
const asked = [];
const client = new Client(
  { name: "baton-tests", version: "1.0.0" },
  { capabilities: { elicitation: { form: {} } } },
);
client.setRequestHandler(ElicitRequestSchema, async (request) => {
  asked.push({ message: request.params.message, schema: request.params.requestedSchema });
  return { action: "accept", content: { decision: "2" } };
});
await client.connect(transport());
out.protocol = negotiated;
const tools = await client.listTools();
out.tools = tools.tools.map((t) => ({
  name: t.name,
  input_schema: t.inputSchema,
  output_schema: t.outputSchema ?? null,
  annotations: t.annotations ?? null,
}));
out.plugin = seen(await client.callTool({ name: spec.plugin[0], arguments: spec.plugin[1] }));
out.complete = seen(await client.callTool({ name: spec.complete[0], arguments: spec.complete[1] }));
out.gated = seen(await client.callTool({ name: spec.gated[0], arguments: spec.gated[1] }));
out.asked = asked;
out.bad = seen(await client.callTool({ name: spec.bad[0], arguments: spec.bad[1] }));
await client.close();

// A client without elicitation: the run waits in the inbox, is decided there, and
// the agent's follow-up gets the result.
const plain = new Client({ name: "baton-tests-plain", version: "1.0.0" }, { capabilities: {} });
await plain.connect(transport());
out.waiting = seen(await plain.callTool({ name: spec.gated[0], arguments: spec.gated[1] }));
const run = out.waiting.structured.run;
const decision = out.waiting.structured.waiting_for[0].id;
out.approve_code = spawnSync(host, ["approve", decision, "--choice", "1"], { stdio: "ignore" }).status;
out.followed_up = seen(
  await plain.callTool({ name: "baton.run_status", arguments: { run, wait_seconds: 5 } }),
);
await plain.close();
console.log(JSON.stringify(out));
