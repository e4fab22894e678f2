"""Running agents on their own: one swarm of ``agent`` over many inputs, each run's answer and turns.

>>> from agentcore.agents import Agent, run_agents, tool
>>> @tool
... def add(a: int, b: int) -> int:
...     '''a + b.'''
...     return a + b
>>> agent = Agent("Use the tools, then answer.", [add], max_turns=4)
>>> runs = run_agents(agent, ["What is 2 + 3?", "What is 7 + 1?"])    # doctest: +SKIP
>>> runs[0].answer, [t["tool"] for t in runs[0].tool_calls]         # doctest: +SKIP
('5', ['add'])
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from agentcore.spec import DONE, FAILED, AgentSpec
from agentcore.swarm import Swarm

from . import memory


@dataclass
class AgentRun:
    """One agent's end: ``state`` DONE or FAILED (``error`` says why), its answer and turns.

    A turn is a dict: ``turn``, ``reply`` (the model's JSON), ``tool`` / ``args`` /
    ``observation`` for a call or ``answer``, token counts, and ``durable`` once stored.
    ``resumed`` marks an agent that finished in an earlier run of the same ``run_id``.
    """

    key: str
    state: str
    answer: Any = None
    turns: list[dict] = field(default_factory=list)
    error: str = ""
    resumed: bool = False

    @property
    def tool_calls(self) -> list[dict]:
        return [t for t in self.turns if "tool" in t]


def agent_spec(agent, engine, *, durable: bool = False) -> AgentSpec:
    """The spec ``run_agents`` runs: the agent's states alone, inputs ``input`` and ``key``."""
    return AgentSpec(agent.states(engine, key="key", durable=durable), inputs=["input", "key"],
                     max_steps=min(65535, 4 * agent.max_turns + 8))


def run_agents(agent, inputs: Iterable[str], *, engine=None, store=None, run_id: str | None = None,
               keys: Iterable[str] | None = None, kernels: str | None = None,
               progress: Callable | None = None) -> list[AgentRun]:
    """Run one agent per input (its first user message) in one swarm; runs come back in input order.

    ``engine`` defaults to a new :class:`agentcore.llm.Engine` (closed at the end). With
    ``store=`` (and ``run_id=``, created when missing) the run is durable: every turn is stored
    before the next, and the same call after ``kill -9`` continues each conversation at its last
    durable turn; agents that finished before come back with ``resumed=True``. ``keys`` name the
    agents stably (default: their input positions).
    """
    inputs = list(inputs)
    keys = [str(k) for k in keys] if keys is not None else [str(i) for i in range(len(inputs))]
    if len(keys) != len(inputs) or len(set(keys)) != len(keys):
        raise ValueError("keys= must give one distinct key per input")
    own = engine is None
    if own:
        from agentcore.llm import Engine

        engine = Engine()
    try:
        rows = {"input": inputs, "key": keys}
        durable = store is not None
        spec = agent_spec(agent, engine, durable=durable)
        if durable:
            if run_id is None:
                raise ValueError("a durable run_agents (store=) needs run_id= to resume by")
            if store.get_run(run_id) is None:
                store.create_run({"agent": agent.name, "agents": len(inputs)}, run_id=run_id)
            swarm = Swarm(spec, rows=rows, store=store, run_id=run_id, key="key",
                          outputs=["answer"], kernels=kernels)
        else:
            swarm = Swarm(spec, rows=rows, kernels=kernels)
        with swarm:
            swarm.run(progress)
        runs = {}
        d = swarm.data
        for aid in range(swarm.size):
            st = swarm.state_of(aid)
            runs[d["key"][aid]] = AgentRun(d["key"][aid], st, d["answer"][aid], d["turns"][aid] or [],
                                           swarm.reason_of(aid) if st == FAILED else "")
        if durable:
            store.flush()
            runs.update(_finished_before(store, run_id, [k for k in keys if k not in runs]))
        return [runs[k] for k in keys]
    finally:
        if own:
            engine.close()


def _finished_before(store, run_id: str, keys: list[str]) -> dict[str, AgentRun]:
    if not keys:
        return {}
    records = store.finished_agents(run_id)
    turns = memory.load_turns(store, run_id, keys)
    out = {}
    for k in keys:
        r = records.get(k)
        if r is not None:
            out[k] = AgentRun(k, r.state, (r.values or {}).get("answer"), turns.get(k, []),
                              r.reason, resumed=True)
    return out


__all__ = ["AgentRun", "run_agents", "agent_spec", "DONE", "FAILED"]
