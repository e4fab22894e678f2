"""The store's engine shared by both backends: a group-commit writer thread, resume and report queries.

Writes never wait for I/O: ``store.write(run_id, *rows)`` appends one *unit* (the rows that must
land together, e.g. a page and its keywords) to an in-memory queue and returns. One writer
thread owns the write connection; it drains the queue and commits every ``batch_rows`` rows or
``batch_ms`` milliseconds, whichever comes first, in one transaction, so a unit is either fully
durable or absent after a crash. Every write is an upsert keyed by ``(run_id, natural key)``:
replaying a batch or rerunning a run never adds a second row.

``flush()`` blocks until everything written before it is committed; ``await flush_async()`` does
the same without blocking an event loop; ``write(..., done=cb)`` calls ``cb(error_or_None)`` on
the writer thread once the unit is durable (the hook for an external swarm action).

Reads (resume sets, counts, report helpers) use a second connection and see only committed rows.
"""
from __future__ import annotations

import atexit
import logging
import threading
import time
import uuid
import weakref
from collections import defaultdict
from typing import Any, Callable, Iterable

from agentcore.store import schema
from agentcore.store.schema import (RUNS, SCOPED, SCHEMA_VERSION, Failure, Keyword, LLMResult,
                                    NearDup, Page, Run, Site, Table)

log = logging.getLogger("agentcore.store")

DoneCallback = Callable[[BaseException | None], None]


class StoreError(RuntimeError):
    """The store cannot go on: a commit failed, or it is closed."""


class _Unit:
    __slots__ = ("ops", "n_rows", "done", "barrier")

    def __init__(self, ops, n_rows, done, barrier=False):
        self.ops = ops          # list of (Table, params) upserts, or ("sql", text, params)
        self.n_rows = n_rows
        self.done = done
        self.barrier = barrier  # a flush marker: commit now, do not wait for more rows


_OPEN: "weakref.WeakSet[Store]" = weakref.WeakSet()


@atexit.register
def _close_open_stores() -> None:
    # The writer is a daemon thread so a forgotten close() cannot hang exit; flush what it holds.
    for store in list(_OPEN):
        try:
            store.close()
        except Exception as exc:  # noqa: BLE001 - best effort at exit
            log.warning("closing %r at exit failed: %s", store, exc)


class Store:
    """Base class of `SqliteStore` and `PostgresStore`; use `open_store` to get one.

    Parameters
    ----------
    batch_rows : commit as soon as this many rows are waiting.
    batch_ms : commit at the latest this long after the first waiting row.
    """

    backend = "?"
    placeholder = "?"
    types: dict[str, str] = {}
    dedupe_batches = True

    def __init__(self, *, batch_rows: int = 5000, batch_ms: float = 50.0):
        if batch_rows < 1 or batch_ms < 0:
            raise ValueError(f"batch_rows must be >= 1 and batch_ms >= 0, got {batch_rows}, {batch_ms}")
        self.batch_rows = int(batch_rows)
        self.batch_ms = float(batch_ms)
        self._cond = threading.Condition()
        self._pending: list[_Unit] = []
        self._pending_rows = 0
        self._urgent = False
        self._closing = False
        self._closed = False
        self._error: BaseException | None = None
        self._read_lock = threading.Lock()
        self.commits = 0        # transactions committed (for tests and the bench)
        self.rows_written = 0   # rows sent to the database after in-batch de-duplication
        self._wconn = self._connect(writer=True)
        self._init_schema(self._wconn)
        self._rconn = self._connect(writer=False)
        self._thread = threading.Thread(target=self._writer, name=f"agentcore-store-{self.backend}",
                                        daemon=True)
        self._thread.start()
        _OPEN.add(self)

    # ---------------------------------------------------------------- backend hooks
    def _connect(self, writer: bool):
        raise NotImplementedError

    def _init_schema(self, conn) -> None:
        raise NotImplementedError

    def _begin(self, conn) -> None:
        raise NotImplementedError

    def _write_rows(self, conn, table: Table, rows: list[tuple]) -> None:
        raise NotImplementedError

    def _execute(self, conn, sql: str, params: tuple) -> None:
        raise NotImplementedError

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        raise NotImplementedError

    def _close_connections(self) -> None:
        raise NotImplementedError

    def _check_version(self, found: str | None) -> None:
        if found is not None and found != str(SCHEMA_VERSION):
            raise StoreError(f"{self!r} holds agentcore schema version {found}, this code writes "
                             f"version {SCHEMA_VERSION}; use a new database (file) for this version")

    # ---------------------------------------------------------------- writing
    def write(self, run_id: str, *rows: Any, done: DoneCallback | None = None) -> None:
        """Queue `rows` (Site, Page, Keyword, NearDup, LLMResult, Failure) as one atomic unit.

        Returns at once; the rows become durable at the next group commit. Thread-safe, callable
        from worker threads and from an event loop. `done(err)` runs on the writer thread after
        the commit (err is None) or after a failed commit (err is the exception).
        """
        if not isinstance(run_id, str) or not run_id:
            raise ValueError(f"run_id must be a non-empty str, got {run_id!r}")
        ops = []
        for row in rows:
            table = getattr(type(row), "__table__", None)
            if table is None or not table.scoped:
                raise TypeError(f"store.write takes Site, Page, Keyword, NearDup, LLMResult or "
                                f"Failure rows, got {type(row).__name__}")
            params = schema.row_params(table, row, run_id)
            if any(v is None for v in schema.key_of(table, params)):
                raise ValueError(f"{type(row).__name__} key {table.key[1:]} must not be None: {row!r}")
            ops.append((table, params))
        self._enqueue(_Unit(ops, len(ops), done))

    def write_many(self, run_id: str, rows: Iterable[Any], done: DoneCallback | None = None) -> None:
        """Like `write(run_id, *rows)` for an iterable (still one atomic unit)."""
        self.write(run_id, *rows, done=done)

    def _enqueue(self, unit: _Unit) -> None:
        with self._cond:
            if self._error is not None:
                raise StoreError(f"the store's writer failed earlier: {self._error!r}; "
                                 "nothing after that is written") from self._error
            if self._closing:
                raise StoreError("the store is closed; open a new one with open_store()")
            self._pending.append(unit)
            self._pending_rows += unit.n_rows
            if unit.barrier:
                self._urgent = True
            # Wake the writer only on the first unit of a batch, when the batch is full, or for a
            # flush: notifying on every write would cost a context switch per row.
            if len(self._pending) == 1 or unit.barrier or self._pending_rows >= self.batch_rows:
                self._cond.notify_all()

    @property
    def pending_rows(self) -> int:
        """Rows queued but not yet committed (a producer may throttle on it)."""
        return self._pending_rows

    def flush(self, timeout: float | None = None) -> None:
        """Block until every unit written before this call is committed (durable)."""
        if threading.current_thread() is self._thread:
            raise StoreError("flush() called from a done-callback would wait for itself; "
                             "use write(..., done=...) chaining instead")
        ev = threading.Event()
        errors: list[BaseException | None] = []

        def cb(err):
            errors.append(err)
            ev.set()
        self._enqueue(_Unit([], 0, cb, barrier=True))
        if not ev.wait(timeout):
            raise TimeoutError(f"store flush did not finish within {timeout} s")
        if errors and errors[0] is not None:
            raise StoreError(f"commit failed: {errors[0]!r}") from errors[0]

    async def flush_async(self) -> None:
        """`flush()` for an event loop: awaits the commit without blocking the loop."""
        import asyncio
        loop = asyncio.get_running_loop()
        fut = loop.create_future()

        def cb(err):
            def settle():
                if fut.done():
                    return
                if err is None:
                    fut.set_result(None)
                else:
                    fut.set_exception(StoreError(f"commit failed: {err!r}"))
            loop.call_soon_threadsafe(settle)
        self._enqueue(_Unit([], 0, cb, barrier=True))
        await fut

    def close(self) -> None:
        """Flush, stop the writer and close the connections. Idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closing = True
            self._urgent = True
            self._cond.notify_all()
        self._thread.join()
        with self._cond:
            self._closed = True
        with self._read_lock:
            self._close_connections()
        _OPEN.discard(self)
        if self._error is not None:
            raise StoreError(f"the store's writer failed: {self._error!r}") from self._error

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _writer(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending and self._closing:
                    return
                # Group commit: wait for more rows until the batch is full, the oldest row has
                # waited batch_ms, or someone flushes.
                deadline = time.monotonic() + self.batch_ms / 1000.0
                while (self._pending_rows < self.batch_rows and not self._urgent
                       and not self._closing):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                units, self._pending = self._pending, []
                self._pending_rows = 0
                self._urgent = False
            err = self._commit(units) if self._error is None else self._error
            for u in units:
                if u.done is not None:
                    try:
                        u.done(err)
                    except Exception:  # noqa: BLE001 - a caller's callback must not kill the writer
                        log.exception("store done-callback raised")

    def _commit(self, units: list[_Unit]) -> BaseException | None:
        # Last write of a key wins inside a batch too. PostgreSQL refuses to upsert one key twice
        # in one statement, so its batches are de-duplicated here; SQLite's executemany applies
        # the upserts in order, which gives the same result without the Python-side pass.
        by_table: dict[Table, Any] = defaultdict(dict if self.dedupe_batches else list)
        raw: list[tuple[str, tuple]] = []
        for u in units:
            for op in u.ops:
                if op[0] == "sql":
                    raw.append((op[1], op[2]))
                elif self.dedupe_batches:
                    table, params = op
                    by_table[table][schema.key_of(table, params)] = params
                else:
                    by_table[op[0]].append(op[1])
        if not by_table and not raw:
            return None
        conn = self._wconn
        try:
            self._begin(conn)
            n = 0
            for table in schema.TABLES:
                rows = by_table.get(table)
                if rows:
                    if isinstance(rows, dict):
                        rows = list(rows.values())
                    self._write_rows(conn, table, rows)
                    n += len(rows)
            for sql, params in raw:
                self._execute(conn, sql, params)
            conn.commit()
        except BaseException as exc:  # noqa: BLE001 - reported to every waiter, then re-raised on use
            try:
                conn.rollback()
            except Exception:  # noqa: BLE001
                pass
            log.error("store commit failed, the store stops writing: %r", exc)
            with self._cond:
                self._error = exc
            return exc
        self.commits += 1
        self.rows_written += n
        return None

    # ---------------------------------------------------------------- runs
    def create_run(self, config: dict | None = None, run_id: str | None = None) -> str:
        """Record a new run (durably) and return its id; `config` is kept for resuming."""
        run_id = run_id or time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]
        params = schema.row_params(RUNS, Run(run_id=run_id, created_at=time.time(),
                                             config=config or {}), None)
        self._enqueue(_Unit([(RUNS, params)], 1, None))
        self.flush()
        return run_id

    def finish_run(self, run_id: str, stats: dict | None = None) -> None:
        """Mark a run finished with its final `stats` (durably)."""
        ph = self.placeholder
        sql = (f"UPDATE runs SET finished_at = {ph}, status = {ph}, stats = {ph} "
               f"WHERE run_id = {ph}")
        self._enqueue(_Unit([("sql", sql, (time.time(), "finished",
                                           schema.to_db("json", stats or {}), run_id))], 1, None))
        self.flush()

    def get_run(self, run_id: str) -> Run | None:
        rows = self._select(RUNS, "WHERE run_id = ?", (run_id,))
        return rows[0] if rows else None

    def runs(self) -> list[Run]:
        """All runs, oldest first."""
        return self._select(RUNS, "ORDER BY created_at, run_id", ())

    def latest_unfinished_run(self) -> Run | None:
        """The newest run that never reached finish_run (the one `--resume` continues)."""
        rows = self._select(RUNS, "WHERE finished_at IS NULL ORDER BY created_at DESC, run_id DESC", ())
        return rows[0] if rows else None

    # ---------------------------------------------------------------- resume sets
    def finished_sites(self, run_id: str, include_failed: bool = True) -> set[str]:
        """Hosts whose site row (or, with include_failed, site failure) is durable."""
        return self._keys("sites", "host", "site", run_id, include_failed)

    def finished_pages(self, run_id: str, include_failed: bool = True) -> set[str]:
        """Page urls whose page row (or, with include_failed, page failure) is durable."""
        return self._keys("pages", "url", "page", run_id, include_failed)

    def llm_done(self, run_id: str, include_failed: bool = True) -> set[str]:
        """Hosts whose LLM result (or, with include_failed, LLM failure) is durable."""
        return self._keys("llm_results", "host", "llm", run_id, include_failed)

    def _keys(self, table, column, kind, run_id, include_failed) -> set[str]:
        out = {r[0] for r in self._query(f"SELECT {column} FROM {table} WHERE run_id = ?", (run_id,))}
        if include_failed:
            out.update(r[0] for r in self._query(
                "SELECT key FROM failures WHERE run_id = ? AND kind = ?", (run_id, kind)))
        return out

    # ---------------------------------------------------------------- reads
    def counts(self, run_id: str) -> dict[str, int]:
        """Committed rows per table for one run: {"sites": n, "pages": n, ...}."""
        parts = " UNION ALL ".join(f"SELECT '{t.name}', COUNT(*) FROM {t.name} WHERE run_id = ?"
                                   for t in SCOPED)
        rows = self._query(parts, tuple(run_id for _ in SCOPED))
        return {name: int(n) for name, n in rows}

    def rows(self, row_type: type, run_id: str) -> list[Any]:
        """Every committed row of one type (Site, Page, ...) for a run, ordered by key."""
        table: Table = row_type.__table__
        return self._select(table, f"WHERE run_id = ? ORDER BY {', '.join(table.key)}", (run_id,))

    def failure_reasons(self, run_id: str, kind: str | None = None) -> dict[str, int]:
        """{reason: count} of failures, most frequent first; `kind` filters site/page/llm."""
        sql = "SELECT reason, COUNT(*) AS n FROM failures WHERE run_id = ?"
        params: tuple = (run_id,)
        if kind is not None:
            sql += " AND kind = ?"
            params += (kind,)
        sql += " GROUP BY reason ORDER BY n DESC, reason"
        return {r: int(n) for r, n in self._query(sql, params)}

    def categories(self, run_id: str) -> dict[str, int]:
        """{category: number of sites} from the LLM results, most frequent first."""
        rows = self._query("SELECT category, COUNT(*) AS n FROM llm_results WHERE run_id = ? "
                           "GROUP BY category ORDER BY n DESC, category", (run_id,))
        return {c: int(n) for c, n in rows}

    def near_dup_pairs(self, run_id: str) -> list[tuple[str, str, float]]:
        return [(a, b, float(s)) for a, b, s in self._query(
            "SELECT url_a, url_b, similarity FROM near_dups WHERE run_id = ? ORDER BY url_a, url_b",
            (run_id,))]

    def near_dup_clusters(self, run_id: str, min_size: int = 2) -> list[list[str]]:
        """Connected groups of near-duplicate pages (each sorted), largest first."""
        parent: dict[str, str] = {}

        def find(x):
            parent.setdefault(x, x)
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x
        for a, b, _ in self.near_dup_pairs(run_id):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
        groups: dict[str, list[str]] = defaultdict(list)
        for x in parent:
            groups[find(x)].append(x)
        clusters = [sorted(g) for g in groups.values() if len(g) >= min_size]
        clusters.sort(key=lambda g: (-len(g), g[0]))
        return clusters

    def site_keywords(self, run_id: str, host: str, limit: int = 20) -> list[tuple[str, float]]:
        """A site's keywords, weights summed over its pages, heaviest first (LLM prompt input)."""
        rows = self._query("SELECT keyword, SUM(weight) AS w FROM keywords WHERE run_id = ? AND "
                           "host = ? GROUP BY keyword ORDER BY w DESC, keyword LIMIT ?",
                           (run_id, host, int(limit)))
        return [(k, float(w)) for k, w in rows]

    def site_excerpts(self, run_id: str, host: str) -> list[tuple[str, str]]:
        """(url, excerpt) of a site's committed pages, ordered by url (LLM prompt input)."""
        return list(self._query("SELECT url, excerpt FROM pages WHERE run_id = ? AND host = ? "
                                "ORDER BY url", (run_id, host)))

    def _select(self, table: Table, tail: str, params: tuple) -> list[Any]:
        sql = f"SELECT {', '.join(table.column_names)} FROM {table.name} {tail}"
        return [schema.row_from_db(table, r) for r in self._query(sql, params)]


__all__ = ["Store", "StoreError", "Run", "Site", "Page", "Keyword", "NearDup", "LLMResult", "Failure"]
