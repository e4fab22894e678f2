"""Declarative agent specs, validated and compiled into integer transition tables."""
from __future__ import annotations

TYPE_CHECKING = False

from .actions import Action

if TYPE_CHECKING:
    from typing import Mapping, Sequence

DONE, FAILED = "DONE", "FAILED"
TERMINAL = (DONE, FAILED)


class SpecError(ValueError):
    """An AgentSpec that cannot run: the message names the state and what to change."""


class State:
    """One state of the lifecycle: the action that runs there and where each result leads.

    ``on_ok`` is taken when the action succeeds, ``outcomes[name]`` when it returns that named
    outcome, ``on_error`` once ``retries`` further attempts (spaced ``backoff * 2**k`` seconds)
    have failed too. ``timeout`` (seconds) counts as an error of the attempt that exceeded it.
    """

    __slots__ = ("name", "action", "on_ok", "on_error", "outcomes", "retries", "backoff", "timeout")

    def __init__(self, name: str, action: Action | str, on_ok: str | None = None,
                 on_error: str = FAILED, outcomes: Mapping[str, str] | None = None,
                 retries: int = 0, backoff: float = 0.0, timeout: float | None = None):
        self.name = name
        self.action = action
        self.on_ok = on_ok
        self.on_error = on_error
        self.outcomes = dict(outcomes or {})
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout

    def __repr__(self):
        return f"State({self.name!r}, {self.action!r}, on_ok={self.on_ok!r})"


class CompiledSpec:
    """Integer tables for the compiled step; state 0 is DONE, 1 is FAILED, 2.. the spec's."""

    def __init__(self, state_names: list[str], actions: list[Action], outcome_names: list[str],
                 tables: dict, entries: list[str]):
        self.state_names = state_names
        self.actions = actions
        self.outcome_names = outcome_names
        self.tables = tables
        self.entries = entries

    def state_index(self, name: str) -> int:
        try:
            return self.state_names.index(name)
        except ValueError:
            raise SpecError(f"unknown state {name!r}; states are {self.state_names}") from None


class AgentSpec:
    """The lifecycle shared by every agent of a swarm.

    >>> from agentcore import AgentSpec, State, batch_action
    >>> noop = batch_action(lambda batch: None)
    >>> spec = AgentSpec([State("A", noop, on_ok="B"), State("B", noop, on_ok="DONE")])
    >>> spec.compile().state_names
    ['DONE', 'FAILED', 'A', 'B']
    """

    def __init__(
        self,
        states: Sequence[State],
        *,
        start: str | None = None,
        entries: Sequence[str] | None = None,
        actions: Mapping[str, Action] | None = None,
        max_steps: int = 1000,
    ):
        if not states:
            raise SpecError("an AgentSpec needs at least one state")
        self.states = list(states)
        self.start = start or self.states[0].name
        self.entries = list(entries) if entries else [self.start]
        if self.start not in self.entries:
            self.entries.insert(0, self.start)
        self.actions = dict(actions or {})
        if max_steps < 1:
            raise SpecError(f"max_steps must be >= 1, got {max_steps}")
        if max_steps > 65535:
            raise SpecError(f"max_steps must be within 1..65535 (a step counter is 16 bits), got {max_steps}")
        self.max_steps = max_steps
        self._compiled: CompiledSpec | None = None

    def compile(self) -> CompiledSpec:
        if self._compiled is None:
            self._compiled = self._compile()
        return self._compiled

    def _compile(self) -> CompiledSpec:
        names = [s.name for s in self.states]
        for s in self.states:
            if s.name in TERMINAL:
                raise SpecError(f"{s.name} is built in and terminal; don't declare it as a state")
            if names.count(s.name) > 1:
                raise SpecError(f"state {s.name!r} is declared twice")
        state_names = [DONE, FAILED, *names]
        index = {n: i for i, n in enumerate(state_names)}

        def target(state: State, label: str, dest: str | None) -> int:
            if dest is None:
                return -1
            if dest not in index:
                raise SpecError(
                    f"state {state.name!r}: {label} leads to unknown state {dest!r}; "
                    f"known states: {state_names}"
                )
            return index[dest]

        for e in self.entries:
            if e not in index or e in TERMINAL:
                raise SpecError(f"entry state {e!r} is not one of the declared states {names}")

        actions: list[Action] = []
        action_ids: dict[int, int] = {}
        outcome_names = sorted({o for s in self.states for o in s.outcomes})
        n_out = len(outcome_names)
        ns = len(state_names)
        tables = {
            "action_of": [0] * ns, "ok_next": [-1] * ns, "err_next": [index[FAILED]] * ns,
            "out_next": [-1] * (ns * n_out), "max_retries": [0] * ns, "backoff": [0.0] * ns,
            "timeout": [None] * ns, "n_outcomes": n_out, "max_steps": self.max_steps,
        }
        for s in self.states:
            i = index[s.name]
            act = s.action
            if isinstance(act, str):
                if act not in self.actions:
                    raise SpecError(
                        f"state {s.name!r} uses unknown action {act!r}; registered actions: "
                        f"{sorted(self.actions)}"
                    )
                act = self.actions[act]
            if not isinstance(act, Action):
                raise SpecError(
                    f"state {s.name!r}: action must be made with batch_action, async_action or "
                    f"external_action (or name one in actions=), got {type(act).__name__}"
                )
            if id(act) not in action_ids:
                action_ids[id(act)] = len(actions)
                actions.append(act)
            tables["action_of"][i] = action_ids[id(act)]
            if s.on_ok is None and not s.outcomes:
                raise SpecError(
                    f"state {s.name!r} has no way out on success: give it on_ok= or outcomes="
                )
            tables["ok_next"][i] = target(s, "on_ok", s.on_ok)
            tables["err_next"][i] = target(s, "on_error", s.on_error)
            for o, dest in s.outcomes.items():
                tables["out_next"][i * n_out + outcome_names.index(o)] = target(
                    s, f"outcome {o!r}", dest
                )
            if s.retries < 0 or s.backoff < 0 or (s.timeout is not None and s.timeout <= 0):
                raise SpecError(
                    f"state {s.name!r}: retries and backoff must be >= 0 and timeout > 0"
                )
            tables["max_retries"][i] = int(s.retries)
            tables["backoff"][i] = float(s.backoff)
            tables["timeout"][i] = None if s.timeout is None else float(s.timeout)

        edges = {
            index[s.name]: {
                d for d in (tables["ok_next"][index[s.name]], tables["err_next"][index[s.name]],
                            *(tables["out_next"][index[s.name] * n_out + k] for k in range(n_out)))
                if d >= 0
            }
            for s in self.states
        }
        reachable = _closure({index[e] for e in self.entries}, edges)
        unreachable = [state_names[i] for i in edges if i not in reachable]
        if unreachable:
            raise SpecError(
                f"unreachable states {unreachable}: no transition from the entry states "
                f"{self.entries} leads there; remove them or add them to entries="
            )
        for i in edges:
            if not _closure({i}, edges) & {0, 1}:
                raise SpecError(
                    f"state {state_names[i]!r} has no way out: every path from it loops "
                    "forever without reaching DONE or FAILED"
                )
        return CompiledSpec(state_names, actions, outcome_names, tables, list(self.entries))


def _closure(start: set[int], edges: dict[int, set[int]]) -> set[int]:
    seen, todo = set(start), list(start)
    while todo:
        for d in edges.get(todo.pop(), ()):
            if d not in seen:
                seen.add(d)
                todo.append(d)
    return seen
