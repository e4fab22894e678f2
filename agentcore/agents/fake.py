"""An instant stand-in for the engine: replies come from a Python policy, with no model at all.

For tests of the agent loop and for measuring orchestration overhead. ``policy(messages)``
returns the decision dict (``{"tool": ..., "args": ...}`` or ``{"answer": ...}``); each request's
future is already resolved when ``submit`` returns.

>>> from agentcore.agents.fake import InstantModel
>>> m = InstantModel(lambda msgs: {"answer": "ok"})
>>> m.submit([{"role": "user", "content": "hi"}]).result().value
{'answer': 'ok'}
"""
from __future__ import annotations

import concurrent.futures
from typing import Callable

from agentcore.llm.request import Result


class InstantModel:
    """Engine-shaped (``submit`` -> Future of Result, ``n_slots``, ``metrics``); counts requests."""

    def __init__(self, policy: Callable[[list], dict], n_slots: int = 64):
        self.policy = policy
        self.n_slots = n_slots
        self.requests = 0

    def submit(self, messages=None, **kwargs) -> concurrent.futures.Future:
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self.requests += 1
        try:
            value = self.policy(messages)
            # no text: an instant model costs nothing, and the agent reads only the value
            res = Result(value=value, prompt_tokens=len(messages), completion_tokens=1)
        except Exception as exc:  # noqa: BLE001 - a failing policy is a model error, like the engine's
            res = Result(finish_reason="error", error=f"model: {type(exc).__name__}: {exc}")
        fut.set_result(res)
        return fut

    def metrics(self) -> dict:
        return {"requests_submitted": self.requests}
