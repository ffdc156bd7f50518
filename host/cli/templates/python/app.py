"""{{ name }}: a Baton plugin. `describe` says what it is; `invoke` turns one JSON
input into one JSON output."""

import json

from componentize_py_types import Err
from wit_world import exports
{% if kv %}
from wit_world.exports.tool import ToolError_Denied, ToolError_Failed, ToolError_InvalidInput, ToolInfo
from wit_world.imports import kv, log
{% else %}
from wit_world.exports.tool import ToolError_InvalidInput, ToolInfo
from wit_world.imports import log
{% endif %}

INPUT_SCHEMA = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}
{% if kv %}
OUTPUT_SCHEMA = {
    "type": "object",
    "required": ["text", "words", "texts"],
    "properties": {"text": {"type": "string"}, "words": {"type": "integer"}, "texts": {"type": "integer"}},
}
{% else %}
OUTPUT_SCHEMA = {
    "type": "object",
    "required": ["text", "words"],
    "properties": {"text": {"type": "string"}, "words": {"type": "integer"}},
}
{% endif %}


class Tool(exports.Tool):
    def describe(self) -> ToolInfo:
        return ToolInfo(
            name="{{ name }}",
            version="0.1.0",
{% if kv %}
            summary="Counts the words of a text, and the texts it has counted",
{% else %}
            summary="Counts the words of a text",
{% endif %}
            input_schema=json.dumps(INPUT_SCHEMA),
            output_schema=json.dumps(OUTPUT_SCHEMA),
{% if kv %}
            # The workflow must grant each one: grants = { kv = { quota = "1MiB" } }
            capabilities=["kv"],
{% else %}
            capabilities=[],
{% endif %}
        )

    def invoke(self, input: str) -> str:
        try:
            text = json.loads(input)["text"]
        except (ValueError, KeyError) as e:
            raise Err(ToolError_InvalidInput(f"input: {e}"))
        words = len(text.split())
        log.write(log.Level.INFO, f"counted {words} words")
{% if kv %}
        # How many texts this plugin has counted: kept in kv across calls and runs.
        try:
            texts = texts_counted() + 1
            kv.set("texts", str(texts).encode())
        except Err as e:
            raise kv_error(e.value)
        return json.dumps({"text": text, "words": words, "texts": texts})


def texts_counted() -> int:
    """The number kept under `texts`, or 0 before the first call."""
    value = kv.get("texts")  # bytes, or None when the key is not set; raises Err(KvError_...)
    return int(value.decode()) if value is not None else 0


def kv_error(error: kv.KvError) -> Err:
    """A kv error as the plugin's own: not granted or over quota is `denied` (another
    attempt would not help); the rest is `failed`."""
    if isinstance(error, (kv.KvError_Denied, kv.KvError_Quota)):
        return Err(ToolError_Denied(f"kv: {error.value}"))
    return Err(ToolError_Failed(f"kv: {error.value}"))
{% else %}
        return json.dumps({"text": text, "words": words})
{% endif %}
