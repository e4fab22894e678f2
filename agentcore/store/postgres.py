"""PostgreSQL backend (psycopg 3, imported on first use): same tables, bulk upserts via unnest()."""
from __future__ import annotations

from typing import Sequence

from agentcore.store import schema
from agentcore.store.base import Store, StoreError
from agentcore.store.schema import Table

# A fixed advisory-lock id so two processes creating tables at once do not race on
# CREATE TABLE IF NOT EXISTS (which is not atomic against a concurrent creator in PostgreSQL).
SCHEMA_LOCK = 0x61676e74  # "agnt"


class PostgresStore(Store):
    """The store for large runs: `open_store("postgresql://user@host:port/db")`.

    Each commit sends one ``INSERT ... SELECT FROM unnest(arrays) ON CONFLICT`` per table, so a
    batch of thousands of rows costs one round trip per table, not one per row.
    """

    backend = "postgres"
    placeholder = "%s"
    types = {"text": "TEXT", "int": "BIGINT", "float": "DOUBLE PRECISION", "u64": "BIGINT",
             "json": "TEXT"}
    array_types = {"text": "text[]", "int": "bigint[]", "float": "float8[]", "u64": "bigint[]",
                   "json": "text[]"}

    def __init__(self, url: str, **kw):
        self.dsn = url
        self._bulk: dict[Table, str] = {}
        super().__init__(**kw)

    def __repr__(self) -> str:
        return f"PostgresStore({redact(self.dsn)!r})"

    @property
    def url(self) -> str:
        return redact(self.dsn)

    def _connect(self, writer: bool):
        try:
            import psycopg
        except ImportError as exc:
            raise StoreError("PostgreSQL support needs psycopg 3: pip install 'psycopg[binary]'") from exc
        try:
            # The reader autocommits so it never holds a snapshot open between queries.
            return psycopg.connect(self.dsn, autocommit=not writer)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL at {redact(self.dsn)}: {exc}; "
                             "check the server runs and the url (postgresql://user@host:port/db)") from exc

    def _transaction(self, conn):
        # On the writer (not autocommit) this block is the transaction and commits at its end;
        # on the autocommit reader it opens one (BEGIN ... COMMIT / ROLLBACK).
        return conn.transaction()

    def _lock_schema(self, conn) -> None:
        self._exec(conn, "SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))

    def _exec(self, conn, sql: str, params: Sequence = ()) -> list[tuple]:
        with conn.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), params or None)
            return cur.fetchall() if cur.description is not None else []

    def _table_columns(self, conn, name: str) -> tuple[str, ...]:
        rows = self._exec(conn, "SELECT column_name FROM information_schema.columns WHERE "
                                "table_schema = current_schema() AND table_name = ? "
                                "ORDER BY ordinal_position", (name,))
        return tuple(r[0] for r in rows)

    def _write_rows(self, conn, table: Table, rows: list[tuple]) -> None:
        sql = self._bulk.get(table)
        if sql is None:
            arrays = ", ".join(f"%s::{self.array_types[kind]}" for _, kind in table.columns)
            sql = self._bulk[table] = (
                f"INSERT INTO {schema.quote(table.name)} ({schema.names_sql(table.column_names)}) "
                f"SELECT * FROM unnest({arrays}) " + schema.conflict_clause(table))
        with conn.cursor() as cur:
            cur.execute(sql, [list(c) for c in zip(*rows)])


def redact(url: str) -> str:
    """The url without its password, for messages and reprs."""
    try:
        from urllib.parse import urlsplit, urlunsplit
        parts = urlsplit(url)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        pass
    return url
