"""SQLite backend: one file in WAL mode, one writer connection, readers on a second connection."""
from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
from pathlib import Path
from typing import Sequence

from agentcore.store import schema
from agentcore.store.base import Store, StoreError
from agentcore.store.schema import Table


class SqliteStore(Store):
    """The embedded default store.

    Parameters
    ----------
    path : the database file; its directory is created if missing.
    synchronous : "FULL" (default) survives power loss as well as a killed process; "NORMAL"
        survives a killed process only and skips one fsync per commit.
    batch_rows, batch_ms : group-commit size and delay (see `Store`).
    """

    backend = "sqlite"
    placeholder = "?"
    dedupe_batches = False
    types = {"text": "TEXT", "int": "INTEGER", "float": "REAL", "u64": "INTEGER", "json": "TEXT"}

    def __init__(self, path: str | os.PathLike, *, synchronous: str = "FULL", **kw):
        self.path = Path(path).expanduser().resolve()
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError(f"synchronous must be FULL, NORMAL or EXTRA, got {synchronous!r}")
        self.synchronous = synchronous.upper()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._upserts: dict[tuple[Table, int], str] = {}  # (table, rows per statement) -> SQL
        self._rows_per_statement: dict[int, int] = {}
        super().__init__(**kw)

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    @property
    def url(self) -> str:
        return str(self.path)

    def _connect(self, writer: bool):
        try:
            # isolation_level=None: transactions are opened explicitly with BEGIN IMMEDIATE, so
            # one holds the write lock from its start and a batch is one transaction, not many.
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite database {self.path}: {exc}") from exc
        conn.execute("PRAGMA busy_timeout = 30000")
        if writer:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"{self.path}: SQLite refused WAL mode (got {mode!r}); "
                                 "put the database on a local file system")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        return conn

    @contextlib.contextmanager
    def _transaction(self, conn):
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.rollback()
            raise
        conn.commit()

    def _exec(self, conn, sql: str, params: Sequence = ()) -> list[tuple]:
        return conn.execute(sql, params).fetchall()

    def _table_columns(self, conn, name: str) -> tuple[str, ...]:
        return tuple(r[1] for r in conn.execute(f"PRAGMA table_info({schema.quote(name)})"))

    def _write_rows(self, conn, table: Table, rows: list[tuple]) -> None:
        # Many rows per statement, not executemany: the sqlite3 module releases the GIL around
        # every step, so one step per row was one GIL hand-off per row, and with any other
        # thread running Python each took up to a switch interval (92,000 keyword rows: 0.6 s
        # alone, 69 s beside one busy thread; 500 rows a statement: 0.3 s and 2.3 s). The
        # rows of a statement are applied in order, as executemany's were: the last write of
        # a key wins.
        width = len(table.columns)
        per = self._rows_per_statement.get(width)
        if per is None:  # a power of two: the rest goes in halves, so a table has <= 9 statements
            limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
            per = self._rows_per_statement[width] = 1 << max(1, min(256, limit // width)
                                                               ).bit_length() - 1
        flat = itertools.chain.from_iterable
        lo, n = 0, len(rows)
        while lo < n:
            size = per
            while size > n - lo:
                size >>= 1
            chunk = rows[lo:lo + size]
            lo += size
            key = (table, size)
            sql = self._upserts.get(key)
            if sql is None:
                sql = self._upserts[key] = schema.upsert_sql(table, "?", size)
            conn.execute(sql, tuple(flat(chunk)))
