"""Declarative agent specs: states, transitions and declared columns, validated and compiled to tables."""
from __future__ import annotations

from .actions import Action

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable, Mapping, Sequence

DONE, FAILED = "DONE", "FAILED"
TERMINAL = (DONE, FAILED)


class SpecError(ValueError):
    """An AgentSpec that cannot run: the message names the state and what to change."""


class State:
    """One state of the lifecycle: the action that runs there and where each result leads.

    ``on_ok`` is taken when the action succeeds, ``outcomes[name]`` when it returns that named
    outcome, ``on_error`` once ``retries`` further attempts (spaced ``backoff * 2**k`` seconds)
    have failed too. ``timeout`` (seconds) counts as an error of the attempt that exceeded it.
    ``reads`` / ``writes`` add payload columns to those the action itself declares.
    """

    __slots__ = ("name", "action", "on_ok", "on_error", "outcomes", "retries", "backoff",
                 "timeout", "reads", "writes")

    def __init__(self, name: str, action: Action | str, on_ok: str | None = None,
                 on_error: str = FAILED, outcomes: Mapping[str, str] | None = None,
                 retries: int = 0, backoff: float = 0.0, timeout: float | None = None,
                 reads: Iterable[str] = (), writes: Iterable[str] = ()):
        self.name = name
        self.action = action
        self.on_ok = on_ok
        self.on_error = on_error
        self.outcomes = dict(outcomes or {})
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.reads = tuple(reads)
        self.writes = tuple(writes)

    def __repr__(self):
        return f"State({self.name!r}, {self.action!r}, on_ok={self.on_ok!r})"


class _Frozen:
    """Attributes set once by ``__init__`` from keywords, then read-only (no dataclasses import:
    it would add ~10 ms to ``import agentcore``)."""

    __slots__ = ()

    def __init__(self, **fields):
        for name in self.__slots__:
            object.__setattr__(self, name, fields.pop(name))
        if fields:
            raise TypeError(f"{type(self).__name__} has no fields {sorted(fields)}")

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is frozen: {name!r} cannot be set")

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self.__slots__)})"

    def __eq__(self, other):
        return type(other) is type(self) and all(
            getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None


class Tables(_Frozen):
    """The integer transition tables the compiled step reads, one entry per state (tuples).

    ``out_next[s * n_outcomes + k]`` is where outcome ``k`` leads from state ``s``; -1 is "not
    declared"; ``timeout`` is None where a state has none.
    """

    __slots__ = ("action_of", "ok_next", "err_next", "out_next", "max_retries", "backoff",
                 "timeout", "n_outcomes", "max_steps")


class CompiledSpec(_Frozen):
    """A validated spec: state 0 is DONE, 1 is FAILED, 2.. the spec's states in order.

    ``columns`` are every payload column the spec declares (inputs, reads and writes);
    ``reads[s]`` / ``writes[s]`` those of state index ``s``.
    """

    __slots__ = ("state_names", "actions", "outcome_names", "tables", "entries", "inputs",
                 "columns", "reads", "writes")

    def state_index(self, name: str) -> int:
        try:
            return self.state_names.index(name)
        except ValueError:
            raise SpecError(f"unknown state {name!r}; states are {list(self.state_names)}") from None


class AgentSpec:
    """The lifecycle shared by every agent of a swarm.

    ``inputs`` names the payload columns that rows give when agents are added or spawned; every
    column a state reads must be an input or written by a state before it.

    >>> from agentcore import AgentSpec, State, batch_action
    >>> noop = batch_action(lambda batch: None, reads=["url"], writes=["html"])
    >>> spec = AgentSpec([State("A", noop, on_ok="B"), State("B", noop, on_ok="DONE")],
    ...                  inputs=["url"])
    >>> spec.compile().state_names
    ('DONE', 'FAILED', 'A', 'B')
    """

    def __init__(
        self,
        states: Sequence[State],
        *,
        start: str | None = None,
        entries: Sequence[str] | None = None,
        actions: Mapping[str, Action] | None = None,
        inputs: Iterable[str] = (),
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
        self.inputs = tuple(inputs)
        if max_steps < 1:
            raise SpecError(f"max_steps must be >= 1, got {max_steps}")
        if max_steps > 65535:
            raise SpecError(f"max_steps must be within 1..65535 (a step counter is 16 bits), got {max_steps}")
        self.max_steps = max_steps
        self._compiled: CompiledSpec | None = None

    def compile(self) -> CompiledSpec:
        if self._compiled is None:
            self._compiled = _compile(self)
        return self._compiled


def _compile(spec: AgentSpec) -> CompiledSpec:
    names = [s.name for s in spec.states]
    for s in spec.states:
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
            raise SpecError(f"state {state.name!r}: {label} leads to unknown state {dest!r}; "
                            f"known states: {state_names}")
        return index[dest]

    for e in spec.entries:
        if e not in index or e in TERMINAL:
            raise SpecError(f"entry state {e!r} is not one of the declared states {names}")

    actions: list[Action] = []
    action_ids: dict[int, int] = {}
    outcome_names = sorted({o for s in spec.states for o in s.outcomes})
    n_out = len(outcome_names)
    ns = len(state_names)
    action_of, ok_next, err_next = [0] * ns, [-1] * ns, [index[FAILED]] * ns
    out_next, max_retries = [-1] * (ns * n_out), [0] * ns
    backoff: list[float] = [0.0] * ns
    timeout: list[float | None] = [None] * ns
    reads: list[tuple[str, ...]] = [()] * ns
    writes: list[tuple[str, ...]] = [()] * ns
    for s in spec.states:
        i = index[s.name]
        act = _resolve_action(spec, s)
        if id(act) not in action_ids:
            action_ids[id(act)] = len(actions)
            actions.append(act)
        action_of[i] = action_ids[id(act)]
        if s.on_ok is None and not s.outcomes:
            raise SpecError(f"state {s.name!r} has no way out on success: give it on_ok= or outcomes=")
        ok_next[i] = target(s, "on_ok", s.on_ok)
        err_next[i] = target(s, "on_error", s.on_error)
        for o, dest in s.outcomes.items():
            out_next[i * n_out + outcome_names.index(o)] = target(s, f"outcome {o!r}", dest)
        if s.retries < 0 or s.backoff < 0 or (s.timeout is not None and s.timeout <= 0):
            raise SpecError(f"state {s.name!r}: retries and backoff must be >= 0 and timeout > 0")
        max_retries[i] = int(s.retries)
        backoff[i] = float(s.backoff)
        timeout[i] = None if s.timeout is None else float(s.timeout)
        reads[i] = _unique((*act.reads, *s.reads))
        writes[i] = _unique((*act.writes, *s.writes))

    edges = {
        index[s.name]: {d for d in (ok_next[index[s.name]], err_next[index[s.name]],
                                    *(out_next[index[s.name] * n_out + k] for k in range(n_out)))
                        if d >= 0}
        for s in spec.states
    }
    reachable = _closure({index[e] for e in spec.entries}, edges)
    unreachable = [state_names[i] for i in edges if i not in reachable]
    if unreachable:
        raise SpecError(f"unreachable states {unreachable}: no transition from the entry states "
                        f"{spec.entries} leads there; remove them or add them to entries=")
    for i in edges:
        if not _closure({i}, edges) & {0, 1}:
            raise SpecError(f"state {state_names[i]!r} has no way out: every path from it loops "
                            "forever without reaching DONE or FAILED")
    columns = _check_columns(spec, state_names, edges, reads, writes)
    tables = Tables(action_of=tuple(action_of), ok_next=tuple(ok_next), err_next=tuple(err_next),
                    out_next=tuple(out_next), max_retries=tuple(max_retries),
                    backoff=tuple(backoff), timeout=tuple(timeout), n_outcomes=n_out,
                    max_steps=spec.max_steps)
    return CompiledSpec(state_names=tuple(state_names), actions=tuple(actions),
                        outcome_names=tuple(outcome_names), tables=tables,
                        entries=tuple(spec.entries), inputs=spec.inputs, columns=columns,
                        reads=tuple(reads), writes=tuple(writes))


def _resolve_action(spec: AgentSpec, s: State) -> Action:
    act = s.action
    if isinstance(act, str):
        if act not in spec.actions:
            raise SpecError(f"state {s.name!r} uses unknown action {act!r}; registered actions: "
                            f"{sorted(spec.actions)}")
        act = spec.actions[act]
    if not isinstance(act, Action):
        raise SpecError(f"state {s.name!r}: action must be made with batch_action, async_action, "
                        f"external_action or store_action (or name one in actions=), got "
                        f"{type(act).__name__}")
    return act


def _check_columns(spec, state_names, edges, reads, writes) -> tuple[str, ...]:
    """Every column a state reads is an input or written by a state from which it is reachable."""
    inputs = set(spec.inputs)
    for i, cols in enumerate(reads):
        for c in cols:
            if c in inputs:
                continue
            if any(c in writes[w] and i in _closure(edges.get(w, set()), edges)
                   for w in edges):
                continue
            declared = sorted(inputs.union(*writes))
            raise SpecError(
                f"state {state_names[i]!r} reads column {c!r}, which no input gives and no state "
                f"before it writes; declared columns: {declared}. Add it to inputs= or to the "
                "writes= of the state that produces it")
    return _unique((*spec.inputs, *(c for w in writes for c in w), *(c for r in reads for c in r)))


def _unique(names) -> tuple[str, ...]:
    out = []
    for n in names:
        if not isinstance(n, str) or not n:
            raise SpecError(f"column names must be non-empty strings, got {n!r}")
        if n not in out:
            out.append(n)
    return tuple(out)


def _closure(start: set[int], edges: dict[int, set[int]]) -> set[int]:
    seen, todo = set(start), list(start)
    while todo:
        for d in edges.get(todo.pop(), ()):
            if d not in seen:
                seen.add(d)
                todo.append(d)
    return seen
