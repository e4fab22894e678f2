"""SQLite backend: one file in WAL mode, one writer connection, readers on a second connection."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

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
        self._upserts = {t.name: schema.upsert_sql(t, "?") for t in schema.TABLES}
        super().__init__(**kw)

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    @property
    def url(self) -> str:
        return str(self.path)

    def _connect(self, writer: bool):
        try:
            # isolation_level=None: the writer issues BEGIN IMMEDIATE itself, so a transaction
            # holds the write lock from its start and a batch is one transaction, not many.
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

    def _init_schema(self, conn) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for stmt in schema.create_statements(self.types):
                conn.execute(stmt)
            row = conn.execute("SELECT value FROM agentcore_meta WHERE name = 'schema_version'").fetchone()
            self._check_version(row[0] if row else None)
            if row is None:
                conn.execute("INSERT INTO agentcore_meta VALUES ('schema_version', ?)",
                             (str(schema.SCHEMA_VERSION),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _begin(self, conn) -> None:
        conn.execute("BEGIN IMMEDIATE")

    def _write_rows(self, conn, table: Table, rows: list[tuple]) -> None:
        conn.executemany(self._upserts[table.name], rows)

    def _execute(self, conn, sql: str, params: tuple) -> None:
        conn.execute(sql, params)

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._read_lock:
            if self._closed:
                raise StoreError("the store is closed; open a new one with open_store()")
            return self._rconn.execute(sql, params).fetchall()

    def _close_connections(self) -> None:
        for conn in (self._wconn, self._rconn):
            conn.close()
