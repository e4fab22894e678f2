"""The store's engine shared by both backends: a group-commit writer thread, runs, and generic reads.

Writes never wait for I/O: ``store.write(run_id, *rows)`` appends one *unit* (the rows that must
land together, e.g. a page and its keywords) to an in-memory queue and returns. One writer
thread owns the write connection; it drains the queue and commits every ``batch_rows`` rows or
``batch_ms`` milliseconds, whichever comes first, in one transaction, so a unit is either fully
durable or absent after a crash. Every write is an upsert keyed by ``(run_id, natural key)``:
replaying a batch or rerunning a run never adds a second row.

``flush()`` blocks until everything written before it is committed; ``await flush_async()`` does
the same without blocking an event loop; ``write(..., done=cb)`` calls ``cb(error_or_None)`` on
the writer thread once the unit is durable (the hook for an external swarm action).

Rows are of any type declared with `agentcore.store.schema.table`; its table is created the
first time a row of it is written (inside that commit) or read. Reads (`rows`, `select`, `query`)
use a second connection and see only committed rows.
"""
from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
import uuid
import weakref
from operator import attrgetter
from typing import Any, Callable, Iterable, Sequence

from agentcore.store import schema
from agentcore.store.records import AgentRecord, Run
from agentcore.store.schema import SCHEMA_VERSION, Table, table_of

log = logging.getLogger("agentcore.store")

DoneCallback = Callable[[BaseException | None], None]
RUNS = table_of(Run)


class StoreError(RuntimeError):
    """The store cannot go on: a commit failed, it is closed, or the database does not fit."""


class _Unit:
    __slots__ = ("ops", "n_rows", "done", "barrier")

    def __init__(self, ops, n_rows, done, barrier=False):
        self.ops = ops          # (Table, params) upserts, ("block", Table, [params]), ("sql", text, params)
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
        self._first_at = 0.0    # when the oldest pending unit arrived (monotonic)
        self._urgent = False
        self._closing = False
        self._closed = False
        self._error: BaseException | None = None
        self._read_lock = threading.Lock()
        self._ready: set[Table] = set()  # tables known to exist with the declared columns
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

    def _transaction(self, conn) -> contextlib.AbstractContextManager:
        """A context that commits on success and rolls back on error."""
        raise NotImplementedError

    def _lock_schema(self, conn) -> None:
        """Serialise table creation against other processes, until the transaction ends."""

    def _exec(self, conn, sql: str, params: Sequence = ()) -> list[tuple]:
        """Run one statement with ``?`` placeholders; the rows it returns, if any."""
        raise NotImplementedError

    def _table_columns(self, conn, name: str) -> tuple[str, ...]:
        """The columns of table `name` in order; () if there is no such table."""
        raise NotImplementedError

    def _write_rows(self, conn, table: Table, rows: list[tuple]) -> None:
        raise NotImplementedError

    def _close_connections(self) -> None:
        for conn in (self._wconn, self._rconn):
            conn.close()

    # ---------------------------------------------------------------- tables
    def _init_schema(self, conn) -> None:
        with self._transaction(conn):
            self._lock_schema(conn)
            self._exec(conn, schema.META_DDL)
            row = self._exec(conn, "SELECT value FROM agentcore_meta WHERE name = 'schema_version'")
            found = row[0][0] if row else None
            if found is not None and found != str(SCHEMA_VERSION):
                raise StoreError(f"{self!r} holds agentcore schema version {found}, this code "
                                 f"writes version {SCHEMA_VERSION}; use a new database (file) "
                                 "for this version")
            if found is None:
                self._exec(conn, "INSERT INTO agentcore_meta VALUES ('schema_version', ?)",
                           (str(SCHEMA_VERSION),))
            self._create_tables(conn, [RUNS])
        self._ready.add(RUNS)

    def _create_tables(self, conn, tables: Iterable[Table]) -> None:
        # Inside an open transaction: create what is missing, refuse a table of another shape.
        self._lock_schema(conn)
        for t in tables:
            if not self._check_columns(conn, t):
                for stmt in schema.create_statements(t, self.types):
                    self._exec(conn, stmt)

    def _check_columns(self, conn, t: Table) -> bool:
        have = self._table_columns(conn, t.name)
        if have and have != t.column_names:
            raise StoreError(f"table {t.name!r} in {self!r} has columns {list(have)}, but "
                             f"{t.row.__module__}.{t.row.__qualname__} declares "
                             f"{list(t.column_names)}; use a new database or another table name")
        return bool(have)

    def _ensure(self, tables: Iterable[Table]) -> None:
        """Create (on the reader connection) the tables of `tables` that do not exist yet."""
        missing = [t for t in tables if t not in self._ready]
        if not missing:
            return
        with self._read_lock:
            self._check_open()
            conn = self._rconn
            absent = [t for t in missing if not self._check_columns(conn, t)]
            if absent:
                with self._transaction(conn):
                    self._create_tables(conn, absent)
        self._ready.update(missing)

    # ---------------------------------------------------------------- writing
    def write(self, run_id: str, *rows: Any, done: DoneCallback | None = None) -> None:
        """Queue `rows` (of any `@table` row types) as one atomic unit.

        A row may also be given as ``(RowType, values)``, its values in field order: the same
        row, without building the object (for writers of many small rows).

        Returns at once; the rows become durable at the next group commit. Thread-safe, callable
        from worker threads and from an event loop. `done(err)` runs on the writer thread after
        the commit (err is None) or after a failed commit (err is the exception).
        """
        ops = self._ops(run_id, rows)
        self._enqueue(_Unit(ops, len(ops), done))

    def write_batch(self, run_id: str, units: Iterable[Sequence[Any]],
                    done: DoneCallback | None = None) -> None:
        """Queue many agents' rows (one list per agent) as ONE atomic unit: all durable at the
        same commit, or none. Rows given as ``(RowType, values)`` are checked and converted a
        column at a time (``schema.block_params``); a bad row raises before anything is queued."""
        schema.check_run_id(run_id)
        by_kind: dict = {}
        objects = []
        for rows in units:
            for row in rows:
                if type(row) is tuple:
                    by_kind.setdefault(row[0], []).append(row[1])
                else:
                    objects.append(row)
        ops, n = [], len(objects)
        for kind, values in by_kind.items():
            table = schema.written_table(kind)
            params = schema.block_params(table, kind, values, run_id)
            ops.append(("block", table, params))
            n += len(params)
        ops += self._ops(run_id, objects)
        self._enqueue(_Unit(ops, n, done))

    def _ops(self, run_id: str, rows: Iterable[Any]) -> list:
        """The (table, params) upserts of one unit's rows, each checked."""
        schema.check_run_id(run_id)
        ops = []
        for row in rows:
            if type(row) is tuple:  # (RowType, values in field order): no row object built
                kind, values = row
            else:
                kind, values = type(row), None
            table = schema.written_table(kind)
            if values is None:
                params = schema.row_params(table, row, run_id)
            elif len(values) != len(table.columns) - 1:
                raise ValueError(f"{kind.__name__} takes {len(table.columns) - 1} values in field "
                                 f"order, got {len(values)}: {values!r}")
            else:
                params = schema.values_params(table, values, run_id)
            if None in schema.key_of(table, params):
                raise ValueError(f"{kind.__name__} key {table.key[1:]} must not be None: {row!r}")
            ops.append((table, params))
        return ops

    def write_many(self, run_id: str, rows: Iterable[Any], done: DoneCallback | None = None) -> None:
        """Like `write(run_id, *rows)` for an iterable (still one atomic unit)."""
        self.write(run_id, *rows, done=done)

    def _enqueue(self, unit: _Unit) -> None:
        self._enqueue_many([unit])

    def _enqueue_many(self, units: list[_Unit]) -> None:
        if not units:
            return
        with self._cond:
            if self._error is not None:
                raise StoreError(f"the store's writer failed earlier: {self._error!r}; "
                                 "nothing after that is written") from self._error
            if self._closing:
                raise StoreError("the store is closed; open a new one with open_store()")
            was = len(self._pending)
            if not was:
                self._first_at = time.monotonic()
            self._pending.extend(units)
            self._pending_rows += sum(u.n_rows for u in units)
            barrier = any(u.barrier for u in units)
            if barrier:
                self._urgent = True
            # Wake the writer only on the first unit of a batch, when the batch is full, or for a
            # flush: notifying on every write would cost a context switch per row.
            if not was or barrier or self._pending_rows >= self.batch_rows:
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
                # waited batch_ms (counted from its arrival: rows that came in during the last
                # commit have waited already), or someone flushes.
                deadline = self._first_at + self.batch_ms / 1000.0
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
        by_table: dict[Table, Any] = {}
        raw: list[tuple[str, tuple]] = []
        for u in units:
            for op in u.ops:
                if op[0] == "sql":
                    raw.append((op[1], op[2]))
                elif op[0] == "block":  # many rows of one table (write_batch)
                    _, table, rows = op
                    if self.dedupe_batches:
                        key, into = table._key_get, by_table.setdefault(table, {})
                        for params in rows:
                            into[key(params)] = params
                    else:
                        by_table.setdefault(table, []).extend(rows)
                elif self.dedupe_batches:
                    table, params = op
                    by_table.setdefault(table, {})[schema.key_of(table, params)] = params
                else:
                    by_table.setdefault(op[0], []).append(op[1])
        if not by_table and not raw:
            return None
        conn = self._wconn
        new = [t for t in by_table if t not in self._ready]
        n = 0
        try:
            with self._transaction(conn):
                if new:  # created in the same transaction as their first rows
                    self._create_tables(conn, new)
                # One table order for every commit, so two writers never lock in opposite orders.
                for table in sorted(by_table, key=attrgetter("name")):
                    rows = by_table[table]
                    if isinstance(rows, dict):
                        rows = list(rows.values())
                    self._write_rows(conn, table, rows)
                    n += len(rows)
                for sql, params in raw:
                    self._exec(conn, sql, params)
        except BaseException as exc:  # noqa: BLE001 - reported to every waiter, then re-raised on use
            log.error("store commit failed, the store stops writing: %r", exc)
            with self._cond:
                self._error = exc
            return exc
        self._ready.update(new)
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
        sql = "UPDATE runs SET finished_at = ?, status = ?, stats = ? WHERE run_id = ?"
        self._enqueue(_Unit([("sql", sql, (time.time(), "finished",
                                           schema.to_db("json", stats or {}), run_id))], 1, None))
        self.flush()

    def get_run(self, run_id: str) -> Run | None:
        rows = self.select(Run, None, "run_id = ?", (run_id,))
        return rows[0] if rows else None

    def runs(self) -> list[Run]:
        """All runs, oldest first."""
        return self.select(Run, None, order_by="created_at, run_id")

    def latest_unfinished_run(self) -> Run | None:
        """The newest run that never reached finish_run (the one `--resume` continues)."""
        rows = self.select(Run, None, "finished_at IS NULL",
                           order_by="created_at DESC, run_id DESC", limit=1)
        return rows[0] if rows else None

    # ---------------------------------------------------------------- reads
    def query(self, sql: str, params: Sequence = (), *, uses: Iterable[type] = ()) -> list[tuple]:
        """Rows of one read-only SQL statement with ``?`` placeholders (on either backend).

        `uses` names the row types whose tables the statement reads: those are created first
        if missing, so a query on a fresh store returns nothing instead of failing.
        """
        self._ensure([table_of(t) for t in uses])
        with self._read_lock:
            self._check_open()
            return self._exec(self._rconn, sql, tuple(params))

    def select(self, row_type: type, run_id: str | None, where: str = "", params: Sequence = (),
               *, order_by: str | None = None, limit: int | None = None) -> list[Any]:
        """Committed rows of `row_type` for one run (None for an unscoped table such as runs).

        `where` is an SQL condition with ``?`` placeholders filled from `params`; rows come in
        key order unless `order_by` (SQL) says otherwise.
        """
        t = table_of(row_type)
        if t.scoped == (run_id is None):
            raise ValueError(f"{row_type.__name__} rows are {'' if t.scoped else 'not '}scoped "
                             f"by run: pass {'a run_id' if t.scoped else 'run_id=None'}")
        clauses, args = (['"run_id" = ?'], [run_id]) if t.scoped else ([], [])
        if where:
            clauses.append(f"({where})")
            args.extend(params)
        sql = schema.select_sql(t)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY " + (order_by or schema.names_sql(t.key))
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [schema.row_from_db(t, r) for r in self.query(sql, args, uses=(row_type,))]

    def rows(self, row_type: type, run_id: str) -> list[Any]:
        """Every committed row of one type for a run, ordered by key."""
        return self.select(row_type, run_id)

    def count(self, row_type: type, run_id: str) -> int:
        """How many rows of one type a run has committed."""
        t = table_of(row_type)
        return int(self.query(f"SELECT COUNT(*) FROM {schema.quote(t.name)} WHERE run_id = ?",
                              (run_id,), uses=(row_type,))[0][0])

    def finished_agents(self, run_id: str) -> dict[str, AgentRecord]:
        """{key: AgentRecord} of every agent of the run that durably reached DONE or FAILED."""
        return {r.key: r for r in self.rows(AgentRecord, run_id)}

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed; open a new one with open_store()")


__all__ = ["Store", "StoreError", "Run", "AgentRecord"]
