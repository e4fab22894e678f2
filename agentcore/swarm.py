"""The swarm runtime: agent rows in compiled columns, ticked, with actions run on batches.

Data path: ``Swarm.run()`` turns (``_turns``) -> ``_cycle`` applies the completions actions
reported (``report`` / ``report_one``) to the compiled core, ticks it, and ``_launch`` hands each
state's ready agents to that state's action as a :class:`~agentcore.batch.Batch`.
"""
from __future__ import annotations

import os
import threading
import time
from array import array
TYPE_CHECKING = False

from agentcore.kernels import twin
from agentcore.kernels.stepcodes import BUILTIN_REASONS, ERROR, R_TIMEOUT, STATUS_NAMES

from .actions import AsyncAction, BatchAction, reason_of_exception
from .batch import Batch
from .gcpace import run_pace
from .payload import Payloads, UnknownColumn
from .result import RunResult
from .spec import AgentSpec, CompiledSpec, SpecError

if TYPE_CHECKING:
    from typing import Callable, Iterable, Mapping


class Swarm:
    """Agents as rows: every agent walks ``spec``; actions get whole batches of agents.

    >>> from agentcore import AgentSpec, State, Swarm, batch_action
    >>> step = batch_action(lambda batch: None, inline=True)
    >>> spec = AgentSpec([State("WORK", step, on_ok="DONE")])
    >>> Swarm(spec, 1000).run().counts["DONE"]
    1000
    """

    def __init__(
        self,
        spec: AgentSpec,
        n_agents: int | None = None,
        *,
        rows: Mapping[str, Iterable] | None = None,
        state: str | None = None,
        workers: int | None = None,
        kernels: str | None = None,
        budget=None,
        store=None,
        run_id: str | None = None,
        key: str | None = None,
        outputs: Iterable[str] = (),
    ):
        if not isinstance(spec, AgentSpec):
            raise TypeError(f"Swarm needs an AgentSpec, got {type(spec).__name__}")
        self.store = store
        self.run_id = run_id
        self.key = key
        self._finished_keys: set = set()
        if key is not None:
            from .durable import durable_spec, finished_keys

            spec = durable_spec(spec, key, tuple(outputs))
            self._finished_keys = finished_keys(store, run_id)
        self.spec: CompiledSpec = spec.compile()
        self._impl = twin("step", kernels)
        cap = max(16, n_agents or 0)
        self._core = self._impl.Core(self.spec.tables, cap)
        self.data = Payloads(self.spec.columns)
        self._budget = budget  # batch actions with cores= lease from it; None: no leasing
        self._n_act = len(self.spec.actions)
        self._has_async = any(isinstance(a, AsyncAction) for a in self.spec.actions)
        self._workers = workers or min(4, os.cpu_count() or 2)
        self._pool = None
        self._core_lock = threading.RLock()
        self._ev_lock = threading.Lock()
        self._reasons = list(BUILTIN_REASONS)
        self._reason_ids = {r: i for i, r in enumerate(self._reasons)}
        self._events: list = []
        self._one = (array("i"), array("H"), array("i"), array("i"))
        self._inflight = [0] * self._n_act  # agents (async/external) or batches (batch)
        self._act_index = {id(a): k for k, a in enumerate(self.spec.actions)}
        self._n_states = len(self.spec.state_names)
        self._action_of = self.spec.tables.action_of
        self._offsets = array("i", bytes(4 * (self._n_states + 1)))
        self._counts = array("q", bytes(8 * (len(self.spec.state_names) + 1)))
        self._notify = _noop
        self._loop = None
        self._async_tasks: set = set()
        self.ticks = 0
        if rows is not None:
            self.add(rows=rows, state=state)
        elif n_agents:
            self.add(n_agents, state=state)

    # ---- population -------------------------------------------------------------------------

    def add(self, n: int | None = None, *, rows: Mapping[str, Iterable] | None = None,
            state: str | None = None) -> range:
        """Add root agents in ``state`` (default: the spec's start); returns their ids."""
        return self._spawn(-1, n, rows, state)

    def spawn(self, parent: int, n: int | None = None, *, rows: Mapping[str, Iterable] | None = None,
              state: str | None = None) -> range:
        """Fan out: add children of ``parent``; the parent moves on after its current action only
        once every child is DONE or FAILED. Thread-safe; returns the children's ids. In a
        durable swarm (``key=``), rows whose key already finished in this run are skipped."""
        return self._spawn(parent, n, rows, state)

    def _spawn(self, parent, n, rows, state) -> range:
        cols = {k: list(v) for k, v in (rows or {}).items()}
        unknown = [k for k in cols if k not in self.spec.inputs]
        if unknown:
            raise UnknownColumn(f"rows give columns {unknown} that the spec does not declare as "
                                f"inputs; its inputs are {list(self.spec.inputs)}")
        if self.key is not None:
            cols, n = self._unfinished(cols, n)
        sizes = {len(v) for v in cols.values()}
        if len(sizes) > 1:
            raise ValueError(f"rows columns have different lengths: { {k: len(v) for k, v in cols.items()} }")
        if n is None:
            n = sizes.pop() if sizes else 0
        elif sizes and sizes != {n}:
            raise ValueError(f"n={n} but rows have {sizes.pop()} entries")
        name = state or self.spec.entries[0]
        if name not in self.spec.entries:
            raise SpecError(f"agents can start only in entry states {self.spec.entries}, not {name!r}")
        s = self.spec.state_index(name)
        with self._core_lock:
            first = self._core.spawn(n, s, parent)
        for k, v in cols.items():
            self.data[k].extend_at(first, v)
        self._notify()
        return range(first, first + n)

    # ---- results ----------------------------------------------------------------------------

    @property
    def size(self) -> int:
        return self._core.size

    def reason_id(self, text: str) -> int:
        """Intern a failure reason (thread-safe)."""
        rid = self._reason_ids.get(text)
        if rid is None:
            with self._ev_lock:
                rid = self._reason_ids.get(text)
                if rid is None:
                    rid = len(self._reasons)
                    self._reasons.append(text)
                    self._reason_ids[text] = rid
        return rid

    def _unfinished(self, cols: dict, n):
        keys = cols.get(self.key)
        if keys is None:
            raise ValueError(f"a durable swarm (key={self.key!r}) needs the {self.key!r} column in "
                             "every row it adds or spawns")
        keep = [i for i, k in enumerate(keys) if k not in self._finished_keys]
        if len(keep) == len(keys):
            return cols, n
        return {c: [v[i] for i in keep] for c, v in cols.items()}, len(keep)

    @property
    def skipped(self) -> int:
        """Agents of a durable swarm not run again because their key finished before."""
        return len(self._finished_keys)

    def outcome_code(self, name: str) -> int:
        try:
            return self.spec.outcome_names.index(name) + 1
        except ValueError:
            raise SpecError(
                f"unknown outcome {name!r}; the spec declares {self.spec.outcome_names}"
            ) from None

    def state_of(self, aid: int) -> str:
        return self.spec.state_names[self._core.get(aid)[0]]

    def reason_of(self, aid: int) -> str:
        """Why agent ``aid`` failed ('' unless FAILED; the last retry's reason while retrying)."""
        return self._reasons[self._core.get(aid)[4]]

    def agent(self, aid: int) -> dict:
        """Everything the core knows of one agent, by name."""
        st, status, steps, retries, reason, parent, pending = self._core.get(aid)
        return {"id": aid, "state": self.spec.state_names[st],
                "status": STATUS_NAMES[status],
                "steps": steps, "retries": retries, "reason": self._reasons[reason],
                "parent": parent, "pending_children": pending}

    def counts(self) -> dict:
        """Agents per state now (agents waiting on children or a retry under 'WAITING')."""
        with self._core_lock:
            self._tick(time.monotonic(), dispatch=False)
        return self._counts_dict()

    def _counts_dict(self) -> dict:
        names = self.spec.state_names
        c = self._counts
        out = {names[i]: c[i] for i in range(len(names))}
        out["WAITING"] = c[len(names)]
        return out

    def failures(self) -> dict:
        """Failed agents by reason text."""
        from collections import Counter

        with self._core_lock:
            states = self._core.column("state")
            reasons = self._core.column("reason")
            tally = Counter(reasons[a] for a in range(len(states)) if states[a] == 1)
            del states, reasons  # a live view would block the pure twin's columns from growing
        return {self._reasons[r]: n for r, n in tally.most_common()}

    def column(self, name: str):
        """A numpy view of a core column (state, status, steps, retries, reason, parent, ...).

        Valid until agents are spawned again (the columns may move when they grow)."""
        import numpy as np

        return np.asarray(self._core.column(name))

    # ---- completions: the public API actions and engines report through -------------------------

    def report(self, ids, attempts, codes, reasons, *, action: int = -1, released: int = 0) -> None:
        """Completions of many agents (thread-safe): ``codes[j]`` is OK (0), ERROR (-1) or an
        outcome number, ``reasons[j]`` a reason id (``reason_id``); None for both means all OK.
        ``released`` units of ``action``'s capacity are freed (agents, or batches for a batch
        action). Applied at the next tick."""
        with self._ev_lock:
            self._events.append((ids, attempts, codes, reasons))
            if action >= 0:
                self._inflight[action] -= released
        self._notify()

    def report_one(self, aid, attempt, code, reason, *, action: int = -1) -> None:
        """The completion of one agent (thread-safe); frees one unit of ``action``'s capacity."""
        with self._ev_lock:
            o = self._one
            o[0].append(aid)
            o[1].append(attempt)
            o[2].append(code)
            o[3].append(reason)
            if action >= 0:
                self._inflight[action] -= 1
        self._notify()

    def _drain(self, now: float) -> int:
        with self._ev_lock:
            events, self._events = self._events, []
            one = self._one
            if len(one[0]):
                self._one = (array("i"), array("H"), array("i"), array("i"))
                events.append(one[:4])
        applied = 0
        core = self._core
        for ids, att, codes, reasons in events:
            applied += core.apply(ids, att, now, codes, reasons)
        return applied

    # ---- the tick ---------------------------------------------------------------------------

    def _caps(self) -> array:
        caps = array("i", bytes(4 * self._n_act))
        big = 2**31 - 1
        for k, act in enumerate(self.spec.actions):
            if isinstance(act, BatchAction):
                if act.inline:
                    caps[k] = min(big, act.max_batch)
                else:
                    par = act.parallel or self._workers
                    caps[k] = min(big, max(0, par - self._inflight[k]) * act.max_batch)
            elif isinstance(act, AsyncAction):
                caps[k] = max(0, act.concurrency - self._inflight[k])
            else:
                caps[k] = max(0, min(big, act.capacity - self._inflight[k]))
        return caps

    def _tick(self, now: float, dispatch: bool = True):
        caps = self._caps() if dispatch else array("i", bytes(4 * self._n_act))
        return self._core.tick(now, caps, self._offsets, self._counts)

    def _cycle(self, now: float):
        """Apply completions, tick, and launch every batch the tick handed out."""
        launches = []
        with self._core_lock:
            self._drain(now)
            expired = self._core.expired
            ids, ats, earliest = self._tick(now)
            self._collect(ids, ats, launches)
            if self._core.expired != expired:
                # expired agents may have released parents earlier in the scan: tick again
                ids, ats, earliest = self._tick(now)
                self._collect(ids, ats, launches)
        n_disp = sum(len(l[1]) for l in launches)
        self.ticks += 1
        for k, ids, ats in launches:
            self._launch(k, ids, ats)
        return n_disp, earliest

    def _collect(self, ids, ats, launches) -> None:
        """Split the tick's hand-out into one batch per state (never mixing states)."""
        n = len(ids)
        if not n:
            return
        off = self._offsets
        mi, ma = memoryview(ids), memoryview(ats)
        for s in range(2, self._n_states):
            lo, hi = off[s], off[s + 1]
            if hi > lo:
                launches.append((s, mi[lo:hi], ma[lo:hi]) if hi - lo < n else (s, ids, ats))

    def _launch(self, s_idx: int, ids, ats) -> None:
        k = self._action_of[s_idx]
        act = self.spec.actions[k]
        name = self.spec.state_names[s_idx]
        cols = self.spec.reads[s_idx], self.spec.writes[s_idx]
        if isinstance(act, BatchAction):
            step = act.max_batch
            for lo in range(0, len(ids), step):
                b = Batch(self, name, ids[lo:lo + step], ats[lo:lo + step], -1, *cols) \
                    if len(ids) > step else Batch(self, name, ids, ats, -1, *cols)
                if act.inline:
                    self._run_batch(act, k, b, counted=False)
                else:
                    with self._ev_lock:
                        self._inflight[k] += 1
                    self._pool_submit(self._run_batch, act, k, b)
        elif isinstance(act, AsyncAction):
            with self._ev_lock:
                self._inflight[k] += len(ids)
            import asyncio

            loop = self._loop
            timeout = self.spec.tables.timeout[s_idx]
            for j in range(len(ids)):
                t = loop.create_task(self._run_async_one(act, k, ids[j], ats[j], timeout))
                self._async_tasks.add(t)
                t.add_done_callback(self._async_tasks.discard)
        else:
            with self._ev_lock:
                self._inflight[k] += len(ids)
            b = Batch(self, name, ids, ats, k, *cols)
            try:
                act.fn.start(b)
            except Exception as exc:  # the engine refused the whole batch: those agents fail
                b.complete_all(error=reason_of_exception(act.name, exc))

    def _run_batch(self, act: BatchAction, k: int, b: Batch, counted: bool = True) -> None:
        try:
            if act.cores and self._budget is not None:
                with self._budget.lease(act.cores):
                    act.fn(b)
            else:
                act.fn(b)
        except Exception as exc:
            b.fail_all(reason_of_exception(act.name, exc))
        self.report(b.ids, b.attempts, b.codes, b.reasons, action=k if counted else -1, released=1)

    async def _run_async_one(self, act: AsyncAction, k: int, aid: int, att: int, timeout):
        import asyncio

        code, rs = 0, 0
        try:
            coro = act.fn(self, aid)
            res = await (asyncio.wait_for(coro, timeout) if timeout is not None else coro)
            if res is not None:
                code = self.outcome_code(res)
        except asyncio.CancelledError:
            code, rs = ERROR, self.reason_id("cancelled")
        except (asyncio.TimeoutError, TimeoutError):
            code, rs = ERROR, R_TIMEOUT
        except Exception as exc:
            code, rs = ERROR, self.reason_id(reason_of_exception(act.name, exc))
        self.report_one(aid, att, code, rs, action=k)

    def _pool_submit(self, fn, *args) -> None:
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="agentcore-batch")
        self._pool.submit(fn, *args)

    # ---- drivers ----------------------------------------------------------------------------

    def _finished(self) -> bool:
        return self._core.n_done >= self._core.size

    def _turns(self, progress, progress_interval: float, clear):
        """The driver shared by ``run`` and ``run_async``: one tick per turn, then yields how
        long to wait for a completion (0: go on at once, inf: until woken); ends when every
        agent is terminal."""
        inf = float("inf")
        next_progress = time.monotonic() + progress_interval
        while True:
            clear()
            now = time.monotonic()
            n_disp, earliest = self._cycle(now)
            if self._finished():
                return
            if progress is not None and now >= next_progress:
                progress(self)
                next_progress = now + progress_interval
            if self._events or len(self._one[0]):
                yield 0.0
                continue
            if n_disp == 0 and not any(self._inflight) and earliest == inf:
                self._stalled()
            yield min(earliest, next_progress if progress else inf) - time.monotonic()

    def run(self, progress: Callable[["Swarm"], None] | None = None,
            progress_interval: float = 0.25) -> RunResult:
        """Run until every agent is DONE or FAILED; ``progress(swarm)`` is called periodically."""
        if self._has_async:
            from agentcore import aio  # asyncio (and uvloop) only for swarms with async actions

            return aio.run(self.run_async(progress, progress_interval))
        wake = threading.Event()
        self._notify = wake.set
        t0 = time.monotonic()
        try:
            with run_pace():
                for wait in self._turns(progress, progress_interval, wake.clear):
                    if wait > 0:
                        wake.wait(None if wait == float("inf") else wait)
        finally:
            self._notify = _noop
        return self._result(t0, progress)

    async def run_async(self, progress: Callable[["Swarm"], None] | None = None,
                        progress_interval: float = 0.25) -> RunResult:
        """Like ``run`` on the running asyncio loop (async actions run on it)."""
        import asyncio

        loop = asyncio.get_running_loop()
        self._loop = loop
        wake = asyncio.Event()
        pending = [False]
        loop_thread = threading.get_ident()

        def notify():
            if threading.get_ident() == loop_thread:
                wake.set()
            elif not pending[0]:
                pending[0] = True
                loop.call_soon_threadsafe(_set, wake, pending)

        self._notify = notify
        t0 = time.monotonic()
        try:
            with run_pace():
                for wait in self._turns(progress, progress_interval, wake.clear):
                    if wait <= 0:
                        await asyncio.sleep(0)
                    elif wait == float("inf"):
                        await wake.wait()
                    else:
                        try:
                            await asyncio.wait_for(wake.wait(), wait)
                        except (asyncio.TimeoutError, TimeoutError):
                            pass
        finally:
            self._notify = _noop
            for t in list(self._async_tasks):
                t.cancel()
            self._loop = None
        return self._result(t0, progress)

    def _stalled(self):
        raise RuntimeError(f"swarm stalled: {self._core.size - self._core.n_done} agents are live "
                           f"but no action can take them (counts {self._counts_dict()}); "
                           "check action capacities")

    def _result(self, t0, progress) -> RunResult:
        wall, counts = time.monotonic() - t0, self.counts()
        if progress is not None:
            progress(self)
        return RunResult(wall, self._core.size, counts, self.ticks)

    def close(self) -> None:
        """Stop the worker pool (a finished ``run`` leaves it up for another)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _noop():
    pass


def _set(ev, pending):
    pending[0] = False
    ev.set()
