"""PostgreSQL backend (psycopg 3, imported on first use): same schema, bulk upserts via unnest()."""
from __future__ import annotations

from agentcore.store import schema
from agentcore.store.base import Store, StoreError
from agentcore.store.schema import Table

# A fixed advisory-lock id so two processes creating the schema at once do not race on
# CREATE TABLE IF NOT EXISTS (which is not atomic against a concurrent creator in PostgreSQL).
_SCHEMA_LOCK = 0x61676e74  # "agnt"


class PostgresStore(Store):
    """The store for large runs: `open_store("postgresql://user@host:port/db")`.

    Each commit sends one ``INSERT ... SELECT FROM unnest(arrays) ON CONFLICT`` per table, so a
    batch of thousands of rows costs one round trip per table, not one per row.
    """

    backend = "postgres"
    placeholder = "%s"
    types = {"text": "TEXT", "int": "BIGINT", "float": "DOUBLE PRECISION", "u64": "BIGINT",
             "json": "TEXT"}
    _array_types = {"text": "text[]", "int": "bigint[]", "float": "float8[]", "u64": "bigint[]",
                    "json": "text[]"}

    def __init__(self, url: str, **kw):
        self.dsn = url
        self._bulk = {t.name: self._bulk_sql(t) for t in schema.TABLES}
        super().__init__(**kw)

    def __repr__(self) -> str:
        return f"PostgresStore({_redact(self.dsn)!r})"

    @property
    def url(self) -> str:
        return _redact(self.dsn)

    def _bulk_sql(self, t: Table) -> str:
        arrays = ", ".join(f"%s::{self._array_types[kind]}" for _, kind in t.columns)
        return (f"INSERT INTO {t.name} ({', '.join(t.column_names)}) "
                f"SELECT * FROM unnest({arrays}) " + schema.conflict_clause(t))

    def _connect(self, writer: bool):
        try:
            import psycopg
        except ImportError as exc:
            raise StoreError("PostgreSQL support needs psycopg 3: pip install 'psycopg[binary]'") from exc
        try:
            # The reader autocommits so it never holds a snapshot open between queries.
            return psycopg.connect(self.dsn, autocommit=not writer)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL at {_redact(self.dsn)}: {exc}; "
                             "check the server runs and the url (postgresql://user@host:port/db)") from exc

    def _init_schema(self, conn) -> None:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            for stmt in schema.create_statements(self.types):
                cur.execute(stmt)
            cur.execute("SELECT value FROM agentcore_meta WHERE name = 'schema_version'")
            row = cur.fetchone()
            try:
                self._check_version(row[0] if row else None)
            except StoreError:
                conn.rollback()
                raise
            if row is None:
                cur.execute("INSERT INTO agentcore_meta VALUES ('schema_version', %s)",
                            (str(schema.SCHEMA_VERSION),))
        conn.commit()

    def _begin(self, conn) -> None:
        pass  # psycopg opens a transaction on the first statement of a non-autocommit connection

    def _write_rows(self, conn, table: Table, rows: list[tuple]) -> None:
        columns = [list(c) for c in zip(*rows)]
        with conn.cursor() as cur:
            cur.execute(self._bulk[table.name], columns)

    def _execute(self, conn, sql: str, params: tuple) -> None:
        with conn.cursor() as cur:
            cur.execute(sql, params)

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._read_lock:
            if self._closed:
                raise StoreError("the store is closed; open a new one with open_store()")
            with self._rconn.cursor() as cur:
                cur.execute(sql.replace("?", "%s"), params)
                return cur.fetchall()

    def _close_connections(self) -> None:
        for conn in (self._wconn, self._rconn):
            conn.close()


def _redact(url: str) -> str:
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
