"""{{ name }}: a Baton plugin. `describe` says what it is; `invoke` turns one JSON
input into one JSON output."""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.tool import ToolError_InvalidInput, ToolInfo
from wit_world.imports import log

INPUT_SCHEMA = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}
OUTPUT_SCHEMA = {
    "type": "object",
    "required": ["text", "words"],
    "properties": {"text": {"type": "string"}, "words": {"type": "integer"}},
}


class Tool(exports.Tool):
    def describe(self) -> ToolInfo:
        return ToolInfo(
            name="{{ name }}",
            version="0.1.0",
            summary="Counts the words of a text",
            input_schema=json.dumps(INPUT_SCHEMA),
            output_schema=json.dumps(OUTPUT_SCHEMA),
            capabilities=[],
        )

    def invoke(self, input: str) -> str:
        try:
            text = json.loads(input)["text"]
        except (ValueError, KeyError) as e:
            raise Err(ToolError_InvalidInput(f"input: {e}"))
        words = len(text.split())
        log.write(log.Level.INFO, f"counted {words} words")
        return json.dumps({"text": text, "words": words})
