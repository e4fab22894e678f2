"""The chats the engine tests share: one terse system prompt and one answer schema, so the in-process, remote and llama-server tests ask the same thing."""
from __future__ import annotations

SYSTEM = {"role": "system", "content": "You are a terse assistant. Answer in a few words."}
SCHEMA = {
    "type": "object",
    "properties": {
        "topic": {"type": "string", "maxLength": 30},
        "about_people": {"type": "boolean"},
        "score": {"type": "integer", "minimum": 0, "maximum": 9},
    },
    "required": ["topic", "about_people", "score"],
    "additionalProperties": False,
}


def chat(text: str) -> list[dict]:
    return [SYSTEM, {"role": "user", "content": text}]
