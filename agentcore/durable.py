"""Durable swarms: every agent's end is recorded in the store, so a rerun skips what finished.

``Swarm(spec, rows=..., store=store, run_id=run_id, key="url")`` rewrites the spec so that every
transition to DONE or FAILED first passes a store state that writes one ``AgentRecord`` (the
agent's key, its end, its reason and its ``outputs`` columns) through the store's group commit;
the agent becomes terminal only once that record is durable. After ``kill -9``, the same call
with the same ``run_id`` adds (and spawns) only agents whose key has no record yet. Together with
idempotent rows (every store write is an upsert by key), nothing is lost and nothing is written
twice: an agent killed midway runs again from its entry state and rewrites the same rows.
"""
from __future__ import annotations

import time

from .actions import store_action
from .spec import DONE, FAILED, AgentSpec, State

SAVE_DONE, SAVE_FAILED = "SAVE_DONE", "SAVE_FAILED"


def durable_spec(spec: AgentSpec, key: str, outputs: tuple[str, ...] = ()) -> AgentSpec:
    """``spec`` with DONE / FAILED reached through SAVE_DONE / SAVE_FAILED record states."""
    if key not in spec.inputs:
        raise ValueError(f"key={key!r} must be one of the spec's inputs {list(spec.inputs)}: each "
                         "agent's rows give its key")
    names = {s.name for s in spec.states}
    for n in (SAVE_DONE, SAVE_FAILED):
        if n in names:
            raise ValueError(f"state name {n!r} is reserved for durable swarms; rename yours")

    def to(dest):
        return {DONE: SAVE_DONE, FAILED: SAVE_FAILED}.get(dest, dest)

    states = [State(s.name, s.action, on_ok=to(s.on_ok), on_error=to(s.on_error),
                    outcomes={o: to(d) for o, d in s.outcomes.items()}, retries=s.retries,
                    backoff=s.backoff, timeout=s.timeout, reads=s.reads, writes=s.writes)
              for s in spec.states]
    reads = (key, *outputs)
    states.append(State(SAVE_DONE, store_action(_record(key, outputs, DONE), reads=reads,
                                                name="save_done"),
                        on_ok=DONE, on_error=FAILED, retries=2, backoff=0.5))
    states.append(State(SAVE_FAILED, store_action(_record(key, outputs, FAILED), reads=reads,
                                                  name="save_failed"),
                        on_ok=FAILED, on_error=FAILED, retries=2, backoff=0.5))
    used = {to(d) for s in spec.states for d in (s.on_ok, s.on_error, *s.outcomes.values())}
    if SAVE_FAILED not in used:  # keep the spec free of unreachable states
        states = [s for s in states if s.name != SAVE_FAILED]
    if SAVE_DONE not in used:
        states = [s for s in states if s.name != SAVE_DONE]
    return AgentSpec(states, start=spec.start, entries=spec.entries, actions=spec.actions,
                     inputs=spec.inputs, max_steps=min(65535, spec.max_steps + 1))


def finished_keys(store, run_id: str | None) -> set:
    """Keys of the agents whose end is durable in ``run_id`` (an empty set for a new run)."""
    if store is None or run_id is None:
        raise ValueError("a durable swarm (key=...) needs store= and run_id=")
    return set(store.finished_agents(run_id))


def _record(key: str, outputs: tuple[str, ...], end: str):
    from .store import AgentRecord

    def rows(swarm, aid):
        d = swarm.data
        return [AgentRecord(key=str(d[key][aid]), state=end,
                            reason=swarm.reason_of(aid) if end == FAILED else "",
                            values={c: d[c][aid] for c in outputs}, finished_at=time.time())]
    rows.__name__ = f"record_{end.lower()}"
    return rows
