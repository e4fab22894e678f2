"""The question a crawl job asks the model about each site, and its prompts fitted to a token budget.

A site's prompt is two messages: the system message (the task's instructions and the answer
format, the same for every site, so the engine computes it once as a shared prefix) and the
user message (the site's host, keywords and page text). :meth:`LLMTask.messages` fits the user
message to the budget: the page text is trimmed until the rendered prompt plus ``max_tokens``
fits the engine's context, counted with the model's own tokenizer; the instructions and the
answer format are never cut. :meth:`LLMTask.check_fits` says up front when they alone do not fit.

The answer format shows the schema's fields with abstract placeholders
(``{"category": "<one of: news, blog, ...>", "summary": "<one sentence ...>"}``), never a worked
example: a small model copies an example's text word for word as its answer.

>>> task = LLMTask("Describe the site.", {"type": "object", "properties": {
...     "summary": {"type": "string", "description": "one sentence about this site"}}})
>>> task.answer_format()
'{"summary": "<one sentence about this site>"}'
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable, Sequence

__all__ = ["LLMTask", "PromptTooLong", "engine_budget", "schema_of", "placeholder"]

#: Page text shorter than this many tokens is not worth a prompt: the job refuses to start.
MIN_TEXT_TOKENS = 32


class PromptTooLong(ValueError):
    """The instructions and answer format alone leave no room for page text in the context."""


def schema_of(schema) -> dict:
    """A JSON Schema dict from a dict, a JSON string, or a pydantic model class."""
    if isinstance(schema, str):
        schema = json.loads(schema)
    if hasattr(schema, "model_json_schema"):  # a pydantic model: its own JSON Schema
        schema = schema.model_json_schema()
    if not isinstance(schema, dict):
        raise TypeError(f"the answer schema must be a JSON Schema dict or a pydantic model, "
                        f"got {type(schema).__name__}")
    return schema


def placeholder(name: str, prop: dict) -> str:
    """The abstract stand-in for one answer field: its choices, its description, or its type."""
    if "enum" in prop:
        return "<one of: " + ", ".join(str(v) for v in prop["enum"]) + ">"
    if prop.get("description"):
        return f"<{prop['description']}>"
    return f"<{prop.get('type', 'value')}: {name}>"


@dataclass(frozen=True)
class LLMTask:
    """What the job asks the model about each site.

    Parameters
    ----------
    instructions:
        The system message's text: what to do with a site's pages.
    schema:
        The answer's JSON Schema (dict, JSON text or pydantic model); decoding is constrained to it.
    max_tokens:
        Tokens the answer may take; the prompt gets the context minus these.
    keywords:
        The site's heaviest keywords shown in the prompt.
    pages:
        Pages whose excerpts feed the prompt (the longest first).
    text_chars:
        Characters of page text at most, before the token budget trims it further.
    excerpt_chars:
        Characters of each page's best sentences kept as its excerpt (stored with the page).
    seed:
        Sampling seed (decoding is greedy; the seed matters only with temperature > 0).
    host:
        Name the site's host in the prompt (``Site: <host>``). Off when the host names carry
        nothing (the local web's ``site-0042.test``: 11 of a site's ~59 prompt tokens).
    """

    instructions: str
    schema: dict = field(default_factory=dict)
    max_tokens: int = 128
    keywords: int = 6
    pages: int = 4
    text_chars: int = 1200
    excerpt_chars: int = 280
    seed: int = 1
    host: bool = True

    def __post_init__(self):
        object.__setattr__(self, "schema", schema_of(self.schema))
        for name in ("max_tokens", "pages", "text_chars", "excerpt_chars"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"LLMTask.{name}={getattr(self, name)!r} must be >= 1")
        if int(self.keywords) < 0:
            raise ValueError(f"LLMTask.keywords={self.keywords!r} must be >= 0")

    # ---- the system message -----------------------------------------------------------------

    def answer_format(self) -> str:
        """One line of JSON with a placeholder per schema field (no text the model could copy)."""
        props = self.schema.get("properties") or {}
        return json.dumps({k: placeholder(k, p) for k, p in props.items()}, ensure_ascii=False)

    @property
    def system_prompt(self) -> str:
        fmt = self.answer_format()
        if fmt == "{}":
            return self.instructions.strip()
        return (f"{self.instructions.strip()}\nAnswer with JSON only, in your own words from the "
                f"site's text, in this form:\n{fmt}")

    # ---- the user message -------------------------------------------------------------------

    def page_text(self, excerpts: Sequence[tuple[str, str]]) -> str:
        """The text of the site's pages that feeds its prompt: ``pages`` excerpts, longest first
        (ties by URL, so the choice does not depend on the order pages arrived)."""
        chosen = sorted((e for e in excerpts if e[1]), key=lambda ue: (-len(ue[1]), ue[0]))
        text = "\n".join(clean(e) for _, e in chosen[:self.pages])
        return cut(text, self.text_chars)

    def user_message(self, host: str, keywords: Sequence[str], text: str) -> str:
        head = f"Site: {host}\n" if self.host else ""
        if keywords and self.keywords:
            head += f"Keywords: {', '.join(keywords[:self.keywords])}\n"
        return f"{head}Text: {text}"

    def messages(self, host: str, keywords: Sequence[str], excerpts: Sequence[tuple[str, str]],
                 count: Callable[[list], int] | None = None, budget: int | None = None) -> list:
        """The site's chat, fitted: ``count(messages)`` (prompt tokens) stays <= ``budget``.

        Only the page text is trimmed (then the keywords); without ``count`` the character
        limits alone apply.
        """
        text = self.page_text(excerpts)
        msgs = self._chat(host, keywords, text)
        if count is None or budget is None or count(msgs) <= budget:
            return msgs
        # the longest prefix of the text that fits, found in ~log2(len) tokenizations
        lo, hi = 0, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count(self._chat(host, keywords, cut(text, mid))) <= budget:
                lo = mid
            else:
                hi = mid - 1
        msgs = self._chat(host, keywords, cut(text, lo))
        if lo > 0 or count(msgs) <= budget:  # a cut the search counted, or no text at all
            return msgs
        msgs = self._chat(host, (), "")
        if count(msgs) > budget:
            raise PromptTooLong(f"the instructions and answer format take {count(msgs)} tokens, "
                                f"over the budget of {budget}; shorten them or raise the context")
        return msgs

    def _chat(self, host, keywords, text) -> list:
        return [{"role": "system", "content": self.system_prompt},
                {"role": "user", "content": self.user_message(host, list(keywords), text)}]

    def instruction_phrases(self) -> list[str]:
        """The sentences and placeholder texts of the system message (lower case, 12+ chars):
        an answer containing one copied the prompt instead of reading the pages."""
        import re

        text = self.system_prompt.lower()
        parts = re.split(r"[.!?\n]+|[<>{}\"]", text)
        return [p.strip(" ,:;") for p in parts if len(p.strip(" ,:;")) >= 12]

    def copies_prompt(self, answer: str) -> bool:
        """True when ``answer`` (a summary) contains a sentence of the instructions."""
        low = " ".join(answer.lower().split())
        return any(p in low for p in self.instruction_phrases())

    def check_fits(self, count: Callable[[list], int], budget: int) -> None:
        """Raise :class:`PromptTooLong` unless the fixed part leaves room for page text."""
        need = count(self._chat("example.com", ["keyword"] * self.keywords, ""))
        if need + MIN_TEXT_TOKENS > budget:
            raise PromptTooLong(
                f"the instructions and answer format take {need} tokens; with max_tokens="
                f"{self.max_tokens} the {budget + self.max_tokens}-token context leaves fewer "
                f"than {MIN_TEXT_TOKENS} for page text: shorten the instructions, lower "
                f"max_tokens or raise Engine(n_ctx_per_seq=...)")


def engine_budget(engine, task: LLMTask) -> tuple[Callable[[list], int], int] | tuple[None, None]:
    """(count, budget) for ``engine``: prompt tokens of a chat as the engine will count them,
    and the most it takes with ``task.max_tokens`` left for the answer."""
    count = getattr(engine, "count_prompt_tokens", None)  # a remote engine asks its server
    if count is None:
        tokenize, render = getattr(engine, "tokenize", None), getattr(engine, "render", None)
        if tokenize is not None and render is not None:
            count = lambda msgs: len(tokenize(render(msgs)))  # noqa: E731
    n_ctx = getattr(engine, "n_ctx_per_seq", None)
    if count is None or n_ctx is None:
        return None, None
    return count, int(n_ctx) - int(task.max_tokens)


def clean(text: str) -> str:
    """Page text made safe for a chat prompt: no chat-template markers a page could inject."""
    return text.replace("<|", "< |").replace("|>", "| >")


def cut(text: str, n: int) -> str:
    """At most ``n`` characters of ``text``, at a word boundary when there is one near the end
    (text without spaces, e.g. Chinese or Japanese, is cut at a character)."""
    if len(text) <= n:
        return text
    head = text[:n]
    space = head.rfind(" ")
    return head[:space] if space >= n - 40 and space > 0 else head
