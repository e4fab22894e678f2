"""The swarm's LLM action: every agent in the state submits its request to the engine in bulk.

>>> from agentcore import AgentSpec, State, Swarm
>>> from agentcore.llm import Engine
>>> from agentcore.llm.action import llm_action
>>> engine = Engine()                                                    # doctest: +SKIP
>>> ask = llm_action(engine, lambda swarm, aid: [
...     {"role": "system", "content": "Name the topic in three words."},
...     {"role": "user", "content": swarm.data["text"][aid]}], max_tokens=12, reads=["text"])
>>> spec = AgentSpec([State("SUMMARIZE", ask, on_ok="DONE")], inputs=["text"])
>>> swarm = Swarm(spec, rows={"text": pages})                           # doctest: +SKIP
>>> swarm.run(); swarm.data["llm"][0].text                             # doctest: +SKIP

``start(batch)`` runs on the swarm's thread and only builds prompts and queues them (tokenizing is
the only work); each request's future calls ``batch.complete`` from the engine thread when its
result arrives, so an agent moves on as soon as its own answer is ready. The :class:`Result` is
stored in the payload column ``result_column`` (default ``"llm"``); a failed request (prompt too
long, invalid JSON, cancelled) becomes that agent's error, which the state's retries and
``on_error`` then handle.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Callable, Iterable


class LLMAction:
    """An external action submitting one engine request per agent.

    Parameters
    ----------
    engine:
        A started :class:`agentcore.llm.Engine`.
    build:
        ``build(swarm, agent_id)`` returns the request: chat messages (list), a prompt (str), or a
        dict of :meth:`Engine.submit` keyword arguments (with ``messages`` or ``prompt``).
    result_column:
        Payload column that receives each agent's :class:`Result` (None: do not store); the
        action declares it as written.
    reads:
        Payload columns ``build`` reads (declared to the spec, which checks they exist).
    outcome:
        Optional ``outcome(result) -> str | None`` run on success to pick a named transition.
    **submit_kwargs:
        Defaults for :meth:`Engine.submit` (``max_tokens``, ``json_schema``, ``stop``, ...).
    """

    def __init__(self, engine, build: Callable[[Any, int], Any], *, result_column: str | None = "llm",
                 outcome: Callable[[Any], str | None] | None = None, reads: Iterable[str] = (),
                 **submit_kwargs):
        self.engine = engine
        self.build = build
        self.result_column = result_column
        self.reads = tuple(reads)
        self.writes = (result_column,) if result_column else ()
        self.outcome = outcome
        self.submit_kwargs = submit_kwargs

    def start(self, batch) -> None:
        swarm = batch.swarm
        col = swarm.data[self.result_column] if self.result_column else None
        if col is not None and len(batch.ids):
            # Size the column here, on the swarm's thread, so the engine thread only assigns rows.
            col[max(batch.ids)] = col[max(batch.ids)]
        for j, aid in enumerate(batch.ids):
            try:
                req = self.build(swarm, aid)
                kwargs = dict(self.submit_kwargs)
                if isinstance(req, dict):
                    kwargs.update(req)
                    req = kwargs.pop("messages", None)
                fut = self.engine.submit(req, **kwargs)
            except Exception as exc:  # a bad prompt for one agent fails that agent only
                batch.complete(j, error=f"LLM request not submitted: {exc}")
                continue
            fut.add_done_callback(partial(self._done, batch, j, aid, col))

    def _done(self, batch, j: int, aid: int, col, fut) -> None:
        if fut.cancelled():
            batch.complete(j, error="LLM request cancelled")
            return
        res = fut.result()
        if col is not None:
            col[aid] = res
        if res.error is not None:
            batch.complete(j, error=res.error)
            return
        try:
            outcome = self.outcome(res) if self.outcome is not None else None
        except Exception as exc:
            batch.complete(j, error=f"LLM outcome function failed: {exc}")
            return
        batch.complete(j, outcome=outcome)


def llm_action(engine, build, *, capacity: int | None = None, name: str | None = None, **kwargs):
    """An ``external_action`` around :class:`LLMAction`; ``capacity`` bounds requests in flight.

    The default capacity (8 x the engine's slots) keeps the engine's queue full without building
    every prompt of a million-agent swarm up front.
    """
    from agentcore.actions import external_action

    cap = capacity if capacity is not None else 8 * engine.n_slots
    return external_action(LLMAction(engine, build, **kwargs), capacity=cap, name=name or "llm")
