"""What one engine request is: the queued Request, the Result it ends with, and how a future gets it."""
from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass, field
from typing import Any, Hashable, Sequence


class LLMError(RuntimeError):
    """Raised by :meth:`Result.unwrap` when a request ended with an error."""


@dataclass
class Result:
    """What one request produced. ``error`` is None on success."""

    text: str = ""
    finish_reason: str = "stop"  # "stop" (end token / stop string), "length", "error", "cancelled"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens reused from the shared prefix instead of recomputed
    session_tokens: int = 0  # prompt tokens whose KV the request's session still held (not recomputed)
    session_path: str = ""  # how the session's KV was found: resident, restored, new, fallback, busy
    prompt_truncated: bool = False
    value: Any = None  # the parsed JSON when the request had a json_schema
    error: str | None = None
    tokens: list[int] = field(default_factory=list, repr=False)

    @property
    def computed_tokens(self) -> int:
        """Prompt tokens this request decoded (neither from the shared prefix nor from its session)."""
        return self.prompt_tokens - self.cached_tokens - self.session_tokens

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> Any:
        """The parsed value (JSON requests) or the text; raises LLMError if the request failed."""
        if self.error is not None:
            raise LLMError(self.error)
        return self.value if self.value is not None else self.text


@dataclass(slots=True, eq=False)
class Request:
    """A validated, tokenized request waiting for a slot (built by ``Engine.submit``)."""

    future: concurrent.futures.Future
    tokens: Any  # numpy int32 array: the prompt after any truncation
    max_tokens: int
    stop: list[str]
    temperature: float
    seed: int | None
    top_k: int
    top_p: float
    min_p: float
    schema: dict | None = None
    gbnf: str | None = None  # the grammar built from ``schema``
    prefix_len: int = 0  # leading prompt tokens shared with other chats (0: none)
    prefix_key: tuple | None = None
    truncated: bool = False
    n_prompt_orig: int = 0  # prompt tokens before truncation
    session: Hashable | None = None  # the conversation whose KV this request continues
    cuts: tuple = ()  # prompt positions where an earlier turn's prompt ended: chunk boundaries


def check_request(messages: Sequence[dict] | str | None, prompt: str | None, max_tokens: int,
                  temperature: float) -> tuple[Sequence[dict] | None, str | None]:
    """The checks every engine's ``submit()`` makes, on the caller's thread: ``(messages, prompt)``.

    A plain string passed as ``messages`` (with no ``prompt=``) is taken as the raw prompt. Raises
    ValueError when neither or both are given, ``max_tokens < 1`` or ``temperature < 0``.
    """
    if isinstance(messages, str) and prompt is None:
        messages, prompt = None, messages
    if (messages is None) == (prompt is None):
        raise ValueError("pass either chat messages or prompt=, not both / neither")
    if max_tokens < 1:
        raise ValueError(f"max_tokens={max_tokens} must be >= 1")
    if temperature < 0:
        raise ValueError(f"temperature={temperature} must be >= 0")
    return messages, prompt


def deliver(fut: concurrent.futures.Future, result: Result) -> None:
    """Resolve ``fut`` with ``result`` unless its caller cancelled it (possibly a moment ago)."""
    if fut.cancelled():
        return
    try:
        fut.set_result(result)
    except concurrent.futures.InvalidStateError:  # cancelled between the check and here
        pass
