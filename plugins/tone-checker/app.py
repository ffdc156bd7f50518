"""The `tone-checker` plugin (Python, built with componentize-py): reviews drafted
emails for spam-trigger words, pushy phrasing, length and reading level, and returns
per-draft flags and a pass/fail.

Config (all optional): `max-words` (150), `min-words` (25), `max-grade` (10),
`max-subject-chars` (60).

Build: `make` (see Makefile). Try it: `host invoke <tone_checker.wasm> --input test-input.json`.
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.tool import ToolError_InvalidInput, ToolInfo
from wit_world.imports import config, log

import checks

INPUT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Drafted emails to review",
    "type": "object",
    "required": ["drafts"],
    "properties": {
        "drafts": {
            "type": "array",
            "minItems": 1,
            "maxItems": 20,
            "items": {
                "type": "object",
                "required": ["subject", "body"],
                "properties": {"subject": {"type": "string"}, "body": {"type": "string"}},
            },
        }
    },
}

FLAG = {
    "type": "object",
    "required": ["kind", "detail"],
    "properties": {
        "kind": {"enum": ["spam-trigger", "pushy", "length", "reading-level"]},
        "detail": {"type": "string"},
    },
}

OUTPUT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "The review of each draft",
    "type": "object",
    "required": ["pass", "drafts", "flags", "summary"],
    "properties": {
        "pass": {"type": "boolean", "description": "true when every draft passes"},
        "summary": {"type": "string", "description": "e.g. `2 of 3 drafts pass`"},
        "flags": {
            "type": "array",
            "items": {"type": "string"},
            "description": "every flag, one line each, e.g. `draft 2: 19 words; too short ...`",
        },
        "drafts": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["subject", "pass", "flags", "words", "reading_grade"],
                "properties": {
                    "subject": {"type": "string"},
                    "pass": {"type": "boolean"},
                    "flags": {"type": "array", "items": FLAG},
                    "words": {"type": "integer"},
                    "reading_grade": {"type": "number"},
                },
            },
        },
    },
}


def number_setting(key, default, kind):
    value = config.get(key)
    if value is None:
        return default
    try:
        return kind(value)
    except ValueError:
        raise Err(ToolError_InvalidInput(f"config `{key}` = {value!r} is not a number"))


class Tool(exports.Tool):
    def describe(self) -> ToolInfo:
        return ToolInfo(
            name="tone-checker",
            version="0.1.0",
            summary="Reviews drafted emails for spam triggers, pushy phrasing, length and reading level",
            input_schema=json.dumps(INPUT_SCHEMA),
            output_schema=json.dumps(OUTPUT_SCHEMA),
            capabilities=[],
        )

    def invoke(self, input: str) -> str:
        request = json.loads(input)
        settings = checks.Settings(
            max_words=number_setting("max-words", 150, int),
            min_words=number_setting("min-words", 25, int),
            max_grade=number_setting("max-grade", 10.0, float),
            max_subject_chars=number_setting("max-subject-chars", 60, int),
        )
        result = checks.check(request["drafts"], settings)
        log.write(log.Level.INFO, result["summary"])
        return json.dumps(result)
