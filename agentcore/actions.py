"""The action kinds a state can run: batch compute, async I/O, external engines, durable store writes."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Awaitable, Callable, Iterable

    from .batch import Batch
    from .swarm import Swarm


class ActionError(Exception):
    """Raise ``ActionError(reason)`` from an action to fail with exactly ``reason`` (short and
    groupable, e.g. ``"http_404"``) instead of the exception's type and text."""


def reason_of_exception(action_name: str, exc: BaseException) -> str:
    """The reason an exception gives: an ActionError's text, else ``action: Type: text``."""
    if isinstance(exc, ActionError):
        return str(exc)
    return f"{action_name}: {type(exc).__name__}: {exc}"


class Action:
    """Base of the action kinds; ``name`` shows up in errors and progress displays.

    ``reads`` / ``writes`` declare the payload columns the action uses; the spec checks at
    compile time that every column read is written before (or given as an input).
    """

    kind = "?"

    def __init__(self, fn: Any, name: str | None = None, reads: Iterable[str] = (),
                 writes: Iterable[str] = ()):
        self.fn = fn
        self.name = name or getattr(fn, "__name__", None) or type(fn).__name__
        self.reads = tuple(reads)
        self.writes = tuple(writes)

    def __repr__(self):
        return f"{type(self).__name__}({self.name})"


class BatchAction(Action):
    """``fn(batch)`` runs on a whole batch of agents in a worker thread (or inline).

    Up to ``parallel`` batches of at most ``max_batch`` agents run at once, so kernels that
    release the GIL run on several cores. ``inline=True`` runs ``fn`` on the swarm's own thread:
    right for cheap Python bookkeeping, where a thread hop would cost more than the work.
    ``cores=n`` leases n cores from the swarm's CPU budget (``Swarm(budget=...)``, e.g. the LLM
    engine's) while ``fn`` runs, so the engine runs on the cores left instead of spin-waiting
    against the kernels. A swarm without a budget does not lease.
    """

    kind = "batch"

    def __init__(self, fn, *, max_batch: int = 1 << 30, parallel: int | None = None,
                 inline: bool = False, cores: int = 0, name: str | None = None,
                 reads: Iterable[str] = (), writes: Iterable[str] = ()):
        super().__init__(fn, name, reads, writes)
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        if cores < 0:
            raise ValueError("cores must be >= 0")
        self.max_batch = max_batch
        self.parallel = parallel
        self.inline = inline
        self.cores = cores


class AsyncAction(Action):
    """``await fn(swarm, agent_id)`` per agent on the asyncio loop, at most ``concurrency`` at once.

    Return None for success or an outcome name; an exception is an error whose reason is its
    text (``TimeoutError`` and the like included).
    """

    kind = "async"

    def __init__(self, fn: Callable[[Any, int], Awaitable[str | None]], *,
                 concurrency: int = 256, name: str | None = None,
                 reads: Iterable[str] = (), writes: Iterable[str] = ()):
        super().__init__(fn, name, reads, writes)
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self.concurrency = concurrency


class ExternalAction(Action):
    """The plug point for engines that finish work on their own threads (LLM, DB store).

    ``obj.start(batch)`` is called on the swarm's thread and must not block; the engine later
    calls ``batch.complete(j, ...)`` for each agent from any thread. ``capacity`` bounds the
    agents handed out and not yet completed (e.g. the engine's queue depth). An object may
    declare its columns as ``reads`` / ``writes`` attributes instead of passing them here.
    """

    kind = "external"

    def __init__(self, obj, *, capacity: int = 1 << 30, name: str | None = None,
                 reads: Iterable[str] = (), writes: Iterable[str] = ()):
        if not callable(getattr(obj, "start", None)):
            raise TypeError(f"external_action needs an object with start(batch), got {obj!r}")
        super().__init__(obj, name or type(obj).__name__,
                         (*getattr(obj, "reads", ()), *reads), (*getattr(obj, "writes", ()), *writes))
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


class StoreWrite:
    """External action: each agent's rows go to the swarm's store as one atomic unit, and the
    agent moves on only once that unit is durable (the group commit calls back), so a kill never
    loses what a finished state wrote. ``rows(swarm, aid)`` builds the unit; ``on_stored(swarm,
    aid)`` runs on the store's writer thread after the commit (counters, freeing columns).
    With ``many=True``, ``rows(swarm, ids)`` builds every agent's rows of the batch at once (a
    list per agent), the batch goes as one unit (``Store.write_batch``: checked a column at a
    time, durable together) and ``on_stored(swarm, ids)`` gets the ids it stored; an agent whose
    rows are bad fails alone, the others are written one by one."""

    def __init__(self, rows: Callable[["Swarm", Any], list], *, store=None, run_id: str | None = None,
                 on_stored: Callable[["Swarm", int], None] | None = None, reads: Iterable[str] = (),
                 many: bool = False):
        self.rows = rows
        self.many = many
        self.store = store
        self.run_id = run_id
        self.on_stored = on_stored
        self.reads = tuple(reads)
        self.writes = ()

    def start(self, batch: "Batch") -> None:
        sw = batch.swarm
        store = self.store or sw.store
        run_id = self.run_id or sw.run_id
        if store is None or run_id is None:
            batch.complete_all(error="no_store")
            return
        if self.many:
            self._start_many(batch, sw, store, run_id)
            return
        for j, aid in enumerate(batch.ids):
            try:
                rows = self.rows(sw, aid)
            except Exception as exc:  # a bug in a row builder fails that agent, with its reason
                batch.complete(j, error=f"rows: {type(exc).__name__}: {exc}")
                continue
            store.write(run_id, *rows, done=self._done(batch, j, aid))

    def _start_many(self, batch: "Batch", sw, store, run_id: str) -> None:
        ids = batch.ids
        try:
            units = self.rows(sw, ids)
            if len(units) != len(ids):
                raise ValueError(f"built {len(units)} units for {len(ids)} agents")
        except Exception as exc:  # a bug in the batch builder fails its batch, with the reason
            batch.complete_all(error=f"rows: {type(exc).__name__}: {exc}")
            return
        try:
            store.write_batch(run_id, units, done=self._batch_done(batch))
        except (TypeError, ValueError):  # a bad unit: find it, write the others one by one
            for j, (aid, rows) in enumerate(zip(ids, units)):
                try:
                    store.write(run_id, *rows, done=self._done(batch, j, [aid]))
                except (TypeError, ValueError) as exc:
                    batch.complete(j, error=f"rows: {type(exc).__name__}: {exc}")

    def _done(self, batch, j, stored):
        """After the commit of agent ``ids[j]``'s unit; ``stored`` is what ``on_stored`` gets
        (the agent's id, or ``[id]`` for a batch state)."""
        def done(err):
            if err is not None:
                batch.complete(j, error=f"store: {type(err).__name__}: {err}")
                return
            if self.on_stored is not None:
                try:
                    self.on_stored(batch.swarm, stored)
                except Exception as exc:  # noqa: BLE001 - the rows are durable; report the hook
                    batch.complete(j, error=f"on_stored: {type(exc).__name__}: {exc}")
                    return
            batch.complete(j)
        return done

    def _batch_done(self, batch):
        """After the commit of a whole batch's rows: one hook call, one report for all."""
        def done(err):
            if err is not None:
                batch.complete_all(error=f"store: {type(err).__name__}: {err}")
                return
            if self.on_stored is not None:
                try:
                    self.on_stored(batch.swarm, batch.ids)
                except Exception as exc:  # noqa: BLE001 - the rows are durable; report the hook
                    batch.complete_all(error=f"on_stored: {type(exc).__name__}: {exc}")
                    return
            batch.complete_all()
        return done


def store_action(rows: Callable[["Swarm", Any], list], *, reads: Iterable[str] = (),
                 on_stored=None, store=None, run_id: str | None = None, name: str | None = None,
                 capacity: int = 1 << 30, many: bool = False) -> ExternalAction:
    """A state that writes rows: ``rows(swarm, aid)`` -> the agent's rows, written as one unit
    to ``store`` (default: the swarm's ``store=``) under ``run_id`` (default: the swarm's).
    With ``many=True``, ``rows(swarm, ids)`` -> one list of rows per agent of the batch: each
    column is read once per batch, the batch's rows are durable together, and ``on_stored``
    is called as ``on_stored(swarm, ids)``.

    >>> from agentcore import AgentSpec, State, store_action
    >>> save = store_action(lambda sw, aid: [], reads=["url"])
    >>> AgentSpec([State("SAVE", save, on_ok="DONE")], inputs=["url"]).compile().reads[2]
    ('url',)
    """
    return ExternalAction(StoreWrite(rows, store=store, run_id=run_id, on_stored=on_stored,
                                     reads=reads, many=many),
                          capacity=capacity, name=name or getattr(rows, "__name__", "store"))
