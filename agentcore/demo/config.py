"""The demo's own LLM task: label each local-web site (Python standard-library text) with a category
and a one-sentence summary."""
from __future__ import annotations

from agentcore.crawl.job import LLMTask

CATEGORIES = ["networking", "web", "text", "data formats", "testing", "concurrency", "files and os",
              "math", "security", "developer tools", "other"]
SUMMARY_SCHEMA = {
    "type": "object",
    "properties": {
        "category": {"type": "string", "enum": CATEGORIES},
        # minLength keeps the 135M model from answering with one word ("Python"); maxLength
        # bounds the tokens an answer can take (see max_tokens).
        "summary": {"type": "string", "minLength": 16, "maxLength": 100},
    },
    "required": ["category", "summary"],
    "additionalProperties": False,
}
# The system prompt is the shared prefix the engine computes once for all 500 sites, so its two
# worked examples cost nothing per site; they turn the 135M model's answers from a word ("home",
# "Python") into sentences about the site's text. Its categories still lean on the examples.
SYSTEM_PROMPT = (
    "You label websites about Python. Given a site's keywords and a sentence from it, reply with "
    'JSON: "category" (one of: ' + ", ".join(CATEGORIES) + ') and "summary" (one sentence saying '
    "what the site covers, in your own words).\n"
    "Example: Keywords: socket, connect, tcp, port, timeout\n"
    "Text: Create a connection to a TCP service listening on the given address.\n"
    '{"category": "networking", "summary": "Notes on opening TCP socket connections with timeouts."}\n'
    "Example: Keywords: decimal, rounding, precision, context\n"
    "Text: The result is rounded to the precision of the current context.\n"
    '{"category": "math", "summary": "How decimal arithmetic rounds results to the context precision."}')

#: 6 keywords and 140 characters of the site's best excerpt: every prompt token is compute on the
#: engine's critical path (500 sites x ~60 tokens), so the prompt stays short.
DEMO_TASK = LLMTask(system_prompt=SYSTEM_PROMPT, schema=SUMMARY_SCHEMA, max_tokens=128,
                    keywords=6, chars=140, seed=1)
