"""Action kinds (batch compute, async I/O, external) and the Batch handed to them."""
from __future__ import annotations

from array import array
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any, Awaitable, Callable

    from .swarm import Swarm

OK, ERROR = 0, -1


class ActionError(Exception):
    """Raise ``ActionError(reason)`` from an action to fail with exactly ``reason`` (short and
    groupable, e.g. ``"http_404"``) instead of the exception's type and text."""


def reason_of_exception(action_name: str, exc: BaseException) -> str:
    if isinstance(exc, ActionError):
        return str(exc)
    return f"{action_name}: {type(exc).__name__}: {exc}"


class Action:
    """Base of the three action kinds; ``name`` shows up in errors and progress displays."""

    kind = "?"

    def __init__(self, fn: Any, name: str | None = None):
        self.fn = fn
        self.name = name or getattr(fn, "__name__", None) or type(fn).__name__

    def __repr__(self):
        return f"{type(self).__name__}({self.name})"


class BatchAction(Action):
    """``fn(batch)`` runs on a whole batch of agents in a worker thread (or inline).

    Up to ``parallel`` batches of at most ``max_batch`` agents run at once, so kernels that
    release the GIL run on several cores. ``inline=True`` runs ``fn`` on the swarm's own thread:
    right for cheap Python bookkeeping, where a thread hop would cost more than the work.
    """

    kind = "batch"

    def __init__(self, fn, *, max_batch: int = 1 << 30, parallel: int | None = None,
                 inline: bool = False, name: str | None = None):
        super().__init__(fn, name)
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        self.max_batch = max_batch
        self.parallel = parallel
        self.inline = inline


class AsyncAction(Action):
    """``await fn(swarm, agent_id)`` per agent on the asyncio loop, at most ``concurrency`` at once.

    Return None for success or an outcome name; an exception is an error whose reason is its
    text (``TimeoutError`` and the like included).
    """

    kind = "async"

    def __init__(self, fn: Callable[[Any, int], Awaitable[str | None]], *,
                 concurrency: int = 256, name: str | None = None):
        super().__init__(fn, name)
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self.concurrency = concurrency


class ExternalAction(Action):
    """The plug point for engines that finish work on their own threads (LLM, DB store).

    ``obj.start(batch)`` is called on the swarm's thread and must not block; the engine later
    calls ``batch.complete(j, ...)`` for each agent from any thread. ``capacity`` bounds the
    agents handed out and not yet completed (e.g. the engine's queue depth).
    """

    kind = "external"

    def __init__(self, obj, *, capacity: int = 1 << 30, name: str | None = None):
        if not callable(getattr(obj, "start", None)):
            raise TypeError(f"external_action needs an object with start(batch), got {obj!r}")
        super().__init__(obj, name or type(obj).__name__)
        self.capacity = capacity


def batch_action(fn=None, **kw):
    """Make a batch compute action; usable as ``@batch_action`` or ``batch_action(fn, max_batch=512)``."""
    if fn is None:
        return lambda f: BatchAction(f, **kw)
    return BatchAction(fn, **kw)


def async_action(fn=None, **kw):
    """Make an async I/O action; usable as a decorator too."""
    if fn is None:
        return lambda f: AsyncAction(f, **kw)
    return AsyncAction(fn, **kw)


def external_action(obj, **kw):
    """Wrap an engine object with ``start(batch)`` as an action."""
    return ExternalAction(obj, **kw)


class Batch:
    """The agents handed to one action call: ``ids[j]`` is the j-th agent's id.

    Batch actions mark results before returning (``fail``, ``set_outcome``; unmarked agents
    succeed). External actions report each agent later with ``complete`` from any thread.
    """

    __slots__ = ("ids", "attempts", "state", "swarm", "_codes", "_reasons", "_act")

    def __init__(self, swarm: "Swarm", state: str, ids: array, attempts: array, act: int = -1):
        self._act = act  # an external action's index: its completions release its capacity
        self.swarm = swarm
        self.state = state
        self.ids = ids
        self.attempts = attempts
        self._codes = None
        self._reasons = None

    def __len__(self):
        return len(self.ids)

    def __repr__(self):
        return f"<Batch {self.state} x{len(self.ids)}>"

    def _ensure_codes(self):
        if self._codes is None:
            n = len(self.ids)
            self._codes = array("i", bytes(4 * n))
            self._reasons = array("i", bytes(4 * n))

    def fail(self, j: int, reason: str) -> None:
        """Mark agent ``ids[j]`` as failed with ``reason`` (retried if its state allows)."""
        self._ensure_codes()
        self._codes[j] = ERROR
        self._reasons[j] = self.swarm.reason_id(reason)

    def set_outcome(self, j: int, outcome: str) -> None:
        """Send agent ``ids[j]`` along the state's transition named ``outcome``."""
        self._ensure_codes()
        self._codes[j] = self.swarm.outcome_code(outcome)

    def complete(self, j: int, outcome: str | None = None, error: str | None = None) -> None:
        """Report agent ``ids[j]`` finished (thread-safe): ok, a named outcome, or an error."""
        if error is not None:
            code, rs = ERROR, self.swarm.reason_id(error)
        else:
            code, rs = (OK if outcome is None else self.swarm.outcome_code(outcome)), 0
        self.swarm._post_one(self.ids[j], self.attempts[j], code, rs, self._act)

    def complete_all(self, error: str | None = None) -> None:
        """Report every agent of the batch at once (ok, or the same error for all)."""
        n = len(self.ids)
        if error is None:
            self.swarm._post(self.ids, self.attempts, None, None, self._act, n)
        else:
            self.swarm._post(self.ids, self.attempts, array("i", [ERROR]) * n,
                             array("i", [self.swarm.reason_id(error)]) * n, self._act, n)

    def _finish(self) -> None:
        self.swarm._post(self.ids, self.attempts, self._codes, self._reasons)
