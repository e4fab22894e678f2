"""Durable, resumable storage of a run's results: `open_store` picks SQLite or PostgreSQL.

Example::

    from agentcore.store import open_store, Page, Keyword, Failure

    with open_store("run.db") as store:                 # or "postgresql://user@host:5432/db"
        run_id = store.create_run({"sites": 500})
        store.write(run_id, Page(url="http://a.test/x", host="a.test", status=200),
                    Keyword(url="http://a.test/x", keyword="python", host="a.test", weight=0.7))
        store.write(run_id, Failure(kind="page", key="http://a.test/y", host="a.test",
                                    stage="PAGE_FETCH", reason="http_404"))
        store.flush()                                    # both units are now durable
        assert store.finished_pages(run_id) == {"http://a.test/x", "http://a.test/y"}
        store.finish_run(run_id, {"pages": 1})

Resuming: ``run = store.latest_unfinished_run()``, then skip ``store.finished_sites(run.run_id)``,
``store.finished_pages(...)`` and ``store.llm_done(...)``; rewriting a finished row is harmless.
"""
from __future__ import annotations

import os

from agentcore.store.base import Store, StoreError
from agentcore.store.schema import (FAILURE_KINDS, Failure, Keyword, LLMResult, NearDup, Page, Run,
                                    Site)


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


__all__ = ["open_store", "Store", "StoreError", "Run", "Site", "Page", "Keyword", "NearDup",
           "LLMResult", "Failure", "FAILURE_KINDS"]
