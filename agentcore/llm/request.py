"""What one engine request is: the queued Request, the Result it ends with, and how a future gets it."""
from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass, field
from typing import Any


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
    prompt_truncated: bool = False
    value: Any = None  # the parsed JSON when the request had a json_schema
    error: str | None = None
    tokens: list[int] = field(default_factory=list, repr=False)

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


def deliver(fut: concurrent.futures.Future, result: Result) -> None:
    """Resolve ``fut`` with ``result`` unless its caller cancelled it (possibly a moment ago)."""
    if fut.cancelled():
        return
    try:
        fut.set_result(result)
    except concurrent.futures.InvalidStateError:  # cancelled between the check and here
        pass
