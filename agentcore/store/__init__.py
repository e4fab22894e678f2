"""Durable, resumable storage of a run's rows: `open_store` picks SQLite or PostgreSQL.

Example (any module declares its rows; the store creates the table on first use)::

    from dataclasses import dataclass
    from agentcore.store import col, open_store, table

    @table("notes", key=("topic",))
    @dataclass(frozen=True)
    class Note:
        topic: str = col("text")
        body: str = col("text", "")

    with open_store("run.db") as store:                 # or "postgresql://user@host:5432/db"
        run_id = store.create_run({"topics": 2})
        store.write(run_id, Note("python", "a language"), Note("sqlite", "a database"))
        store.flush()                                    # the unit is now durable
        assert [n.topic for n in store.rows(Note, run_id)] == ["python", "sqlite"]
        store.finish_run(run_id, {"notes": 2})

Resuming: ``run = store.latest_unfinished_run()``, then skip what the run already holds
(``store.rows``, ``store.query``, ``store.finished_agents``); rewriting a finished row is harmless.
The crawl job's own rows and queries are in `agentcore.crawl.tables` / `agentcore.crawl.queries`.
"""
from __future__ import annotations

import os

from agentcore.store.base import Store, StoreError
from agentcore.store.records import AgentRecord, Run
from agentcore.store.schema import SCHEMA_VERSION, col, table


def open_store(target: "str | os.PathLike | Store", **options) -> Store:
    """Open (creating if needed) the store at `target`.

    `target` is a ``postgresql://`` / ``postgres://`` url (PostgreSQL via psycopg 3), a
    ``sqlite:///path`` url, a file path (SQLite), or an already open `Store` (returned as is).
    `options` go to the backend: ``batch_rows``, ``batch_ms`` for both; ``synchronous`` for SQLite.
    """
    if isinstance(target, Store):
        return target
    text = os.fspath(target)
    if text.startswith(("postgresql://", "postgres://")):
        from agentcore.store.postgres import PostgresStore
        return PostgresStore(text, **options)
    if text.startswith("sqlite://"):
        # SQLAlchemy's convention: sqlite:///relative.db, sqlite:////absolute/path.db
        text = text[len("sqlite://"):]
        text = text[1:] if text.startswith("/") else text
    if not text or text == ":memory:":
        raise ValueError("open_store needs a file path or a postgresql:// url; an in-memory "
                         "SQLite database cannot be shared by the writer and reader connections")
    from agentcore.store.sqlite import SqliteStore
    return SqliteStore(text, **options)


__all__ = ["open_store", "Store", "StoreError", "Run", "AgentRecord", "table", "col",
           "SCHEMA_VERSION"]
