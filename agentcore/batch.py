"""The agents handed to one action call, and how their results get back to the swarm.

A ``Batch`` is the whole completion API an action or an external engine needs: batch actions
mark results before they return (``fail``, ``set_outcome``; unmarked agents succeed), external
ones report each agent later with ``complete`` from any thread. Columns are read and written
through ``get`` / ``set``, limited to what the state declared (``reads=``, ``writes=``).
"""
from __future__ import annotations

from array import array

from agentcore.kernels.stepcodes import ERROR, OK

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable

    from .swarm import Swarm


class UndeclaredColumn(LookupError):
    """An action used a payload column its state did not declare."""


class Batch:
    """``ids[j]`` is the j-th agent's id; ``attempts[j]`` the dispatch it answers to.

    >>> from agentcore import AgentSpec, State, Swarm, batch_action
    >>> def double(batch):
    ...     batch.set("y", [2 * x for x in batch.get("x")])
    >>> spec = AgentSpec([State("A", batch_action(double, reads=["x"], writes=["y"]),
    ...                         on_ok="DONE")], inputs=["x"])
    >>> sw = Swarm(spec, rows={"x": [1, 2, 3]}); _ = sw.run()
    >>> sw.data["y"][[0, 1, 2]]
    [2, 4, 6]
    """

    __slots__ = ("ids", "attempts", "state", "swarm", "codes", "reasons", "action",
                 "reads", "writes")

    def __init__(self, swarm: "Swarm", state: str, ids: array, attempts: array, action: int = -1,
                 reads: tuple = (), writes: tuple = ()):
        self.swarm = swarm
        self.state = state
        self.ids = ids
        self.attempts = attempts
        self.action = action  # an external action's index: its completions release its capacity
        self.reads = reads
        self.writes = writes
        self.codes: array | None = None    # per-agent code once any agent is marked
        self.reasons: array | None = None  # per-agent reason id, same

    def __len__(self):
        return len(self.ids)

    def __repr__(self):
        return f"<Batch {self.state} x{len(self.ids)}>"

    # ---- columns -----------------------------------------------------------------------------

    def get(self, column: str) -> list:
        """The values of a declared column (read or written by this state) for the batch."""
        if column not in self.reads and column not in self.writes:
            raise UndeclaredColumn(
                f"state {self.state!r} reads column {column!r} without declaring it; it declares "
                f"reads={list(self.reads)} writes={list(self.writes)}")
        return self.swarm.data[column][self.ids]

    def set(self, column: str, values: Iterable[Any]) -> None:
        """Write a declared column (in this state's writes) for the whole batch."""
        if column not in self.writes:
            raise UndeclaredColumn(
                f"state {self.state!r} writes column {column!r} without declaring it; it declares "
                f"writes={list(self.writes)}")
        self.swarm.data[column][self.ids] = values

    # ---- results of a batch action -----------------------------------------------------------

    def _marks(self):
        if self.codes is None:
            n = len(self.ids)
            self.codes = array("i", bytes(4 * n))
            self.reasons = array("i", bytes(4 * n))
        return self.codes, self.reasons

    def fail(self, j: int, reason: str) -> None:
        """Mark agent ``ids[j]`` as failed with ``reason`` (retried if its state allows)."""
        codes, reasons = self._marks()
        codes[j] = ERROR
        reasons[j] = self.swarm.reason_id(reason)

    def set_outcome(self, j: int, outcome: str) -> None:
        """Send agent ``ids[j]`` along the state's transition named ``outcome``."""
        codes, _ = self._marks()
        codes[j] = self.swarm.outcome_code(outcome)

    def fail_all(self, reason: str) -> None:
        """Mark every agent of the batch failed with the same reason."""
        n = len(self.ids)
        self.codes = array("i", [ERROR]) * n
        self.reasons = array("i", [self.swarm.reason_id(reason)]) * n

    # ---- results of an external action (any thread) ------------------------------------------

    def complete(self, j: int, outcome: str | None = None, error: str | None = None) -> None:
        """Report agent ``ids[j]`` finished (thread-safe): ok, a named outcome, or an error."""
        if error is not None:
            code, rs = ERROR, self.swarm.reason_id(error)
        else:
            code, rs = (OK if outcome is None else self.swarm.outcome_code(outcome)), 0
        self.swarm.report_one(self.ids[j], self.attempts[j], code, rs, action=self.action)

    def complete_all(self, error: str | None = None) -> None:
        """Report every agent of the batch at once (ok, or the same error for all)."""
        n = len(self.ids)
        if error is None:
            self.swarm.report(self.ids, self.attempts, None, None, action=self.action, released=n)
        else:
            self.swarm.report(self.ids, self.attempts, array("i", [ERROR]) * n,
                              array("i", [self.swarm.reason_id(error)]) * n, action=self.action,
                              released=n)
