"""Shared pytest fixtures; each section belongs to one area (add yours in a new section)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # so tests can `import pg`


# ------------------------------------------------------------------ kernels: compiled and pure twins
# The one fixture pattern for twins (multidict's): `impl` is "compiled" or "pure" (ids c / py);
# every test of a kernel or of code built on one takes it and passes it to `agentcore.kernels.twin`
# (or to `Swarm(..., kernels=impl)` / `Corpus(kernels=impl)`), so each such test runs on both.
# The compiled half carries the `compiled` marker: `-m "not compiled"` runs the pure half alone.

@pytest.fixture(scope="session", params=[
    pytest.param("compiled", id="c", marks=pytest.mark.compiled),
    pytest.param("pure", id="py"),
])
def impl(request) -> str:
    return request.param


# ------------------------------------------------------------------ store: PostgreSQL + SQLite
# pg_server / pg_url: one real PostgreSQL server per test session (tests/pg.py), stopped at the
# end. If it cannot start, every test using it FAILS with the reason (never skips): `./dev test`
# installs the server, so a missing one is a broken setup, not an optional feature.
# db_url: parametrized over both backends; a fresh SQLite file or a fresh PostgreSQL database
# per test, so the same test body runs against both stores.

@pytest.fixture(scope="session")
def pg_server():
    import pg
    url = os.environ.get("AGENTCORE_TEST_PG_URL")
    if url:
        yield pg.ExternalPostgres(url)
        return
    server = pg.PostgresServer()
    try:
        server.start()
    except (pg.PostgresUnavailable, OSError, subprocess.SubprocessError) as exc:
        pytest.fail(f"the test PostgreSQL server did not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_url(pg_server) -> str:
    """The url of the session's PostgreSQL server (its `postgres` database)."""
    return pg_server.url


@pytest.fixture
def pg_db_url(pg_server):
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    """A fresh store location for one test: a SQLite file path, or a PostgreSQL database url."""
    if request.param == "sqlite":
        yield str(tmp_path / "store.db")
    else:
        yield request.getfixturevalue("pg_db_url")
